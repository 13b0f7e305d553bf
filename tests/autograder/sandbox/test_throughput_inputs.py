"""The throughput benchmark grades what it claims: full-course submissions, one in three correct,
each other one carrying exactly one known mistake that overrides the correct definition."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from alr.contract import FUNCTION_MODULE

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "grading_throughput.py"
_spec = importlib.util.spec_from_file_location("grading_throughput", SCRIPT)
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _defs(text: str) -> list[str]:
    return [n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)]


def test_generated_submissions_cover_the_course_and_mix_in_mistakes(tmp_path: Path) -> None:
    """Does every generated submission define all graded functions, are a third correct, and
    does each buggy one end with its mistake's definition (which wins when executed)?"""
    kinds = bench.make_submissions(tmp_path / "subs", 12, hostile=2)
    assert sum(kinds.values()) == 4 and len(kinds) == 14
    for name, correct in kinds.items():
        path = next((tmp_path / "subs").glob(f"{name}.*"))
        if name.startswith("zz_"):
            continue
        defs = _defs(path.read_text())
        assert set(FUNCTION_MODULE) <= set(defs)
        mistake = name.split("_", 1)[1]
        if not correct:
            fixture = bench.MISTAKES[0].parent / f"{mistake}.py"
            assert defs[-len(_defs(fixture.read_text())) :] == _defs(fixture.read_text())


def test_notebook_answers_take_the_last_definition_with_its_imports(tmp_path: Path) -> None:
    """Does the nbgrader side put each student's final definition, with the file's imports,
    into the solution cell?"""
    src = "import torch\n\ndef ema(a, x, b):\n    return a\n\ndef ema(a, x, b):\n    return x\n"
    got = bench._functions(src)["ema"]
    assert got.startswith("import torch") and got.rstrip().endswith("return x")
