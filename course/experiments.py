"""Read and validate the `experiments` of a module file into typed Experiment objects.

An experiment trains runs on a problem of course.lab_problems, or runs a probe of
course.lab_probes, and declares what it shows as expectations. Checked here, with the file and
key path of every problem: the keys; a run's rule (a graded step rule of this module or an
earlier one whose reference calls nothing graded later, a lab helper, or a torch.optim
optimizer) and its hyperparameters; a probe's functions; every quantity (a run's label or the
probe, a metric it logs, a tensor of the problem, a step within the run); the plot panels; and
that the module has a synthetic, a logistic/softmax and a transformer experiment.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import solutions
from alr.contract import FUNCTION_MODULE, STEP_RULES, available_in
from alr.yamlio import Reader
from course import lab_checks, lab_probes, lab_problems
from course.cases.expand import hparam_names, required_hparams
from course.dependencies import later_graded, reference_function
from course.spec import (
    PER_TENSOR,
    Expectation,
    Experiment,
    LrDecay,
    Metric,
    Panel,
    Probe,
    ProblemKind,
    Quantity,
    Relation,
    Run,
    Stat,
    TorchOptimizer,
)

_EXPERIMENT = {
    "id": True,
    "title": True,
    "text": True,
    "expect": True,
    "problem": False,
    "steps": False,
    "runs": False,
    "plot": False,
    "batch_size": False,
    "lr_decay": False,
    "probe": False,
}
_TRAINING_ONLY = ("problem", "steps", "runs", "plot", "batch_size", "lr_decay")
_RUN = {"label": True, "rule": False, "torch": False, "hparams": False, "batch_size": False}
_EXPECT = {
    "says": True,
    "measure": True,
    "below": False,
    "above": False,
    "near": False,
    "rtol": False,
}
_QUANTITY = {"run": False, "metric": True, "at": False, "times": False, "tensor": False}

#: torch.optim arguments an experiment may set (those its reference twin has).
TORCH_ARGS: dict[TorchOptimizer, tuple[str, ...]] = {
    TorchOptimizer.ADAM: ("lr", "betas", "eps", "weight_decay", "amsgrad"),
    TorchOptimizer.ADAMW: ("lr", "betas", "eps", "weight_decay"),
    TorchOptimizer.RMSPROP: ("lr", "alpha", "eps", "weight_decay"),
    TorchOptimizer.ADAFACTOR: ("lr", "beta2_decay", "eps", "d", "weight_decay"),
}


@dataclass(frozen=True)
class HelperRule:
    """A step rule of the lab that is not graded (course.lab_checks): how the notebook writes
    it, and the graded function it is built from (the learner's, or the reference at build)."""

    source: str
    needs: str | None = None

    def build(self, functions: Any) -> Callable[..., Any]:
        """The rule, with `needs` taken from `functions` (solutions, or a notebook namespace)."""
        if self.needs is None:
            return getattr(lab_checks, self.source)
        return lab_checks.without_correction(getattr(functions, self.needs))


HELPER_RULES: dict[str, HelperRule] = {
    "sgd_step": HelperRule("sgd_step"),
    "adam_without_correction": HelperRule("without_correction(adam_step)", needs="adam_step"),
}
FAMILIES = (
    (
        {ProblemKind.QUADRATIC, ProblemKind.VALLEY, ProblemKind.COUNTEREXAMPLE, ProblemKind.LAYERS},
        "a synthetic problem (quadratic, valley, counterexample or layers)",
    ),
    ({ProblemKind.LOGISTIC, ProblemKind.SOFTMAX}, "a logistic-regression or softmax objective"),
    ({ProblemKind.TRANSFORMER}, "a transformer training diagnostic"),
)


@cache
def problem_info(kind: ProblemKind) -> tuple[tuple[str, ...], bool]:
    """The tensor names of a lab problem and whether it has minibatches."""
    problem = lab_problems.PROBLEMS[kind.value]()
    return tuple(problem.params), bool(problem.n_data) and not problem.cyclic


def read_experiments(r: Reader, data: Any, module_id: str) -> tuple[Experiment, ...]:
    out = [
        e
        for w, item in r.items(data, "experiments", 3)
        if (e := _experiment(r, item, w, module_id))
    ]
    ids = [e.id for e in out]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        r.error("experiments", f"experiment id {dup!r} is used twice")
    kinds = {e.problem for e in out}
    for family, what in FAMILIES:
        if out and not kinds & family:
            r.error("experiments", f"expected an experiment on {what}")
    return tuple(out)


def _experiment(r: Reader, item: Any, where: str, module_id: str) -> Experiment | None:
    m = r.mapping(item, where, _EXPERIMENT)
    if m is None:
        return None
    probe = None
    if "probe" in m:
        probe = r.choice(m["probe"], f"{where}.probe", Probe, [p.value for p in Probe])
        for key in _TRAINING_ONLY:
            if key in m:
                r.error(f"{where}.{key}", "a probe experiment trains nothing; remove this key")
        _probe_functions(r, probe, f"{where}.probe", module_id)
        exp = Experiment(
            id=r.string(m.get("id"), f"{where}.id", "experiment"),
            title=r.string(m.get("title"), f"{where}.title"),
            text=r.markdown(m.get("text"), f"{where}.text"),
            expectations=(),
            probe=probe,
        )
    else:
        for key in ("problem", "steps", "runs", "plot"):
            if key not in m:
                r.error(f"{where}.{key}", "missing (required for a training experiment)")
        problem = r.choice(
            m.get("problem"), f"{where}.problem", ProblemKind, [p.value for p in ProblemKind]
        )
        runs = tuple(
            _with_batch(r, _run(r, v, w, module_id), v, w, problem)
            for w, v in r.items(m.get("runs"), f"{where}.runs")
        )
        labels = [run.label for run in runs]
        for dup in sorted({x for x in labels if labels.count(x) > 1}):
            r.error(f"{where}.runs", f"run label {dup!r} is used twice")
        exp = Experiment(
            id=r.string(m.get("id"), f"{where}.id", "experiment"),
            title=r.string(m.get("title"), f"{where}.title"),
            text=r.markdown(m.get("text"), f"{where}.text"),
            expectations=(),
            problem=problem,
            runs=runs,
            steps=r.integer(m.get("steps"), f"{where}.steps"),
            plot=_plot(r, m.get("plot"), f"{where}.plot", problem),
            batch_size=_batch_size(r, m, where, problem),
            lr_decay=(
                r.choice(m["lr_decay"], f"{where}.lr_decay", LrDecay, [d.value for d in LrDecay])
                if "lr_decay" in m
                else None
            ),
        )
    expectations = tuple(
        _expectation(r, v, w, exp) for w, v in r.items(m.get("expect"), f"{where}.expect")
    )
    return Experiment(**{**exp.__dict__, "expectations": expectations})


def _probe_functions(r: Reader, probe: Probe, where: str, module_id: str) -> None:
    for name in inspect.signature(lab_probes.PROBES[probe.value]).parameters:
        if not available_in(module_id, name):
            r.error(where, f"probe {probe.value} needs {name}, graded in a later module")


def _batch_size(r: Reader, m: dict[str, Any], where: str, problem: ProblemKind) -> int | None:
    if "batch_size" not in m:
        return None
    size = r.integer(m["batch_size"], f"{where}.batch_size")
    if not problem_info(problem)[1]:
        r.error(f"{where}.batch_size", f"the {problem.value} problem has no minibatches")
    return size


def _with_batch(r: Reader, run: Run, data: Any, where: str, problem: ProblemKind) -> Run:
    if not isinstance(data, dict) or "batch_size" not in data:
        return run
    return Run(**{**run.__dict__, "batch_size": _batch_size(r, data, where, problem)})


def _plot(r: Reader, data: Any, where: str, problem: ProblemKind) -> tuple[Panel, ...]:
    panels = tuple(r.choice(v, w, Panel, [p.value for p in Panel]) for w, v in r.items(data, where))
    if Panel.VAL_LOSS in panels and problem is not ProblemKind.TRANSFORMER:
        r.error(where, "val_loss is logged for the transformer problem only")
    if Panel.TRAJECTORY in panels and problem is not ProblemKind.VALLEY:
        r.error(where, "trajectory (contours) is drawn for the valley problem only")
    return panels


def _run(r: Reader, data: Any, where: str, module_id: str) -> Run:
    m = r.mapping(data, where, _RUN) or {}
    label = r.string(m.get("label"), f"{where}.label")
    if ("rule" in m) == ("torch" in m):
        r.error(where, "expected exactly one of rule (a step rule) or torch (a torch.optim class)")
        return Run(label, rule="sgd_step")
    if "torch" in m:
        opt = r.choice(
            m["torch"], f"{where}.torch", TorchOptimizer, [o.value for o in TorchOptimizer]
        )
        hp = _values(r, m.get("hparams", {}), f"{where}.hparams", TORCH_ARGS[opt], (), opt.value)
        return Run(label, torch=opt, hparams=hp)
    rule = m["rule"]
    if rule in HELPER_RULES:
        helper = HELPER_RULES[rule]
        if helper.needs and not available_in(module_id, helper.needs):
            r.error(
                f"{where}.rule", f"{rule} is built from {helper.needs}, graded in a later module"
            )
        params = inspect.signature(helper.build(solutions)).parameters
        names = tuple(n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY)
        hp = _values(r, m.get("hparams", {}), f"{where}.hparams", names, (), rule)
        return Run(label, rule=rule, hparams=hp)
    if rule not in STEP_RULES:
        rules = [*STEP_RULES, *HELPER_RULES]
        r.error(f"{where}.rule", f"expected a step rule ({', '.join(rules)}), got {rule!r}")
        return Run(label, rule="sgd_step")
    if not available_in(module_id, rule):
        r.error(
            f"{where}.rule",
            f"{rule} is graded in a later module; an experiment may only train with this "
            "module's or an earlier module's step rules (or torch.optim)",
        )
    elif FUNCTION_MODULE[rule] != module_id and (
        later := later_graded(reference_function(rule), module_id)
    ):
        r.error(
            f"{where}.rule",
            f"{rule} calls {', '.join(later)}, graded in a later module, so the notebook cannot "
            "give it; train with `torch:` instead",
        )
    hp = _values(
        r,
        m.get("hparams", {}),
        f"{where}.hparams",
        hparam_names(rule),
        required_hparams(rule),
        rule,
    )
    return Run(label, rule=rule, hparams=hp)


def _values(
    r: Reader, data: Any, where: str, allowed: tuple[str, ...], required: tuple[str, ...], what: str
) -> dict[str, Any]:
    if not isinstance(data, dict):
        r.error(where, f"expected a mapping of hyperparameters, got {type(data).__name__}")
        return {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in allowed:
            r.error(
                f"{where}.{key}",
                f"not a hyperparameter of {what}; expected one of {', '.join(allowed) or '(none)'}",
            )
        elif isinstance(value, list) and all(
            v is None or (isinstance(v, int | float | str) and not isinstance(v, bool))
            for v in value
        ):
            out[key] = tuple(value)
        elif value is None or isinstance(value, bool | int | float | str):
            out[key] = value
        else:
            r.error(f"{where}.{key}", f"expected a number, bool, string or list, got {value!r}")
    for key in required:
        if key not in data:
            r.error(where, f"{what} needs {key!r} (it has no default)")
    return out


def _expectation(r: Reader, data: Any, where: str, exp: Experiment) -> Expectation:
    m = r.mapping(data, where, _EXPECT) or {}
    says = r.markdown(m.get("says"), f"{where}.says")
    measure = _quantity(r, m.get("measure"), f"{where}.measure", exp)
    given = [rel for rel in Relation if rel.value in m]
    if len(given) != 1:
        r.error(where, "expected exactly one of below, above or near")
        return Expectation(says, measure, Relation.BELOW, 0.0)
    relation = given[0]
    value = m[relation.value]
    w = f"{where}.{relation.value}"
    target: Quantity | float
    if isinstance(value, dict):
        target = _quantity(r, value, w, exp)
    else:
        target = r.number(value, w)
    if relation is Relation.NEAR:
        rtol = r.number(m.get("rtol"), f"{where}.rtol")
        if rtol < 0:
            r.error(f"{where}.rtol", f"expected a number >= 0, got {rtol!r}")
    else:
        rtol = 0.0
        if "rtol" in m:
            r.error(f"{where}.rtol", "rtol goes with near only")
    return Expectation(says, measure, relation, target, rtol)


def _quantity(r: Reader, data: Any, where: str, exp: Experiment) -> Quantity:
    m = r.mapping(data, where, _QUANTITY) or {}
    metric = str(m.get("metric", ""))
    at_value = m.get("at", "last")
    if isinstance(at_value, int) and not isinstance(at_value, bool):
        step = r.integer(at_value, f"{where}.at")
        if exp.probe is None and step > exp.steps:
            r.error(f"{where}.at", f"step {step} is after the last step ({exp.steps})")
        at: int | Stat = step
    else:
        at = r.choice(at_value, f"{where}.at", Stat, [s.value for s in Stat])
    times = r.number(m.get("times", 1.0), f"{where}.times")
    tensor = str(m.get("tensor", ""))
    if exp.probe is not None:
        run = str(m.get("run", exp.probe.value))
        if run != exp.probe.value:
            r.error(f"{where}.run", f"expected the probe {exp.probe.value!r}, got {run!r}")
        outputs = lab_probes.PROBE_OUTPUTS[exp.probe.value]
        if metric not in outputs:
            r.error(f"{where}.metric", f"expected one of {', '.join(outputs)}, got {metric!r}")
        if tensor:
            r.error(f"{where}.tensor", "a probe has no tensors")
        return Quantity(run, metric, at, times)
    labels = [r.label for r in exp.runs]
    run = str(m.get("run", ""))
    if run not in labels:
        r.error(
            f"{where}.run", f"expected a run label ({', '.join(map(repr, labels))}), got {run!r}"
        )
    if metric not in {x.value for x in Metric}:
        r.error(
            f"{where}.metric",
            f"expected one of {', '.join(x.value for x in Metric)}, got {metric!r}",
        )
    elif metric == Metric.VAL_LOSS and exp.problem is not ProblemKind.TRANSFORMER:
        r.error(f"{where}.metric", "val_loss is logged for the transformer problem only")
    if tensor:
        names = problem_info(exp.problem)[0] if exp.problem else ()
        if metric not in {x.value for x in PER_TENSOR}:
            r.error(f"{where}.tensor", f"only {', '.join(PER_TENSOR)} are logged per tensor")
        elif tensor not in names:
            r.error(
                f"{where}.tensor",
                f"expected a tensor of the problem ({', '.join(names)}), got {tensor!r}",
            )
    return Quantity(str(run), metric, at, times, tensor)
