"""Does the queue follow each student's diagnosis, gate on mastery without locking direct
evidence, schedule reviews, order entries by its documented rule, never lower mastery for a
right answer, and give the same bytes for the same inputs?"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alr.results import ModuleResult, TestRecord, write_result
from quizzes.api import write_queues
from quizzes.concepts import PREREQUISITES
from quizzes.evidence import Event, Source, read_results_dir
from quizzes.mastery import MASTERY, bkt_update, concept_state
from quizzes.model import QuizCatalog
from quizzes.queue import build_queue
from tests.quizzes.conftest import write_json, write_results

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _ev(
    concept: str,
    day: float,
    frac: float,
    source: Source = Source.QUIZ,
    item: str = "",
    misconceptions: tuple[str, ...] = (),
) -> Event:
    when = T0 + timedelta(days=day)
    return Event(when, concept, item or f"quiz:{concept}", source, frac, misconceptions)


@pytest.mark.parametrize("guess", [0.05, 0.25])
def test_bkt_update_is_increasing_in_the_answer_and_the_prior(guess: float) -> None:
    grid = [i / 20 for i in range(21)]
    for p in (0.01, 0.2, 0.5, 0.9, 0.99):
        values = [bkt_update(p, y, guess) for y in grid]
        assert values == sorted(values)
    for y in grid:
        values = [bkt_update(p, y, guess) for p in (0.01, 0.2, 0.5, 0.9)]
        assert values == sorted(values)


def test_bkt_update_matches_a_hand_computed_value() -> None:
    """p = 0.2, a right quiz answer: posterior 0.18 / (0.18 + 0.2) = 0.473684, then learning
    0.473684 + 0.526316 * 0.15 = 0.552632; a wrong one: 0.02 / 0.62 = 0.032258, then 0.177419."""
    assert bkt_update(0.2, 1.0, 0.25) == pytest.approx(0.5526315789, abs=1e-9)
    assert bkt_update(0.2, 0.0, 0.25) == pytest.approx(0.1774193548, abs=1e-9)


def _history(rng: random.Random, n: int) -> list[Event]:
    return [
        _ev(
            "ema",
            rng.uniform(0, 30),
            rng.choice([0.0, 0.0, 0.25, 0.5, 1.0]),
            rng.choice(list(Source)),
            item=f"quiz:{rng.randrange(6)}",
        )
        for _ in range(n)
    ]


def test_a_correct_answer_added_anywhere_never_lowers_mastery() -> None:
    """Property test over 3,000 random histories: a right answer inserted at a random time
    (before, between, at the same time as, or after the others) never lowers the final P(known),
    and a concept that was mastered stays mastered."""
    rng = random.Random(5)
    for _ in range(3000):
        events = _history(rng, rng.randrange(0, 9))
        before = concept_state(events)
        when = rng.choice([e.time for e in events] or [T0]) if rng.random() < 0.3 else None
        day = (when - T0).total_seconds() / 86400 if when else rng.uniform(-1, 31)
        extra = _ev("ema", day, 1.0, rng.choice(list(Source)), item=f"quiz:{rng.randrange(6)}")
        after = concept_state([*events, extra])
        assert after.p_known >= before.p_known - 1e-12, (events, extra)
        assert before.mastered_at is None or after.mastered_at is not None


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
    assert due[0]["retrievability"] < 0.9 and "review ema: due" in due[0]["reason"]
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
        _ev("adam_step", 26, 0.0, Source.EXERCISE, "exercise:adam_step", ("no_bias_correction",)),
    ]
    q = build_queue("s", events, catalog, T0 + timedelta(days=40))
    entries = q["entries"]
    kinds = [e["kind"] for e in entries]
    assert kinds == sorted(kinds, key=["learn", "review", "scheduled"].index)
    fixes = [e for e in entries if e["misconception"]]
    assert entries[: len(fixes)] == fixes and fixes[0]["misconception"] == "no_bias_correction"
    learn = [e for e in entries if e["kind"] == "learn" and not e["misconception"]]
    observed = [e["concept"] for e in learn if q["concepts"][e["concept"]]["observations"]]
    assert [e["concept"] for e in learn[: len(observed)]] == observed  # direct evidence first
    assert {"trust_ratio", "first_moment", "adam_step"} <= set(observed)
    review = [e for e in entries if e["kind"] == "review"]
    assert [e["retrievability"] for e in review] == sorted(e["retrievability"] for e in review)
    assert [e["rank"] for e in entries] == list(range(1, len(entries) + 1))
    assert all(e["reason"] and e["due"] for e in entries)


def test_learning_item_prefers_the_weakest_unpassed_exercise(catalog: QuizCatalog) -> None:
    events = [
        _ev("trust_ratio", 0, 0.2, Source.EXERCISE, "exercise:trust_ratio"),
        _ev("trust_ratio", 0, 0.6, Source.EXERCISE, "exercise:lars_trust_ratio"),
    ]
    q = build_queue("s", events, catalog, T0 + timedelta(days=1))
    entry = next(e for e in q["entries"] if e["concept"] == "trust_ratio")
    assert (entry["item"], entry["module"]) == ("exercise:trust_ratio", "4.4")


def _results_dir(root: Path) -> Path:
    write_results(
        root,
        "ann",
        "2026-03-01T10:00:00Z",
        [("ema", 1, None), ("rmsprop_step", 1, None), ("adam_step", 0, "no_bias_correction")],
    )
    write_results(root, "bo", "2026-03-02T10:00:00Z", [("lamb_step", 0.5, None)])
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
    (results / "ann" / "4.5.json").write_text("{")
    (results / "quizzes" / "zed.json").write_text('{"student": "zed", "history": [{"x": 1}]}')
    written, _ = write_queues(results=results, catalog=catalog)
    assert sorted(p.name for p in written.paths) == ["ann.json", "bo.json", "zed.json"]
    assert any("ann/4.5.json: line 1: not valid JSON" in p for p in written.problems)
    assert any("zed.json: history[0]: KeyError('question')" in p for p in written.problems)


def test_concept_graph_is_a_dag_and_every_concept_has_practice(catalog: QuizCatalog) -> None:
    from quizzes.concepts import topological_order

    order = topological_order()
    assert set(order) == set(PREREQUISITES)
    for c in order:
        assert all(order.index(p) < order.index(c) for p in PREREQUISITES[c])
        assert any(c in q.concepts for q in catalog.bank_questions), c


def test_result_without_graded_at_uses_the_file_mtime(tmp_path: Path, catalog: QuizCatalog) -> None:
    result = ModuleResult(
        student="dee",
        module="4.2",
        tests=(
            TestRecord("a", 1, 2, "", "4.2", "effective_lr"),
            TestRecord("b", 2, 2, "", "4.2", "effective_lr"),
            TestRecord("c", 0, 1, "", "4.2", "adam_direction", diagnosis="eps_inside_sqrt"),
            TestRecord("d", 0, 0, "", "4.2", "effective_lr"),
        ),
    )
    path = write_result(tmp_path, result)  # no graded_at: the file's time counts
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


# --- the queue follows the diagnosis ---------------------------------------------------------


def _result(functions: dict[str, tuple[float, tuple[str, ...]]], day: float = 0) -> list[Event]:
    """The events of one graded module as the evidence reader makes them: one per concept of
    each function, and a 0 for a misconception's concept the function does not cover."""
    from quizzes.concepts import FUNCTION_CONCEPTS
    from quizzes.misconceptions import MISCONCEPTIONS

    events = []
    for fn, (frac, found) in functions.items():
        item = f"exercise:{fn}"
        events += [_ev(c, day, frac, Source.EXERCISE, item, found) for c in FUNCTION_CONCEPTS[fn]]
        events += [
            _ev(MISCONCEPTIONS[m].concept, day, 0.0, Source.EXERCISE, item, (m,))
            for m in found
            if MISCONCEPTIONS[m].concept not in FUNCTION_CONCEPTS[fn]
        ]
    return events


