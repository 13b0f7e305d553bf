"""Do the skill-check cells work with only the notebook, record answers beside it, and build
byte for byte the same every time?"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from quizzes.bank import MODULE_IDS
from quizzes.model import QuizCatalog
from quizzes.notebook import skill_check_cells
from quizzes.store import read_answer_file


def _filled(module: str, answers: dict[str, str], student: str = "nb-student") -> str:
    source = skill_check_cells(module)[1].source
    for key, letter in answers.items():
        source = source.replace(f'"{key}": "",', f'"{key}": "{letter}",', 1)
    return source.replace('STUDENT = ""', f'STUDENT = "{student}"', 1)


@pytest.mark.parametrize("module", MODULE_IDS)
def test_cells_are_deterministic_and_valid(module: str) -> None:
    first, second = skill_check_cells(module), skill_check_cells(module)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = first
    nbformat.validate(nb)
    assert [c.cell_type for c in first] == ["markdown", "code"]


def test_answer_key_is_not_readable_in_the_cell(catalog: QuizCatalog) -> None:
    cells = skill_check_cells("4.1")
    text = cells[0].source + cells[1].source
    for q in catalog.module("4.1").skill_check:
        right = q.option(q.correct_ids[0])
        assert right is not None and right.explanation not in text
        assert f'"{q.id}"' not in text


@pytest.mark.parametrize("module", ["3.1", "4.4"])
def test_cell_scores_and_records_answers_beside_the_notebook(
    module: str,
    tmp_path: Path,
    catalog: QuizCatalog,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check = catalog.module(module).skill_check
    wrong = next(o for o in check[1].option_ids if o not in check[1].correct_ids)
    answers = {"q1": check[0].correct_ids[0], "q2": wrong, "q3": check[2].correct_ids[0]}
    monkeypatch.chdir(tmp_path)
    exec(compile(_filled(module, answers), "cell", "exec"), {})
    out = capsys.readouterr().out
    assert "q1: correct" in out and "q2: not quite" in out and "q4: not answered yet" in out
    assert "score: 2/3 answered" in out
    records, problems = read_answer_file(tmp_path / "alr-answers" / "nb-student.jsonl")
    assert problems == []
    assert [(r.question, r.response, r.source) for r in records] == [
        (check[0].id, answers["q1"], "notebook"),
        (check[1].id, wrong, "notebook"),
        (check[2].id, answers["q3"], "notebook"),
    ]


def test_rerunning_the_cell_saves_only_changed_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    kernel: dict[str, object] = {}  # one kernel's globals across three runs
    exec(compile(_filled("3.1", {"q1": "a", "q2": "b"}), "cell", "exec"), kernel)
    exec(compile(_filled("3.1", {"q1": "a", "q2": "b"}), "cell", "exec"), kernel)
    exec(compile(_filled("3.1", {"q1": "b", "q2": "b"}), "cell", "exec"), kernel)
    out = capsys.readouterr().out
    assert out.count("score: ") == 3 and out.count("saved ") == 2
    records, _ = read_answer_file(tmp_path / "alr-answers" / "nb-student.jsonl")
    assert [(r.question, r.response) for r in records] == [
        ("3.1.check.module", "a"),
        ("3.1.check.section", "b"),
        ("3.1.check.module", "b"),
    ]


def test_unknown_letters_are_not_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(_filled("3.2", {"q1": "z"}), "cell", "exec"), {})
    assert "'z' is not one of a, b, c, d: not recorded" in capsys.readouterr().out
    assert not (tmp_path / "alr-answers").exists()


def test_cell_needs_only_the_standard_library(tmp_path: Path) -> None:
    """Run the cell with site-packages switched off (-I -S): no course package, no nbformat."""
    source = _filled("4.5", {"q4": "a"}) + "\nimport sys; assert 'quizzes' not in sys.modules"
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", source],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "q4: correct" in done.stdout
    assert read_answer_file(tmp_path / "alr-answers" / "nb-student.jsonl")[0][0].response == "a"


@pytest.mark.slow
def test_cell_runs_in_a_real_kernel(tmp_path: Path, catalog: QuizCatalog) -> None:
    """The cell runs in a fresh kernel started in the notebook folder and records there."""
    from nbclient import NotebookClient

    check = catalog.module("3.3").skill_check
    answers = {f"q{i}": q.correct_ids[0] for i, q in enumerate(check, 1)}
    nb = nbformat.v4.new_notebook()
    nb.cells = skill_check_cells("3.3")
    nb.cells[1].source = _filled("3.3", answers, "kernel-kid")
    NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert re.search(r"score: 4/4 answered", text), text
    records, _ = read_answer_file(tmp_path / "alr-answers" / "kernel-kid.jsonl")
    assert [r.question for r in records] == [q.id for q in check]


def test_question_text_renders_without_stray_markdown(catalog: QuizCatalog) -> None:
    """Formulas like lr*lambda*theta must not turn into emphasis, lists or headings in notebooks
    and LMS exports (CommonMark, as Jupyter renders it)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    for q in catalog.questions:
        texts = [
            q.stem,
            q.explanation,
            *(o.text for o in q.options),
            *(o.explanation for o in q.options),
        ]
        if q.generator:
            texts.append(q.instantiate(0).stem)
        for text in texts:
            html = md.render(text)
            assert not re.search(r"<(em|strong|h\d|table|li|blockquote)\b", html), (q.id, text)
    for module in MODULE_IDS:
        html = md.render(skill_check_cells(module)[0].source)
        strong = re.findall(r"<strong>(.*?)</strong>", html)
        assert all(re.fullmatch(r"(Q\d|[a-d])\.", s) for s in strong) and "<em>" not in html
