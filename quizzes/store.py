"""The local answer store and its sync to the course's results folder.

Answer file: `<store>/<student>.jsonl`, one JSON object per line (schema "alr-answer/1"):

    {"schema": "alr-answer/1", "event_id": "9f1c...",   # unique per answer (uuid4 hex)
     "student": "alice", "module": "3.1", "question": "3.1.check.term",
     "response": "c",                 # option id; a list of option ids (multiple answer);
                                      # a number (numeric kinds)
     "seed": 17,                      # generated_numeric only: the instance answered
     "answered_at": "2026-03-02T10:15:00Z", "source": "notebook" | "terminal"}

Writers append whole lines under an exclusive `flock` and `fsync` before releasing it, so
concurrent writers never interleave and an answer that was reported saved survives a crash. A
crash mid-write can leave at most one torn last line; the next append starts on a new line, so
the torn line costs only itself.

Reading is bounded and line by line: a file over `MAX_FILE_BYTES` is not read; a line that is
longer than `MAX_LINE_BYTES`, not UTF-8, nested deeper than `MAX_DEPTH`, not JSON, not a record,
or a record whose `module` is not the module of its `question`, is skipped with a warning naming
the file and the line, and every other line is kept.

`sync_answers(store, results)` merges each student's local file into
`<results>/answers/<student>.jsonl` by `event_id` (a set union in time order, answers of the
same second in the order they were written; lines it
cannot read are kept verbatim at the end), writing a temp file and `os.replace`-ing it under a
lock: running it twice adds nothing, and an interrupted sync leaves either the old or the new
file, while the local store still holds everything. A results file that cannot be read at all is
never replaced: it is left as it is, the answers go to `<student>.new.jsonl` beside it, and the
report says so (`alr quiz score RESULTS/answers` reads both files).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alr.errors import AlrError
from alr.fileio import write_atomic

SCHEMA = "alr-answer/1"
_STUDENT = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_KEYS = {"schema", "event_id", "student", "module", "question", "response", "answered_at", "source"}

Response = str | list[str] | float
MAX_FILE_BYTES = 16 * 2**20  # answer files are student-written: bound what a reader loads
MAX_LINE_BYTES = 64 * 2**10
MAX_DEPTH = 8  # an answer record nests 2 levels; deeper lines are not records


@dataclass(frozen=True)
class AnswerRecord:
    """One answer as stored; `response` is validated against the question only when scored."""

    event_id: str
    student: str
    module: str
    question: str
    response: Response
    answered_at: str
    source: str = "terminal"
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": SCHEMA, **self.__dict__}
        if self.seed is None:
            del out["seed"]
        return out

    @property
    def time(self) -> datetime:
        return parse_time(self.answered_at)


def parse_time(text: str) -> datetime:
    """An ISO-8601 time as an aware UTC datetime ('Z' or an offset required)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; write it in UTC with a trailing Z")
    return value.astimezone(UTC)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_student(student: str) -> str:
    if not _STUDENT.match(student):
        raise AlrError(
            f"student id {student!r}: use letters, digits, '.', '_' or '-' (it names a file)"
        )
    return student


def record_from_dict(data: Any) -> AnswerRecord:
    """Validate one decoded line; raises ValueError saying what is wrong."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    missing = sorted(_KEYS - set(data))
    if missing:
        raise ValueError(f"missing keys {missing}")
    if data["schema"] != SCHEMA:
        raise ValueError(f"schema is {data['schema']!r}, expected {SCHEMA!r}")
    for key in ("event_id", "student", "module", "question", "answered_at", "source"):
        if not isinstance(data[key], str) or not data[key]:
            raise ValueError(f"{key}: expected a non-empty string, got {data[key]!r}")
    check = data["student"]
    if not _STUDENT.match(check):
        raise ValueError(f"student: {check!r} is not a valid id")
    if not data["question"].startswith(data["module"] + "."):
        raise ValueError(
            f"module {data['module']!r} does not match question {data['question']!r} "
            "(a question id starts with its module); refused"
        )
    parse_time(data["answered_at"])
    response = data["response"]
    ok = isinstance(response, str | int | float) and not isinstance(response, bool)
    if isinstance(response, list):
        ok = all(isinstance(x, str) for x in response)
    if not ok:
        raise ValueError(
            f"response: expected an option id, a list of ids or a number, got {response!r}"
        )
    seed = data.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ValueError(f"seed: expected an integer, got {seed!r}")
    return AnswerRecord(
        data["event_id"],
        check,
        data["module"],
        data["question"],
        float(response) if isinstance(response, int | float) else response,
        data["answered_at"],
        data["source"],
        seed,
    )


def read_answer_file(path: Path) -> tuple[list[AnswerRecord], list[str]]:
    """Every valid record of an answer file, and one problem line per line that is not."""
    contents = _read(path)
    return list(contents.records), list(contents.problems)


@dataclass(frozen=True)
class _Contents:
    """What `_read` found: valid records, problems, the invalid lines verbatim (sync keeps
    them), and whether the file could be read at all."""

    records: tuple[AnswerRecord, ...]
    problems: tuple[str, ...]
    bad: tuple[bytes, ...]
    readable: bool


def too_deep(line: str, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON text nests arrays/objects deeper than `limit` (strings are skipped).

    A linear scan, so a line of 60,000 `[` is refused before json.loads could recurse."""
    if line.count("[") + line.count("{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for ch in line:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _line_record(raw: bytes) -> AnswerRecord:
    """One line as a record; raises ValueError saying what is wrong with it."""
    if len(raw) > MAX_LINE_BYTES:
        raise ValueError(f"longer than {MAX_LINE_BYTES} bytes")
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at position {exc.start})"
        ) from None
    if too_deep(line):
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels, not an answer record")
    try:
        data = json.loads(line)
    except RecursionError:  # pragma: no cover - too_deep refuses such lines first
        raise ValueError("nested too deeply to parse") from None
    return record_from_dict(data)  # json.JSONDecodeError is a ValueError


