"""Is the code base ruff- and mypy-clean, and are its layers kept (import-linter)? (They run as
part of the test suite.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
    ],
    ids=lambda c: " ".join(c),
)
def test_tool_is_clean(command: list[str]) -> None:
    """The tool exits 0 over the repository (config in pyproject.toml)."""
    proc = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_the_package_list_is_the_distributions() -> None:
    """Is `alr.PACKAGES` (what the wheel ships and the sandbox hides) the distribution's own
    list of top-level packages (pyproject's package discovery)?"""
    import importlib.metadata

    from alr import PACKAGES

    top_level = importlib.metadata.distribution("adaptive-lr-course").read_text("top_level.txt")
    assert sorted(PACKAGES) == sorted((top_level or "").split())


def test_the_layers_are_kept() -> None:
    """Does import-linter find every layer importing only the layers below it (contract and
    utilities < solutions < course < grading and quizzes < exports and reports < CLI)?"""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Contracts: 1 kept, 0 broken." in proc.stdout
