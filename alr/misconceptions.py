"""The misconception ids of the course (spec/exercises.md), as an enum, with a teaching hint each.

The grader names a mistake with one of these ids when a student's results match a known wrong
variant (or a structural failure: in-place change, aliasing, dtype, device); quiz distractors name
the id they reveal; the practice queue targets them. `HINTS[id]` is what the student's code did
and what the rule says; `hint(id, function, location)` adds where to look in the submission.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Misconception(StrEnum):
    """A known mistake, by its id (the value is what result files and quiz YAML carry)."""

    NO_BIAS_CORRECTION = "no_bias_correction"
    BIAS_CORRECTION_M_ONLY = "bias_correction_m_only"
    BIAS_CORRECTION_OFF_BY_ONE = "bias_correction_off_by_one"
    STEP_OFF_BY_ONE = "step_off_by_one"
    EPS_INSIDE_SQRT = "eps_inside_sqrt"
    EPS_HAT_FORM = "eps_hat_form"
    EMA_WEIGHTS_SWAPPED = "ema_weights_swapped"
    SECOND_MOMENT_NOT_SQUARED = "second_moment_not_squared"
    COUPLED_INSTEAD_OF_DECOUPLED = "coupled_instead_of_decoupled"
    DECOUPLED_INSTEAD_OF_COUPLED = "decoupled_instead_of_coupled"
    DECAY_NOT_SCALED_BY_LR = "decay_not_scaled_by_lr"
    DECAY_AFTER_STEP = "decay_after_step"
    AMSGRAD_MAX_OF_CORRECTED = "amsgrad_max_of_corrected"
    AMSGRAD_MAX_NOT_KEPT = "amsgrad_max_not_kept"
    ADAFACTOR_ROWS_COLS_SWAPPED = "adafactor_rows_cols_swapped"
    ADAFACTOR_NO_NORMALISER = "adafactor_no_normaliser"
    ADAFACTOR_NO_CLIPPING = "adafactor_no_clipping"
    LAMB_TRUST_BEFORE_DECAY = "lamb_trust_before_decay"
    TRUST_RATIO_ZERO_ON_ZERO_NORM = "trust_ratio_zero_on_zero_norm"
    TRUST_RATIO_GLOBAL_NORM = "trust_ratio_global_norm"
    LARS_DENOMINATOR_DECAYED_NORM = "lars_denominator_decayed_norm"
    MUTATES_INPUT = "mutates_input"
    ALIASES_INPUT = "aliases_input"
    WRONG_DTYPE = "wrong_dtype"
    WRONG_DEVICE = "wrong_device"


#: Ids the grader finds from how a call failed rather than from a wrong value.
STRUCTURAL: frozenset[Misconception] = frozenset(
    {
        Misconception.MUTATES_INPUT,
        Misconception.ALIASES_INPUT,
        Misconception.WRONG_DTYPE,
        Misconception.WRONG_DEVICE,
    }
)


class Hint(NamedTuple):
    did: str  # what the student's code does
    rule: str  # what the rule says


#: id -> (what your code does, what the rule says)
HINTS: dict[Misconception, Hint] = {
    Misconception.NO_BIAS_CORRECTION: Hint(
        "Your update uses the moments m and v directly.",
        "Both start at zero, so divide them by (1 - beta1**t) and (1 - beta2**t) before the "
        "update; at t = 1 this makes m_hat = g and v_hat = g**2.",
    ),
    Misconception.BIAS_CORRECTION_M_ONLY: Hint(
        "Your update bias-corrects m but not v.",
        "v is biased towards zero too: use v_hat = v / (1 - beta2**t) as well.",
    ),
    Misconception.BIAS_CORRECTION_OFF_BY_ONE: Hint(
        "Your correction uses beta**(t - 1) (or counts t from 0).",
        "t is the 1-based index of the update: the first update has t = 1 and divides by "
        "1 - beta**1 (beta**0 = 1 divides by zero; beta**(t + 1) corrects too little).",
    ),
    Misconception.STEP_OFF_BY_ONE: Hint(
        "Your step uses the step counter one off (t - 1 or t + 1).",
        "t is the 1-based index of the update being made: pass it on unchanged, the first "
        "update has t = 1 (do not count from 0 or increment it before use).",
    ),
    Misconception.EPS_INSIDE_SQRT: Hint(
        "Your denominator is sqrt(v_hat + eps).",
        "The rule adds eps outside the square root: sqrt(v_hat) + eps.",
    ),
    Misconception.EPS_HAT_FORM: Hint(
        "You add eps to sqrt(v) before the bias correction of v (the 'epsilon hat' form).",
        "The rule adds eps after correcting: sqrt(v / (1 - beta2**t)) + eps.",
    ),
    Misconception.EMA_WEIGHTS_SWAPPED: Hint(
        "Your average weights the new value by beta and the old average by 1 - beta.",
        "An exponential moving average keeps beta of the old value: beta * avg + (1 - beta) * x.",
    ),
    Misconception.SECOND_MOMENT_NOT_SQUARED: Hint(
        "Your second moment is fed with g or abs(g).",
        "The second moment averages the squared gradient: (1 - beta2) * g**2.",
    ),
    Misconception.COUPLED_INSTEAD_OF_DECOUPLED: Hint(
        "Your AdamW adds weight_decay * theta to the gradient (that is Adam's L2).",
        "AdamW decays the weights directly: theta = (1 - lr * weight_decay) * theta, and the "
        "moments see the raw gradient.",
    ),
    Misconception.DECOUPLED_INSTEAD_OF_COUPLED: Hint(
        "Your step shrinks theta by (1 - lr * weight_decay) (that is AdamW's decay).",
        "Here weight decay is L2 coupled into the gradient: g = grad + weight_decay * theta, "
        "before the moments.",
    ),
    Misconception.DECAY_NOT_SCALED_BY_LR: Hint(
        "Your decay multiplies theta by (1 - weight_decay).",
        "The decoupled decay is scaled by the learning rate: (1 - lr * weight_decay) * theta.",
    ),
    Misconception.DECAY_AFTER_STEP: Hint(
        "Your decay is applied to theta after the update.",
        "The decay uses the pre-update theta: theta = (1 - lr * wd) * theta - lr * update.",
    ),
    Misconception.AMSGRAD_MAX_OF_CORRECTED: Hint(
        "Your running maximum is taken over the bias-corrected v_hat.",
        "torch keeps the maximum of the raw v and bias-corrects it with the current t.",
    ),
    Misconception.AMSGRAD_MAX_NOT_KEPT: Hint(
        "Your maximum compares only the previous and the current v.",
        "v_max is a running maximum over all steps: v_max = max(v_max, v), returned and passed "
        "back in at the next step.",
    ),
    Misconception.ADAFACTOR_ROWS_COLS_SWAPPED: Hint(
        "Your row and column reductions are exchanged.",
        "row_var averages grad**2 over the last dim (dim=-1, shape (..., n, 1)); col_var over "
        "dim=-2 (shape (..., 1, m)).",
    ),
    Misconception.ADAFACTOR_NO_NORMALISER: Hint(
        "Your estimate is row_var * col_var without a normaliser.",
        "Divide by the mean of row_var over the rows: R * C / max(mean(R, dim=-2), eps1).",
    ),
    Misconception.ADAFACTOR_NO_CLIPPING: Hint(
        "Your update is not clipped.",
        "Divide the update U by max(1, RMS(U) / d) before scaling by the step size.",
    ),
    Misconception.LAMB_TRUST_BEFORE_DECAY: Hint(
        "Your trust ratio uses the norm of the Adam direction r alone.",
        "The trust ratio is ||theta|| / ||r + weight_decay * theta||: the decay is added first.",
    ),
    Misconception.TRUST_RATIO_ZERO_ON_ZERO_NORM: Hint(
        "Your trust ratio is 0 when a norm is zero.",
        "A zero norm gives a trust ratio of 1.0; 0 would freeze zero-initialised tensors.",
    ),
    Misconception.TRUST_RATIO_GLOBAL_NORM: Hint(
        "Your trust ratio uses the norms of all layers together.",
        "Each tensor gets its own ratio from its own norms.",
    ),
    Misconception.LARS_DENOMINATOR_DECAYED_NORM: Hint(
        "Your LARS denominator is ||g + weight_decay * theta||.",
        "timm's LARS divides by ||g|| + weight_decay * ||theta|| + eps.",
    ),
    Misconception.MUTATES_INPUT: Hint(
        "Your function changed one of its arguments in place (for example with +=, mul_ or "
        "an indexed assignment).",
        "Inputs must not be modified: build new tensors (m = beta1 * m + ...) and return them.",
    ),
    Misconception.ALIASES_INPUT: Hint(
        "Your function returned one of its input tensors itself.",
        "Results must be new tensors that do not share memory with the inputs (use .clone()).",
    ),
    Misconception.WRONG_DTYPE: Hint(
        "Your result has a different dtype from the inputs.",
        "float32 in, float32 out: create tensors with torch.zeros_like(theta) or dtype=x.dtype, "
        "and keep scalars as Python floats.",
    ),
    Misconception.WRONG_DEVICE: Hint(
        "Your result is not on the device of the inputs (or the code does not run there).",
        "Results stay on theta.device: no .cpu(), .numpy() or .item() on returned tensors, and "
        "create tensors with *_like or device=theta.device.",
    ),
}


def hint(misconception: Misconception | str, function: str, location: str | None) -> str:
    """The full hint: what the code did, the rule, and where to look."""
    did, rule = HINTS.get(Misconception(misconception), Hint("", ""))
    where = f"Look at `{function}`" + (f" ({location})." if location else ".")
    return " ".join(part for part in (did, rule, where) if part)
