"""Classes as instructors have them: nbgrader's collected submissions, Canvas's and Moodle's bulk
downloads, plain files. Each is graded in one call, and the student x module matrix holds
exactly the cells the students submitted: blank elsewhere, an error for what cannot be read."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from alr.results import read_results
from autograder.grade import grade_batch
from autograder.submissions import InputError, Layout, collect, safe_id
from cli import main
from cli.demo_class import DATA, fill_notebook

pytestmark = pytest.mark.slow
EXERCISES = Path(__file__).resolve().parents[2] / "exercises"
SEED = 5


def _notebook(module: str, out: Path, *, metadata: bool = True, truncate: bool = False) -> Path:
    """The module's notebook with the reference solutions filled in, as a student hands it in."""
    slug = "module-" + module.replace(".", "-")
    source = (DATA / "correct.py.txt").read_text()
    path = fill_notebook(EXERCISES / f"{slug}.ipynb", source, out)
    if not metadata:
        nb = json.loads(path.read_text())
        nb["metadata"].pop("alr")
        path.write_text(json.dumps(nb))
    if truncate:
        path.write_bytes(path.read_bytes()[:5000])
    return path


def _place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    src.replace(dst)


def _grade(paths, tmp_path, **kw):
    out = tmp_path / "results"
    summary = grade_batch(paths, out=out, seed=SEED, device="cpu", workers=2, **kw)
    return summary, read_results(out)


def _cells(matrix) -> dict[tuple[str, str], float]:
    return {key: r.score for key, r in matrix.cells.items()}


def test_an_nbgrader_course_is_graded_by_student_and_assignment(tmp_path):
    """Is `submitted/<student>/<assignment>/` read as it is collected: the student from the
    folder, the module from the notebook (or, unlabelled, from the assignment folder), a
    truncated notebook a zero in its own module only, and a missing assignment blank?"""
    root = tmp_path / "course" / "submitted"
    for student, module, kw in [
        ("ada", "3.1", {}),
        ("ada", "3.2", {}),
        ("ben", "3.1", {}),
        ("ben", "3.2", {"truncate": True}),
        ("ben", "4.1", {}),
        ("cy", "4.1", {"metadata": False}),
    ]:
        slug = "module-" + module.replace(".", "-")
        _place(_notebook(module, tmp_path / "tmp", **kw), root / student / slug / f"{slug}.ipynb")
    summary, matrix = _grade([tmp_path / "course"], tmp_path)
    assert summary.rule.startswith("nbgrader")
    full = {"3.1": 10.0, "3.2": 10.0, "4.1": 9.0}
    assert _cells(matrix) == {
        ("ada", "3.1"): full["3.1"],
        ("ada", "3.2"): full["3.2"],
        ("ben", "3.1"): full["3.1"],
        ("ben", "3.2"): 0.0,
        ("ben", "4.1"): full["4.1"],
        ("cy", "4.1"): full["4.1"],
    }
    assert "not valid JSON" in (matrix.get("ben", "3.2").error or "")
    assert set(matrix.blanks()) == {("ada", "4.1"), ("cy", "3.1"), ("cy", "3.2")}
    assert not matrix.unscoped


def test_a_canvas_download_gives_students_user_ids_and_late_flags(tmp_path):
    """Are Canvas's `<name>_[LATE_]<user id>_<submission id>_<file>` names read for the student,
    the user id and lateness; is a resubmission (file-1) graded instead of the first; is an
    unlabelled notebook whose name names no module an error that scores nothing?"""
    folder = tmp_path / "canvas"
    files = {
        "ada_101_9001_module-3-1.ipynb": ("3.1", {}),
        "ada_101_9002_module-3-2.ipynb": ("3.2", {}),
        "ben_LATE_102_9003_module-3-1.ipynb": ("3.1", {}),
        "ben_102_9004_module-4-1.ipynb": ("4.1", {"truncate": True}),
        "ben_102_9005_module-4-1-1.ipynb": ("4.1", {}),
        "cy_103_9006_homework.ipynb": ("3.2", {"metadata": False}),
    }
    for name, (module, kw) in files.items():
        _place(_notebook(module, tmp_path / "tmp", **kw), folder / name)
    summary, matrix = _grade([folder], tmp_path)
    assert summary.rule.startswith("canvas")
    assert _cells(matrix) == {
        ("ada", "3.1"): 10.0,
        ("ada", "3.2"): 10.0,
        ("ben", "3.1"): 10.0,
        ("ben", "4.1"): 9.0,
    }
    ben = matrix.get("ben", "3.1")
    assert ben is not None and ben.identity == {"user_id": "102", "name": "ben", "late": True}
    assert matrix.get("ben", "4.1").submission == "ben_102_9005_module-4-1-1.ipynb"
    assert [o.status for o in summary.outcomes if "9004" in o.entry.path.name] == ["superseded"]
    (cy,) = matrix.unscoped
    assert cy.student == "cy" and "--module" in (cy.error or "")


