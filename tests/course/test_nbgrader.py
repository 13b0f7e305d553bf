"""Real nbgrader on the generated course: full marks for solved notebooks, zero for untouched.

The generated nbgrader course is split into two course folders graded by two processes at once
(each runs nbgrader's generate_assignment and autograde for its modules, see nbgrader_driver.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from alr.contract import MODULE_IDS
from course.notebooks import build_course
from quizzes.notebook import skill_check_cells

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    out = tmp_path_factory.mktemp("course")
    build_course(out=out, appendix=skill_check_cells)
    generated = out / "build" / "nbgrader"
    halves = [MODULE_IDS[::2], MODULE_IDS[1::2]]
    procs = []
    for i, modules in enumerate(halves):
        root = out / f"nbgrader-{i}"
        root.mkdir()
        shutil.copy(generated / "nbgrader_config.py", root)
        for module in modules:
            slug = "module-" + module.replace(".", "-")
            shutil.copytree(generated / "source" / slug, root / "source" / slug)
        # nbgrader runs the `alembic` command of its own environment.
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": path}
        cmd = [sys.executable, str(HERE / "nbgrader_driver.py"), str(root), *modules]
        procs.append(
            subprocess.Popen(
                cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    results: dict[str, dict[str, object]] = {}
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr[-3000:]
        assert "SAWarning" not in stderr and "has changed" not in stderr, stderr[-3000:]
        results.update(json.loads(stdout.strip().splitlines()[-1]))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("module_id", MODULE_IDS)
def test_nbgrader_gives_full_marks_to_solved_and_zero_to_untouched(
    graded: dict[str, dict[str, object]], module_id: str
) -> None:
    """Does nbgrader autograde give the solved notebook every point and the untouched one none?"""
    result = graded["module-" + module_id.replace(".", "-")]
    scores = result["scores"]
    assert isinstance(scores, dict)
    assert result["max_score"] > 0
    assert scores["solved"] == result["max_score"]
    assert scores["untouched"] == 0
    assert result["warnings"] == []  # no false "checksum changed" for the hidden tests


@pytest.mark.slow
@pytest.mark.parametrize("module_id", MODULE_IDS)
def test_nbgrader_release_equals_committed_exercise(
    graded: dict[str, dict[str, object]], module_id: str
) -> None:
    """Is the committed student notebook what `nbgrader generate_assignment` releases?"""
    slug = "module-" + module_id.replace(".", "-")
    release = nbformat.read(str(graded[slug]["release"]), as_version=4)
    committed = nbformat.read(REPO / "exercises" / f"{slug}.ipynb", as_version=4)
    assert [c.source for c in release.cells] == [c.source for c in committed.cells]
    assert [c.metadata for c in release.cells] == [c.metadata for c in committed.cells]
    assert release.metadata["alr"] == committed.metadata["alr"] == {"module": module_id}
