"""The concepts of the lesson, their prerequisite graph, and what gives evidence about each.

    ema ─┬─> first_moment ──┬─> bias_correction ─> adam_step ─┬─> adamw ─────────┐
         ├─> second_moment ─┤                       ▲          ├─> amsgrad        │
         │                  ├─> epsilon ────────────┘          └─> lamb ─> layerwise_scaling
         │                  └─> factored_second_moment ─> adafactor        ▲
         └─> rmsprop <── coupled_l2 ─> decoupled_decay ─> adamw            │
    trust_ratio ─┬─> lars <── coupled_l2                                   │
                 ├─> lamb ─────────────────────────────────────────────────┘
                 └─> update_diagnostics ─> layerwise_scaling

Every graded function maps to the concepts it exercises (`FUNCTION_CONCEPTS`, weight 1 each); a
test that the grader diagnosed with a misconception also counts against that misconception's
concept (`DIAGNOSIS_CONCEPTS`). Quiz questions carry their concepts in the quiz YAML.
"""

from __future__ import annotations

#: concept -> its prerequisites (a DAG; every concept a module teaches appears here).
PREREQUISITES: dict[str, tuple[str, ...]] = {
    "ema": (),
    "coupled_l2": (),
    "trust_ratio": (),
    "rmsprop": ("ema", "coupled_l2"),
    "first_moment": ("ema",),
    "second_moment": ("ema",),
    "decoupled_decay": ("coupled_l2",),
    "bias_correction": ("first_moment", "second_moment"),
    "epsilon": ("second_moment",),
    "adam_step": ("bias_correction", "epsilon"),
    "adamw": ("adam_step", "decoupled_decay"),
    "amsgrad": ("adam_step",),
    "factored_second_moment": ("second_moment",),
    "adafactor": ("factored_second_moment",),
    "lars": ("trust_ratio", "coupled_l2"),
    "lamb": ("adam_step", "trust_ratio", "decoupled_decay"),
    "update_diagnostics": ("trust_ratio",),
    "layerwise_scaling": ("lamb", "update_diagnostics"),
}

CONCEPTS: tuple[str, ...] = tuple(sorted(PREREQUISITES))

#: graded function -> concepts its tests give evidence about.
FUNCTION_CONCEPTS: dict[str, tuple[str, ...]] = {
    "ema": ("ema",),
    "coupled_l2_grad": ("coupled_l2",),
    "rmsprop_step": ("rmsprop",),
    "adam_first_moment": ("first_moment",),
    "first_moment_trajectory": ("first_moment",),
    "decoupled_weight_decay": ("decoupled_decay",),
    "adamw_step": ("adamw",),
    "adam_second_moment": ("second_moment",),
    "adafactor_accumulators": ("factored_second_moment",),
    "factored_second_moment": ("factored_second_moment",),
    "adafactor_step": ("adafactor",),
    "lars_trust_ratio": ("trust_ratio", "lars"),
    "lars_step": ("lars",),
    "bias_correction": ("bias_correction",),
    "adam_step": ("adam_step",),
    "adafactor_beta2": ("adafactor",),
    "adam_direction": ("epsilon",),
    "effective_lr": ("epsilon",),
    "amsgrad_step": ("amsgrad",),
    "lamb_step": ("lamb",),
    "trust_ratio": ("trust_ratio",),
    "update_diagnostics": ("update_diagnostics",),
    "layerwise_trust_ratios": ("layerwise_scaling",),
    "lamb_model_step": ("layerwise_scaling",),
}

#: misconception id (grader diagnosis) -> the concept the mistake is about.
DIAGNOSIS_CONCEPTS: dict[str, str] = {
    "no_bias_correction": "bias_correction",
    "bias_correction_m_only": "bias_correction",
    "bias_correction_off_by_one": "bias_correction",
    "step_off_by_one": "adafactor",
    "eps_inside_sqrt": "epsilon",
    "eps_hat_form": "epsilon",
    "ema_weights_swapped": "ema",
    "second_moment_not_squared": "second_moment",
    "coupled_instead_of_decoupled": "decoupled_decay",
    "decoupled_instead_of_coupled": "coupled_l2",
    "decay_not_scaled_by_lr": "decoupled_decay",
    "decay_after_step": "decoupled_decay",
    "amsgrad_max_of_corrected": "amsgrad",
    "amsgrad_max_not_kept": "amsgrad",
    "adafactor_rows_cols_swapped": "factored_second_moment",
    "adafactor_no_normaliser": "factored_second_moment",
    "adafactor_no_clipping": "adafactor",
    "lamb_trust_before_decay": "lamb",
    "trust_ratio_zero_on_zero_norm": "trust_ratio",
    "trust_ratio_global_norm": "layerwise_scaling",
    "lars_denominator_decayed_norm": "lars",
    # beliefs only a quiz answer reveals
    "ema_unnormalised": "ema",
    "first_moment_unbounded": "first_moment",
    "rmsprop_bias_corrected": "rmsprop",
    "step_scales_with_gradient": "second_moment",
    "decay_paper_scaling": "decoupled_decay",
    "adafactor_sums_not_means": "factored_second_moment",
    "factored_exact_always": "factored_second_moment",
    "adafactor_beta2_swapped": "adafactor",
    "adafactor_rho_is_lr": "adafactor",
    "adafactor_decay_by_alpha": "adafactor",
    "rms_as_norm": "adafactor",
    "one_lr_for_all_layers": "lars",
    "lars_no_trust_coefficient": "lars",
    "lars_direction_without_decay": "lars",
    "eps_negligible": "epsilon",
    "amsgrad_rate_never_rises": "amsgrad",
    "trust_ratio_not_applied": "lamb",
    "trust_ratio_inverted": "trust_ratio",
    "update_ratio_after_norm": "update_diagnostics",
    "update_ratio_inverted": "update_diagnostics",
    "exclusion_ignored": "layerwise_scaling",
}


def topological_order() -> tuple[str, ...]:
    """Concepts with every prerequisite before its dependents; ties broken by concept id."""
    done: list[str] = []
    remaining = set(PREREQUISITES)
    while remaining:
        ready = sorted(c for c in remaining if all(p in done for p in PREREQUISITES[c]))
        if not ready:
            raise ValueError(f"prerequisite cycle among {sorted(remaining)}")
        done.extend(ready)
        remaining.difference_update(ready)
    return tuple(done)


def course_order() -> tuple[str, ...]:
    """Concepts with every prerequisite first, ties broken by where the course first grades
    them (the order of `FUNCTION_CONCEPTS`), so ema comes first and layerwise_scaling last."""
    first: dict[str, int] = {}
    for i, concepts in enumerate(FUNCTION_CONCEPTS.values()):
        for c in concepts:
            first.setdefault(c, i)
    done: list[str] = []
    remaining = set(PREREQUISITES)
    while remaining:
        ready = [c for c in remaining if all(p in done for p in PREREQUISITES[c])]
        if not ready:
            raise ValueError(f"prerequisite cycle among {sorted(remaining)}")
        nxt = min(ready, key=lambda c: (first.get(c, len(first)), c))
        done.append(nxt)
        remaining.discard(nxt)
    return tuple(done)


def ancestors(concept: str) -> set[str]:
    """Every concept `concept` builds on, directly or not."""
    found: set[str] = set()
    todo = list(PREREQUISITES[concept])
    while todo:
        c = todo.pop()
        if c not in found:
            found.add(c)
            todo.extend(PREREQUISITES[c])
    return found
