"""Do generated questions draw only realisable, non-degenerate states? A property test over
thousands of seeds per question, in pure Python: every state is consistent (paired vectors of
one length, rectangular matrices, what the stem shows is the state), every key satisfies the
lesson's own bound for its quantity, and every mistake the question is about gives a different
number (so a wrong answer is evidence, and no draw makes the asked-for method irrelevant). The
keys themselves are recomputed with the reference solutions in
test_answers_agree_with_solutions.py."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from quizzes.generators import GENERATORS, format_value
from quizzes.model import Question, QuestionKind, QuizCatalog

SEEDS = 1500


def _norm(xs: Any) -> float:
    return math.sqrt(sum(float(x) ** 2 for x in xs))


def _ema_bounds(s: dict[str, Any], key: float) -> bool:
    values = [s["avg0"], *s["xs"]]
    return min(values) - 1e-12 <= key <= max(values) + 1e-12  # a convex combination


def _rmsprop(s: dict[str, Any], key: float) -> bool:
    return 0 < key <= s["lr"] / math.sqrt(1 - s["alpha"]) + 1e-15  # v_T >= (1 - alpha) g_T^2


def _coupled(s: dict[str, Any], key: float) -> bool:
    # each step moves theta by at most lr / sqrt(1 - alpha), since v_t >= (1 - alpha) g'_t^2
    bound = len(s["grads"]) * s["lr"] / math.sqrt(1 - s["alpha"])
    return abs(key - s["theta0"]) <= bound + 1e-9


def _first_moment(s: dict[str, Any], key: float) -> bool:
    return abs(key) <= max(abs(g) for g in s["grads"]) + 1e-12  # the key inequality


def _adamw(s: dict[str, Any], key: float) -> bool:
    return abs(key - s["theta"] * (1 - s["lr"] * s["weight_decay"])) <= s["lr"] + 1e-12


def _second_moment(s: dict[str, Any], key: float) -> bool:
    return 0 < key <= max(g * g for g in s["grads"])


def _rectangular(grad: Any) -> bool:
    return len(grad) >= 2 and len({len(row) for row in grad}) == 1 and len(grad[0]) >= 2


def _row_stat(s: dict[str, Any], key: float) -> bool:
    row = s["grad"][s["i"]]
    return _rectangular(s["grad"]) and 0 < key <= max(x * x for x in row)


def _vhat(s: dict[str, Any], key: float) -> bool:
    grad = s["grad"]
    n, m = len(grad), len(grad[0])
    total = sum(x * x for row in grad for x in row)
    rows = [sum(x * x for x in row) / m for row in grad]
    cols = [sum(grad[k][j] ** 2 for k in range(n)) / n for j in range(m)]
    # realisable: R and C come from one G, so their means agree; V_hat sums to sum(g^2)
    v_sum = sum(r * c for r in rows for c in cols) / (sum(rows) / n)
    return (
        _rectangular(grad)
        and math.isclose(sum(rows) / n, sum(cols) / m)
        and math.isclose(v_sum, total)
        and key > 0
    )


def _alpha(s: dict[str, Any], key: float) -> bool:
    return 1e-3 * 1e-3 <= key <= max(1e-3, _norm(s["theta"]) / 2) * s["lr"] + 1e-15


def _paired(*names: str) -> Callable[[dict[str, Any]], bool]:
    def same_length(s: dict[str, Any]) -> bool:
        return len({len(s[n]) for n in names}) == 1

    return same_length


def _lars(s: dict[str, Any], key: float) -> bool:
    return _paired("theta", "grad")(s) and 0 < key <= s["tc"] * _norm(s["theta"]) / _norm(s["grad"])


def _lars_step(s: dict[str, Any], key: float) -> bool:
    bound = s["lr"] * s["tc"] * _norm(s["theta"])  # ||Delta theta|| <= lr tc ||theta||
    return _paired("theta", "grad")(s) and 0 < key <= bound + 1e-12


def _m_hat(s: dict[str, Any], key: float) -> bool:
    return abs(key) <= max(abs(g) for g in s["grads"]) + 1e-12


def _beta2(s: dict[str, Any], key: float) -> bool:
    return 0 <= key < 1 and (key == 0) == (s["t"] == 1)


def _ratio(s: dict[str, Any], key: float) -> bool:
    return key > 1.05  # the stem asks how much LARGER the uncorrected step is


def _effective_lr(s: dict[str, Any], key: float) -> bool:
    return 0 < key <= s["lr"] / s["eps"] + 1e-12  # the cap lr / eps


def _inflation(s: dict[str, Any], key: float) -> bool:
    return key > 1.01


def _vmax(s: dict[str, Any], key: float) -> bool:
    return 0 < key <= max(g * g for g in s["grads"])


def _lamb(s: dict[str, Any], key: float) -> bool:
    return _paired("theta", "grad")(s) and math.isclose(key, s["lr"] * _norm(s["theta"]))


def _update_ratio(s: dict[str, Any], key: float) -> bool:
    before, after = s["theta_before"], s["theta_after"]
    step = _norm([a - b for a, b in zip(after, before, strict=True)])
    return _paired("theta_before", "theta_after")(s) and step > 0 and key > 0


def _trust(s: dict[str, Any], key: float) -> bool:
    zero = _norm(s["theta"]) == 0 or _norm(s["update"]) == 0
    return _paired("theta", "update")(s) and (key == 1.0 if zero else key > 0)


def _global(s: dict[str, Any], key: float) -> bool:
    return _paired("theta1", "u1")(s) and _paired("theta2", "u2")(s) and key > 0


def _excluded(s: dict[str, Any], key: float) -> bool:
    return _paired("theta", "grad")(s) and all(g != 0 for g in s["grad"])


INVARIANTS: dict[str, Callable[[dict[str, Any], float], bool]] = {
    "ema_final": _ema_bounds,
    "rmsprop_step_size": _rmsprop,
    "coupled_l2_steps": _coupled,
    "first_moment": _first_moment,
    "adamw_theta": _adamw,
    "second_moment": _second_moment,
    "adafactor_row_stat": _row_stat,
    "factored_vhat": _vhat,
    "adafactor_alpha": _alpha,
    "lars_trust": _lars,
    "lars_update_norm": _lars_step,
    "m_hat": _m_hat,
    "adafactor_beta2": _beta2,
    "adam_no_correction_ratio": _ratio,
    "effective_lr": _effective_lr,
    "eps_hat_inflation": _inflation,
    "amsgrad_vmax": _vmax,
    "lamb_update_norm": _lamb,
    "update_ratio": _update_ratio,
    "layer_trust": _trust,
    "global_trust": _global,
    "excluded_update": _excluded,
}


def _generated(catalog: QuizCatalog) -> list[Question]:
    return [q for q in catalog.questions if q.kind is QuestionKind.GENERATED_NUMERIC]


def test_every_generator_has_an_invariant() -> None:
    assert set(INVARIANTS) == set(GENERATORS)


def test_thousands_of_draws_are_realisable_and_not_degenerate(catalog: QuizCatalog) -> None:
    questions = _generated(catalog)
    assert len(questions) >= 20
    for q in questions:
        gen = GENERATORS[q.generator]
        stems = set()
        for seed in range(SEEDS):
            inst = q.instantiate(seed)
            state, where = dict(inst.state), (q.id, seed)
            assert math.isfinite(inst.answer), where
            assert INVARIANTS[q.generator](state, inst.answer), (where, state, inst.answer)
            for name in gen.shown:  # what the stem shows is the drawn state
                value = state.get(name, dict(inst.params).get(name))
                if name in ("i", "j"):
                    value = value + 1  # the stem numbers rows and columns from 1
                assert format_value(value) in inst.stem, (where, name)
            variants = dict(inst.variants)
            applicable = [m for m in gen.core if m in variants]
            assert applicable, (where, "no mistake of the question tells apart from the key")
            values = [inst.answer, *(variants[m] for m in applicable)]
            for i, a in enumerate(values):  # each wrong value points to one mistake
                for b in values[i + 1 :]:
                    assert not q.tolerance.accepts(a, b) and not q.tolerance.accepts(b, a), where
            stems.add(inst.stem)
        assert len(stems) > 1, q.id


def test_every_core_variant_is_named_as_a_misconception(catalog: QuizCatalog) -> None:
    from quizzes.misconceptions import MISCONCEPTIONS

    for q in _generated(catalog):
        assert set(GENERATORS[q.generator].core) <= set(MISCONCEPTIONS), q.id
        assert set(q.misconceptions) == set(GENERATORS[q.generator].core)
