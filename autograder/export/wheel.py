"""A wheel of this package, built from the code that is running (no setuptools, no network).

The Gradescope image installs the course from this wheel, so it grades with exactly the code,
course files and quiz data the instructor exported. Project metadata comes from the source
tree's pyproject.toml when there is one, else from the installed distribution's metadata.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from alr import PACKAGES
from alr.errors import ExportError

DISTRIBUTION = "adaptive-lr-course"
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # reproducible archives: same code, same bytes


@dataclass(frozen=True)
class ProjectMetadata:
    name: str
    version: str
    summary: str
    requires_python: str
    dependencies: tuple[str, ...]
    scripts: tuple[tuple[str, str], ...]  # (command, "module:function")


def package_dir(package: str) -> Path:
    """The folder of one of the course's top-level packages, wherever it is installed."""
    spec = importlib.util.find_spec(package)
    for location in (spec.submodule_search_locations or []) if spec else []:
        if Path(location).is_dir():
            return Path(location).resolve()
    raise ExportError(f"package {package!r} not found; reinstall the course package")


def project_root() -> Path:
    """The folder that holds the packages (the source tree, or site-packages when installed)."""
    return package_dir("solutions").parent


def project_metadata() -> ProjectMetadata:
    pyproject = project_root() / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        return ProjectMetadata(
            name=project["name"],
            version=project["version"],
            summary=project.get("description", ""),
            requires_python=project.get("requires-python", ""),
            dependencies=tuple(project.get("dependencies", ())),
            scripts=tuple(sorted(project.get("scripts", {}).items())),
        )
    dist = importlib.metadata.distribution(DISTRIBUTION)
    return ProjectMetadata(
        name=dist.metadata["Name"],
        version=dist.version,
        summary=(dist.metadata.get_all("Summary") or [""])[0],
        requires_python=(dist.metadata.get_all("Requires-Python") or [""])[0],
        dependencies=tuple(r for r in dist.requires or () if "extra ==" not in r),
        scripts=tuple(
            sorted((e.name, e.value) for e in dist.entry_points if e.group == "console_scripts")
        ),
    )


def package_files() -> list[tuple[str, Path]]:
    """(archive name, file) for every file of the packages, caches and hidden files left out."""
    files = []
    for package in PACKAGES:
        base = package_dir(package)
        for path in sorted(base.rglob("*")):
            parts = (package, *path.relative_to(base).parts)
            if path.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in parts):
                if path.suffix not in (".pyc", ".pyo"):
                    files.append(("/".join(parts), path))
    return files


def _metadata_text(meta: ProjectMetadata) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {meta.name}",
        f"Version: {meta.version}",
        f"Summary: {meta.summary}",
    ]
    if meta.requires_python:
        lines.append(f"Requires-Python: {meta.requires_python}")
    lines += [f"Requires-Dist: {d}" for d in meta.dependencies]
    return "\n".join(lines) + "\n"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(out_dir: Path) -> Path:
    """Write `<name>-<version>-py3-none-any.whl` into `out_dir` and return its path."""
    meta = project_metadata()
    stem = f"{meta.name.replace('-', '_')}-{meta.version}"
    info = f"{stem}.dist-info"
    entries: list[tuple[str, bytes]] = [(n, p.read_bytes()) for n, p in package_files()]
    scripts = "".join(f"{k} = {v}\n" for k, v in meta.scripts)
    entries += [
        (f"{info}/METADATA", _metadata_text(meta).encode()),
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: alr export\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        (f"{info}/entry_points.txt", f"[console_scripts]\n{scripts}".encode()),
        (f"{info}/top_level.txt", "".join(f"{p}\n" for p in PACKAGES).encode()),
    ]
    record = "".join(_record_line(n, d) + "\n" for n, d in entries) + f"{info}/RECORD,,\n"
    entries.append((f"{info}/RECORD", record.encode()))
    path = Path(out_dir) / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            entry = zipfile.ZipInfo(name, _FIXED_TIME)
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return path
