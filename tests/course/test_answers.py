"""The instructor guide's worked answers are the module YAML's, and say to release in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.answers import BEGIN, END, GUIDE, main, with_answers, worked_answers
from course.load import load_course


def test_guide_holds_every_worked_answer() -> None:
    """Is the generated section of docs/instructor-guide.md exactly what the YAML says (run
    `python -m course.answers` after editing an answer), one entry per question?"""
    course = load_course()
    guide = GUIDE.read_text(encoding="utf-8")
    assert guide == with_answers(guide, course), "run `python -m course.answers`"
    section = guide.split(BEGIN)[1].split(END)[0]
    for module in course.modules:
        assert f"#### Module {module.id}: {module.title}" in section
        for q in module.reading.diagnostic_questions:
            assert " ".join(q.answer.split()[:12]) in " ".join(section.split())
    assert "Release the modules in order" in guide


def test_answers_are_rewritten_in_place(tmp_path: Path) -> None:
    """Does `python -m course.answers GUIDE` replace a stale section and keep the rest?"""
    path = tmp_path / "guide.md"
    path.write_text(f"# Guide\n\nbefore\n\n{BEGIN}\nOUTDATED\n{END}\n\nafter\n")
    assert main([str(path)]) == 0
    text = path.read_text()
    assert (
        "OUTDATED" not in text and text.startswith("# Guide\n\nbefore") and text.endswith("after\n")
    )
    assert worked_answers(load_course()) in text
    with pytest.raises(ValueError, match="no section"):
        with_answers("no markers here", load_course())