def _check_answers(catalog: QuizCatalog, module: str, picks: list[str], day: float) -> list[Event]:
    """Quiz events of a skill check answered with the given option ids (via the scorer)."""
    from quizzes.evidence import quiz_events
    from quizzes.scoring import score_document, score_records
    from quizzes.store import AnswerRecord, format_time

    records = [
        AnswerRecord(
            f"e{i}", "s", module, q.id, pick, format_time(T0 + timedelta(days=day, minutes=i))
        )
        for i, (q, pick) in enumerate(zip(catalog.module(module).skill_check, picks, strict=True))
    ]
    scored, problems = score_records(records, catalog)
    assert problems == []
    events, problems = quiz_events(score_document("s", scored, []), catalog)
    assert problems == []
    return events


def _wrong_picks(catalog: QuizCatalog, module: str, prefer: str) -> list[str]:
    """0/4: each question's wrong option that names `prefer` if there is one, else the first."""
    picks = []
    for q in catalog.module(module).skill_check:
        wrong = [o for o in q.options if not o.correct]
        picks.append(next((o.id for o in wrong if o.misconception == prefer), wrong[0].id))
    return picks


def _three_students(catalog: QuizCatalog) -> dict[str, list[Event]]:
    ann = _result(
        {
            "bias_correction": (1.0, ()),
            "adam_step": (0.0, ("no_bias_correction",)),
            "adafactor_beta2": (1.0, ()),
        }
    ) + _check_answers(catalog, "4.1", _wrong_picks(catalog, "4.1", "no_bias_correction"), 0.1)
    bo = _result({"adam_direction": (0.0, ("eps_inside_sqrt",)), "effective_lr": (1.0, ())})
    cy = _result(
        {"bias_correction": (0.0, ()), "adam_step": (0.0, ()), "adafactor_beta2": (0.0, ())}
    )
    return {"ann": ann, "bo": bo, "cy": cy}


