"""exercises/requirements.txt lists exactly what a student needs: every cell of every student
notebook (filled in, tests and skill check included) runs in a clean Python whose only
site-packages are the listed packages and what pip installs with them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution, requires
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

from course.load import load_course
from course.notebooks import STUDENT_REQUIREMENTS, module_notebooks

REPO = Path(__file__).resolve().parents[2]
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")

RUNNER = r"""
import json, os, sys
assert not any("site-packages" in p and "student-site" not in p for p in sys.path), sys.path
os.environ["MPLBACKEND"] = "Agg"
for path in sys.argv[1:]:
    cells = json.load(open(path))
    namespace = {"__name__": "__main__"}
    for source in cells:
        exec(compile(source, path, "exec"), namespace)
    print("ran", path, flush=True)
"""


def _student_site(target: Path, dists: set[str]) -> set[str]:
    """A site-packages holding only the files of `dists` (links into this environment's), as
    pip would have installed them; returns the top-level names it holds."""
    target.mkdir()
    tops: set[str] = set()
    for name in dists:
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        for file in dist.files or []:
            top = file.parts[0]
            if top == ".." or top in tops:
                continue
            source = Path(str(dist.locate_file(top)))
            if source.exists():
                (target / top).symlink_to(source)
                tops.add(top)
    return tops


def _requirements() -> list[Requirement]:
    lines = [l.strip() for l in STUDENT_REQUIREMENTS.splitlines()]
    return [Requirement(l) for l in lines if l and not l.startswith("#")]


def _closure(names: list[str]) -> set[str]:
    """The distributions pip would install for `names` (declared dependencies, no extras)."""
    seen: set[str] = set()
    stack = list(names)
    while stack:
        name = re.sub(r"[-_.]+", "-", stack.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            deps = requires(name) or []
        except PackageNotFoundError:
            continue
        for dep in map(Requirement, deps):
            if dep.marker is None or dep.marker.evaluate({"extra": ""}):
                stack.append(dep.name)
    return seen


def test_requirements_file_is_what_the_build_writes() -> None:
    """Is the committed exercises/requirements.txt the build's, listing torch and matplotlib
    (imported by the cells) and Jupyter (to open them)?"""
    assert (REPO / "exercises" / "requirements.txt").read_text() == STUDENT_REQUIREMENTS
    assert {r.name for r in _requirements()} == {"torch", "matplotlib", "jupyterlab"}


@pytest.mark.slow
def test_every_notebook_runs_with_only_the_student_requirements(tmp_path: Path) -> None:
    """Filled with the reference solutions, does every cell of every student notebook run in a
    Python (`-S`, no site-packages of this environment) that can import only the standard
    library, torch and matplotlib and their dependencies, none of the course's own packages?"""
    runtime = [r.name for r in _requirements() if r.name != "jupyterlab"]
    site = tmp_path / "student-site"
    tops = _student_site(site, _closure(runtime))
    assert {"torch", "matplotlib"} <= tops
    assert not tops & {"course", "solutions", "autograder", "quizzes", "nbgrader", "IPython"}
    paths = []
    for module in load_course().modules:
        nbs = module_notebooks(module)
        answers = {
            c.metadata["nbgrader"]["grade_id"]: "\n".join(
                l for l in c.source.split("\n") if l.strip() not in MARKERS
            )
            for c in nbs["source"].cells
            if c.metadata.get("nbgrader", {}).get("solution")
        }
        cells = [
            answers.get(c.metadata.get("nbgrader", {}).get("grade_id", ""), c.source)
            for c in nbformat.from_dict(nbs["student"]).cells
            if c.cell_type == "code"
        ]
        path = tmp_path / f"{module.slug}.json"
        path.write_text(json.dumps(cells))
        paths.append(str(path))
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(site), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-S", "-c", RUNNER, *paths],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("ran ") == 10
