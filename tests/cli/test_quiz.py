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
from tests.quizzes.conftest import result_doc, write_json


def _take(runner: CliRunner, store: Path, letters: list[str], *extra: str) -> str:
    result = runner.invoke(
        main,
        ["quiz", "take", "3.2", "--student", "cy", "--store", str(store), *extra],
        input="\n".join(letters) + "\n",
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_take_sync_score_queue_end_to_end(tmp_path: Path, catalog: QuizCatalog) -> None:
    runner = CliRunner()
    store, results = tmp_path / "alr-answers", tmp_path / "results"
    write_json(
        results / "cy.json",
        result_doc(
            "cy",
            "2026-03-01T10:00:00Z",
            [
                ("adam_first_moment", 1, None),
                ("decoupled_weight_decay", 1, None),
            ],
        ),
    )
    check = catalog.module("3.2").skill_check
    wrong = [next(o for o in q.option_ids if o not in q.correct_ids) for q in check]
    out = _take(runner, store, ["nope", *wrong])
    assert "'nope' is not among" in out and "score 0/4" in out

    assert (
        runner.invoke(main, ["quiz", "sync", str(results), "--store", str(store)]).output
        == "cy: 4 new, 0 already synced\n"
    )
    score = runner.invoke(main, ["quiz", "score", str(results / "answers"), "--out", str(results)])
    assert score.exit_code == 0, score.output
    assert runner.invoke(main, ["queue", str(results)]).exit_code == 0
    first = json.loads((results / "queues" / "cy.json").read_text())

    _take(runner, store, [q.correct_ids[0] for q in check])  # now answer correctly
    runner.invoke(main, ["quiz", "sync", str(results), "--store", str(store)])
    runner.invoke(main, ["quiz", "score", str(results / "answers"), "--out", str(results)])
    runner.invoke(main, ["queue", str(results), "--now", "2100-01-01T00:00:00Z"])
    second = json.loads((results / "queues" / "cy.json").read_text())
    for concept in ("first_moment", "decoupled_decay", "adamw"):
        assert second["concepts"][concept]["p_known"] > first["concepts"][concept]["p_known"]
    assert second["generated_at"] == "2100-01-01T00:00:00Z"


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
            answers.append(",".join(q.correct_ids))
    out = _take(CliRunner(), tmp_path, answers, "--bank", "--seed", "4")
    assert "score 8/8" in out
    lines = [json.loads(x) for x in (tmp_path / "cy.jsonl").read_text().splitlines()]
    generated = [
        x
        for x in lines
        if x["question"] in {"3.2.bank.m-hat-generated", "3.2.bank.adamw-first-step"}
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
    assert queue["concepts"]["bias_correction"]["observations"] == 1
    assert queue["concepts"]["bias_correction"]["p_known"] > 0.2
