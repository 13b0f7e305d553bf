"""Teaching hints for each misconception id: what the student's code did, what the rule says.

`hint(id, function, location)` adds where to look in the submission.
"""

from __future__ import annotations

#: id -> (what your code does, what the rule says)
HINTS: dict[str, tuple[str, str]] = {
    "no_bias_correction": (
        "Your update uses the moments m and v directly.",
        "Both start at zero, so divide them by (1 - beta1**t) and (1 - beta2**t) before the "
        "update; at t = 1 this makes m_hat = g and v_hat = g**2.",
    ),
    "bias_correction_m_only": (
        "Your update bias-corrects m but not v.",
        "v is biased towards zero too: use v_hat = v / (1 - beta2**t) as well.",
    ),
    "bias_correction_off_by_one": (
        "Your correction uses beta**(t - 1) (or counts t from 0).",
        "t is the 1-based index of the update: the first update has t = 1 and divides by "
        "1 - beta**1; beta**0 = 1 divides by zero.",
    ),
    "eps_inside_sqrt": (
        "Your denominator is sqrt(v_hat + eps).",
        "The rule adds eps outside the square root: sqrt(v_hat) + eps.",
    ),
    "eps_hat_form": (
        "You add eps to sqrt(v) before the bias correction of v (the 'epsilon hat' form).",
        "The rule adds eps after correcting: sqrt(v / (1 - beta2**t)) + eps.",
    ),
    "ema_weights_swapped": (
        "Your average weights the new value by beta and the old average by 1 - beta.",
        "An exponential moving average keeps beta of the old value: beta * avg + (1 - beta) * x.",
    ),
    "second_moment_not_squared": (
        "Your second moment is fed with g or abs(g).",
        "The second moment averages the squared gradient: (1 - beta2) * g**2.",
    ),
    "coupled_instead_of_decoupled": (
        "Your AdamW adds weight_decay * theta to the gradient (that is Adam's L2).",
        "AdamW decays the weights directly: theta = (1 - lr * weight_decay) * theta, and the "
        "moments see the raw gradient.",
    ),
    "decoupled_instead_of_coupled": (
        "Your step shrinks theta by (1 - lr * weight_decay) (that is AdamW's decay).",
        "Here weight decay is L2 coupled into the gradient: g = grad + weight_decay * theta, "
        "before the moments.",
    ),
    "decay_not_scaled_by_lr": (
        "Your decay multiplies theta by (1 - weight_decay).",
        "The decoupled decay is scaled by the learning rate: (1 - lr * weight_decay) * theta.",
    ),
    "decay_after_step": (
        "Your decay is applied to theta after the update.",
        "The decay uses the pre-update theta: theta = (1 - lr * wd) * theta - lr * update.",
    ),
    "amsgrad_max_of_corrected": (
        "Your running maximum is taken over the bias-corrected v_hat.",
        "torch keeps the maximum of the raw v and bias-corrects it with the current t.",
    ),
    "amsgrad_max_not_kept": (
        "Your maximum compares only the previous and the current v.",
        "v_max is a running maximum over all steps: v_max = max(v_max, v), returned and passed "
        "back in at the next step.",
    ),
    "adafactor_rows_cols_swapped": (
        "Your row and column reductions are exchanged.",
        "row_var averages grad**2 over the last dim (dim=-1, shape (..., n, 1)); col_var over "
        "dim=-2 (shape (..., 1, m)).",
    ),
    "adafactor_no_normaliser": (
        "Your estimate is row_var * col_var without a normaliser.",
        "Divide by the mean of row_var over the rows: R * C / max(mean(R, dim=-2), eps1).",
    ),
    "adafactor_no_clipping": (
        "Your update is not clipped.",
        "Divide the update U by max(1, RMS(U) / d) before scaling by the step size.",
    ),
    "lamb_trust_before_decay": (
        "Your trust ratio uses the norm of the Adam direction r alone.",
        "The trust ratio is ||theta|| / ||r + weight_decay * theta||: the decay is added first.",
    ),
    "trust_ratio_zero_on_zero_norm": (
        "Your trust ratio is 0 when a norm is zero.",
        "A zero norm gives a trust ratio of 1.0; 0 would freeze zero-initialised tensors.",
    ),
    "trust_ratio_global_norm": (
        "Your trust ratio uses the norms of all layers together.",
        "Each tensor gets its own ratio from its own norms.",
    ),
    "lars_denominator_decayed_norm": (
        "Your LARS denominator is ||g + weight_decay * theta||.",
        "timm's LARS divides by ||g|| + weight_decay * ||theta|| + eps.",
    ),
    "mutates_input": (
        "Your function changed one of its arguments in place (for example with +=, mul_ or "
        "an indexed assignment).",
        "Inputs must not be modified: build new tensors (m = beta1 * m + ...) and return them.",
    ),
    "aliases_input": (
        "Your function returned one of its input tensors itself.",
        "Results must be new tensors that do not share memory with the inputs (use .clone()).",
    ),
    "wrong_dtype": (
        "Your result has a different dtype from the inputs.",
        "float32 in, float32 out: create tensors with torch.zeros_like(theta) or dtype=x.dtype, "
        "and keep scalars as Python floats.",
    ),
    "wrong_device": (
        "Your result is not on the device of the inputs (or the code does not run there).",
        "Results stay on theta.device: no .cpu(), .numpy() or .item() on returned tensors, and "
        "create tensors with *_like or device=theta.device.",
    ),
}


def hint(misconception: str, function: str, location: str | None) -> str:
    """The full hint: what the code did, the rule, and where to look."""
    did, rule = HINTS.get(misconception, ("", ""))
    where = f"Look at `{function}`" + (f" ({location})." if location else ".")
    return " ".join(part for part in (did, rule, where) if part)
