"""One student never stops the class: a batch of pathological files between correct submissions
(odd names, links, pipes, binary, empty, deeply nested, huge) finishes, writes its summary, and
gives every correct submission full marks; each odd one gets its own result with a reason."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from alr.results import read_results
from autograder.grade import Status, grade_batch
from tests.autograder.grading_helpers import SUBMISSIONS

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory):
    src = tmp_path_factory.mktemp("odd")
    correct = (SUBMISSIONS / "correct.py").read_bytes()
    (src / "correct_a.py").write_bytes(correct)
    (src / "zz_correct_b.py").write_bytes(correct)
    odd = {
        os.fsdecode(b"caf\xe9\xff.py"): correct,  # not UTF-8
        "x" * 252 + ".py": correct,  # a 255-byte name
        "new\nline.py": correct,
        "-rf.py": correct,
        ".batch.py": correct,
        "=HYPERLINK(1);=cmd.py": correct,
        "binary.py": bytes(range(256)) * 64,
        "empty.ipynb": b"",
        "deep.ipynb": b"[" * 100_000 + b"]" * 100_000,
    }
    for name, data in odd.items():
        (src / name).write_bytes(data)
    (src / "link.py").symlink_to(REPO / "solutions" / "moments.py")
    os.mkfifo(src / "pipe.py")
    (src / "folder.py").mkdir()
    shutil.copy(SUBMISSIONS / "correct.py", src / "folder.py" / "inner.py")
    out = tmp_path_factory.mktemp("out")
    summary = grade_batch(sorted(src.iterdir()), out=out, workers=2, seed=3, device="cpu")
    return summary, out


def test_the_batch_finishes_and_correct_submissions_keep_full_marks(batch):
    """Is every correct submission, odd names included, graded in full, and every file that is
    not a readable submission an error result of its own?"""
    summary, out = batch
    matrix = read_results(out)
    by_name = {o.entry.path.name: o for o in summary.outcomes}
    for name in ("correct_a.py", "zz_correct_b.py", "new\nline.py", "-rf.py", ".batch.py"):
        outcome = by_name[name]
        assert outcome.status is Status.GRADED, name
        assert len(outcome.results) == 10 and all(r.score == r.max_score for r in outcome.results)
    for name in ("link.py", "pipe.py", "binary.py", "empty.ipynb", "deep.ipynb"):
        outcome = by_name[name]
        assert outcome.status is Status.ERROR, name
        (result,) = outcome.results
        assert result.module is None and result.max_score == 0 and result.error, name
    assert "symbolic link" in by_name["link.py"].results[0].error
    assert "not a regular file" in by_name["pipe.py"].results[0].error
    assert "nested too deeply" in by_name["deep.ipynb"].results[0].error
    assert len(matrix.students) == len(summary.outcomes)  # every file a student of its own


def test_every_name_becomes_a_safe_unique_folder(batch):
    """Are the students' folders safe names (no separator, no leading dot or dash, at most 64
    characters), one per submission, none of them a file of the grader's own?"""
    summary, out = batch
    folders = [p.name for p in out.iterdir() if p.is_dir()]
    assert len(folders) == len({o.student for o in summary.outcomes}) == len(summary.outcomes)
    for name in folders:
        assert len(name) <= 64 and not name.startswith((".", "-")) and "\n" not in name
    assert sorted(p.name for p in out.iterdir() if not p.is_dir()) == ["summary.csv"]


def test_the_summary_quotes_and_guards_every_cell(batch):
    """Is every cell of summary.csv quoted, and can no part of a submission's name start a
    formula, even when the file is opened with ';' as the separator?"""
    _, out = batch
    text = (out / "summary.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    assert all(line.startswith('"') for line in text.splitlines())
    forged = [r for r in rows if "HYPERLINK" in r["submission"]]
    assert forged and all(r["submission"] == "'=HYPERLINK(1);'=cmd.py" for r in forged)
    for row in rows:
        for cell in row.values():
            assert not any(part.startswith(("=", "+", "-", "@")) for part in cell.split(";"))
