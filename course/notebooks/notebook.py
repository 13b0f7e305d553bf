"""The nbgrader source notebook of a module, cell by cell, from the module spec alone.

Layout: title and definition, the useful formulas, three locked cells of given code (imports
and functions from other modules, the experiment lab, the test helper), then per graded
function its instructions, a solution cell (`solution_<fn>`, reference body between
`### BEGIN SOLUTION`/`### END SOLUTION`) and an autograded test cell (`test_<fn>`, the
function's points, visible tests on the small example, grading cases between
`### BEGIN HIDDEN TESTS`/`### END HIDDEN TESTS`); then the proof sketch, the experiments, the
non-examples, implementation consequences, diagnostic questions, AI connection and the skill
check. Cell ids are stable (derived from the module and position), so builds are reproducible.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import nbformat
from nbformat import NotebookNode

from course import lab, nbcheck
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
    """A helper module's source for a notebook cell (no `from __future__`: a cell is not a file)."""
    lines = inspect.getsource(module).splitlines()
    return "\n".join(l for l in lines if l != "from __future__ import annotations").strip() + "\n"


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

    def code(self, source: str, grade_id: str | None = None, **nb: Any) -> None:
        cell = nbformat.v4.new_code_cell(source.rstrip("\n"))
        cell.id = self._id(grade_id)
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
        "run the experiments: they train with *your* functions. Locked cells are given code."
    )
    c.md("## Definition\n\n" + r.definition)
    c.md("## Useful formulas\n\n" + r.formulas)
    c.code(
        "# Given: imports and functions from other modules (read-only).\n" + given_source(module),
        "given",
        locked=True,
    )
    c.code(
        "# Given: the experiment lab (problems, training loop, plots).\n"
        "torch.set_num_threads(1)  # tiny models train fastest on one thread\n" + _verbatim(lab),
        "lab",
        locked=True,
    )
    c.code("# Given: the helper the tests use.\n" + _verbatim(nbcheck), "check_helper", locked=True)
    for number, (task, exercise) in enumerate(zip(module.tasks, module.exercises, strict=True), 1):
        points = f"{exercise.points:g} point{'s' if exercise.points != 1 else ''}"
        c.md(f"## Exercise {number}: `{task.function}` ({points})\n\n{task.text}")
        c.code(solution_source(task.function), f"solution_{task.function}", solution=True)
        c.code(
            _test_cell(task.function, module),
            f"test_{task.function}",
            grade=True,
            locked=True,
            points=exercise.points,
        )
    c.md("## Proof sketch\n\n" + r.proof_sketch)
    c.md(
        "## Experiments\n\nEach experiment trains with your functions on the same problem and "
        "seed, logs the metrics and plots them. They run in a few seconds on a laptop CPU."
    )
    for experiment in module.experiments:
        c.md(f"### {experiment.title}\n\n{experiment.text}")
        c.code(experiment_code(experiment))
    c.md("## Non-examples\n\n" + r.non_examples)
    c.md("## Implementation consequences\n\n" + r.implementation)
    c.md(
        "## Diagnostic questions\n\n"
        + "\n".join(f"{i}. {q.strip()}" for i, q in enumerate(r.diagnostic_questions, 1))
    )
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


def experiment_code(experiment: Experiment) -> str:
    """The code cell of one experiment: train every run, plot, summarise, then extra code."""
    lines = [f"problem = PROBLEMS[{experiment.problem.value!r}]()", "logs = {"]
    for run in experiment.runs:
        hp = "{" + ", ".join(f"{k!r}: {literal(v)}" for k, v in run.hparams.items()) + "}"
        call = f"train(problem, {run.rule}, {hp}, steps={experiment.steps})"
        lines.append(f"    {json.dumps(run.label)}: {call},")
    lines.append("}")
    metrics = ", ".join(repr(m.value) for m in experiment.plot)
    lines.append(f"plot_logs(logs, [{metrics}], title={json.dumps(experiment.title)})")
    lines.append("summarise(logs)")
    if experiment.code.strip():
        lines.append(experiment.code.rstrip("\n"))
    return "\n".join(lines) + "\n"
