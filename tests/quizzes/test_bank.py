"""Are the ten quiz files valid and complete, and do bad files get precise errors?"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from alr.errors import CourseFileError
from alr.yamlio import parse_yaml
from quizzes.bank import DATA_DIR, MODULE_IDS, load_quizzes, read_quiz_file, validate_quizzes
from quizzes.model import QuestionKind, QuizCatalog, Slot
from tests.quizzes.conftest import FIXTURES


def test_all_ten_quiz_files_validate() -> None:
    assert validate_quizzes() == []


def test_every_module_has_four_slots_and_a_full_bank(catalog: QuizCatalog) -> None:
    assert [m.module for m in catalog.modules] == list(MODULE_IDS)
    for quiz in catalog.modules:
        assert [q.slot for q in quiz.skill_check] == list(Slot)
        assert all(q.kind is QuestionKind.SINGLE_CHOICE for q in quiz.skill_check)
        assert len(quiz.bank) >= 8
        assert {q.kind for q in quiz.bank} == set(QuestionKind)


def test_question_ids_are_unique_and_follow_the_pattern(catalog: QuizCatalog) -> None:
    ids = [q.id for q in catalog.questions]
    assert len(ids) == len(set(ids))
    for q in catalog.questions:
        module, part, local = q.id.split(".", 2)[0] + "." + q.id.split(".")[1], *q.id.split(".")[2:]
        assert module == q.module and part in ("check", "bank") and local


def test_skill_check_correct_answers_are_not_all_in_one_position(catalog: QuizCatalog) -> None:
    """A skimmer must not be able to score by always picking the same letter."""
    for slot_index in range(4):
        letters = {m.skill_check[slot_index].correct_ids[0] for m in catalog.modules}
        assert len(letters) >= 2, f"slot {slot_index}: every module's answer is {letters}"
    overall = [q.correct_ids[0] for m in catalog.modules for q in m.skill_check]
    assert max(overall.count(x) for x in "abcd") <= 20


def test_skill_check_stems_differ_between_modules(catalog: QuizCatalog) -> None:
    """Slots module/section are written for each section, not copied."""
    for slot in (Slot.MODULE, Slot.SECTION):
        stems = {m.skill_check[list(Slot).index(slot)].stem for m in catalog.modules}
        assert len(stems) == len(MODULE_IDS)


def test_every_option_has_an_explanation(catalog: QuizCatalog) -> None:
    for q in catalog.questions:
        for o in q.options:
            assert len(o.explanation) > 10, (q.id, o.id)


def _copy(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    return data


class _Dumper(yaml.SafeDumper):
    """Quotes strings such as "1e-4" that YAML 1.2 (the course's reader) reads as numbers."""


_Dumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


def _edit(data: Path, module: str, change: Any) -> Path:
    source = DATA_DIR / f"{module}.yaml"
    doc = parse_yaml(source)
    change(doc)
    path = data / f"{module}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump(doc, Dumper=_Dumper, sort_keys=False))
    return path


BAD_EDITS = [
    (
        "points as a word",
        lambda d: d["bank"][1].update(points="two"),
        "bank[1].points",
        "expected a number, got 'two'",
    ),
    ("unknown key", lambda d: d["bank"][0].update(hint="x"), "bank[0].hint", "unknown key"),
    (
        "two correct single-choice options",
        lambda d: d["skill_check"][2]["options"][0].update(correct=True),
        "skill_check[2].options",
        "exactly 1 correct option",
    ),
    (
        "unknown concept",
        lambda d: d["bank"][0].update(concepts=["adam"]),
        "bank[0].concepts[0]",
        "unknown concept 'adam'",
    ),
    (
        "unknown generator",
        lambda d: d["bank"][2].update(generator="magic"),
        "bank[2].generator",
        "expected one of",
    ),
    (
        "slot out of order",
        lambda d: d["skill_check"][0].update(slot="term"),
        "skill_check[0].slot",
        "expected 'module'",
    ),
    (
        "three skill-check questions",
        lambda d: d["skill_check"].pop(),
        "skill_check",
        "exactly 4 questions",
    ),
    ("bank too small", lambda d: d.update(bank=d["bank"][:5]), "bank", "at least 8"),
    (
        "bad partial-credit rule",
        lambda d: d["bank"][4].update(partial_credit="some"),
        "bank[4].partial_credit",
        "net-correct",
    ),
    (
        "stem placeholder not a parameter",
        lambda d: d["bank"][2].update(stem=d["bank"][2]["stem"] + " {gamma}"),
        "bank[2].stem",
        "['gamma']",
    ),
    (
        "generated parameters missing one",
        lambda d: d["bank"][2]["parameters"].pop("xs"),
        "bank[2].parameters",
        "needs exactly",
    ),
    ("wrong module id", lambda d: d.update(module="3.2"), "module", "expected '3.1'"),
    (
        "duplicate bank id",
        lambda d: d["bank"][1].update(id=d["bank"][0]["id"]),
        "bank",
        "duplicate question id",
    ),
]


@pytest.mark.parametrize(
    ("label", "change", "where", "problem"), BAD_EDITS, ids=[b[0] for b in BAD_EDITS]
)
def test_bad_quiz_file_names_file_key_and_expectation(
    tmp_path: Path, label: str, change: Any, where: str, problem: str
) -> None:
    path = _edit(tmp_path, "3.1", change)
    quiz, errors = read_quiz_file(path, "3.1")
    assert quiz is None and errors, label
    matching = [e for e in errors if e.where == where and problem in e.problem]
    assert matching, [str(e) for e in errors]
    assert str(matching[0]).startswith(f"{path}: {where}: ")


def test_load_quizzes_raises_the_first_problem_and_counts_the_rest(tmp_path: Path) -> None:
    data = _copy(tmp_path)
    _edit(data, "3.3", lambda d: d["bank"][0].update(points="two", kind="essay"))
    with pytest.raises(CourseFileError, match=r"3\.3\.yaml: bank\[0\]\.kind: expected one of"):
        load_quizzes(data)


def test_other_modules_still_load_when_one_file_is_bad(tmp_path: Path) -> None:
    data = _copy(tmp_path)
    _edit(data, "4.2", lambda d: d["bank"][0].update(points=-1))
    errors = validate_quizzes(data)
    assert [(e.where, e.problem) for e in errors] == [
        ("bank[0].points", "expected a number > 0, got -1")
    ]


def test_yaml_syntax_error_gives_line_and_column() -> None:
    quiz, errors = read_quiz_file(FIXTURES / "bad-syntax.yaml", "3.1")
    assert quiz is None and len(errors) == 1
    assert errors[0].where.startswith("line ") and "invalid YAML" in errors[0].problem


def test_missing_module_file_is_reported(tmp_path: Path) -> None:
    data = _copy(tmp_path)
    (data / "4.5.yaml").unlink()
    errors = validate_quizzes(data)
    assert (
        len(errors) == 1 and errors[0].path.endswith("4.5.yaml") and "missing" in errors[0].problem
    )


@pytest.mark.parametrize("seed", [0, 1, 7, 123456])
def test_generated_questions_instantiate_deterministically(catalog: QuizCatalog, seed: int) -> None:
    for q in catalog.questions:
        if q.kind is not QuestionKind.GENERATED_NUMERIC:
            continue
        a, b = q.instantiate(seed), q.instantiate(seed)
        assert a == b
        assert not [n for n, _ in q.parameters if "{" + n + "}" in a.stem], a.stem


def test_generated_questions_vary_with_the_seed(catalog: QuizCatalog) -> None:
    for q in catalog.questions:
        if q.kind is QuestionKind.GENERATED_NUMERIC:
            assert len({q.instantiate(s).stem for s in range(40)}) > 1, q.id


def test_documented_tolerance_with_yaml_1_2_numbers_is_accepted(tmp_path: Path) -> None:
    """The bank's own documented example `tolerance: {rel: 1e-3, abs: 0}` reads as numbers."""
    text = (DATA_DIR / "3.1.yaml").read_text(encoding="utf-8")
    old = "tolerance: {rel: 1.0e-6}"
    assert old in text
    path = tmp_path / "3.1.yaml"
    path.write_text(text.replace(old, "tolerance: {rel: 1e-3, abs: 0}", 1), encoding="utf-8")
    quiz, errors = read_quiz_file(path, "3.1")
    assert errors == [] and quiz is not None
    changed = [q for q in quiz.bank if q.tolerance.rel == 1e-3 and q.tolerance.abs == 0]
    assert changed, "the edited question should carry rel=1e-3, abs=0"


def test_duplicate_keys_are_rejected_with_file_and_line(tmp_path: Path) -> None:
    text = (DATA_DIR / "3.1.yaml").read_text(encoding="utf-8")
    path = tmp_path / "3.1.yaml"
    path.write_text(text.replace("title: ", "title: Twice\ntitle: ", 1), encoding="utf-8")
    quiz, errors = read_quiz_file(path, "3.1")
    assert quiz is None and len(errors) == 1
    assert errors[0].where.startswith("line 3") and "duplicate key 'title'" in errors[0].problem
    assert str(errors[0]).startswith(f"{path}: line 3")
