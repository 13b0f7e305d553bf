"""Can a learner take a check in the terminal, sync, get scored and get a queue that responds to
their answers, all through `alr`?"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from quizzes.api import questions_to_take
from quizzes.model import QuestionKind, QuizCatalog
from quizzes.store import read_answer_file
from tests.quizzes.conftest import write_results


def _take(runner: CliRunner, store: Path, letters: list[str], *extra: str) -> str:
    result = runner.invoke(
        main,
        ["quiz", "take", "3.2", "--student", "cy", "--store", str(store), *extra],
        input="\n".join(letters) + "\n",
    )
    assert result.exit_code == 0, result.output
    return result.output


def _letters(catalog: QuizCatalog, options: list[str], student: str = "cy") -> list[str]:
    """The letters `student` types for these option ids of 3.2's skill check (their own order)."""
    check = catalog.module("3.2").skill_check
    return [q.presentation(student).letter(o) for q, o in zip(check, options, strict=True)]


def test_take_sync_score_queue_end_to_end(tmp_path: Path, catalog: QuizCatalog) -> None:
    runner = CliRunner()
    store, results = tmp_path / "alr-answers", tmp_path / "results"
    write_results(
        results,
        "cy",
        "2026-03-01T10:00:00Z",
        [("adam_first_moment", 1, None), ("decoupled_weight_decay", 1, None)],
    )
    check = catalog.module("3.2").skill_check
    wrong = [next(o.id for o in q.options if not o.correct and o.misconception) for q in check[:1]]
    wrong += [next(o.id for o in q.options if not o.correct) for q in check[1:]]
    out = _take(runner, store, ["nope", *_letters(catalog, wrong)])
    assert "'nope' is not an answer to this question" in out and "score 0/4" in out

    assert (
        runner.invoke(main, ["quiz", "sync", str(results), "--store", str(store)]).output
        == "cy: 4 new, 0 already synced\n"
    )
    score = runner.invoke(main, ["quiz", "score", str(results / "answers"), "--out", str(results)])
    assert score.exit_code == 0, score.output
    assert runner.invoke(main, ["queue", str(results)]).exit_code == 0
    first = json.loads((results / "queues" / "cy.json").read_text())
    shown = {q.option(w).misconception for q, w in zip(check, wrong, strict=True)}  # type: ignore[union-attr]
    assert first["entries"][0]["misconception"] in shown - {None}

    again = _take(runner, store, _letters(catalog, [q.correct_ids[0] for q in check]))
    assert again.count("(practice: you answered this before, and your first answer counts)") == 4
    assert "score 0/0 on first answers" in again
    runner.invoke(main, ["quiz", "sync", str(results), "--store", str(store)])
    runner.invoke(main, ["quiz", "score", str(results / "answers"), "--out", str(results)])
    scores = json.loads((results / "quizzes" / "cy.json").read_text())
    assert scores["skill_checks"]["3.2"]["score"] == 0.0  # the first answers count
    assert sum(h["practice"] for h in scores["history"]) == 4
    runner.invoke(main, ["queue", str(results), "--now", "2100-01-01T00:00:00Z"])
    second = json.loads((results / "queues" / "cy.json").read_text())
    for concept in ("first_moment", "decoupled_decay"):  # practice is not evidence
        assert second["concepts"][concept]["p_known"] == first["concepts"][concept]["p_known"]
    assert second["generated_at"] == "2100-01-01T00:00:00Z"


def test_take_shows_each_student_their_own_order(tmp_path: Path, catalog: QuizCatalog) -> None:
    q = catalog.module("3.2").skill_check[0]
    key = q.correct_ids[0]
    for student in ("cy", "dee"):
        letter = q.presentation(student).letter(key)
        result = CliRunner().invoke(
            main,
            ["quiz", "take", "3.2", "--student", student, "--store", str(tmp_path)],
            input=f"{letter}\n" + "a\n" * 3,
        )
        assert result.exit_code == 0, result.output
        assert f"  {letter}. {q.option(key).text}" in result.output  # type: ignore[union-attr]
        records, _ = read_answer_file(tmp_path / f"{student}.jsonl")
        assert records[0].response == key  # the option id, not the letter


def test_take_bank_records_seeds_for_generated_questions(
    tmp_path: Path, catalog: QuizCatalog
) -> None:
    sitting = questions_to_take(catalog, "3.2", bank=True, rng=random.Random(4))
    answers = []
    for q, seed in sitting:
        if q.kind is QuestionKind.GENERATED_NUMERIC:
            answers.append(repr(q.instantiate(seed).answer))  # type: ignore[arg-type]
        elif q.kind is QuestionKind.NUMERIC:
            answers.append(repr(q.answer))
        else:
            shown = q.presentation("cy")
            answers.append(",".join(shown.letter(o) for o in q.correct_ids))
    out = _take(CliRunner(), tmp_path, answers, "--bank", "--seed", "4")
    assert "score 8/8" in out
    lines = [json.loads(x) for x in (tmp_path / "cy.jsonl").read_text().splitlines()]
    generated = [
        x for x in lines if x["question"].endswith("-generated") or "first-step" in x["question"]
    ]
    assert len(generated) == 2 and all(isinstance(x["seed"], int) for x in generated)


def test_cli_errors_are_one_line_with_what_to_do(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["queue", str(tmp_path / "none")])
    assert res.exit_code == 1 and "not a folder" in res.output
    res = runner.invoke(main, ["queue", str(tmp_path), "--now", "yesterday"])
    assert res.exit_code == 2 and "Invalid value for '--now'" in res.output
    res = runner.invoke(
        main, ["quiz", "sync", "--store", str(tmp_path)], env={"ALR_RESULTS_DIR": ""}
    )
    assert res.exit_code == 1 and "alr quiz sync RESULTS_DIR" in res.output
    res = runner.invoke(main, ["quiz", "take", "9.9"])
    assert res.exit_code == 1 and "no quiz for module '9.9'" in res.output
    assert runner.invoke(main, ["quiz", "validate"]).output == "all ten quiz files are valid\n"


def test_notebook_answers_flow_to_the_queue(
    tmp_path: Path, catalog: QuizCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answer in the notebook cell, then sync, score and queue from the terminal."""
    from tests.quizzes.test_notebook import _filled

    check = catalog.module("4.1").skill_check
    monkeypatch.chdir(tmp_path)
    answers = {f"q{i}": q.correct_ids[0] for i, q in enumerate(check, 1)}
    exec(compile(_filled("4.1", answers, "dana"), "cell", "exec"), {})
    runner, results = CliRunner(), tmp_path / "results"
    assert runner.invoke(main, ["quiz", "sync", str(results)]).exit_code == 0  # default store
    assert (
        runner.invoke(main, ["quiz", "score", "results/answers", "--out", "results"]).exit_code == 0
    )
    assert runner.invoke(main, ["queue", "results"]).exit_code == 0
    queue = json.loads((results / "queues" / "dana.json").read_text())
    assert queue["concepts"]["bias_correction"]["observations"] == 4  # all four are about it
    assert queue["concepts"]["bias_correction"]["p_known"] > 0.2