def test_three_students_get_three_queues_each_led_by_its_own_mistake(catalog: QuizCatalog) -> None:
    """no_bias_correction in adam_step plus 0/4 on check 4.1; eps inside the square root; a blank
    notebook: three different queues, each led by practice for what that student got wrong."""
    queues = {
        name: build_queue(name, events, catalog, T0 + timedelta(days=1))["entries"]
        for name, events in _three_students(catalog).items()
    }
    ann, bo, cy = queues["ann"], queues["bo"], queues["cy"]
    assert (ann[0]["misconception"], ann[0]["item"]) == ("no_bias_correction", "exercise:adam_step")
    assert "your adam_step showed this mistake" in ann[0]["reason"]
    assert "divide them by (1 - beta1**t) and (1 - beta2**t)" in ann[0]["reason"]
    targeted = [e["item"] for e in ann if e["misconception"] == "no_bias_correction"][1:]
    assert targeted and all(
        "no_bias_correction" in catalog.question(i.split(":", 1)[1]).misconceptions  # type: ignore[union-attr]
        for i in targeted
    )
    assert (bo[0]["misconception"], bo[0]["item"]) == ("eps_inside_sqrt", "exercise:adam_direction")
    assert "sqrt(v_hat) + eps" in bo[0]["reason"]
    assert (cy[0]["concept"], cy[0]["item"], cy[0]["misconception"]) == (
        "bias_correction",
        "exercise:bias_correction",
        None,
    )
    firsts = {(q[0]["concept"], q[0]["item"], q[0]["misconception"]) for q in queues.values()}
    assert len(firsts) == 3
    assert len({tuple(e["item"] for e in q[:5]) for q in queues.values()}) == 3


def test_a_blank_submission_starts_at_the_modules_first_concept(catalog: QuizCatalog) -> None:
    from alr.contract import FUNCTION_MODULE
    from quizzes.concepts import FUNCTION_CONCEPTS

    for module in ("3.2", "3.5", "4.1", "4.3"):
        functions = [fn for fn, m in FUNCTION_MODULE.items() if m == module]
        events = _result({fn: (0.0, ()) for fn in functions})
        first = build_queue("s", events, catalog, T0 + timedelta(days=1))["entries"][0]
        assert first["item"] == f"exercise:{functions[0]}", module
        assert first["concept"] == FUNCTION_CONCEPTS[functions[0]][0], module


