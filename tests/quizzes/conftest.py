"""Shared helpers for the quizzes tests: the real catalog and builders of result files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from quizzes.bank import load_quizzes
from quizzes.model import QuizCatalog

FIXTURES = Path(__file__).parent.parent / "fixtures" / "quizzes"


@pytest.fixture(scope="session")
def catalog() -> QuizCatalog:
    return load_quizzes()


def result_doc(
    student: str, graded_at: str, tests: list[tuple[str, float, str | None]]
) -> dict[str, Any]:
    """A grading result (Gradescope results.json layout): tests as (function, frac, diagnosis)."""
    from alr.contract import FUNCTION_MODULE

    return {
        "score": sum(f for _, f, _ in tests),
        "max_score": len(tests),
        "extra_data": {"student": student, "graded_at": graded_at},
        "tests": [
            {
                "name": f"{FUNCTION_MODULE[fn]} {fn}",
                "score": frac,
                "max_score": 1,
                "status": "passed" if frac == 1 else "failed",
                "tags": [FUNCTION_MODULE[fn], fn] + ([diag] if diag else []),
                "extra_data": {"module": FUNCTION_MODULE[fn], "function": fn, "diagnosis": diag},
            }
            for fn, frac, diag in tests
        ],
    }


def write_json(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