def _read(path: Path) -> _Contents:
    """Read an answer file line by line (see the module docstring); never raises for content."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problem = (
                f"{path}: {size} bytes is more than an answer file can hold ({MAX_FILE_BYTES})"
            )
            return _Contents((), (problem + "; not read",), (), False)
        data = path.read_bytes()
    except OSError as exc:
        problem = f"{path}: cannot read the answer file: {exc.strerror or exc}"
        return _Contents((), (problem,), (), False)
    records: list[AnswerRecord] = []
    problems: list[str] = []
    bad: list[bytes] = []
    for n, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            records.append(_line_record(raw))
        except ValueError as exc:
            problems.append(f"{path}: line {n}: {exc}; the line was skipped")
            bad.append(raw)
    return _Contents(tuple(records), tuple(problems), tuple(bad), True)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on `path` (POSIX flock; no-op where fcntl is missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def append_answers(store: Path, records: Iterable[AnswerRecord]) -> Path | None:
    """Append records (all of one student) to the store in one locked, fsynced write."""
    records = list(records)
    if not records:
        return None
    students = {r.student for r in records}
    if len(students) != 1:
        raise AlrError(f"append_answers takes one student's records, got {sorted(students)}")
    path = store / f"{check_student(records[0].student)}.jsonl"
    payload = "".join(json.dumps(r.to_dict(), sort_keys=True) + "\n" for r in records).encode()
    with _locked(path), open(path, "a+b") as handle:
        if handle.seek(0, os.SEEK_END) > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":  # a torn last line: start on a line of our own
                payload = b"\n" + payload
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    return path


@dataclass(frozen=True)
class SyncReport:
    """Per student: records newly copied, and records the results folder already had."""

    student: str
    added: int
    already: int
    problems: tuple[str, ...]


def _sort_key(r: AnswerRecord) -> datetime:
    """Time order; a stable sort keeps answers of the same second in the order written."""
    return r.time


def _beside(dest: Path) -> tuple[Path, _Contents]:
    """Where answers go when `dest` cannot be read: the first `<student>.new[N].jsonl` beside it
    that is missing or readable, with what it holds."""
    for n in range(1, 100):
        path = dest.with_name(f"{dest.stem}.new{n if n > 1 else ''}.jsonl")
        contents = _read(path) if path.exists() else _Contents((), (), (), True)
        if contents.readable:
            return path, contents
    raise AlrError(f"{dest.parent}: 99 unreadable answer files beside {dest.name}; clean up first")


def _merge(dest: Path, mine: list[AnswerRecord]) -> tuple[int, list[str]]:
    """Merge `mine` into `dest` (the caller holds the student's lock); new count, problems."""
    theirs = _read(dest) if dest.exists() else _Contents((), (), (), True)
    problems = list(theirs.problems)
    target = dest
    if not theirs.readable:
        target, theirs = _beside(dest)
        problems += list(theirs.problems)
        problems.append(
            f"{dest}: left as it is because it cannot be read; the answers are merged into "
            f"{target.name} beside it instead. Fix or move {dest.name}, then sync again"
        )
    merged = {r.event_id: r for r in theirs.records}
    new = [r for r in mine if r.event_id not in merged]
    merged.update((r.event_id, r) for r in new)
    if new:  # invalid lines already there are kept verbatim, at the end
        ordered = sorted(merged.values(), key=_sort_key)
        lines = [json.dumps(r.to_dict(), sort_keys=True).encode() for r in ordered]
        write_atomic(target, b"".join(line + b"\n" for line in [*lines, *theirs.bad]))
    return len(new), problems


def sync_answers(store: Path, results: Path) -> list[SyncReport]:
    """Merge every `<store>/*.jsonl` into `<results>/answers/`, idempotently (see module doc)."""
    if not store.is_dir():
        raise AlrError(
            f"{store}: no answer store here; answer a skill check first "
            "(notebook cell or `alr quiz take`), or pass --store"
        )
    reports = []
    for local in sorted(store.glob("*.jsonl")):
        with _locked(local):  # a writer mid-append finishes first
            contents = _read(local)
        by_student: dict[str, list[AnswerRecord]] = {}
        for r in contents.records:
            by_student.setdefault(r.student, []).append(r)
        if not by_student and contents.problems:
            reports.append(SyncReport(local.stem, 0, 0, contents.problems))
        for student, mine in sorted(by_student.items()):
            mine = list({r.event_id: r for r in mine}.values())
            dest = results / "answers" / f"{student}.jsonl"
            with _locked(dest.with_name(f".{student}.lock")):
                added, problems = _merge(dest, mine)
            reports.append(
                SyncReport(student, added, len(mine) - added, contents.problems + tuple(problems))
            )
    return reports
