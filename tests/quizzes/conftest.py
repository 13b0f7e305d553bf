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


def write_results(
    root: Path, student: str, graded_at: str, tests: list[tuple[str, float, str | None]]
) -> list[Path]:
    """A student's graded results, one file per module (the result model): tests as (function,
    frac, diagnosis), each worth 1 point."""
    from alr.contract import FUNCTION_MODULE
    from alr.results import ModuleResult, TestRecord, write_result

    modules = dict.fromkeys(FUNCTION_MODULE[fn] for fn, _, _ in tests)
    return [
        write_result(
            root,
            ModuleResult(
                student=student,
                module=module,
                graded_at=graded_at,
                tests=tuple(
                    TestRecord(f"{module} {fn}", frac, 1.0, "", module, fn, diagnosis=diag)
                    for fn, frac, diag in tests
                    if FUNCTION_MODULE[fn] == module
                ),
            ),
        )
        for module in modules
    ]


def write_json(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
