"""The course's own settings (course/modules/course.yaml), read without the modules.

    load_settings(modules_dir=None) -> {"allow_torch_optim": bool}   raises CourseFileError
    read_settings(path, errors) -> {setting: value}                  problems appended to errors

The grader reads them before it starts its sandbox, which happens before anything imports
torch (`autograder.grade`): this module imports only the YAML reader. `course.load` reads the
same file through `read_settings` when it loads the whole course.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alr.errors import CourseFileError
from alr.yamlio import Reader, display_path, parse_yaml

MODULES_DIR = Path(__file__).parent / "modules"
COURSE_FILE = "course.yaml"


def load_settings(modules_dir: Path | None = None) -> dict[str, Any]:
    """The course's settings alone; raises the first CourseFileError."""
    directory = MODULES_DIR if modules_dir is None else Path(modules_dir)
    errors: list[CourseFileError] = []
    settings = read_settings(directory / COURSE_FILE, errors)
    if errors:
        raise errors[0]
    return settings


def read_settings(path: Path, errors: list[CourseFileError]) -> dict[str, Any]:
    """The course's settings from course.yaml (defaults when there is none)."""
    if not path.exists():
        return {}
    try:
        data = parse_yaml(path)
    except CourseFileError as exc:
        errors.append(exc)
        return {}
    r = Reader(display_path(path))
    top = r.mapping(data, "", {"grading": False}) or {}
    grading = r.mapping(top.get("grading", {}), "grading", {"allow_torch_optim": False}) or {}
    allow = grading.get("allow_torch_optim", False)
    if not isinstance(allow, bool):
        r.error("grading.allow_torch_optim", f"expected true or false, got {allow!r}")
        allow = False
    errors += r.errors
    return {"allow_torch_optim": allow}
