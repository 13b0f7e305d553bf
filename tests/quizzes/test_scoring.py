"""Does scoring follow each kind's rule, and do malformed answers give clear problems while
everything valid is still scored?"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alr.errors import AlrError
from quizzes.api import score_answers
from quizzes.model import PartialCredit, QuestionKind, QuizCatalog
from quizzes.scoring import InvalidResponse, multiple_answer_fraction, score_response
from quizzes.store import AnswerRecord, append_answers

CORRECT, OPTIONS = {"a", "b"}, {"a", "b", "c", "d"}


@pytest.mark.parametrize(
    ("rule", "picked", "expected"),
    [
        (PartialCredit.OFF, {"a", "b"}, 1.0),
        (PartialCredit.OFF, {"a"}, 0.0),
        (PartialCredit.NET_CORRECT, {"a"}, 0.5),
        (PartialCredit.NET_CORRECT, {"a", "c"}, 0.0),
        (PartialCredit.NET_CORRECT, {"c", "d"}, 0.0),  # floored at 0
        (PartialCredit.COVERAGE, {"a", "c"}, 0.25),  # (1/2) * (1/2)
        (PartialCredit.COVERAGE, set(), 0.0),
        (PartialCredit.EACH_ANSWER, {"a", "c"}, 0.5),  # a right, b wrong, c wrong, d right
        (PartialCredit.EACH_ANSWER, set(), 0.5),
    ],
)
def test_partial_credit_rules(rule: PartialCredit, picked: set[str], expected: float) -> None:
    assert multiple_answer_fraction(rule, picked, CORRECT, OPTIONS) == pytest.approx(expected)


def test_single_choice_scores_the_right_option_and_explains_the_chosen_one(
    catalog: QuizCatalog,
) -> None:
    q = catalog.module("3.1").skill_check[2]
    right = score_response(q, q.correct_ids[0])
    wrong_id = next(o for o in q.option_ids if o not in q.correct_ids)
    wrong = score_response(q, wrong_id)
    assert (right.score, right.correct, wrong.score, wrong.correct) == (1.0, True, 0.0, False)
    assert wrong.feedback == q.option(wrong_id).explanation  # type: ignore[union-attr]


def test_multiple_answer_uses_the_questions_named_rule(catalog: QuizCatalog) -> None:
    q = catalog.question("3.1.bank.rmsprop-properties")
    assert q is not None and q.partial_credit is PartialCredit.NET_CORRECT
    right = list(q.correct_ids)
    wrong = [o for o in q.option_ids if o not in right]
    assert len(right) == 2
    result = score_response(q, [right[0], wrong[0]])  # one right, one wrong of two correct
    assert result.score == 0.0 and "net-correct" in result.feedback
    assert score_response(q, [right[0]]).score == pytest.approx(0.5)
    assert score_response(q, right[::-1]).correct
    shown = {o: "xyzw"[i] for i, o in enumerate(q.option_ids)}
    labelled = score_response(q, [right[0]], labels=shown).feedback
    assert f"also correct: {shown[right[1]]}" in labelled


def test_numeric_tolerance(catalog: QuizCatalog) -> None:
    q = catalog.question("3.1.bank.ema-weight-mass")
    assert q is not None and q.answer is not None
    assert score_response(q, 0.651).correct
    assert not score_response(q, 0.66).correct
    assert not score_response(q, float("nan")).correct


def test_generated_numeric_is_scored_against_its_seeded_instance(catalog: QuizCatalog) -> None:
    q = catalog.question("4.2.bank.effective-lr-generated")
    assert q is not None and q.kind is QuestionKind.GENERATED_NUMERIC
    answers = {s: q.instantiate(s).answer for s in range(30)}
    seed = next(s for s in answers if answers[s] != answers[0])
    assert score_response(q, answers[seed], seed).correct
    assert not score_response(q, answers[0], seed).correct
    with pytest.raises(InvalidResponse, match="seed"):
        score_response(q, answers[0], None)


@pytest.mark.parametrize(
    ("qid", "response", "match"),
    [
        ("3.1.check.term", "z", "not among"),
        ("3.1.check.term", ["a"], "one option id"),
        ("3.1.bank.rmsprop-properties", ["a", "q"], r"\['q'\]"),
        ("3.1.bank.coupled-l2-grad", "0.7", "expected a number"),
    ],
)
def test_invalid_responses_are_rejected_with_the_reason(
    catalog: QuizCatalog, qid: str, response: object, match: str
) -> None:
    q = catalog.question(qid)
    assert q is not None
    with pytest.raises(InvalidResponse, match=match):
        score_response(q, response)


def _record(
    i: int, question: str, response: object, when: str, student: str = "bob"
) -> AnswerRecord:
    return AnswerRecord(
        f"e{i:03d}",
        student,
        question.split(".")[0] + "." + question.split(".")[1],
        question,
        response,
        when,
    )  # type: ignore[arg-type]


def test_score_file_uses_first_answers_marks_practice_and_keeps_full_history(
    tmp_path: Path, catalog: QuizCatalog
) -> None:
    """The first answer to a question is what counts; later ones are practice, in the history."""
    term = catalog.question("3.1.check.term")
    module = catalog.question("3.1.check.module")
    assert term is not None and module is not None
    wrong = next(o for o in term.options if not o.correct and o.misconception)
    store = tmp_path / "store"
    append_answers(
        store,
        [
            _record(1, term.id, wrong.id, "2026-03-01T10:00:00Z"),
            _record(2, term.id, term.correct_ids[0], "2026-03-01T10:05:00Z"),
            _record(3, module.id, module.correct_ids[0], "2026-03-01T10:06:00Z"),
            _record(4, "3.1.bank.coupled-l2-grad", 0.7, "2026-03-01T10:07:00Z"),
        ],
    )
    written = score_answers(answers=[store], out=tmp_path / "out", catalog=catalog)
    doc = json.loads((tmp_path / "out" / "quizzes" / "bob.json").read_text())
    assert written.paths == (tmp_path / "out" / "quizzes" / "bob.json",) and written.problems == ()
    by_id = {q["id"]: q for q in doc["questions"]}
    assert by_id[term.id]["score"] == 0.0 and by_id[term.id]["attempts"] == 2
    assert by_id[term.id]["misconceptions"] == [wrong.misconception]
    assert by_id[term.id]["answered_at"] == "2026-03-01T10:00:00Z"
    assert by_id[module.id]["correct"] is True
    history = [(h["event_id"], h["attempt"], h["practice"]) for h in doc["history"]]
    assert history == [
        ("e001", 1, False),
        ("e002", 2, True),
        ("e003", 1, False),
        ("e004", 1, False),
    ]
    assert doc["history"][0]["misconceptions"] == [wrong.misconception]
    assert doc["concepts"]["coupled_l2"] == {"score": 2.0, "max_score": 3.0}  # term, module, grad
    assert doc["skill_checks"] == {"3.1": {"score": 1.0, "max_score": 2.0, "answered": 2}}
    assert doc["totals"] == {"score": 2.0, "max_score": 3.0, "answered": 3}


def test_a_new_instance_of_a_generated_question_is_not_practice(catalog: QuizCatalog) -> None:
    from quizzes.scoring import score_document, score_records

    q = catalog.question("4.1.bank.m-hat-generated")
    assert q is not None
    records = [
        AnswerRecord(f"e{i}", "bob", "4.1", q.id, q.instantiate(seed).answer, when, seed=seed)
        for i, (seed, when) in enumerate(
            [(1, "2026-03-01T10:00:00Z"), (1, "2026-03-01T10:01:00Z"), (2, "2026-03-01T10:02:00Z")]
        )
    ]
    scored, _ = score_records(records, catalog)
    doc = score_document("bob", scored, [])
    assert [(h["attempt"], h["practice"]) for h in doc["history"]] == [
        (1, False),
        (2, True),
        (3, False),
    ]
    assert doc["questions"][0]["attempts"] == 3


def test_a_wrong_choice_names_the_misconception_it_reveals(catalog: QuizCatalog) -> None:
    for q in catalog.questions:
        for o in q.options:
            if q.kind is QuestionKind.SINGLE_CHOICE and not o.correct:
                found = score_response(q, o.id).misconceptions
                assert found == ((o.misconception,) if o.misconception else ()), (q.id, o.id)
    multi = catalog.question("3.1.bank.rmsprop-properties")
    assert multi is not None
    picked = [o.id for o in multi.options if o.misconception or o.correct]
    expected = tuple(sorted({o.misconception for o in multi.options if o.misconception}))
    assert score_response(multi, picked).misconceptions == expected


def test_a_wrong_number_that_matches_a_mistake_names_it(catalog: QuizCatalog) -> None:
    q = catalog.question("4.1.bank.m-hat-generated")
    assert q is not None
    inst = q.instantiate(3)
    variants = dict(inst.variants)
    result = score_response(q, variants["no_bias_correction"], 3)
    assert not result.correct and result.misconceptions == ("no_bias_correction",)
    assert "what you get if your update uses the moments m and v directly" in result.feedback
    assert score_response(q, inst.answer, 3).misconceptions == ()
    assert score_response(q, inst.answer + 17.0, 3).misconceptions == ()


def test_malformed_lines_and_unknown_questions_are_reported_and_the_rest_scored(
    tmp_path: Path, catalog: QuizCatalog
) -> None:
    good = json.dumps(_record(1, "3.1.check.term", "c", "2026-03-01T10:00:00Z").to_dict())
    unknown = json.dumps(_record(2, "3.1.bank.gone", "a", "2026-03-01T10:00:00Z").to_dict())
    no_zone = good.replace("e001", "e003").replace("10:00:00Z", "10:00:00")
    path = tmp_path / "bob.jsonl"
    path.write_text(
        "\n".join(
            [good, "{not json", unknown, no_zone, '{"schema": "alr-answer/1"}', '{"response": "a"']
        )
    )
    written = score_answers(answers=[path], out=tmp_path, catalog=catalog)
    problems = "\n".join(written.problems)
    assert f"{path}: line 2:" in problems
    assert "unknown question '3.1.bank.gone'" in problems
    assert f"{path}: line 4: " in problems and "no time zone" in problems
    assert f"{path}: line 5: missing keys" in problems
    assert f"{path}: line 6:" in problems  # a torn last line
    doc = json.loads((tmp_path / "quizzes" / "bob.json").read_text())
    assert [q["id"] for q in doc["questions"]] == ["3.1.check.term"]


def test_nothing_valid_to_score_is_an_error(tmp_path: Path, catalog: QuizCatalog) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("garbage\n")
    with pytest.raises(AlrError, match="no valid answers to score"):
        score_answers(answers=[path, tmp_path / "missing.jsonl"], out=tmp_path, catalog=catalog)


def test_a_record_whose_module_and_question_disagree_is_refused(catalog: QuizCatalog) -> None:
    from quizzes.scoring import score_records

    record = AnswerRecord("e1", "ann", "3.1", "4.1.check.term", "a", "2026-03-01T10:00:00Z")
    scored, problems = score_records([record], catalog)
    assert scored == [] and len(problems) == 1
    assert "module '3.1' does not match question '4.1.check.term'" in problems[0]
