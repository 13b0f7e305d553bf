"""Does the queue gate on mastery, schedule reviews, order entries by its documented rule and
give the same bytes for the same inputs?"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from quizzes.api import write_queues
from quizzes.concepts import PREREQUISITES
from quizzes.evidence import Event, Source, read_results_dir
from quizzes.model import QuizCatalog
from quizzes.queue import MASTERY, bkt_update, build_queue, concept_state
from tests.quizzes.conftest import result_doc, write_json

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _ev(
    concept: str, day: float, frac: float, source: Source = Source.QUIZ, item: str = ""
) -> Event:
    return Event(T0 + timedelta(days=day), concept, item or f"quiz:{concept}", source, frac)


@pytest.mark.parametrize("guess", [0.05, 0.25])
def test_bkt_update_is_increasing_in_the_answer_and_the_prior(guess: float) -> None:
    grid = [i / 20 for i in range(21)]
    for p in (0.01, 0.2, 0.5, 0.9, 0.99):
        values = [bkt_update(p, y, guess) for y in grid]
        assert values == sorted(values)
    for y in grid:
        values = [bkt_update(p, y, guess) for p in (0.01, 0.2, 0.5, 0.9)]
        assert values == sorted(values)


def test_a_new_correct_answer_never_lowers_mastery() -> None:
    """Property test over random histories: append or insert a correct answer anywhere."""
    rng = random.Random(5)
    for _ in range(300):
        events = [
            _ev("ema", rng.uniform(0, 30), rng.choice([0.0, 0.5, 1.0]), rng.choice(list(Source)))
            for _ in range(rng.randrange(0, 8))
        ]
        before = concept_state(events).p_known
        extra = _ev("ema", rng.uniform(0, 31), 1.0, rng.choice(list(Source)))
        assert concept_state([*events, extra]).p_known >= before - 1e-12


def _mastered_events(concept: str, day: float = 0) -> list[Event]:
    return [
        _ev(concept, day + d, 1.0, Source.EXERCISE if d == 0 else Source.QUIZ) for d in (0, 1, 2)
    ]


def test_mastery_needs_repeated_evidence() -> None:
    assert concept_state(_mastered_events("ema")[:1]).mastered_at is None
    state = concept_state(_mastered_events("ema"))
    assert state.p_known >= MASTERY and state.mastered_at is not None and state.card is not None


def test_unreviewed_concepts_become_due(catalog: QuizCatalog) -> None:
    events = _mastered_events("ema")
    soon = build_queue("s", events, catalog, T0 + timedelta(days=2, hours=1))
    later = build_queue("s", events, catalog, T0 + timedelta(days=60))
    kind = {e["concept"]: e["kind"] for e in soon["entries"]}
    assert kind["ema"] == "scheduled"
    due = [e for e in later["entries"] if e["concept"] == "ema"]
    assert due[0]["kind"] == "review" and due[0]["item"].startswith("quiz:")
    assert due[0]["retrievability"] < 0.9 and "review: due" in due[0]["reason"]
    r_soon = soon["concepts"]["ema"]["retrievability"]
    assert later["concepts"]["ema"]["retrievability"] < r_soon


def test_prerequisites_gate_what_is_ready_to_learn(catalog: QuizCatalog) -> None:
    q = build_queue("s", [_ev("ema", 0, 0.0)], catalog, T0 + timedelta(days=1))
    concepts = {e["concept"] for e in q["entries"]}
    assert {"ema", "coupled_l2", "trust_ratio"} <= concepts  # roots are ready
    assert "first_moment" not in concepts and q["concepts"]["first_moment"]["state"] == "locked"
    q2 = build_queue("s", _mastered_events("ema"), catalog, T0 + timedelta(days=3))
    assert {"first_moment", "second_moment"} <= {e["concept"] for e in q2["entries"]}


def test_entries_follow_the_ordering_rule(catalog: QuizCatalog) -> None:
    events = [
        *_mastered_events("ema"),
        *_mastered_events("coupled_l2", 20),
        _ev("trust_ratio", 25, 0.5),
        _ev("first_moment", 25, 1.0),
    ]
    q = build_queue("s", events, catalog, T0 + timedelta(days=40))
    kinds = [e["kind"] for e in q["entries"]]
    assert kinds == sorted(kinds, key=["learn", "review", "scheduled"].index)
    learn = [e for e in q["entries"] if e["kind"] == "learn"]
    assert [e["p_known"] for e in learn] == sorted(e["p_known"] for e in learn)
    review = [e for e in q["entries"] if e["kind"] == "review"]
    assert [e["retrievability"] for e in review] == sorted(e["retrievability"] for e in review)
    assert [e["rank"] for e in q["entries"]] == list(range(1, len(q["entries"]) + 1))
    assert all(e["reason"] and e["due"] for e in q["entries"])


def test_learning_item_prefers_the_weakest_unpassed_exercise(catalog: QuizCatalog) -> None:
    events = [
        _ev("trust_ratio", 0, 0.2, Source.EXERCISE, "exercise:trust_ratio"),
        _ev("trust_ratio", 0, 0.6, Source.EXERCISE, "exercise:lars_trust_ratio"),
    ]
    q = build_queue("s", events, catalog, T0 + timedelta(days=1))
    entry = next(e for e in q["entries"] if e["concept"] == "trust_ratio")
    assert (entry["item"], entry["module"]) == ("exercise:trust_ratio", "4.4")


def _results_dir(root: Path) -> Path:
    write_json(
        root / "ann.json",
        result_doc(
            "ann",
            "2026-03-01T10:00:00Z",
            [
                ("ema", 1, None),
                ("rmsprop_step", 1, None),
                ("adam_step", 0, "no_bias_correction"),
            ],
        ),
    )
    write_json(
        root / "bo.json", result_doc("bo", "2026-03-02T10:00:00Z", [("lamb_step", 0.5, None)])
    )
    write_json(
        root / "quizzes" / "ann.json",
        {
            "student": "ann",
            "history": [
                {
                    "event_id": "e1",
                    "question": "3.1.check.term",
                    "score": 1,
                    "max_score": 1,
                    "answered_at": "2026-03-03T08:00:00Z",
                }
            ],
        },
    )
    return root


def test_equal_inputs_give_equal_bytes(tmp_path: Path, catalog: QuizCatalog) -> None:
    results = _results_dir(tmp_path / "r")
    write_queues(results=results, out=tmp_path / "a", catalog=catalog)
    write_queues(results=results, out=tmp_path / "b", catalog=catalog)
    other = _results_dir(tmp_path / "copy")  # same contents, written later
    _, now = write_queues(results=other, out=tmp_path / "c", catalog=catalog)
    assert now == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # the latest event
    for name in ("ann.json", "bo.json"):
        a = (tmp_path / "a" / "queues" / name).read_bytes()
        assert a == (tmp_path / "b" / "queues" / name).read_bytes()
        assert a == (tmp_path / "c" / "queues" / name).read_bytes()


def test_diagnosis_counts_against_the_misconceptions_concept(
    tmp_path: Path, catalog: QuizCatalog
) -> None:
    events, problems = read_results_dir(_results_dir(tmp_path), catalog)
    assert problems == []
    ann = {(e.concept, e.item, e.frac) for e in events["ann"]}
    assert ("bias_correction", "exercise:adam_step", 0.0) in ann
    assert ("adam_step", "exercise:adam_step", 0.0) in ann
    assert ("coupled_l2", "quiz:3.1.check.term", 1.0) in ann


def test_unreadable_result_files_are_reported_not_fatal(
    tmp_path: Path, catalog: QuizCatalog
) -> None:
    results = _results_dir(tmp_path)
    (results / "broken.json").write_text("{")
    (results / "quizzes" / "zed.json").write_text('{"student": "zed", "history": [{"x": 1}]}')
    written, _ = write_queues(results=results, catalog=catalog)
    assert sorted(p.name for p in written.paths) == ["ann.json", "bo.json", "zed.json"]
    assert any("broken.json: cannot read it as JSON" in p for p in written.problems)
    assert any("zed.json: history[0]: KeyError('question')" in p for p in written.problems)


def test_concept_graph_is_a_dag_and_every_concept_has_practice(catalog: QuizCatalog) -> None:
    from quizzes.concepts import topological_order

    order = topological_order()
    assert set(order) == set(PREREQUISITES)
    for c in order:
        assert all(order.index(p) < order.index(c) for p in PREREQUISITES[c])
        assert any(c in q.concepts for q in catalog.bank_questions), c


def test_result_without_graded_at_uses_tags_and_the_file_mtime(
    tmp_path: Path, catalog: QuizCatalog
) -> None:
    doc = {
        "tests": [
            {"name": "a", "score": 1, "max_score": 2, "tags": ["4.2", "effective_lr"]},
            {"name": "b", "score": 2, "max_score": 2, "tags": ["4.2", "effective_lr"]},
            {
                "name": "c",
                "score": 0,
                "max_score": 1,
                "tags": ["4.2", "adam_direction", "eps_inside_sqrt"],
            },
            {"name": "d", "score": 0, "max_score": 0, "tags": ["4.2", "effective_lr"]},
            {"name": "e", "score": 1, "max_score": 1, "tags": ["9.9", "not_a_function"]},
        ]
    }
    path = write_json(tmp_path / "dee.json", doc)
    stamp = datetime(2026, 4, 1, 12, 0, 30, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp + 0.7))
    events, problems = read_results_dir(tmp_path, catalog)
    assert problems == []
    assert {(e.concept, e.item, e.frac) for e in events["dee"]} == {
        ("epsilon", "exercise:effective_lr", 0.75),  # (1 + 2) / (2 + 2)
        ("epsilon", "exercise:adam_direction", 0.0),
    }
    assert {e.time for e in events["dee"]} == {datetime(2026, 4, 1, 12, 0, 30, tzinfo=UTC)}


def test_every_entry_names_a_real_item_of_its_module(tmp_path: Path, catalog: QuizCatalog) -> None:
    from alr.contract import FUNCTION_MODULE

    events = [
        *_mastered_events("ema"),
        _ev("adam_step", 3, 0.0, Source.EXERCISE, "exercise:adam_step"),
    ]
    q = build_queue("s", events, catalog, T0 + timedelta(days=90))
    assert q["entries"]
    for e in q["entries"]:
        kind, _, name = e["item"].partition(":")
        if kind == "exercise":
            assert FUNCTION_MODULE[name] == e["module"]
        else:
            question = catalog.question(name)
            assert kind == "quiz" and question is not None and question.module == e["module"]
            assert e["concept"] in question.concepts