def test_direct_evidence_is_never_locked_behind_unobserved_prerequisites(
    catalog: QuizCatalog,
) -> None:
    q = build_queue("s", _result({"adafactor_step": (0.5, ())}), catalog, T0 + timedelta(days=1))
    assert q["concepts"]["adafactor"]["state"] == "learning"  # its prerequisites are unobserved
    assert q["concepts"]["factored_second_moment"]["state"] == "locked"
    assert q["entries"][0]["concept"] == "adafactor"
    rest = [e["concept"] for e in q["entries"][1:]]
    # prerequisites order the rest: ema (adafactor builds on it) before unrelated roots
    assert rest == ["ema", "coupled_l2", "trust_ratio"]
    assert "needed for adafactor" in q["entries"][1]["reason"]


def test_a_quiz_distractor_is_evidence_for_its_misconception(catalog: QuizCatalog) -> None:
    q = catalog.question("4.1.bank.m-only")
    assert q is not None
    pick = next(o for o in q.options if o.misconception == "bias_correction_m_only")
    events = _ev(
        "bias_correction", 0, 0.0, item=f"quiz:{q.id}", misconceptions=(pick.misconception,)
    )
    queue = build_queue("s", [events], catalog, T0 + timedelta(days=1))
    first = queue["entries"][0]
    assert first["misconception"] == "bias_correction_m_only" and first["item"].startswith("quiz:")
    assert "your answer to 4.1.bank.m-only showed this mistake" in first["reason"]
    assert queue["misconceptions"]["bias_correction_m_only"]["active"] is True


def test_a_passing_redo_clears_the_misconception(catalog: QuizCatalog) -> None:
    shown = _result({"adam_step": (0.0, ("no_bias_correction",))})
    fixed = _result({"adam_step": (1.0, ())}, day=2)
    queue = build_queue("s", shown + fixed, catalog, T0 + timedelta(days=3))
    assert queue["misconceptions"]["no_bias_correction"]["active"] is False
    assert queue["misconceptions"]["no_bias_correction"]["cleared_at"] == "2026-03-03T09:00:00Z"
    assert not any(e["misconception"] for e in queue["entries"])
    again = _result({"adam_step": (0.0, ("no_bias_correction",))}, day=4)
    later = build_queue("s", shown + fixed + again, catalog, T0 + timedelta(days=5))
    assert later["entries"][0]["misconception"] == "no_bias_correction"


def test_a_right_answer_to_a_targeting_question_clears_it(catalog: QuizCatalog) -> None:
    shown = _result({"adam_direction": (0.0, ("eps_inside_sqrt",))})
    target = catalog.questions_targeting("eps_inside_sqrt")[0]
    right = _ev("epsilon", 1, 1.0, item=f"quiz:{target.id}")
    queue = build_queue("s", [*shown, right], catalog, T0 + timedelta(days=2))
    assert queue["misconceptions"]["eps_inside_sqrt"]["active"] is False
    unrelated = _ev("epsilon", 1, 1.0, item="quiz:4.2.bank.cap")  # names no misconception
    assert "eps_inside_sqrt" not in catalog.targets("quiz:4.2.bank.cap")
    still = build_queue("s", [*shown, unrelated], catalog, T0 + timedelta(days=2))
    assert still["misconceptions"]["eps_inside_sqrt"]["active"] is True


