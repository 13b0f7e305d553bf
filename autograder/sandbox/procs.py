"""Process trees seen from the grader (host /proc): find, stop and kill what a slot started."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def below(root: int) -> dict[int, int]:
    """pid -> parent pid of every process below `root`, zombies included."""
    parent: dict[int, int] = {}
    if not os.path.isdir("/proc"):
        return {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            parent[int(entry)] = int(stat[stat.rfind(b")") + 2 :].split()[1])
    found: dict[int, int] = {}
    frontier = [root]
    while frontier:
        p = frontier.pop()
        for child, pp in parent.items():
            if pp == p:
                found[child] = p
                frontier.append(child)
    return found


def descendants(root: int) -> list[int]:
    """Every process below `root` (by parent pid), zombies included."""
    return list(below(root))


def kill_tree(root: int, *, keep_root: bool = False) -> None:
    """Stop, then kill, every descendant of a process (and the process unless keep_root),
    until none is left."""
    for _ in range(50):
        pids = descendants(root) if keep_root else [root, *descendants(root)]
        alive = [p for p in pids if Path(f"/proc/{p}").exists()]
        if not alive:
            return
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for p in alive:
                try:
                    os.kill(p, sig)
                except OSError:
                    pass
        if alive == [root]:
            return


def _ns_pid(pid: int) -> int | None:
    """The pid a process has in its own (innermost) PID namespace, from /proc/<pid>/status."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def find_worker(root: int, ns_pid: int | None = None) -> int | None:
    """The host pid of an idle worker: the process at or below `root` whose command line runs it
    and whose pid in its own namespace is `ns_pid` (what the worker reported; its spare child,
    forked from it, runs the same command line); without `ns_pid`, the deepest such process
    (bubblewrap's own processes carry the same command line above it)."""
    best: tuple[int, int] | None = None
    for pid in [root, *descendants(root)]:
        try:
            if b"_alr_sandbox_worker" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
        except OSError:
            continue
        if ns_pid is not None:
            if _ns_pid(pid) == ns_pid:
                return pid
            continue
        depth, p = 0, pid
        while p != root and depth < 64:
            stat = Path(f"/proc/{p}/stat").read_bytes()
            p, depth = int(stat[stat.rfind(b")") + 2 :].split()[1]), depth + 1
        if best is None or depth > best[0]:
            best = (depth, pid)
    return best[1] if best else None
