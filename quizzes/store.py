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
crash mid-write can leave at most one torn last line; readers report it and keep every other line.

`sync_answers(store, results)` merges each student's local file into
`<results>/answers/<student>.jsonl` by `event_id` (a set union, sorted by time then id), writing a
temp file and `os.replace`-ing it under a lock: running it twice adds nothing, and an interrupted
sync leaves either the old or the new file, while the local store still holds everything.
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
MAX_LINE_CHARS = 64 * 2**10


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
    """Every valid record of an answer file, and one problem line per invalid line."""
    records, problems, _ = _read(path)
    return records, problems


def _read(path: Path) -> tuple[list[AnswerRecord], list[str], list[str]]:
    """Valid records, problems, and the invalid lines verbatim (sync keeps them)."""
    records: list[AnswerRecord] = []
    problems: list[str] = []
    bad: list[str] = []
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return (
                [],
                [
                    f"{path}: {size} bytes is more than an answer file can hold "
                    f"({MAX_FILE_BYTES}); not read"
                ],
                [],
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{path}: cannot read the answer file: {exc}"], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            problems.append(f"{path}: line {n}: longer than {MAX_LINE_CHARS} characters; skipped")
            bad.append(line)
            continue
        try:
            records.append(record_from_dict(json.loads(line)))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            problems.append(f"{path}: line {n}: {exc}; the line was skipped")
            bad.append(line)
    return records, problems, bad


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
    payload = "".join(json.dumps(r.to_dict(), sort_keys=True) + "\n" for r in records)
    with _locked(path), open(path, "a", encoding="utf-8") as handle:
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


def _sort_key(r: AnswerRecord) -> tuple[str, str]:
    return (format_time(r.time), r.event_id)


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
            records, problems = read_answer_file(local)
        by_student: dict[str, list[AnswerRecord]] = {}
        for r in records:
            by_student.setdefault(r.student, []).append(r)
        for student, mine in sorted(by_student.items()):
            mine = list({r.event_id: r for r in mine}.values())
            dest = results / "answers" / f"{student}.jsonl"
            with _locked(dest.with_name(f".{student}.lock")):
                theirs, their_problems, bad = _read(dest) if dest.exists() else ([], [], [])
                merged = {r.event_id: r for r in theirs}
                new = [r for r in mine if r.event_id not in merged]
                merged.update((r.event_id, r) for r in new)
                if new:  # invalid lines already there are kept verbatim, at the end
                    ordered = sorted(merged.values(), key=_sort_key)
                    lines = [json.dumps(r.to_dict(), sort_keys=True) for r in ordered] + bad
                    write_atomic(dest, "\n".join(lines) + "\n")
            reports.append(
                SyncReport(
                    student, len(new), len(mine) - len(new), tuple(problems + their_problems)
                )
            )
    return reports
