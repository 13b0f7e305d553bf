"""Evaluate the expectations of every experiment on the reference solutions.

    evaluate_experiment(experiment) -> [Verdict, ...]      (course.lab_checks.Verdict)
    check_course(course)                                    raises ExpectationError listing failures

The runs train exactly as in the notebook (course.lab.train, same problem, seed and steps), with
the reference solutions in place of the learner's functions. A torch.optim run trains with its
reference twin (solutions agrees with torch.optim to 4e-16), so the build never waits for
torch.optim's one-off import of torch._dynamo (about a second). The claims are judged by the
notebook's own code (course.lab_checks.judge), so the build and the notebook cannot disagree.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

import solutions
from alr.errors import CourseFileError
from course import lab, lab_checks, lab_probes, lab_problems
from course.experiments import HELPER_RULES
from course.spec import Course, Expectation, Experiment, ModuleSpec, Quantity, Run, TorchOptimizer


class ExpectationError(CourseFileError):
    """An experiment does not show what its text says on the reference solutions."""


def claim(expectation: Expectation) -> lab_checks.Claim:
    """The notebook's form of an expectation."""
    target = expectation.target
    return lab_checks.Claim(
        expectation.says.strip(),
        _quantity(expectation.measure),
        expectation.relation.value,
        _quantity(target) if isinstance(target, Quantity) else float(target),
        expectation.rtol,
    )


def _quantity(q: Quantity) -> lab_checks.Quantity:
    at = q.at if isinstance(q.at, int) else q.at.value
    return lab_checks.Quantity(q.run, q.metric, at, q.times, q.tensor)


def reference_rule(run: Run) -> tuple[Callable[..., Any], dict[str, Any]]:
    """The step rule and hyperparameters that train `run` with the reference solutions."""
    if run.torch is None:
        if run.rule in HELPER_RULES:
            return HELPER_RULES[run.rule].build(solutions), dict(run.hparams)
        return getattr(solutions, run.rule), dict(run.hparams)
    hp = dict(run.hparams)
    if "betas" in hp:
        hp["beta1"], hp["beta2"] = hp.pop("betas")
    if run.torch is TorchOptimizer.ADAFACTOR:
        if "eps" in hp:
            hp["eps1"], hp["eps2"] = hp.pop("eps")
        return solutions.adafactor_step, hp
    if run.torch is TorchOptimizer.RMSPROP:
        return solutions.rmsprop_step, hp
    if run.torch is TorchOptimizer.ADAMW:
        return solutions.adamw_step, hp
    return (solutions.amsgrad_step if hp.pop("amsgrad", False) else solutions.adam_step), hp


#: A trained run, keyed by everything that determines it (so each distinct run trains once).
RunKey = tuple[str, str, tuple[tuple[str, Any], ...], int, int | None, str | None]
Logs = dict[str, list[float]]


def _key(problem: str, rule: Callable[..., Any], hparams: dict[str, Any], *rest: Any) -> RunKey:
    params = inspect.signature(rule).parameters
    full = {n: p.default for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    full.update(hparams)
    return (problem, f"{rule.__module__}.{rule.__qualname__}", tuple(sorted(full.items())), *rest)


def experiment_logs(
    experiment: Experiment, trained: dict[RunKey, Logs] | None = None
) -> dict[str, Logs]:
    """Train every run (or run the probe) of an experiment with the reference solutions; runs
    already in `trained` (the same problem, rule, hyperparameters, steps and batches, for example
    a torch.optim run and its reference twin) are not trained again."""
    if experiment.probe is not None:
        fn = lab_probes.PROBES[experiment.probe.value]
        functions = {n: getattr(solutions, n) for n in inspect.signature(fn).parameters}
        return {experiment.probe.value: lab_probes.probe(experiment.probe.value, **functions)}
    assert experiment.problem is not None
    trained = {} if trained is None else trained
    problem = lab_problems.PROBLEMS[experiment.problem.value]()
    decay = experiment.lr_decay.value if experiment.lr_decay else None
    logs = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the notebooks: tiny models train fastest on one thread
    try:
        for run in experiment.runs:
            rule, hparams = reference_rule(run)
            batch = run.batch_size or experiment.batch_size
            key = _key(problem.name, rule, hparams, experiment.steps, batch, decay)
            if key not in trained:
                trained[key] = lab.train(
                    problem, rule, hparams, experiment.steps, batch_size=batch, lr_decay=decay
                )
            logs[run.label] = trained[key]
    finally:
        torch.set_num_threads(threads)
    return logs


def evaluate_experiment(
    experiment: Experiment, trained: dict[RunKey, Logs] | None = None
) -> list[lab_checks.Verdict]:
    logs = experiment_logs(experiment, trained)
    return [lab_checks.judge(logs, claim(e)) for e in experiment.expectations]


def failures(
    module: ModuleSpec, trained: dict[RunKey, Logs] | None = None
) -> list[ExpectationError]:
    """Every expectation of the module that does not hold on the references."""
    out = []
    for i, experiment in enumerate(module.experiments):
        for j, verdict in enumerate(evaluate_experiment(experiment, trained)):
            if not verdict.holds:
                out.append(
                    ExpectationError(
                        module.path,
                        f"experiments[{i}].expect[{j}]",
                        f"module {module.id}, experiment {experiment.id!r}: the reference "
                        f"solutions do not show this; {verdict.line()}",
                    )
                )
    return out


def check_course(course: Course) -> None:
    """Raise ExpectationError (all failures in its message) unless every expectation holds."""
    trained: dict[RunKey, Logs] = {}
    errors = [e for module in course.modules for e in failures(module, trained)]
    if errors:
        first, rest = errors[0], errors[1:]
        more = "".join(f"\n{e}" for e in rest)
        raise ExpectationError(
            first.path,
            first.where,
            first.problem + (f"\n{len(rest)} more failing expectation(s):{more}" if rest else ""),
        )


def claim_source(expectation: Expectation) -> str:
    """Python source of the notebook's Claim for an expectation (defaults left out)."""
    c = claim(expectation)
    target = c.target if isinstance(c.target, float) else None
    parts = [
        repr(c.says),
        _quantity_source(c.measure),
        repr(c.relation),
        repr(target) if target is not None else _quantity_source(c.target),  # type: ignore[arg-type]
    ]
    if c.relation == "near":
        parts.append(f"rtol={c.rtol!r}")
    return f"Claim({', '.join(parts)})"


def _quantity_source(q: lab_checks.Quantity) -> str:
    parts = [repr(q.run), repr(q.metric), repr(q.at)]
    if q.times != 1.0:
        parts.append(f"times={q.times!r}")
    if q.tensor:
        parts.append(f"tensor={q.tensor!r}")
    return f"Quantity({', '.join(parts)})"
