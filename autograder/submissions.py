"""What `alr grade` is given, turned into submissions: a file, the student it belongs to (taken
from the layout the instructor has), what the layout says of the module and of the student.

Layouts (`--student-from`, detected when not given; the rule used is printed):

    nbgrader   .../submitted/<student>/<assignment>/<file>      (nbgrader collect)
    canvas     <name>_[LATE_]<user id>_<submission id>_<file>    (Canvas "Download Submissions")
    moodle     .../<Full name>_<id>_assignsubmission_file_/<file>
               (Moodle "Download all submissions")
    filename   <student>.ipynb | <student>.py
    REGEX      a regular expression with a named group `student` (and optionally `module`),
               searched in the path as given

A folder argument is walked. Paths that do not exist and patterns that matched nothing are
errors (`InputError`) before anything is graded; files that are not submissions (notes, .DS_Store,
checkpoints) are skipped and listed. Every student id is made safe (`safe_id`): any file name,
whatever its bytes, maps to a readable, unique id that can name a folder and never collides
with the grader's own files.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from alr.errors import AlrError
from alr.results import RESERVED, readable
from autograder.stages.load import SUFFIXES, module_from_name

MAX_ID = 64
_CANVAS = re.compile(r"^(?P<name>[^_/]+)_(?P<late>LATE_)?(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
_MOODLE = re.compile(r"^(?P<name>.+)_(?P<user>\d+)_assignsubmission_file_?$")
_RESUBMISSION = re.compile(r"-(\d+)$")  # Canvas appends -1, -2 to a resubmitted file's name
_SKIPPED_DIRS = {".ipynb_checkpoints", "__pycache__", "__MACOSX", ".git"}


class InputError(AlrError):
    """The paths given to `alr grade` name no submissions (nothing is written)."""


class Layout(StrEnum):
    NBGRADER = "nbgrader"
    CANVAS = "canvas"
    MOODLE = "moodle"
    FILENAME = "filename"
    REGEX = "regex"


@dataclass(frozen=True)
class Entry:
    """One submission file and what its layout says. `rank` orders two submissions of the same
    student and module: the higher one (a later resubmission, a newer file) is graded."""

    path: Path
    student: str
    hint: str | None = None  # the module the layout names (an assignment folder, a file name)
    identity: dict[str, Any] = field(default_factory=dict)
    rank: tuple[int, float, str] = (0, 0.0, "")


@dataclass(frozen=True)
class Collected:
    layout: Layout
    rule: str  # the rule in words, for the summary line
    entries: tuple[Entry, ...]
    skipped: tuple[Path, ...]  # files that are not submissions


def safe_id(raw: str) -> str:
    """A student id for file names: letters, digits and `._@+-`, no leading dot or dash, at most
    64 characters, never one of the grader's own names; a hash of the raw name is appended
    whenever characters had to change, so different raw names never share an id."""
    text = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    clean = re.sub(r"[^A-Za-z0-9._@+-]+", "_", unicodedata.normalize("NFKC", text))
    clean = clean.strip("_").lstrip(".-")
    if clean == raw and len(raw) <= MAX_ID and raw.lower() not in RESERVED:
        return clean
    digest = hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{clean[: MAX_ID - 9] or 'student'}-{digest}"


def _files(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """(submission files, other files) under the given paths, in a stable order."""
    found: list[Path] = []
    other: list[Path] = []
    for given in paths:
        if given.is_symlink() and not given.is_dir():
            found.append(given)  # refused when read, with its reason in the result
            continue
        if not given.exists() and not given.is_symlink():
            hint = (
                " (a pattern that matched nothing?)" if any(c in str(given) for c in "*?[") else ""
            )
            raise InputError(f"{given}: no such file or folder{hint}; check the path")
        if given.is_dir():
            walked = sorted(p for p in given.rglob("*") if not (set(p.parts) & _SKIPPED_DIRS))
            for p in walked:
                if p.is_dir() and not p.is_symlink():
                    continue
                (found if p.suffix.lower() in SUFFIXES else other).append(p)
        else:
            (found if given.suffix.lower() in SUFFIXES else other).append(given)
    if not found:
        shown = ", ".join(str(p) for p in paths)
        raise InputError(
            f"{shown}: no submissions (.ipynb or .py files) found; pass the files or the folder "
            "of a class's submissions"
        )
    return found, other


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def _nbgrader(path: Path) -> Entry | None:
    parts = path.parts
    if len(parts) >= 4 and parts[-4] == "submitted":
        student, assignment = parts[-3], parts[-2]
        return Entry(
            path,
            safe_id(student),
            module_from_name(assignment) or module_from_name(path.name),
            {"name": readable(student)},
        )
    return None


def _canvas(path: Path) -> Entry | None:
    m = _CANVAS.match(path.name)
    if m is None:
        return None
    original = Path(m["file"])
    resubmitted = _RESUBMISSION.search(original.stem)
    identity: dict[str, Any] = {"user_id": m["user"], "name": readable(m["name"])}
    if m["late"]:
        identity["late"] = True
    rank = (int(resubmitted[1]) if resubmitted else 0, _mtime(path), path.name)
    return Entry(path, safe_id(m["name"]), module_from_name(m["file"]), identity, rank)


def _moodle(path: Path) -> Entry | None:
    for folder in reversed(path.parts[:-1]):
        m = _MOODLE.match(folder)
        if m is not None:
            identity = {"user_id": m["user"], "name": readable(m["name"])}
            return Entry(path, safe_id(m["name"]), module_from_name(path.name), identity)
    return None


def _filename(path: Path) -> Entry:
    return Entry(path, safe_id(path.stem), module_from_name(path.name))


def _regex(pattern: re.Pattern[str]) -> Any:
    def match(path: Path) -> Entry | None:
        m = pattern.search(str(path))
        if m is None or not m.groupdict().get("student"):
            return None
        module = m.groupdict().get("module")
        hint = module_from_name(module) if module else module_from_name(path.name)
        return Entry(path, safe_id(m["student"]), hint, {"name": readable(m["student"])})

    return match


_RULES = {
    Layout.NBGRADER: (_nbgrader, "nbgrader: submitted/<student>/<assignment>/"),
    Layout.CANVAS: (_canvas, "canvas: <name>_[LATE_]<user id>_<submission id>_<file>"),
    Layout.MOODLE: (_moodle, "moodle: <Full name>_<id>_assignsubmission_file_/"),
    Layout.FILENAME: (_filename, "filename: <student>.ipynb or <student>.py"),
}


def detect(files: Iterable[Path]) -> Layout:
    """The layout every file fits (nbgrader, then Moodle, then Canvas), else file names."""
    files = list(files)
    for layout in (Layout.NBGRADER, Layout.MOODLE, Layout.CANVAS):
        if all(_RULES[layout][0](p) is not None for p in files):
            return layout
    return Layout.FILENAME


def collect(paths: Sequence[Path | str], student_from: str | None = None) -> Collected:
    """The submissions named by `paths` (files or folders), with their students."""
    files, other = _files([Path(p) for p in paths])
    if student_from is None or student_from == "auto":
        layout = detect(files)
        match, rule = _RULES[layout]
        rule = f"{rule} (detected)"
    elif student_from in Layout.__members__.values() and student_from != Layout.REGEX:
        layout = Layout(student_from)
        match, rule = _RULES[layout]
    else:
        try:
            pattern = re.compile(student_from)
        except re.error as exc:
            raise InputError(
                f"--student-from: {student_from!r} is not nbgrader, canvas, moodle or filename, "
                f"nor a regular expression ({exc})"
            ) from None
        if "student" not in pattern.groupindex:
            raise InputError(
                f"--student-from: the expression {student_from!r} has no (?P<student>...) group"
            )
        layout, match, rule = Layout.REGEX, _regex(pattern), f"regex: {student_from}"
    entries, unmatched = [], []
    for path in files:
        entry = match(path)
        if entry is None:
            unmatched.append(path)
        else:
            entries.append(entry if entry.rank != (0, 0.0, "") else _ranked(entry))
    if unmatched:
        shown = ", ".join(str(p) for p in unmatched[:5])
        more = f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else ""
        raise InputError(
            f"{shown}{more}: the layout rule {rule!r} gives no student for these files; pass "
            "--student-from with the rule that fits (nbgrader, canvas, moodle, filename, or a "
            "regular expression with (?P<student>...))"
        )
    return Collected(layout, rule, tuple(entries), tuple(other))


def _ranked(entry: Entry) -> Entry:
    return replace(entry, rank=(0, _mtime(entry.path), entry.path.name))
