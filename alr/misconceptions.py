"""The misconception ids of the course (spec/exercises.md), as an enum, with a teaching hint each.

The grader names a mistake with one of these ids when a student's results match a known wrong
variant (or a structural failure: in-place change, aliasing, dtype, device); quiz distractors name
the id they reveal (some ids, `QUIZ_ONLY`, are beliefs only an answer can show); the practice
queue targets them. `HINTS[id]` is what the student's code did
and what the rule says; `hint(id, function, location)` adds where to look in the submission.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Misconception(StrEnum):
    "''A known mistake, by its id (the value is what result files and quiz YAML carry).''"

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
    # beliefs only a quiz answer can reveal (no graded function shows them)
    EMA_UNNORMALISED = "ema_unnormalised"
    FIRST_MOMENT_UNBOUNDED = "first_moment_unbounded"
    RMSPROP_BIAS_CORRECTED = "rmsprop_bias_corrected"
    STEP_SCALES_WITH_GRADIENT = "step_scales_with_gradient"
    DECAY_PAPER_SCALING = "decay_paper_scaling"
    ADAFACTOR_SUMS_NOT_MEANS = "adafactor_sums_not_means"
    FACTORED_EXACT_ALWAYS = "factored_exact_always"
    ADAFACTOR_BETA2_SWAPPED = "adafactor_beta2_swapped"
    ADAFACTOR_RHO_IS_LR = "adafactor_rho_is_lr"
    ADAFACTOR_DECAY_BY_ALPHA = "adafactor_decay_by_alpha"
    RMS_AS_NORM = "rms_as_norm"
    ONE_LR_FOR_ALL_LAYERS = "one_lr_for_all_layers"
    LARS_NO_TRUST_COEFFICIENT = "lars_no_trust_coefficient"
    LARS_DIRECTION_WITHOUT_DECAY = "lars_direction_without_decay"
    EPS_NEGLIGIBLE = "eps_negligible"
    AMSGRAD_RATE_NEVER_RISES = "amsgrad_rate_never_rises"
    TRUST_RATIO_NOT_APPLIED = "trust_ratio_not_applied"
    TRUST_RATIO_INVERTED = "trust_ratio_inverted"
    UPDATE_RATIO_AFTER_NORM = "update_ratio_after_norm"
    UPDATE_RATIO_INVERTED = "update_ratio_inverted"
    EXCLUSION_IGNORED = "exclusion_ignored"


#: Ids the grader finds from how a call failed rather than from a wrong value.
STRUCTURAL: frozenset[Misconception] = frozenset(
    {
        Misconception.MUTATES_INPUT,
        Misconception.ALIASES_INPUT,
        Misconception.WRONG_DTYPE,
        Misconception.WRONG_DEVICE,
    }
)


#: Ids only a quiz answer reveals: beliefs, not lines of code; the grader never names them.
QUIZ_ONLY: frozenset[Misconception] = frozenset(
    {
        Misconception.EMA_UNNORMALISED,
        Misconception.FIRST_MOMENT_UNBOUNDED,
        Misconception.RMSPROP_BIAS_CORRECTED,
        Misconception.STEP_SCALES_WITH_GRADIENT,
        Misconception.DECAY_PAPER_SCALING,
        Misconception.ADAFACTOR_SUMS_NOT_MEANS,
        Misconception.FACTORED_EXACT_ALWAYS,
        Misconception.ADAFACTOR_BETA2_SWAPPED,
        Misconception.ADAFACTOR_RHO_IS_LR,
        Misconception.ADAFACTOR_DECAY_BY_ALPHA,
        Misconception.RMS_AS_NORM,
        Misconception.ONE_LR_FOR_ALL_LAYERS,
        Misconception.LARS_NO_TRUST_COEFFICIENT,
        Misconception.LARS_DIRECTION_WITHOUT_DECAY,
        Misconception.EPS_NEGLIGIBLE,
        Misconception.AMSGRAD_RATE_NEVER_RISES,
        Misconception.TRUST_RATIO_NOT_APPLIED,
        Misconception.TRUST_RATIO_INVERTED,
        Misconception.UPDATE_RATIO_AFTER_NORM,
        Misconception.UPDATE_RATIO_INVERTED,
        Misconception.EXCLUSION_IGNORED,
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
    Misconception.EMA_UNNORMALISED: Hint(
        "You add the new value with weight 1 instead of 1 - beta.",
        "An EMA mixes old and new: beta * avg + (1 - beta) * x, so its weights sum to at most 1.",
    ),
    Misconception.FIRST_MOMENT_UNBOUNDED: Hint(
        "You expect m_t to be able to exceed the largest gradient seen.",
        "m_t is a sum of past gradients with non-negative weights that add up to 1 - beta1**t, so "
        "|m_t| <= max |g_s|.",
    ),
    Misconception.RMSPROP_BIAS_CORRECTED: Hint(
        "You divide RMSProp's average by 1 - alpha**t, as Adam does.",
        "RMSProp has no bias correction: v_1 = (1 - alpha) * g**2, so its first step is about lr /"
        " sqrt(1 - alpha), 10 lr for alpha = 0.99.",
    ),
    Misconception.STEP_SCALES_WITH_GRADIENT: Hint(
        "You expect Adam's step to grow with the size of the gradient, as SGD's does.",
        "Dividing by sqrt(v_hat) cancels the scale: multiplying every gradient by c leaves the "
        "step unchanged (eps -> 0).",
    ),
    Misconception.DECAY_PAPER_SCALING: Hint(
        "You take the paper's weight decay and torch's weight_decay as the same number.",
        "torch multiplies the decay by lr, so lambda_paper = lr * lambda_torch.",
    ),
    Misconception.ADAFACTOR_SUMS_NOT_MEANS: Hint(
        "You reduce G**2 with sums where torch takes means.",
        "R = mean(G**2, dim=-1) and C = mean(G**2, dim=-2), normalised by mean(R); sums over a "
        "mean normaliser make the estimate n times too large for n rows.",
    ),
    Misconception.FACTORED_EXACT_ALWAYS: Hint(
        "You take R * C / mean(R) as equal to g**2 for every gradient.",
        "The factored estimate reproduces g**2 exactly only when g**2 is a rank-1 matrix (an outer"
        " product); otherwise it approximates it with n + m numbers.",
    ),
    Misconception.ADAFACTOR_BETA2_SWAPPED: Hint(
        "You use t**beta2_decay as Adafactor's decay rate.",
        "The decay rate is beta2_hat_t = 1 - t**beta2_decay: 0 at t = 1, rising towards 1.",
    ),
    Misconception.ADAFACTOR_RHO_IS_LR: Hint(
        "You take Adafactor's relative step size as lr at every step.",
        "rho_t = min(lr, 1/sqrt(t)): once t > 1/lr**2 the 1/sqrt(t) term is the smaller one.",
    ),
    Misconception.ADAFACTOR_DECAY_BY_ALPHA: Hint(
        "You scale Adafactor's weight decay by the step size alpha_t.",
        "torch decays theta by (1 - lr * weight_decay) with the user lr; scaling by alpha_t is the"
        " HF form, a different rule.",
    ),
    Misconception.RMS_AS_NORM: Hint(
        "You scale Adafactor's step by the norm of theta.",
        "The scale is RMS(theta) = ||theta|| / sqrt(numel), floored at eps2 = 1e-3.",
    ),
    Misconception.ONE_LR_FOR_ALL_LAYERS: Hint(
        "You expect one global learning rate to suit every layer.",
        "A layer's update-to-weight ratio is lr * ||g|| / ||theta||; when that spread is 100x, one"
        " lr is too large for some layers and too small for others.",
    ),
    Misconception.LARS_NO_TRUST_COEFFICIENT: Hint(
        "Your LARS ratio leaves out the trust coefficient.",
        "tau = trust_coefficient * ||theta|| / (||g|| + wd * ||theta|| + eps); without it the "
        "steps are about 1000 times too large.",
    ),
    Misconception.LARS_DIRECTION_WITHOUT_DECAY: Hint(
        "You scale g alone by LARS's trust ratio.",
        "LARS's direction is tau * (g + wd * theta): the decay is in the direction as well as in "
        "the denominator.",
    ),
    Misconception.EPS_NEGLIGIBLE: Hint(
        "You treat eps as a number too small ever to matter.",
        "eps caps each coordinate's step at lr / eps where v_hat is near 0, and when it dominates "
        "sqrt(v_hat) Adam behaves like momentum SGD with learning rate lr / eps.",
    ),
    Misconception.AMSGRAD_RATE_NEVER_RISES: Hint(
        "You believe torch's AMSGrad step size can only shrink.",
        "Only v_max is monotone; torch divides it by 1 - beta2**t, which grows, so the effective "
        "rate can rise. Reddi et al.'s uncorrected form is the one whose rate never rises.",
    ),
    Misconception.TRUST_RATIO_NOT_APPLIED: Hint(
        "You take LAMB's step as lr * u, without the trust ratio.",
        "LAMB rescales u by tau = ||theta|| / ||u||, so every adapted layer moves by exactly lr * "
        "||theta||.",
    ),
    Misconception.TRUST_RATIO_INVERTED: Hint(
        "You divide the update norm by the weight norm.",
        "The trust ratio is ||theta|| / ||update||: large weights and a small update give a large "
        "ratio.",
    ),
    Misconception.UPDATE_RATIO_AFTER_NORM: Hint(
        "You divide the update norm by the norm of theta after the update.",
        "update_ratio = ||theta_after - theta_before|| / ||theta_before||: the pre-update weights.",
    ),
    Misconception.UPDATE_RATIO_INVERTED: Hint(
        "You divide the weight norm by the update norm.",
        "The update-to-weight ratio is ||Delta theta|| / ||theta||; about 1e-3 per step is "
        "healthy, above 1e-2 signals instability.",
    ),
    Misconception.EXCLUSION_IGNORED: Hint(
        "You give excluded tensors (biases, norm weights) weight decay and a trust ratio.",
        "A name that matches `exclude` gets a plain Adam step: no decay and no trust ratio.",
    ),
}


def hint(misconception: Misconception | str, function: str, location: str | None) -> str:
    "''The full hint: what the code did, the rule, and where to look.''"
    did, rule = HINTS.get(Misconception(misconception), Hint("", ""))
    where = f"Look at `{function}`" + (f" ({location})." if location else ".")
    return " ".join(part for part in (did, rule, where) if part)
