"""The graded-function contract (spec/exercises.md), written once: every other part derives from it.

    MODULE_FUNCTIONS   module id -> its graded functions, in the order the notebooks present them
    FUNCTIONS          function name -> `Function`: its tensor arguments (each with the `Role`
                       that says how a test draws it, and its `Extent`), whether it takes the
                       step counter t, its outputs, which outputs carry to the next step, and
                       whether it takes named tensors, is a step rule, runs on `meta` tensors
    tolerance_for      the comparison tolerance of a case by dtype, trajectory length and
                       device (spec/optimizers.md §11), for the notebooks' tests and the grader

Names, order and defaults of the scalar arguments come from the reference signatures in `solutions`
(read where they are needed, above this layer); a test checks that every reference takes exactly
the tensors, `t` and outputs written here. The misconception ids are `alr.misconceptions`.
This module imports nothing but the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

#: module id -> graded functions, in the order the notebooks present them.
MODULE_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "3.1": ("ema", "coupled_l2_grad", "rmsprop_step"),
    "3.2": ("adam_first_moment", "first_moment_trajectory", "decoupled_weight_decay", "adamw_step"),
    "3.3": ("adam_second_moment", "adafactor_accumulators"),
    "3.4": ("factored_second_moment", "adafactor_step"),
    "3.5": ("lars_trust_ratio", "lars_step"),
    "4.1": ("bias_correction", "adam_step", "adafactor_beta2"),
    "4.2": ("adam_direction", "effective_lr"),
    "4.3": ("amsgrad_step", "lamb_step"),
    "4.4": ("trust_ratio", "update_diagnostics"),
    "4.5": ("layerwise_trust_ratios", "lamb_model_step"),
}

MODULE_IDS: tuple[str, ...] = tuple(MODULE_FUNCTIONS)

#: function name -> module id.
FUNCTION_MODULE: dict[str, str] = {
    fn: module for module, fns in MODULE_FUNCTIONS.items() for fn in fns
}

DTYPES: tuple[str, ...] = ("float32", "float64")


def available_in(module_id: str, function: str) -> bool:
    """True when `function` is graded in `module_id` or in a module before it."""
    return MODULE_IDS.index(FUNCTION_MODULE[function]) <= MODULE_IDS.index(module_id)


class Role(Enum):
    """How one tensor argument is drawn for a test."""

    PARAM = "param"  # theta: standard normal, or zeros when the case has init: zeros
    GRAD = "grad"  # standard normal, fresh every step; zeros / x0.3**t by the case's `grads`
    STATE = "state"  # optimizer state: zeros at t = 1 (the contract's initial state), then carried
    SIGNED = "signed"  # any real values (avg, x, m, m_hat, update)
    NONNEG = "nonneg"  # second-moment-like values: g**2 with g standard normal, plus 1e-3
    NEAR_PARAM = "near_param"  # theta_after: the PARAM plus 0.1 * normal (itself: zero grads)
    FACTOR = "factor"  # Adafactor factors of one G: mean(G**2, dim=-1) and mean(G**2, dim=-2)


class Extent(Enum):
    """The shape of a tensor argument, given the case shape (..., n, m)."""

    FULL = "full"
    ROWS = "rows"  # (..., n, 1): Adafactor's row factor
    COLS = "cols"  # (..., 1, m): Adafactor's column factor
    STACKED = "stacked"  # a gradient history: the case shape is already (T, *shape)


@dataclass(frozen=True)
class TensorArg:
    name: str
    role: Role
    extent: Extent = Extent.FULL


@dataclass(frozen=True)
class Function:
    """The call shape of one graded function.

    `carry` maps an output to the argument it feeds at the next step of a trajectory; a carried
    PARAM is also compared by its displacement from the start. `named` functions take and return
    dicts of named tensors (4.5). `step_rule` functions are optimizer steps,
    `(theta, grad, *state[, t]) -> (theta, *state)`, that an experiment can train with.
    `meta_ok` functions are also run on `meta` tensors (device portability): correct code of the
    others may branch on tensor values (zero-norm fallbacks) or return Python floats.
    """

    name: str
    tensors: tuple[TensorArg, ...]
    outputs: tuple[str, ...]
    takes_t: bool = False
    carry: tuple[tuple[str, str], ...] = ()
    named: bool = False
    step_rule: bool = False
    meta_ok: bool = True

    @property
    def module(self) -> str:
        return FUNCTION_MODULE[self.name]

    @property
    def tensor_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.tensors)

    def tensor(self, name: str) -> TensorArg:
        return next(a for a in self.tensors if a.name == name)

    @property
    def needs_matrix(self) -> bool:
        """Adafactor's factored functions reduce the last two dims of a matrix."""
        return any(a.extent in (Extent.ROWS, Extent.COLS) for a in self.tensors)

    @property
    def single_call(self) -> bool:
        """One call over a whole history (the case's steps are the history's length T)."""
        return any(a.extent is Extent.STACKED for a in self.tensors)

    @property
    def displacement(self) -> tuple[str, str] | None:
        """(output, argument) of the carried parameter, compared by its displacement too."""
        return next(((o, a) for o, a in self.carry if self.tensor(a).role is Role.PARAM), None)


def _t(name: str, role: Role, extent: Extent = Extent.FULL) -> TensorArg:
    return TensorArg(name, role, extent)


_THETA, _GRAD = _t("theta", Role.PARAM), _t("grad", Role.GRAD)


