"""Per-slot control groups (L2): a memory limit, a pids limit, a kill switch, one core of CPU.

Works with cgroup v2 (`memory.max`, `pids.max`, `cgroup.kill`) and with the hybrid v1 layout
(`memory/.../memory.limit_in_bytes`, `pids/.../pids.max`, plus the v2 `unified` hierarchy for
`cgroup.kill` where it is mounted). Each slot's cgroups are created under the grader's own
cgroups, so limits set on the grader's container still apply. A worker joins them before
bubblewrap starts (`enter_command`), so everything it forks is inside.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _own_paths() -> dict[str, str]:
    """controller name (or "" for v2) -> this process's cgroup path."""
    out: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path
    return out


def _mounts() -> dict[str, Path]:
    """controller name (or "" for the v2 hierarchy) -> its mount point."""
    out: dict[str, Path] = {}
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, mnt, fstype, opts, *_ = line.split()
        if fstype == "cgroup2":
            out.setdefault("", Path(mnt))
        elif fstype == "cgroup":
            for opt in opts.split(","):
                if opt in ("memory", "pids", "cpu"):
                    out[opt] = Path(mnt)
    return out


@dataclass(frozen=True)
class SlotCgroups:
    """The cgroup directories of one slot and the files that limit and kill it."""

    dirs: tuple[Path, ...]
    memory_limit: Path
    pids_limit: Path
    oom_events: Path  # memory.events (v2) or memory.oom_control (v1): has "oom_kill N"
    kill: Path | None  # cgroup.kill, when a v2 hierarchy is writable

    def oom_kills(self) -> int:
        try:
            m = re.search(r"^oom_kill (\d+)$", self.oom_events.read_text(), re.M)
        except OSError:
            return 0
        return int(m.group(1)) if m else 0

    def kill_all(self) -> bool:
        if self.kill is None:
            return False
        try:
            self.kill.write_text("1")
        except OSError:
            return False
        return True

    def remove(self) -> None:
        for d in self.dirs:
            try:
                d.rmdir()
            except OSError:
                pass


def _cpu_quota_v1(name: str, made: list[Path]) -> None:
    """Optional: at most one core per slot (a multithreaded hog cannot starve its neighbours)."""
    mounts, own = _mounts(), _own_paths()
    if "cpu" not in mounts:
        return
    d = mounts["cpu"] / own.get("cpu", "/").lstrip("/") / name
    try:
        d.mkdir()
    except OSError:
        return
    made.append(d)
    try:
        (d / "cpu.cfs_period_us").write_text("100000")
        (d / "cpu.cfs_quota_us").write_text("100000")
    except OSError:
        pass


def _layout() -> tuple[Path, Path, Path | None, bool] | None:
    """(memory parent, pids parent, v2 parent or None, pure v2?) under our own cgroups."""
    mounts, own = _mounts(), _own_paths()
    v2 = mounts.get("")
    v2_parent = v2 / own.get("", "/").lstrip("/") if v2 else None
    if "memory" in mounts and "pids" in mounts:
        mem = mounts["memory"] / own.get("memory", "/").lstrip("/")
        pids = mounts["pids"] / own.get("pids", "/").lstrip("/")
        return mem, pids, v2_parent, False
    if v2_parent is not None:
        try:
            enabled = (v2_parent / "cgroup.subtree_control").read_text().split()
            if not {"memory", "pids"} <= set(enabled):
                (v2_parent / "cgroup.subtree_control").write_text("+memory +pids")
            try:
                (v2_parent / "cgroup.subtree_control").write_text("+cpu")
            except OSError:
                pass
        except OSError:
            return None
        return v2_parent, v2_parent, v2_parent, True
    return None


def create(name: str, *, memory_mb: int, pids: int) -> SlotCgroups | None:
    """Create the slot's cgroups with their limits; None when the machine does not allow it."""
    layout = _layout()
    if layout is None:
        return None
    mem_parent, pids_parent, v2_parent, pure = layout
    made: list[Path] = []
    try:
        if pure:
            d = v2_parent / name  # type: ignore[operator]
            d.mkdir()
            made.append(d)
            (d / "memory.max").write_text(str(memory_mb << 20))
            (d / "pids.max").write_text(str(pids))
            (d / "memory.swap.max").exists() and (d / "memory.swap.max").write_text("0")
            return SlotCgroups(
                tuple(made),
                d / "memory.max",
                d / "pids.max",
                d / "memory.events",
                d / "cgroup.kill",
            )
        mem, pid = mem_parent / name, pids_parent / name
        for d in (mem, pid):
            d.mkdir()
            made.append(d)
        (mem / "memory.limit_in_bytes").write_text(str(memory_mb << 20))
        (pid / "pids.max").write_text(str(pids))
        _cpu_quota_v1(name, made)
        kill = None
        if v2_parent is not None:
            try:
                (v2_parent / name).mkdir()
                made.append(v2_parent / name)
                kill = v2_parent / name / "cgroup.kill"
                kill = kill if kill.exists() else None
            except OSError:
                kill = None
        return SlotCgroups(
            tuple(made),
            mem / "memory.limit_in_bytes",
            pid / "pids.max",
            mem / "memory.oom_control",
            kill,
        )
    except OSError:
        for d in reversed(made):
            try:
                d.rmdir()
            except OSError:
                pass
        return None


def sweep_stale() -> None:
    """Remove empty slot cgroups left by grader processes that no longer exist."""
    layout = _layout()
    if layout is None:
        return
    mounts, own = _mounts(), _own_paths()
    parents = {layout[0], layout[1], *([layout[2]] if layout[2] else [])}
    if "cpu" in mounts:
        parents.add(mounts["cpu"] / own.get("cpu", "/").lstrip("/"))
    for parent in parents:
        try:
            entries = list(parent.glob("alr-*-*"))
        except OSError:
            continue
        for d in entries:
            pid = d.name.split("-")[1]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                try:
                    d.rmdir()
                except OSError:
                    pass


def enter_command(cg: SlotCgroups, argv: list[str]) -> list[str]:
    """Wrap argv so the process joins the slot's cgroups before exec (nothing forked outside)."""
    joins = " && ".join(f"echo $$ > '{d}/cgroup.procs'" for d in cg.dirs)
    return ["/bin/sh", "-c", f'{joins} && exec "$@"', "alr-slot", *argv]


def available() -> bool:
    """Whether per-slot memory + pids cgroups can be created here (a trial create/remove)."""
    if not CGROUP_ROOT.is_dir() or os.geteuid() != 0:
        return False
    cg = create(f"alr-probe-{os.getpid()}", memory_mb=64, pids=8)
    if cg is None:
        return False
    cg.remove()
    return True
