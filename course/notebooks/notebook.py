"""The nbgrader source notebook of a module, cell by cell, from the module spec alone.

Layout: title and definition, the useful formulas, three locked cells of given code (imports
and functions of earlier modules, the experiment lab, the test helper), collapsed
(`source_hidden`) so the first exercise follows the reading; then per graded function its
instructions, a solution cell (`solution_<fn>`, reference body between
`### BEGIN SOLUTION`/`### END SOLUTION`), an autograded test cell (`test_<fn>`, the function's
points, visible tests on the small example, grading cases between
`### BEGIN HIDDEN TESTS`/`### END HIDDEN TESTS`) and, for step rules, a cell of property checks
the learner can run (agreement with torch.optim, the first Adam step, gradient scaling); then
the proof sketch, the experiments (each trains, plots and prints "what you should see", ✓ or ✗
with the numbers), the non-examples, implementation consequences, the diagnostic questions each
with its worked answer behind "Show answer", the AI connection and the skill check. Cell ids are
stable (derived from the module and position), so builds are reproducible.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import nbformat
from nbformat import NotebookNode

from course import lab, lab_checks, lab_probes, lab_problems, nbcheck
from course.expect import claim_source
from course.experiments import HELPER_RULES
from course.notebooks.checks import case_test, instances, literal
from course.notebooks.code import given_source, solution_source
from course.spec import Experiment, ModuleSpec

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _nbgrader(
    grade_id: str,
    *,
    solution: bool = False,
    grade: bool = False,
    locked: bool = False,
    points: float | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _verbatim(module: Any) -> str:
    """A helper module's source for a notebook cell: no `from __future__` (a cell is not a file)
    and no imports of the course package (the cells before it define those names)."""
    lines = inspect.getsource(module).splitlines()
    kept = [
        l
        for l in lines
        if l != "from __future__ import annotations" and not l.startswith("from course")
    ]
    return "\n".join(kept).strip() + "\n"


_ADAM_PROBE = {"lr": 0.1, "beta1": 0.8, "beta2": 0.9, "eps": 1e-3, "weight_decay": 0.1}
#: Step rule -> hyperparameters of its torch.optim agreement check; the Adam family also gets
#: the first-step and gradient-scale checks (course.lab_checks).
PROPERTY_CHECKS: dict[str, dict[str, float]] = {
    "rmsprop_step": {"lr": 0.05, "alpha": 0.9, "eps": 1e-3, "weight_decay": 0.1},
    "adamw_step": _ADAM_PROBE,
    "adafactor_step": {"lr": 0.05, "weight_decay": 0.1},
    "adam_step": _ADAM_PROBE,
    "amsgrad_step": _ADAM_PROBE,
}
_ADAM_FAMILY = ("adam_step", "adamw_step", "amsgrad_step")


def property_checks(function: str) -> str:
    """The cell of checks a learner runs on a step rule (printed with ✓ or ✗ and the numbers)."""
    hp = ", ".join(f"{k!r}: {v!r}" for k, v in PROPERTY_CHECKS[function].items())
    lines = [f"agrees_with_torch({function}, {{{hp}}})"]
    if function in _ADAM_FAMILY:
        decay = ", weight_decay=0.0" if function == "adamw_step" else ""
        lines.append(f"first_step_moves_by_lr({function}{decay})")
        lines.append(f"step_ignores_gradient_scale({function}{decay})")
    return "\n".join(lines)


HIDDEN = {"jupyter": {"source_hidden": True}}


class _Cells:
    def __init__(self, slug: str) -> None:
        self.slug = slug
        self.cells: list[NotebookNode] = []

    def _id(self, grade_id: str | None) -> str:
        return grade_id or f"{self.slug}-{len(self.cells):02d}"

    def md(self, text: str, grade_id: str | None = None, **nb: Any) -> None:
        cell = nbformat.v4.new_markdown_cell(text.strip() + "\n")
        cell.id = self._id(grade_id)
        if grade_id:
            cell.metadata.update(_nbgrader(grade_id, **nb))
        self.cells.append(cell)

    def code(
        self, source: str, grade_id: str | None = None, *, hidden: bool = False, **nb: Any
    ) -> None:
        cell = nbformat.v4.new_code_cell(source.rstrip("\n"))
        cell.id = self._id(grade_id)
        if hidden:
            cell.metadata.update(HIDDEN)
        if grade_id:
            cell.metadata.update(_nbgrader(grade_id, **nb))
        self.cells.append(cell)


def source_notebook(
    module: ModuleSpec, skill_check: list[NotebookNode] | None = None
) -> NotebookNode:
    """The instructor's nbgrader source notebook of `module`."""
    c = _Cells(module.slug)
    r = module.reading
    c.md(
        f"# Module {module.id}: {module.title}\n\n*{module.part}* · central object: "
        f"**{module.object}**\n\nRead the definition and formulas, implement each function in "
        "its cell (remove the `raise NotImplementedError()`), run the test cell below it, then "
        "run the experiments: they train with *your* functions and say what you should see. "
        "The three collapsed cells below are given code (imports and functions of earlier "
        "modules, the experiment lab, the test helper): run them, and open them if you are "
        "curious."
    )
    c.md("## Definition\n\n" + r.definition)
    c.md("## Useful formulas\n\n" + r.formulas)
    c.code(
        "# Given: imports and functions from earlier modules (read-only).\n" + given_source(module),
        "given",
        hidden=True,
        locked=True,
    )
    c.code(
        "# Given: the experiment lab (problems, training loop, plots, what you should see).\n"
        "torch.set_num_threads(1)  # tiny models train fastest on one thread\n"
        + "\n\n".join(_verbatim(m) for m in (lab_problems, lab, lab_probes, lab_checks)),
        "lab",
        hidden=True,
        locked=True,
    )
    c.code(
        "# Given: the helper the tests use.\n" + _verbatim(nbcheck),
        "check_helper",
        hidden=True,
        locked=True,
    )
    for number, (task, exercise) in enumerate(zip(module.tasks, module.exercises, strict=True), 1):
        points = f"{exercise.points:g} point{'s' if exercise.points != 1 else ''}"
        c.md(f"## Exercise {number}: `{task.function}` ({points})\n\n{task.text}")
        c.code(
            solution_source(task.function, module.id), f"solution_{task.function}", solution=True
        )
        c.code(
            _test_cell(task.function, module),
            f"test_{task.function}",
            grade=True,
            locked=True,
            points=exercise.points,
        )
        if task.function in PROPERTY_CHECKS:
            c.md(
                f"**Check it yourself** (not graded): properties your `{task.function}` must "
                "have, each printed with ✓ or ✗ and the numbers."
            )
            c.code(property_checks(task.function))
    c.md("## Proof sketch\n\n" + r.proof_sketch)
    c.md(
        "## Experiments\n\nEach experiment trains with your functions (or measures them), "
        "plots what it logs and prints **what you should see**: every claim of its text, "
        "measured, with ✓ or ✗. They run in a few seconds on a laptop CPU."
    )
    for experiment in module.experiments:
        c.md(experiment_markdown(experiment))
        c.code(experiment_code(experiment))
    c.md("## Non-examples\n\n" + r.non_examples)
    c.md("## Implementation consequences\n\n" + r.implementation)
    c.md("## Diagnostic questions\n\nAnswer each one yourself first; then open its worked answer.")
    for i, q in enumerate(r.diagnostic_questions, 1):
        c.md(answer_markdown(i, q.question, q.answer), f"answer_{i}", locked=True)
    c.md("## AI connection\n\n" + r.ai_connection)
    for cell in skill_check or []:
        c.cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=c.cells)
    nb.metadata = {
        "alr": {"module": module.id},
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
    }
    return nb


