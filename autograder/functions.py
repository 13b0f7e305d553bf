"""How the grader calls each graded function: its arguments in order, how each tensor argument
is drawn, its outputs, and which outputs carry over to the next step of a trajectory.

The case expansion (`autograder.harness`) is generic over this table; adding a graded function
means adding one entry here (and its wrong variants in `autograder.variants`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Draw(Enum):
    """How one tensor argument is drawn."""

    PARAM = "param"  # theta: standard normal, or zeros when the case has init: zeros
    GRAD = "grad"  # standard normal; zeros / x0.3**t by the case's `grads`
    STATE = "state"  # optimizer state: zeros at t = 1 (the contract's initial state)
    SIGNED = "signed"  # any real values (m, avg, x, m_hat, update)
    NONNEG = "nonneg"  # second-moment-like values: g**2 with g standard normal, plus 1e-3
    NEAR_PARAM = "near_param"  # theta_after: the previous PARAM plus a small step (0.1 * normal)
    FACTOR = "factor"  # Adafactor factors of one G: mean(G**2, dim=-1) / mean(G**2, dim=-2)


class Shape(Enum):
    """Which shape a tensor argument has, given the case shape (..., n, m)."""

    FULL = "full"
    ROWS = "rows"  # (..., n, 1): Adafactor's row factor
    COLS = "cols"  # (..., 1, m): Adafactor's column factor
    STACKED = "stacked"  # a gradient history: the case shape is already (T, *shape)


@dataclass(frozen=True)
class TensorArg:
    name: str
    draw: Draw
    shape: Shape = Shape.FULL


@dataclass(frozen=True)
class ScalarArg:
    """A positional scalar; `default` is used when the case's hparams do not set it."""

    name: str
    default: float | None = None


@dataclass(frozen=True)
class StepArg:
    """The 1-based step counter t."""

    name: str = "t"


Param = TensorArg | ScalarArg | StepArg


@dataclass(frozen=True)
class FunctionHarness:
    """How to call one graded function. `outputs` are the result names in contract order;
    `carry` maps an output to the argument it feeds at the next step; `theta` names the output
    and argument of the parameter (its displacement is compared too); `named` functions take
    dicts of named tensors; `meta_ok` functions are also run on `meta` tensors."""

    name: str
    params: tuple[Param, ...]
    outputs: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    carry: tuple[tuple[str, str], ...] = ()
    theta: tuple[str, str] | None = None
    named: bool = False
    meta_ok: bool = True
    needs_matrix: bool = False
    single_call: bool = False  # one call over the whole history (steps = its length T)

    @property
    def tensor_args(self) -> tuple[TensorArg, ...]:
        return tuple(p for p in self.params if isinstance(p, TensorArg))

    @property
    def accepted(self) -> frozenset[str]:
        return frozenset(p.name for p in self.params if not isinstance(p, TensorArg)) | set(
            self.keywords
        )


def _t(name: str, draw: Draw, shape: Shape = Shape.FULL) -> TensorArg:
    return TensorArg(name, draw, shape)


_THETA, _GRAD = _t("theta", Draw.PARAM), _t("grad", Draw.GRAD)
_ADAM_KW = ("lr", "beta1", "beta2", "eps", "weight_decay")
_ADAM_CARRY = (("theta", "theta"), ("m", "m"), ("v", "v"))


def _step_fn(name: str, states: tuple[str, ...], t: bool, kw: tuple[str, ...]) -> FunctionHarness:
    """An optimizer step: (theta, grad, *states[, t], **kw) -> (theta, *states)."""
    params: tuple[Param, ...] = (_THETA, _GRAD, *(_t(s, Draw.STATE) for s in states))
    return FunctionHarness(
        name,
        params + ((StepArg(),) if t else ()),
        outputs=("theta", *states),
        keywords=kw,
        carry=(("theta", "theta"), *((s, s) for s in states)),
        theta=("theta", "theta"),
    )


