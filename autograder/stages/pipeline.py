"""The grading pipeline of one submission: a tuple of small stages, each taking and returning a
frozen `Context`.

    STAGES = (load_submission, extract_functions, run_in_sandbox, compare, diagnose, score,
              write_results)

A stage that finds a student problem records it on the context (`error`, `checks`) and the later
stages still run, so every submission gets a result file; a grader bug raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from autograder.stages.compare import compare
from autograder.stages.context import Context
from autograder.stages.diagnose import diagnose
from autograder.stages.extract import extract_functions
from autograder.stages.load import load_submission
from autograder.stages.run import run_in_sandbox
from autograder.stages.score import score
from autograder.stages.write_result import write_results

Stage = Callable[[Context], Context]

STAGES: tuple[Stage, ...] = (
    load_submission,
    extract_functions,
    run_in_sandbox,
    compare,
    diagnose,
    score,
    write_results,
)


def grade_submission(ctx: Context, stages: tuple[Stage, ...] = STAGES) -> Context:
    """Run every stage in order."""
    ctx = replace(ctx, started=time.monotonic())
    for stage in stages:
        ctx = stage(ctx)
    return ctx
