"""The Gradescope autograder zip: its layout, and grading end to end in a simulated /autograder.

The end-to-end tests run `setup.sh` and `run_autograder` for real, as Gradescope would, against a
temporary folder standing in for `/autograder` (ALR_GRADESCOPE_ROOT). What they skip, honestly:
the test machine has no internet, so ALR_GRADESCOPE_PYTHON points `setup.sh` at this project's
Python environment, and the apt-get of python3.11/bubblewrap and the pip download of CPU torch and
the dependencies do not run. The wheel install (pip, offline) and everything after it are real:
the grading runs from the wheel's copy of the package, not from this source tree.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from autograder.export.gradescope import export_gradescope

from .conftest import FIXTURES

SUBMISSIONS = FIXTURES / "submissions"


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    secret = tmp_path_factory.mktemp("course") / "course-secret.txt"
    secret.write_text(f"{12345:032x}\n")
    return export_gradescope(
        out=tmp_path_factory.mktemp("export") / "autograder.zip", secret=secret
    )


def test_zip_has_setup_and_run_autograder_at_its_root(autograder_zip: Path) -> None:
    with zipfile.ZipFile(autograder_zip) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        wheel_names = [n for n in infos if n.endswith(".whl")]
        assert set(infos) == {
            "setup.sh", "run_autograder", "README.txt", "course-secret.txt", *wheel_names
        }  # fmt: skip
        assert archive.read("course-secret.txt") == f"{12345:032x}\n".encode()
        assert wheel_names == ["adaptive_lr_course-0.1.0-py3-none-any.whl"]
        for script in ("setup.sh", "run_autograder"):
            assert infos[script].external_attr >> 16 & 0o111, f"{script} is not executable"
            assert archive.read(script).startswith(b"#!/usr/bin/env bash\n")
        setup = archive.read("setup.sh").decode()
    version = torch.__version__.split("+")[0]
    assert f'"torch=={version}" --index-url https://download.pytorch.org/whl/cpu' in setup


def test_wheel_holds_every_package_file_with_valid_record(
    autograder_zip: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(autograder_zip) as archive:
        wheel = tmp_path / "w.whl"
        wheel.write_bytes(archive.read("adaptive_lr_course-0.1.0-py3-none-any.whl"))
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        info = "adaptive_lr_course-0.1.0.dist-info"
        for module in (
            "autograder/export/gradescope_run.py",
            "alr/contract.py",
            "cli/__init__.py",
            "cli/demo_data/class.csv",
            "quizzes/bank.py",
            "quizzes/data/3.1.yaml",
        ):
            assert module in names
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        metadata = whl.read(f"{info}/METADATA").decode()
        assert "Requires-Python: >=3.11" in metadata and "Requires-Dist: torch>=" in metadata
        assert "alr = cli:main" in whl.read(f"{info}/entry_points.txt").decode()
        for line in whl.read(f"{info}/RECORD").decode().splitlines():
            name, digest, size = line.split(",")
            if name.endswith("RECORD"):
                continue
            data = whl.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == f"sha256={expected.decode()}" and int(size) == len(data)


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "ALR_GRADESCOPE_ROOT": str(root)}


@pytest.fixture(scope="module")
def root(autograder_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for /autograder after Gradescope built the image: source/ unpacked, setup run."""
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
    env = {**_env(root), "ALR_GRADESCOPE_PYTHON": sys.executable}
    subprocess.run(
        ["bash", str(root / "source" / "setup.sh")],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    return root


def _run(root: Path, submission: Path | None) -> tuple[int, dict]:
    """Place one submission as Gradescope does, run /autograder/run_autograder, read results."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    if submission is not None:
        shutil.copy(submission, root / "submission" / "module-3-1.ipynb")
    meta = {"id": 123, "users": [{"email": "ada@uni.example", "id": 7, "name": "Ada"}]}
    (root / "submission_metadata.json").write_text(json.dumps(meta))
    done = subprocess.run(
        [str(root / "run_autograder")],
        cwd=root,
        env=_env(root),
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, json.loads((root / "results" / "results.json").read_text())


@pytest.mark.slow
def test_correct_notebook_gets_full_marks(root: Path) -> None:
    code, results = _run(root, SUBMISSIONS / "module-3-1-correct.ipynb")
    assert code == 0, results["output"]
    assert results["extra_data"]["student"] == "ada@uni.example"
    assert results["score"] == results["max_score"] > 0, results["output"]
    assert results["tests"] and all(t["status"] == "passed" for t in results["tests"])
    assert {t["extra_data"]["module"] for t in results["tests"]} == {"3.1"}


@pytest.mark.slow
def test_setup_installs_the_wheel_into_its_own_environment(root: Path) -> None:
    """run_autograder's interpreter imports the course from the wheel, not from this checkout."""
    done = subprocess.run(
        [
            str(root / "alr" / "venv" / "bin" / "python"),
            "-c",
            "import autograder.export, solutions, importlib.metadata as m;"
            "print(autograder.export.__file__); print(solutions.__file__);"
            "print(m.version('adaptive-lr-course'))",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    export_file, solutions_file, version = done.stdout.split()
    for path in (export_file, solutions_file):
        assert Path(path).is_relative_to(root / "alr" / "venv"), path
    assert version == "0.1.0"


@pytest.mark.slow
def test_mistake_scores_partially_with_its_diagnosis(root: Path) -> None:
    code, results = _run(root, SUBMISSIONS / "module-3-1-mistake.ipynb")
    assert code == 0, results["output"]
    assert 0 < results["score"] < results["max_score"], results["output"]
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    failing = {t["extra_data"]["function"]: t["output"] for t in failed}
    assert set(failing) == {"rmsprop_step"}, failing
    assert any("decoupled_instead_of_coupled" in t["tags"] for t in failed)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("submission", "message"),
    [
        (SUBMISSIONS / "module-3-1-unreadable.ipynb", "not valid JSON"),
        (None, "no notebook (.ipynb) or Python (.py) file was submitted"),
    ],
)
def test_broken_submission_still_gets_a_results_file(
    root: Path, submission: Path | None, message: str
) -> None:
    _, results = _run(root, submission)
    assert results["score"] == 0
    assert message in results["output"]