# Functions whose correct implementations may legitimately branch on tensor values (zero-norm
# fallbacks, RMS clamps via .item()) or return Python floats cannot run on `meta` tensors.
HARNESSES: dict[str, FunctionHarness] = {
    h.name: h
    for h in (
        FunctionHarness(
            "ema",
            (_t("avg", Draw.SIGNED), _t("x", Draw.SIGNED), ScalarArg("beta", 0.9)),
            ("avg",),
            carry=(("avg", "avg"),),
        ),
        FunctionHarness(
            "coupled_l2_grad",
            (_THETA, _GRAD, ScalarArg("weight_decay", 0.1)),
            ("grad",),
        ),
        _step_fn("rmsprop_step", ("square_avg",), False, ("lr", "alpha", "eps", "weight_decay")),
        FunctionHarness(
            "adam_first_moment",
            (_t("m", Draw.STATE), _GRAD, ScalarArg("beta1")),
            ("m",),
            carry=(("m", "m"),),
        ),
        FunctionHarness(
            "first_moment_trajectory",
            (_t("grads", Draw.GRAD, Shape.STACKED), ScalarArg("beta1")),
            ("ms",),
            single_call=True,
        ),
        FunctionHarness(
            "decoupled_weight_decay",
            (_THETA, ScalarArg("lr", 0.1), ScalarArg("weight_decay", 0.1)),
            ("theta",),
            carry=(("theta", "theta"),),
            theta=("theta", "theta"),
        ),
        _step_fn("adamw_step", ("m", "v"), True, _ADAM_KW),
        FunctionHarness(
            "adam_second_moment",
            (_t("v", Draw.STATE), _GRAD, ScalarArg("beta2")),
            ("v",),
            carry=(("v", "v"),),
        ),
        FunctionHarness(
            "adafactor_accumulators",
            (
                _t("row_var", Draw.STATE, Shape.ROWS),
                _t("col_var", Draw.STATE, Shape.COLS),
                _GRAD,
                ScalarArg("beta2_t", 0.8),
            ),
            ("row_var", "col_var"),
            carry=(("row_var", "row_var"), ("col_var", "col_var")),
            needs_matrix=True,
        ),
        FunctionHarness(
            "factored_second_moment",
            (_t("row_var", Draw.FACTOR, Shape.ROWS), _t("col_var", Draw.FACTOR, Shape.COLS)),
            ("v",),
            keywords=("eps1",),
            needs_matrix=True,
        ),
        FunctionHarness(
            "adafactor_step",
            (
                _THETA,
                _GRAD,
                _t("row_var", Draw.STATE, Shape.ROWS),
                _t("col_var", Draw.STATE, Shape.COLS),
                StepArg(),
            ),
            ("theta", "row_var", "col_var"),
            keywords=("lr", "beta2_decay", "eps1", "eps2", "d", "weight_decay"),
            carry=(("theta", "theta"), ("row_var", "row_var"), ("col_var", "col_var")),
            theta=("theta", "theta"),
            meta_ok=False,
            needs_matrix=True,
        ),
        FunctionHarness(
            "lars_trust_ratio",
            (_THETA, _GRAD),
            ("ratio",),
            keywords=("trust_coefficient", "weight_decay", "eps"),
            meta_ok=False,
        ),
        FunctionHarness(
            "lars_step",
            (_THETA, _GRAD, _t("momentum_buffer", Draw.STATE)),
            ("theta", "momentum_buffer"),
            keywords=("lr", "momentum", "weight_decay", "trust_coefficient", "eps"),
            carry=(("theta", "theta"), ("momentum_buffer", "momentum_buffer")),
            theta=("theta", "theta"),
            meta_ok=False,
        ),
        FunctionHarness(
            "bias_correction",
            (_t("m", Draw.SIGNED), _t("v", Draw.NONNEG), StepArg()),
            ("m_hat", "v_hat"),
            keywords=("beta1", "beta2"),
        ),
        _step_fn("adam_step", ("m", "v"), True, _ADAM_KW),
        FunctionHarness(
            "adafactor_beta2", (StepArg(),), ("beta2_t",), ("beta2_decay",), meta_ok=False
        ),
        FunctionHarness(
            "adam_direction",
            (_t("m_hat", Draw.SIGNED), _t("v_hat", Draw.NONNEG), ScalarArg("eps")),
            ("u",),
            keywords=("eps_inside_sqrt",),
        ),
        FunctionHarness(
            "effective_lr",
            (ScalarArg("lr", 1e-3), _t("v_hat", Draw.NONNEG), ScalarArg("eps")),
            ("step_size",),
        ),
        _step_fn("amsgrad_step", ("m", "v", "v_max"), True, _ADAM_KW),
        _step_fn("lamb_step", ("m", "v"), True, _ADAM_KW),
        FunctionHarness(
            "trust_ratio", (_THETA, _t("update", Draw.SIGNED)), ("ratio",), meta_ok=False
        ),
        FunctionHarness(
            "update_diagnostics",
            (_t("theta_before", Draw.PARAM), _t("theta_after", Draw.NEAR_PARAM), _GRAD),
            ("diagnostics",),
            meta_ok=False,
        ),
        FunctionHarness(
            "layerwise_trust_ratios",
            (_t("params", Draw.PARAM), _t("updates", Draw.SIGNED)),
            ("ratios",),
            keywords=("exclude",),
            named=True,
            meta_ok=False,
        ),
        FunctionHarness(
            "lamb_model_step",
            (
                _t("params", Draw.PARAM),
                _t("grads", Draw.GRAD),
                _t("ms", Draw.STATE),
                _t("vs", Draw.STATE),
                StepArg(),
            ),
            ("params", "ms", "vs"),
            keywords=(*_ADAM_KW, "exclude"),
            carry=(("params", "params"), ("ms", "ms"), ("vs", "vs")),
            theta=("params", "params"),
            named=True,
            meta_ok=False,
        ),
    )
}