def answer_markdown(number: int, question: str, answer: str) -> str:
    """A diagnostic question with its worked answer collapsed behind "Show answer"."""
    return (
        f"**Question {number}.** {question.strip()}\n\n<details><summary>Show answer</summary>"
        f"\n\n{answer.strip()}\n\n</details>"
    )


def _test_cell(function: str, module: ModuleSpec) -> str:
    task = next(t for t in module.tasks if t.function == function)
    exercise = next(e for e in module.exercises if e.function == function)
    visible = [case_test(i) for i in instances(function, task.example, first_shape_only=True)]
    hidden = [
        case_test(i)
        for case in exercise.cases
        for i in instances(function, case, first_shape_only=True)
    ]
    return (
        f"# Tests of {function}: the example (visible) and the grading cases (hidden).\n"
        + "\n".join(visible)
        + "### BEGIN HIDDEN TESTS\n"
        + "\n".join(hidden)
        + "### END HIDDEN TESTS\n"
        + f'print("{function}: all tests passed")\n'
    )


def experiment_markdown(experiment: Experiment) -> str:
    """The experiment's title, what it runs, and what it shows (its expectations)."""
    shows = "\n".join(f"- {e.says.strip()}" for e in experiment.expectations)
    return f"### {experiment.title}\n\n{experiment.text.strip()}\n\nWhat you should see:\n\n{shows}"


def experiment_code(experiment: Experiment) -> str:
    """The code cell of one experiment: train every run (or probe), plot, judge the claims."""
    if experiment.probe is not None:
        fn = lab_probes.PROBES[experiment.probe.value]
        args = ", ".join(f"{n}={n}" for n in inspect.signature(fn).parameters)
        name = experiment.probe.value
        lines = [f"logs = {{{name!r}: probe({name!r}, {args})}}"]
    else:
        assert experiment.problem is not None
        lines = [f"problem = PROBLEMS[{experiment.problem.value!r}]()", "logs = {"]
        for run in experiment.runs:
            hp = "{" + ", ".join(f"{k!r}: {literal(v)}" for k, v in run.hparams.items()) + "}"
            rule = (
                f"torch.optim.{run.torch.value}"
                if run.torch
                else HELPER_RULES[run.rule].source
                if run.rule in HELPER_RULES
                else run.rule
            )
            options = ""
            if batch := run.batch_size or experiment.batch_size:
                options += f", batch_size={batch}"
            if experiment.lr_decay is not None:
                options += f", lr_decay={experiment.lr_decay.value!r}"
            call = f"train(problem, {rule}, {hp}, steps={experiment.steps}{options})"
            lines.append(f"    {json.dumps(run.label, ensure_ascii=False)}: {call},")
        lines.append("}")
        panels = ", ".join(repr(p.value) for p in experiment.plot)
        title = json.dumps(experiment.title, ensure_ascii=False)
        lines.append(f"plot_logs(logs, [{panels}], title={title})")
    lines.append("what_you_should_see(logs, [")
    lines += [f"    {claim_source(e)}," for e in experiment.expectations]
    lines.append("])")
    return "\n".join(lines) + "\n"
