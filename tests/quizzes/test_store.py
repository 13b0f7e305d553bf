"""Does the answer store survive concurrent writers and crashes, and does sync copy every answer
exactly once?"""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from alr.errors import AlrError
from quizzes.store import AnswerRecord, append_answers, read_answer_file, sync_answers


def _rec(i: int, student: str = "ann", minute: int = 0) -> AnswerRecord:
    return AnswerRecord(
        f"{student}-{i:04d}",
        student,
        "3.1",
        "3.1.check.term",
        "c",
        f"2026-03-01T10:{minute:02d}:00Z",
        "terminal",
    )


def _writer(store: str, worker: int, n: int) -> None:
    for i in range(n):
        append_answers(Path(store), [_rec(worker * 1000 + i), _rec(worker * 1000 + i + 500)])


def test_concurrent_writers_never_interleave_or_lose_lines(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    records, problems = read_answer_file(tmp_path / "ann.jsonl")
    assert problems == []
    assert len({r.event_id for r in records}) == len(records) == 4 * 40 * 2


def test_a_torn_last_line_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    path = append_answers(tmp_path, [_rec(1), _rec(2)])
    assert path is not None
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(_rec(3).to_dict())[:40])  # a crash mid-write
    records, problems = read_answer_file(path)
    assert [r.event_id for r in records] == ["ann-0001", "ann-0002"]
    assert len(problems) == 1 and "line 3" in problems[0]


def test_sync_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    store, results = tmp_path / "store", tmp_path / "results"
    append_answers(store, [_rec(1, minute=5), _rec(2, minute=1)])
    append_answers(store, [_rec(1, "bo")])
    first = sync_answers(store, results)
    dest = results / "answers" / "ann.jsonl"
    before = dest.read_bytes()
    second = sync_answers(store, results)
    assert [(r.student, r.added, r.already) for r in first] == [("ann", 2, 0), ("bo", 1, 0)]
    assert [(r.student, r.added, r.already) for r in second] == [("ann", 0, 2), ("bo", 0, 1)]
    assert dest.read_bytes() == before
    assert [r.event_id for r in read_answer_file(dest)[0]] == ["ann-0002", "ann-0001"]  # by time


def test_sync_merges_answers_from_two_machines(tmp_path: Path) -> None:
    laptop, lab, results = tmp_path / "laptop", tmp_path / "lab", tmp_path / "results"
    append_answers(laptop, [_rec(1), _rec(2)])
    append_answers(lab, [_rec(3), _rec(2)])  # the same answer copied to both stores
    sync_answers(laptop, results)
    sync_answers(lab, results)
    ids = [r.event_id for r in read_answer_file(results / "answers" / "ann.jsonl")[0]]
    assert sorted(ids) == ["ann-0001", "ann-0002", "ann-0003"]


def test_an_interrupted_sync_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, results = tmp_path / "store", tmp_path / "results"
    append_answers(store, [_rec(1)])
    sync_answers(store, results)
    append_answers(store, [_rec(2)])
    dest = results / "answers" / "ann.jsonl"
    before = dest.read_bytes()

    def crash(*_args: object) -> None:
        raise KeyboardInterrupt  # killed between writing the temp file and replacing

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        sync_answers(store, results)
    monkeypatch.undo()
    assert dest.read_bytes() == before  # the old file, whole
    assert [p.name for p in dest.parent.iterdir() if p.name.endswith(".tmp")] == []
    report = sync_answers(store, results)
    assert (report[0].added, report[0].already) == (1, 1)
    assert len(read_answer_file(dest)[0]) == 2


def test_sync_keeps_lines_it_cannot_read_in_the_results_folder(tmp_path: Path) -> None:
    store, results = tmp_path / "store", tmp_path / "results"
    dest = results / "answers" / "ann.jsonl"
    dest.parent.mkdir(parents=True)
    dest.write_text("hand-edited line\n")
    append_answers(store, [_rec(1)])
    report = sync_answers(store, results)
    assert report[0].added == 1 and any("line 1" in p for p in report[0].problems)
    assert dest.read_text().splitlines()[-1] == "hand-edited line"


def test_bad_student_ids_and_missing_store_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(AlrError, match="student id '../x'"):
        append_answers(tmp_path, [_rec(1, "../x")])
    with pytest.raises(AlrError, match="no answer store here"):
        sync_answers(tmp_path / "nowhere", tmp_path)


def test_oversized_lines_and_files_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import quizzes.store as store

    path = append_answers(tmp_path, [_rec(1)])
    assert path is not None
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"response": "' + "x" * (store.MAX_LINE_CHARS + 1) + '"}\n')
    records, problems = read_answer_file(path)
    assert len(records) == 1 and "line 2: longer than" in problems[0]
    monkeypatch.setattr(store, "MAX_FILE_BYTES", 100)
    records, problems = read_answer_file(path)
    assert records == [] and "more than an answer file can hold" in problems[0]
