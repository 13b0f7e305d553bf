"""Do the skill-check cells work with only the notebook, record answers beside it, and build
byte for byte the same every time?"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
import zlib
from pathlib import Path

import nbformat
import pytest

from quizzes.bank import MODULE_IDS, load_quizzes
from quizzes.model import QuizCatalog
from quizzes.notebook import skill_check_cells
from quizzes.store import read_answer_file


def _filled(module: str, answers: dict[str, str], student: str = "nb-student") -> str:
    """The cell with `answers` (q1..q4 -> option ids) typed in as the letters `student` sees."""
    from quizzes.bank import load_skill_check

    check = load_skill_check(module).skill_check
    source = skill_check_cells(module)[1].source
    for key, option in answers.items():
        letter = check[int(key[1:]) - 1].presentation(student).letter(option)
        source = source.replace(f'"{key}": "",', f'"{key}": "{letter}",', 1)
    return source.replace('STUDENT = ""', f'STUDENT = "{student}"', 1)


def _blob(module: str) -> dict[str, object]:
    source = skill_check_cells(module)[1].source
    encoded = re.search(r'_ALR_BLOB = "([^"]+)"', source)
    assert encoded is not None
    return json.loads(zlib.decompress(base64.b64decode(encoded[1])))


@pytest.mark.parametrize("module", MODULE_IDS)
def test_cells_are_deterministic_and_valid(module: str) -> None:
    first, second = skill_check_cells(module), skill_check_cells(module)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = first
    nbformat.validate(nb)
    assert [c.cell_type for c in first] == ["markdown", "code"]


def test_the_cell_carries_no_key_and_no_hash_of_an_option(catalog: QuizCatalog) -> None:
    """Neither the cell nor its decoded data shows which option is right: no key field, no hash
    of an option, no explanation in clear; each option's feedback is sealed on its own."""
    cells = skill_check_cells("4.1")
    data = _blob("4.1")
    decoded = json.dumps(data)
    for q in catalog.module("4.1").skill_check:
        for o in q.options:
            assert o.explanation not in cells[0].source + cells[1].source + decoded
            digest = hashlib.sha256(f"{q.id}|{o.id}".encode()).hexdigest()
            assert digest not in decoded
    for q in data["questions"].values():  # type: ignore[attr-defined]
        assert set(q) == {"id", "options", "texts", "feedback"}
        assert set(q["feedback"]) == set(q["options"])


def _run(source: str) -> None:
    exec(compile(source, "cell", "exec"), {})


def test_run_without_answers_lists_the_options_in_the_students_order(
    catalog: QuizCatalog,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    for student in ("ann", "bo"):
        _run(_filled("3.1", {}, student))
        out = capsys.readouterr().out
        q = catalog.module("3.1").skill_check[0]
        shown = q.presentation(student)
        for letter, option in zip(shown.letters, shown.options, strict=True):
            assert f"  {letter}. {option.text}" in out
    assert not (tmp_path / "alr-answers").exists()  # nothing answered, nothing recorded


@pytest.mark.parametrize("module", ["3.1", "4.4"])
def test_cell_records_first_then_shows_feedback_of_recorded_answers(
    module: str,
    tmp_path: Path,
    catalog: QuizCatalog,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check = catalog.module(module).skill_check
    wrong = next(o for o in check[1].options if not o.correct)
    answers = {"q1": check[0].correct_ids[0], "q2": wrong.id, "q3": check[2].correct_ids[0]}
    monkeypatch.chdir(tmp_path)
    _run(_filled(module, answers))
    out = capsys.readouterr().out
    assert out.index("recorded 3 answer(s)") < out.index("q1: right")
    assert "q2: not right (your first answer: the one that counts)" in out
    assert wrong.explanation in out and "q4: not answered yet" in out
    assert "first answers: 2/3 right" in out
    records, problems = read_answer_file(tmp_path / "alr-answers" / "nb-student.jsonl")
    assert problems == []
    assert [(r.question, r.response, r.source) for r in records] == [
        (check[0].id, answers["q1"], "notebook"),
        (check[1].id, wrong.id, "notebook"),
        (check[2].id, answers["q3"], "notebook"),
    ]


def test_a_changed_answer_is_practice_and_an_unchanged_one_is_not_recorded_twice(
    tmp_path: Path,
    catalog: QuizCatalog,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    q = catalog.module("3.1").skill_check[0]
    wrong = next(o for o in q.options if not o.correct)
    _run(_filled("3.1", {"q1": wrong.id}))
    _run(_filled("3.1", {"q1": wrong.id}))  # unchanged: shown again, not recorded again
    _run(_filled("3.1", {"q1": q.correct_ids[0]}))  # a second answer: practice
    out = capsys.readouterr().out
    assert out.count("recorded 1 answer(s)") == 2
    first = q.presentation("nb-student").letter(wrong.id)
    assert f"q1: right (practice: your first answer, {first}, is what counts)" in out
    records, _ = read_answer_file(tmp_path / "alr-answers" / "nb-student.jsonl")
    assert [r.response for r in records] == [wrong.id, q.correct_ids[0]]


def test_no_feedback_without_a_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the answer cannot be saved, the cell stops before showing any feedback."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alr-answers").write_text("a file where the folder should be")
    with pytest.raises(OSError):
        _run(_filled("3.2", {"q1": "a"}))
    out = capsys.readouterr().out
    assert "right" not in out and "recorded" not in out


def test_an_answer_after_a_torn_line_starts_on_a_new_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "alr-answers"
    store.mkdir()
    (store / "nb-student.jsonl").write_text('{"schema": "alr-answer/1", "event_')
    _run(_filled("3.2", {"q1": "a"}))
    records, problems = read_answer_file(store / "nb-student.jsonl")
    assert [r.question for r in records] == ["3.2.check.module"] and len(problems) == 1


def test_unknown_letters_are_not_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = _filled("3.2", {}).replace('"q1": "",', '"q1": "z",', 1)
    _run(source)
    assert "'z' is not one of a, b, c, d: not recorded" in capsys.readouterr().out
    assert not (tmp_path / "alr-answers").exists()


def test_cell_needs_only_the_standard_library(tmp_path: Path) -> None:
    """Run the cell with site-packages switched off (-I -S): no course package, no nbformat."""
    key = load_quizzes().module("4.5").skill_check[3].correct_ids[0]
    source = _filled("4.5", {"q4": key}) + "\nimport sys; assert 'quizzes' not in sys.modules"
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", source],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "q4: right" in done.stdout
    assert read_answer_file(tmp_path / "alr-answers" / "nb-student.jsonl")[0][0].response == key


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
    assert re.search(r"first answers: 4/4 right", text), text
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