def test_a_right_first_answer_added_to_an_answer_history_never_lowers_mastery(
    catalog: QuizCatalog,
) -> None:
    """The same property through the scorer and the evidence reader: 300 random answer
    histories on module 4.1's questions, plus a right answer to a question not yet answered,
    at a random time; no concept of that question loses P(known), including when earlier
    answers are repeats (practice) of other questions."""
    from quizzes.evidence import quiz_events
    from quizzes.model import QuestionKind
    from quizzes.scoring import score_document, score_records
    from quizzes.store import AnswerRecord, format_time

    questions = [
        q
        for q in (*catalog.module("4.1").skill_check, *catalog.module("4.1").bank)
        if q.kind is QuestionKind.SINGLE_CHOICE
    ]
    rng = random.Random(11)

    def p_known(records: list[AnswerRecord]) -> dict[str, float]:
        scored, _ = score_records(records, catalog)
        events, _ = quiz_events(score_document("s", scored, []), catalog)
        doc = build_queue("s", events, catalog, T0 + timedelta(days=40))
        return {c: v["p_known"] for c, v in doc["concepts"].items()}

    def answer(i: int, q: object, option: str, day: float) -> AnswerRecord:
        when = format_time(T0 + timedelta(days=day))
        return AnswerRecord(f"e{i:04d}", "s", "4.1", q.id, option, when)  # type: ignore[attr-defined]

    for _ in range(300):
        pool = rng.sample(questions, len(questions))
        new, old = pool[0], pool[1 : rng.randrange(2, 7)]
        records = [
            answer(i, q, rng.choice(q.option_ids), rng.uniform(0, 30))
            for i, q in enumerate(rng.choices(old, k=rng.randrange(1, 9)))
        ]
        before = p_known(records)
        extra = answer(9999, new, new.correct_ids[0], rng.uniform(-1, 31))
        after = p_known([*records, extra])
        for c in new.concepts:
            assert after[c] >= before[c] - 1e-6, (c, records, extra)


def test_practice_answers_are_no_evidence_but_move_practice_on(catalog: QuizCatalog) -> None:
    """A repeated answer does not change P(known); it does make the queue offer another item
    of the concept next time."""
    from dataclasses import replace

    both = {"trust_ratio": (0.0, ()), "lars_trust_ratio": (0.0, ())}
    base = _result(both) + _result(both, day=1)  # both functions tried twice: other ways in
    first = build_queue("s", base, catalog, T0 + timedelta(days=2))
    entry = next(e for e in first["entries"] if e["concept"] == "trust_ratio")
    assert entry["item"].startswith("quiz:")
    repeat = replace(_ev("trust_ratio", 1.5, 1.0, item=entry["item"]), practice=True)
    second = build_queue("s", [*base, repeat], catalog, T0 + timedelta(days=2))
    assert second["concepts"]["trust_ratio"] == first["concepts"]["trust_ratio"]
    again = next(e for e in second["entries"] if e["concept"] == "trust_ratio")
    assert again["item"] != entry["item"]


def test_a_function_that_keeps_failing_gives_way_to_other_items(catalog: QuizCatalog) -> None:
    events = []
    for day in range(4):
        events += _result({"adam_step": (0.0, ("no_bias_correction",))}, day=day)
    queue = build_queue("s", events, catalog, T0 + timedelta(days=5))
    fixes = [e for e in queue["entries"] if e["misconception"] == "no_bias_correction"]
    assert fixes and all(e["item"].startswith("quiz:") for e in fixes)  # no fifth redo
    assert queue["misconceptions"]["no_bias_correction"]["active"] is True


def test_fix_entries_never_offer_a_question_whose_answer_cannot_count(
    catalog: QuizCatalog,
) -> None:
    """A question already answered is practice only, so it cannot show the mistake is gone:
    the queue offers the targeting questions not yet answered (or generated ones)."""
    targeting = catalog.questions_targeting("bias_correction_m_only")
    answered = [q for q in targeting if not q.generator]
    assert answered
    events = [
        _ev(
            "bias_correction",
            0.1 * i,
            0.0,
            item=f"quiz:{q.id}",
            misconceptions=("bias_correction_m_only",),
        )
        for i, q in enumerate(answered)
    ]
    queue = build_queue("s", events, catalog, T0 + timedelta(days=1))
    offered = [
        e["item"] for e in queue["entries"] if e["misconception"] == "bias_correction_m_only"
    ]
    for item in offered:
        q = catalog.question(item.split(":", 1)[1])
        assert q is not None and (q.generator or q not in answered), item
