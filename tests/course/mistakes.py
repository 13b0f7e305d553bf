"""One classic mistake per module (spec/exercises.md's misconception ids), as a learner would
write it in the notebook: the source that replaces the correct function."""

from __future__ import annotations

MISTAKES: dict[str, tuple[str, str, str]] = {
    # module: (misconception id, function, source)
    "3.1": (
        "ema_weights_swapped",
        "ema",
        """
def ema(avg, x, beta):
    return (1 - beta) * avg + beta * x
""",
    ),
    "3.2": (
        "coupled_instead_of_decoupled",
        "adamw_step",
        """
def adamw_step(theta, grad, m, v, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
               weight_decay=1e-2):
    g = grad + weight_decay * theta
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return theta - lr * m_hat / (v_hat.sqrt() + eps), m, v
""",
    ),
    "3.3": (
        "second_moment_not_squared",
        "adam_second_moment",
        """
def adam_second_moment(v, grad, beta2=0.999):
    return beta2 * v + (1 - beta2) * grad.abs()
""",
    ),
    "3.4": (
        "adafactor_no_normaliser",
        "factored_second_moment",
        """
def factored_second_moment(row_var, col_var, eps1=None):
    return row_var * col_var
""",
    ),
    "3.5": (
        "trust_ratio_zero_on_zero_norm",
        "lars_trust_ratio",
        """
def lars_trust_ratio(theta, grad, *, trust_coefficient=1e-3, weight_decay=0.0, eps=1e-8):
    w, g = theta.norm(), grad.norm()
    return trust_coefficient * w / (g + weight_decay * w + eps)
""",
    ),
    "4.1": (
        "no_bias_correction",
        "bias_correction",
        """
def bias_correction(m, v, t, beta1=0.9, beta2=0.999):
    return m.clone(), v.clone()
""",
    ),
    "4.2": (
        "eps_inside_sqrt",
        "adam_direction",
        """
def adam_direction(m_hat, v_hat, eps=1e-8, *, eps_inside_sqrt=False):
    return m_hat / torch.sqrt(v_hat + eps)
""",
    ),
    "4.3": (
        "amsgrad_max_not_kept",
        "amsgrad_step",
        """
def amsgrad_step(theta, grad, m, v, v_max, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                 weight_decay=0.0):
    g = grad + weight_decay * theta
    m = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g * g
    v_max = torch.maximum(v, v_new)
    m_hat, v_hat = m / (1 - beta1**t), v_max / (1 - beta2**t)
    return theta - lr * m_hat / (v_hat.sqrt() + eps), m, v_new, v_max
""",
    ),
    "4.4": (
        "trust_ratio_zero_on_zero_norm",
        "trust_ratio",
        """
def trust_ratio(theta, update):
    u = update.norm()
    return theta.norm() / torch.where(u > 0, u, torch.ones_like(u))
""",
    ),
    "4.5": (
        "trust_ratio_global_norm",
        "layerwise_trust_ratios",
        """
def layerwise_trust_ratios(params, updates, *, exclude=("bias", "norm")):
    w = torch.cat([p.flatten() for p in params.values()]).norm()
    u = torch.cat([x.flatten() for x in updates.values()]).norm()
    ratio = float(w / u) if w > 0 and u > 0 else 1.0
    return {k: 1.0 if any(e in k for e in exclude) else ratio for k in params}
""",
    ),
}