def test_a_moodle_download_reads_the_student_from_the_folder(tmp_path):
    """Are Moodle's `<Full name>_<id>_assignsubmission_file_/` folders read for the student?"""
    folder = tmp_path / "moodle"
    for who, uid, module in [
        ("Ada Lovelace", 7, "3.1"),
        ("Ben Ode", 8, "3.1"),
        ("Ben Ode", 8, "3.2"),
    ]:
        slug = "module-" + module.replace(".", "-")
        target = folder / f"{who}_{uid}_assignsubmission_file_" / f"{slug}.ipynb"
        _place(_notebook(module, tmp_path / "tmp"), target)
    summary, matrix = _grade([folder], tmp_path)
    assert summary.rule.startswith("moodle")
    ada, ben = safe_id("Ada Lovelace"), safe_id("Ben Ode")
    assert _cells(matrix) == {(ada, "3.1"): 10.0, (ben, "3.1"): 10.0, (ben, "3.2"): 10.0}
    assert matrix.get(ada, "3.1").identity == {"user_id": "7", "name": "Ada Lovelace"}


def test_a_regex_rule_and_the_layout_override(tmp_path):
    """Does --student-from with a (?P<student>...) expression take the student from it, and is
    a rule that fits no file an error naming them?"""
    folder = tmp_path / "in"
    _place(_notebook("3.1", tmp_path / "tmp"), folder / "hw-s12345-module-3-1.ipynb")
    collected = collect([folder], r"hw-(?P<student>s\d+)-")
    assert collected.layout is Layout.REGEX and [e.student for e in collected.entries] == ["s12345"]
    with pytest.raises(InputError, match="gives no student for these files"):
        collect([folder], "canvas")


@pytest.mark.parametrize(
    "raw",
    ["alice", "-rf", ".batch", "a\nb", "é" * 200, "quizzes", "x" * 255, "a/../b", "\udcff\udcfe"],
)
def test_any_name_maps_to_a_safe_unique_id(raw):
    """Is every raw name mapped to a safe, readable id (no leading dot or dash, no separator,
    at most 64 characters, never a name of the grader's own), unique per raw name?"""
    sid = safe_id(raw)
    assert sid and len(sid) <= 64 and not sid.startswith((".", "-"))
    assert all(c.isalnum() or c in "._@+-" for c in sid) and sid.lower() != "quizzes"
    assert sid == safe_id(raw) and (sid == raw) == (raw == "alice")
    others = {safe_id(r) for r in ("-rf", "_rf", "rf", "quizzes", "quizzes_", "x" * 255, "x" * 256)}
    assert len(others) == 7


def test_a_canvas_download_exports_back_to_canvas_and_lti_cell_by_cell(tmp_path):
    """Graded from Canvas's download, does the Canvas import CSV hold each student's grade in
    exactly the modules they submitted (matched by Canvas user id), blank elsewhere, and do the
    LTI scores count only submitted modules?"""
    folder = tmp_path / "canvas"
    for name, module in [
        ("ada_101_9001_module-3-1.ipynb", "3.1"),
        ("ada_101_9002_module-3-2.ipynb", "3.2"),
        ("ben_102_9003_module-3-1.ipynb", "3.1"),
    ]:
        _place(_notebook(module, tmp_path / "tmp"), folder / name)
    _grade([folder], tmp_path)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section\n"
        '"Lovelace, Ada",101,S-1,ada,A\n"Ode, Ben",102,S-2,ben,A\n"Sea, Cy",103,S-3,cy,A\n'
    )
    runner = CliRunner()
    results = tmp_path / "results"
    out = runner.invoke(
        main,
        [
            "export",
            "canvas",
            str(results),
            "--out",
            str(tmp_path / "c.csv"),
            "--roster",
            str(roster),
        ],
    )
    assert out.exit_code == 0, out.output
    rows = list(csv.reader(io.StringIO((tmp_path / "c.csv").read_text())))
    header = rows[0]
    col = {h.split(" ")[0]: i for i, h in enumerate(header) if h[:3] in ("3.1", "3.2")}
    by_id = {r[1]: r for r in rows[2:]}
    assert set(by_id) == {"101", "102"}  # cy submitted nothing: not written
    assert (by_id["101"][col["3.1"]], by_id["101"][col["3.2"]]) == ("10", "10")
    assert (by_id["102"][col["3.1"]], by_id["102"][col["3.2"]]) == ("10", "")
    assert "ben (3.2)" in out.output  # the blank cell is listed
    lti = runner.invoke(
        main,
        [
            "export",
            "lti",
            str(results),
            "--out",
            str(tmp_path / "lti"),
            "--timestamp",
            "2026-03-09T12:00:00",
        ],
    )
    assert lti.exit_code == 0, lti.output
    ben = json.loads((tmp_path / "lti" / "ben.json").read_text())
    assert (ben["scoreGiven"], ben["scoreMaximum"]) == (10, 10)
