"""Do the questions test the math without cues? Every distractor names what it reveals, options
are shuffled per student so the key's position is uniform, the key is not the longest option
by habit, skill checks are answered from content, and no question is a copy of another."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from alr.yamlio import parse_yaml
from quizzes.bank import DATA_DIR, MODULE_IDS
from quizzes.misconceptions import MISCONCEPTIONS, NONE
from quizzes.model import QuestionKind, QuizCatalog

CHOICE = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_ANSWER)


def _raw_options() -> list[tuple[str, dict[str, object]]]:
    """(where, option mapping) of every option in the YAML files, as written."""
    found = []
    for module in MODULE_IDS:
        data = parse_yaml(DATA_DIR / f"{module}.yaml")
        for part in ("skill_check", "bank"):
            for i, question in enumerate(data[part]):
                for j, option in enumerate(question.get("options", [])):
                    found.append((f"{module} {part}[{i}].options[{j}]", option))
    return found


def test_every_distractor_names_the_misconception_it_reveals_or_none() -> None:
    options = _raw_options()
    wrong = [(w, o) for w, o in options if not o.get("correct")]
    assert len(wrong) > 200
    for where, option in wrong:
        assert option.get("misconception") in {*MISCONCEPTIONS, NONE}, where
    for where, option in options:
        if option.get("correct"):
            assert "misconception" not in option, where
    named = [o for _, o in wrong if o["misconception"] != NONE]
    assert len(named) >= 0.4 * len(wrong), "most distractors should be evidence for the queue"


def test_every_misconception_named_by_a_distractor_has_practice(catalog: QuizCatalog) -> None:
    """The queue can only target what some bank question targets."""
    named = {o.misconception for q in catalog.questions for o in q.options if o.misconception}
    for m in sorted(named | {m for m, x in MISCONCEPTIONS.items() if not x.graded}):
        assert catalog.questions_targeting(m), m


def _positions(catalog: QuizCatalog, students: int) -> dict[int, Counter[int]]:
    """n options -> how often a correct option is shown at each position, over students."""
    seen: dict[int, Counter[int]] = {}
    for q in catalog.questions:
        if q.kind not in CHOICE:
            continue
        for s in range(students):
            shown = q.presentation(f"student-{s}").options
            counts = seen.setdefault(len(shown), Counter())
            counts.update(i for i, o in enumerate(shown) if o.correct)
    return seen


def _chi_square(counts: Counter[int], n: int) -> float:
    total = sum(counts.values())
    return sum((counts[i] - total / n) ** 2 / (total / n) for i in range(n))


def test_key_position_is_uniform_across_students_over_the_whole_bank(
    catalog: QuizCatalog,
) -> None:
    """Over 300 students and every choice question, a correct option lands in each position
    equally often (chi-square below the 0.1% critical value for 3 degrees of freedom)."""
    seen = _positions(catalog, 300)
    assert set(seen) == {4}
    assert _chi_square(seen[4], 4) < 16.27, seen[4]


def test_one_students_order_is_stable_and_students_differ(catalog: QuizCatalog) -> None:
    questions = [q for q in catalog.questions if q.kind in CHOICE]
    for q in questions:
        assert q.presentation("ann") == q.presentation("ann")
        assert sorted(o.id for o in q.presentation("ann").options) == sorted(q.option_ids)
    differ = sum(q.presentation("ann") != q.presentation("bo") for q in questions)
    assert differ > 0.8 * len(questions)
    first = Counter(q.presentation("ann").options[0].correct for q in questions)
    assert first[True] < 0.5 * len(questions)  # no student sees the key first by habit


def test_the_file_order_spreads_single_choice_keys(catalog: QuizCatalog) -> None:
    """LMS exports show the file's order: no position may hold most of the keys."""
    keys = [
        q.option_ids.index(q.correct_ids[0])
        for q in catalog.questions
        if q.kind is QuestionKind.SINGLE_CHOICE
    ]
    counts = Counter(keys)
    assert max(counts.values()) <= 0.35 * len(keys), counts


def test_the_key_is_not_systematically_the_longest_option(catalog: QuizCatalog) -> None:
    """The key is the strictly longest option no more often than chance would make it, and not
    much longer than the distractors on average (skill checks included: the practice slot)."""
    singles = [q for q in catalog.questions if q.kind is QuestionKind.SINGLE_CHOICE]
    longest, ratios = 0, []
    for q in singles:
        key = next(o for o in q.options if o.correct)
        others = [len(o.text) for o in q.options if not o.correct]
        longest += len(key.text) > max(others)
        ratios.append(len(key.text) / (sum(others) / len(others)))
    assert longest <= len(singles) / 3, f"{longest} of {len(singles)} keys are the longest"
    assert sum(ratios) / len(ratios) < 1.15
    practice = [
        next(len(o.text) for o in m.skill_check[3].options if o.correct)
        / max(len(o.text) for o in m.skill_check[3].options if not o.correct)
        for m in catalog.modules
    ]
    assert sum(practice) / len(practice) < 1.2, practice


_MATH = re.compile(r"[=/^|]|\*|`")


def test_every_skill_check_question_is_answered_from_content(catalog: QuizCatalog) -> None:
    """Each of the four slots shows a formula, a code fragment or a log of numbers (a fenced
    block or code in the stem), or its options are formulas."""
    for m in catalog.modules:
        for q in m.skill_check:
            in_stem = "```" in q.stem or "`" in q.stem
            in_options = sum(bool(_MATH.search(o.text)) for o in q.options) >= 2
            assert in_stem or in_options, q.id
        assert sum("```" in q.stem for q in m.skill_check) >= 2, m.module


def test_no_question_copies_another(catalog: QuizCatalog) -> None:
    generators = [q.generator for q in catalog.questions if q.generator]
    assert len(generators) == len(set(generators)), Counter(generators).most_common(3)
    stems = [re.sub(r"\W+", " ", q.stem.lower()) for q in catalog.questions]
    assert len(stems) == len(set(stems))
    # bank questions never share their options (skill checks' section slots share titles)
    option_sets = [
        frozenset(o.text for o in q.options) for q in catalog.bank_questions if q.options
    ]
    assert len(option_sets) == len(set(option_sets))


def test_every_option_explains_why_in_a_sentence(catalog: QuizCatalog) -> None:
    for q in catalog.questions:
        for o in q.options:
            why = o.explanation.strip()
            assert len(why) >= 40 and why.endswith((".", ")")), (q.id, o.id, why)
            assert why.lower() not in {"right.", "wrong."}


@pytest.mark.parametrize("module", MODULE_IDS)
def test_amsgrad_is_never_said_to_keep_the_step_from_growing(
    catalog: QuizCatalog, module: str
) -> None:
    """torch's bias-corrected AMSGrad can raise its effective rate (optimizers.md section 13):
    no stem or correct option may claim the opposite."""
    claim = re.compile(r"(never (grows|rises|increases)|non-increasing effective)", re.I)
    for q in (*catalog.module(module).skill_check, *catalog.module(module).bank):
        texts = [q.stem, *(o.text for o in q.options if o.correct)]
        assert not any(claim.search(t) for t in texts), q.id