def _step_rule(name: str, states: tuple[str, ...], takes_t: bool, **kw: bool) -> Function:
    """An optimizer step: (theta, grad, *states[, t], **hparams) -> (theta, *states)."""
    return Function(
        name,
        (_THETA, _GRAD, *(_t(s, Role.STATE) for s in states)),
        ("theta", *states),
        takes_t=takes_t,
        carry=(("theta", "theta"), *((s, s) for s in states)),
        step_rule=True,
        **kw,
    )


def _factors(role: Role) -> tuple[TensorArg, TensorArg]:
    return _t("row_var", role, Extent.ROWS), _t("col_var", role, Extent.COLS)


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function(
            "ema", (_t("avg", Role.SIGNED), _t("x", Role.SIGNED)), ("avg",), carry=(("avg", "avg"),)
        ),
        Function("coupled_l2_grad", (_THETA, _GRAD), ("grad",)),
        _step_rule("rmsprop_step", ("square_avg",), False),
        Function("adam_first_moment", (_t("m", Role.STATE), _GRAD), ("m",), carry=(("m", "m"),)),
        Function(
            "first_moment_trajectory", (_t("grads", Role.GRAD, Extent.STACKED),), ("moments",)
        ),
        Function("decoupled_weight_decay", (_THETA,), ("theta",), carry=(("theta", "theta"),)),
        _step_rule("adamw_step", ("m", "v"), True),
        Function("adam_second_moment", (_t("v", Role.STATE), _GRAD), ("v",), carry=(("v", "v"),)),
        Function(
            "adafactor_accumulators",
            (*_factors(Role.STATE), _GRAD),
            ("row_var", "col_var"),
            carry=(("row_var", "row_var"), ("col_var", "col_var")),
        ),
        Function("factored_second_moment", _factors(Role.FACTOR), ("v",)),
        Function(
            "adafactor_step",
            (_THETA, _GRAD, *_factors(Role.STATE)),
            ("theta", "row_var", "col_var"),
            takes_t=True,
            carry=(("theta", "theta"), ("row_var", "row_var"), ("col_var", "col_var")),
            step_rule=True,
            meta_ok=False,
        ),
        Function("lars_trust_ratio", (_THETA, _GRAD), ("ratio",), meta_ok=False),
        _step_rule("lars_step", ("momentum_buffer",), False, meta_ok=False),
        Function(
            "bias_correction",
            (_t("m", Role.SIGNED), _t("v", Role.NONNEG)),
            ("m_hat", "v_hat"),
            takes_t=True,
        ),
        _step_rule("adam_step", ("m", "v"), True),
        Function("adafactor_beta2", (), ("beta2_t",), takes_t=True, meta_ok=False),
        Function(
            "adam_direction", (_t("m_hat", Role.SIGNED), _t("v_hat", Role.NONNEG)), ("direction",)
        ),
        Function("effective_lr", (_t("v_hat", Role.NONNEG),), ("step_size",)),
        _step_rule("amsgrad_step", ("m", "v", "v_max"), True),
        _step_rule("lamb_step", ("m", "v"), True),
        Function("trust_ratio", (_THETA, _t("update", Role.SIGNED)), ("ratio",), meta_ok=False),
        Function(
            "update_diagnostics",
            (_t("theta_before", Role.PARAM), _t("theta_after", Role.NEAR_PARAM), _GRAD),
            ("diagnostics",),
            meta_ok=False,
        ),
        Function(
            "layerwise_trust_ratios",
            (_t("params", Role.PARAM), _t("updates", Role.SIGNED)),
            ("ratios",),
            named=True,
            meta_ok=False,
        ),
        Function(
            "lamb_model_step",
            (
                _t("params", Role.PARAM),
                _t("grads", Role.GRAD),
                _t("ms", Role.STATE),
                _t("vs", Role.STATE),
            ),
            ("params", "ms", "vs"),
            takes_t=True,
            carry=(("params", "params"), ("ms", "ms"), ("vs", "vs")),
            named=True,
            step_rule=True,
            meta_ok=False,
        ),
    )
}

STEP_RULES: tuple[str, ...] = tuple(name for name, f in FUNCTIONS.items() if f.step_rule)


# ---- tolerances (spec/optimizers.md §11) ----


@dataclass(frozen=True)
class Tolerance:
    """|s - r| <= atol * max(1, RMS(r)) + rtol * |r| elementwise."""

    rtol: float
    atol: float


#: dtype -> (tolerance for trajectories of at most `limit` steps, limit, tolerance beyond it).
TOLERANCES: dict[str, tuple[Tolerance, int, Tolerance]] = {
    "float64": (Tolerance(1e-10, 1e-12), 10, Tolerance(1e-8, 1e-10)),
    "float32": (Tolerance(2e-5, 2e-6), 5, Tolerance(1e-4, 1e-5)),
}
#: float32 on CUDA, rules with reductions: TF32 off, a different summation order.
CUDA_FLOAT32 = Tolerance(5e-5, 5e-6)
#: float64, a step rule's parameter: its displacement from the start may differ from the rule's
#: by this share of the displacement (plus 64 eps of the values), so tiny wrong terms are seen.
DISPLACEMENT_RTOL = 1e-9


def tolerance_for(
    dtype: str, steps: int, device: str = "cpu", override: Tolerance | None = None
) -> Tolerance:
    """A case's own tolerance when it sets one, else §11's by dtype and trajectory length
    (widened for float32 on CUDA)."""
    if override is not None:
        return override
    short, limit, long = TOLERANCES[dtype]
    tol = short if steps <= limit else long
    if device == "cuda" and dtype == "float32":
        tol = Tolerance(max(tol.rtol, CUDA_FLOAT32.rtol), max(tol.atol, CUDA_FLOAT32.atol))
    return tol
