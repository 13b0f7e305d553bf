"""Does the answer store survive concurrent writers and crashes, and does sync copy every answer
exactly once?"""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from alr.errors import AlrError
from quizzes.api import score_answers
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
        f.write('{"response": "' + "x" * (store.MAX_LINE_BYTES + 1) + '"}\n')
    records, problems = read_answer_file(path)
    assert len(records) == 1 and "line 2: longer than" in problems[0]
    monkeypatch.setattr(store, "MAX_FILE_BYTES", 100)
    records, problems = read_answer_file(path)
    assert records == [] and "more than an answer file can hold" in problems[0]


def test_an_append_after_a_torn_line_starts_on_a_new_line(tmp_path: Path) -> None:
    """A crash mid-write leaves a torn line; the next answer must not be glued onto it."""
    path = append_answers(tmp_path, [_rec(1)])
    assert path is not None
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(_rec(2).to_dict())[:40])
    append_answers(tmp_path, [_rec(3), _rec(4)])
    records, problems = read_answer_file(path)
    assert [r.event_id for r in records] == ["ann-0001", "ann-0003", "ann-0004"]
    assert len(problems) == 1 and f"{path}: line 2:" in problems[0]


BAD_LINES = [
    (b'{"schema": "alr-answer/1", "student": "\xff\xfe"}', "not valid UTF-8 (byte 0xff"),
    (b"[" * 60_000, "nested deeper than 8 levels"),
    (b'{"a": ' * 50 + b"1" + b"}" * 50, "nested deeper than 8 levels"),
    (b'{"x": "' + b"y" * 70_000 + b'"}', "longer than 65536 bytes"),
    (b"not json", "Expecting value"),
]


@pytest.mark.parametrize(("line", "why"), BAD_LINES, ids=[w for _, w in BAD_LINES])
def test_a_bad_line_costs_only_that_line_everywhere(tmp_path: Path, line: bytes, why: str) -> None:
    """Read, sync and score keep every good line and name the file and line of the bad one."""
    store, results = tmp_path / "store", tmp_path / "results"
    path = append_answers(store, [_rec(1)])
    assert path is not None
    with open(path, "ab") as f:
        f.write(line + b"\n")
    append_answers(store, [_rec(2, minute=3)])
    records, problems = read_answer_file(path)
    assert [r.event_id for r in records] == ["ann-0001", "ann-0002"]
    assert len(problems) == 1 and problems[0].startswith(f"{path}: line 2: ") and why in problems[0]
    (report,) = sync_answers(store, results)
    assert (report.added, report.problems) == (2, (problems[0],))
    synced = results / "answers" / "ann.jsonl"
    assert [r.event_id for r in read_answer_file(synced)[0]] == ["ann-0001", "ann-0002"]
    written = score_answers(answers=[store], out=tmp_path / "scores")
    assert [p.name for p in written.paths] == ["ann.json"]
    assert any(f"{path}: line 2: " in p for p in written.problems)


def test_sync_keeps_a_bad_line_already_in_the_results_file_byte_for_byte(tmp_path: Path) -> None:
    store, results = tmp_path / "store", tmp_path / "results"
    dest = results / "answers" / "ann.jsonl"
    dest.parent.mkdir(parents=True)
    good = json.dumps(_rec(1).to_dict()).encode()
    dest.write_bytes(good + b"\n" + b"\xffhand-edited\n")
    append_answers(store, [_rec(2)])
    (report,) = sync_answers(store, results)
    assert report.added == 1 and any(
        f"{dest}: line 2: not valid UTF-8" in p for p in report.problems
    )
    assert dest.read_bytes().splitlines()[-1] == b"\xffhand-edited"
    assert sorted(r.event_id for r in read_answer_file(dest)[0]) == ["ann-0001", "ann-0002"]


def test_sync_never_overwrites_a_results_file_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It keeps the file, writes beside it, says so; a later sync merges into the same file."""
    import quizzes.store as store_module

    store, results = tmp_path / "store", tmp_path / "results"
    append_answers(store, [_rec(1)])
    sync_answers(store, results)
    dest = results / "answers" / "ann.jsonl"
    dest.write_bytes(dest.read_bytes() + b" " * 4096)  # grown past the limit set below
    before = dest.read_bytes()
    monkeypatch.setattr(store_module, "MAX_FILE_BYTES", 4096)  # the store's files still fit
    append_answers(store, [_rec(2)])
    (report,) = sync_answers(store, results)
    beside = results / "answers" / "ann.new.jsonl"
    assert dest.read_bytes() == before
    assert report.added == 2  # neither answer is in a file it can read
    assert any("left as it is" in p and "ann.new.jsonl" in p for p in report.problems)
    assert sorted(r.event_id for r in read_answer_file(beside)[0]) == ["ann-0001", "ann-0002"]
    append_answers(store, [_rec(3)])
    (again,) = sync_answers(store, results)
    assert (again.added, again.already) == (1, 2)
    assert len(read_answer_file(beside)[0]) == 3 and dest.read_bytes() == before


def test_an_answer_whose_module_and_question_disagree_is_refused(tmp_path: Path) -> None:
    wrong = AnswerRecord("x-1", "ann", "3.1", "4.1.check.term", "c", "2026-03-01T10:00:00Z")
    path = append_answers(tmp_path, [_rec(1), wrong])
    assert path is not None
    records, problems = read_answer_file(path)
    assert [r.event_id for r in records] == ["ann-0001"]
    assert len(problems) == 1 and f"{path}: line 2: module '3.1' does not match" in problems[0]


def test_every_good_line_survives_random_corruption(tmp_path: Path) -> None:
    """Property test: good records interleaved with random junk lines are all read back."""
    import random

    rng = random.Random(3)
    junk = [b"\xff", b"[" * 100, b"{", b"null", b"[]", b'{"schema": 1}', b"\x00\x01", b"{}" * 9]
    for case in range(40):
        path = tmp_path / f"c{case}.jsonl"
        good, lines = [], []
        for i in range(rng.randrange(1, 12)):
            if rng.random() < 0.5:
                lines.append(rng.choice(junk) + bytes(rng.randrange(256) for _ in range(3)))
            rec = _rec(i)
            good.append(rec.event_id)
            lines.append(json.dumps(rec.to_dict()).encode())
        path.write_bytes(b"\n".join(lines) + b"\n")
        records, problems = read_answer_file(path)
        assert [r.event_id for r in records] == good
        assert all(p.startswith(f"{path}: line ") for p in problems)
