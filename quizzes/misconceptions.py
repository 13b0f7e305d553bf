"""The misconceptions a wrong answer can reveal, the concept each is about, and how to say it.

Two sources, one table:
- the grader's ids (spec/exercises.md), which `quizzes.concepts.DIAGNOSIS_CONCEPTS` maps to
  concepts; their words are the grader's teaching hints (`autograder.hints.HINTS`, imported here
  and nowhere else in this package, so the source of the text can be swapped in one place);
- confusions only a quiz can reveal (a belief rather than a line of code), written here.

Quiz options name these ids (`misconception:` in the quiz YAML; `none` for a wrong option that
reveals none of them), generated questions name them for the wrong values their variants compute,
and the queue turns them into targeted practice with the reason in words.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.hints import HINTS as GRADER_HINTS
from quizzes.concepts import DIAGNOSIS_CONCEPTS

#: what a YAML distractor writes when it reveals none of the named misconceptions
NONE = "none"


@dataclass(frozen=True)
class Misconception:
    """One misconception: its id, the concept it is about, what a student holding it does, and
    what the rule says (both full sentences, second person)."""

    id: str
    concept: str
    did: str
    rule: str
    graded: bool  # True for the grader's ids (a graded function can show it)


#: id -> (concept, what you do, what the rule says), for confusions only a quiz reveals
QUIZ_ONLY: dict[str, tuple[str, str, str]] = {
    "ema_unnormalised": (
        "ema",
        "You add the new value with weight 1 instead of 1 - beta.",
        "An EMA mixes old and new: beta * avg + (1 - beta) * x, so its weights sum to at most 1.",
    ),
    "first_moment_unbounded": (
        "first_moment",
        "You expect m_t to be able to exceed the largest gradient seen.",
        "m_t is a sum of past gradients with non-negative weights that add up to 1 - beta1**t, "
        "so |m_t| <= max |g_s|.",
    ),
    "rmsprop_bias_corrected": (
        "rmsprop",
        "You divide RMSProp's average by 1 - alpha**t, as Adam does.",
        "RMSProp has no bias correction: v_1 = (1 - alpha) * g**2, so its first step is about "
        "lr / sqrt(1 - alpha), 10 lr for alpha = 0.99.",
    ),
    "step_scales_with_gradient": (
        "second_moment",
        "You expect Adam's step to grow with the size of the gradient, as SGD's does.",
        "Dividing by sqrt(v_hat) cancels the scale: multiplying every gradient by c leaves the "
        "step unchanged (eps -> 0).",
    ),
    "decay_paper_scaling": (
        "decoupled_decay",
        "You take the paper's weight decay and torch's weight_decay as the same number.",
        "torch multiplies the decay by lr, so lambda_paper = lr * lambda_torch.",
    ),
    "adafactor_sums_not_means": (
        "factored_second_moment",
        "You reduce G**2 with sums where torch takes means.",
        "R = mean(G**2, dim=-1) and C = mean(G**2, dim=-2), normalised by mean(R); sums over "
        "a mean normaliser make the estimate n times too large for n rows.",
    ),
    "factored_exact_always": (
        "factored_second_moment",
        "You take R * C / mean(R) as equal to g**2 for every gradient.",
        "The factored estimate reproduces g**2 exactly only when g**2 is a rank-1 matrix (an "
        "outer product); otherwise it approximates it with n + m numbers.",
    ),
    "adafactor_beta2_swapped": (
        "adafactor",
        "You use t**beta2_decay as Adafactor's decay rate.",
        "The decay rate is beta2_hat_t = 1 - t**beta2_decay: 0 at t = 1, rising towards 1.",
    ),
    "adafactor_rho_is_lr": (
        "adafactor",
        "You take Adafactor's relative step size as lr at every step.",
        "rho_t = min(lr, 1/sqrt(t)): once t > 1/lr**2 the 1/sqrt(t) term is the smaller one.",
    ),
    "adafactor_decay_by_alpha": (
        "adafactor",
        "You scale Adafactor's weight decay by the step size alpha_t.",
        "torch decays theta by (1 - lr * weight_decay) with the user lr; scaling by alpha_t is "
        "the HF form, a different rule.",
    ),
    "rms_as_norm": (
        "adafactor",
        "You scale Adafactor's step by the norm of theta.",
        "The scale is RMS(theta) = ||theta|| / sqrt(numel), floored at eps2 = 1e-3.",
    ),
    "one_lr_for_all_layers": (
        "lars",
        "You expect one global learning rate to suit every layer.",
        "A layer's update-to-weight ratio is lr * ||g|| / ||theta||; when that spread is 100x, "
        "one lr is too large for some layers and too small for others.",
    ),
    "lars_no_trust_coefficient": (
        "lars",
        "Your LARS ratio leaves out the trust coefficient.",
        "tau = trust_coefficient * ||theta|| / (||g|| + wd * ||theta|| + eps); without it the "
        "steps are about 1000 times too large.",
    ),
    "lars_direction_without_decay": (
        "lars",
        "You scale g alone by LARS's trust ratio.",
        "LARS's direction is tau * (g + wd * theta): the decay is in the direction as well as in "
        "the denominator.",
    ),
    "eps_negligible": (
        "epsilon",
        "You treat eps as a number too small ever to matter.",
        "eps caps each coordinate's step at lr / eps where v_hat is near 0, and when it dominates "
        "sqrt(v_hat) Adam behaves like momentum SGD with learning rate lr / eps.",
    ),
    "amsgrad_rate_never_rises": (
        "amsgrad",
        "You believe torch's AMSGrad step size can only shrink.",
        "Only v_max is monotone; torch divides it by 1 - beta2**t, which grows, so the effective "
        "rate can rise. Reddi et al.'s uncorrected form is the one whose rate never rises.",
    ),
    "trust_ratio_not_applied": (
        "lamb",
        "You take LAMB's step as lr * u, without the trust ratio.",
        "LAMB rescales u by tau = ||theta|| / ||u||, so every adapted layer moves by exactly "
        "lr * ||theta||.",
    ),
    "trust_ratio_inverted": (
        "trust_ratio",
        "You divide the update norm by the weight norm.",
        "The trust ratio is ||theta|| / ||update||: large weights and a small update give a "
        "large ratio.",
    ),
    "update_ratio_after_norm": (
        "update_diagnostics",
        "You divide the update norm by the norm of theta after the update.",
        "update_ratio = ||theta_after - theta_before|| / ||theta_before||: the pre-update weights.",
    ),
    "update_ratio_inverted": (
        "update_diagnostics",
        "You divide the weight norm by the update norm.",
        "The update-to-weight ratio is ||Delta theta|| / ||theta||; about 1e-3 per step is "
        "healthy, above 1e-2 signals instability.",
    ),
    "exclusion_ignored": (
        "layerwise_scaling",
        "You give excluded tensors (biases, norm weights) weight decay and a trust ratio.",
        "A name that matches `exclude` gets a plain Adam step: no decay and no trust ratio.",
    ),
}


def _table() -> dict[str, Misconception]:
    table = {
        m: Misconception(m, concept, *GRADER_HINTS[m], graded=True)
        for m, concept in DIAGNOSIS_CONCEPTS.items()
    }
    table.update(
        (m, Misconception(m, concept, did, rule, graded=False))
        for m, (concept, did, rule) in QUIZ_ONLY.items()
    )
    return table


#: every misconception a question or a graded test can name, by id
MISCONCEPTIONS: dict[str, Misconception] = _table()
