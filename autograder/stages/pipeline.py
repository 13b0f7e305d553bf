"""The grading pipeline of one submission: a tuple of small stages, each taking and returning a
frozen `Context`.

    STAGES = (load_submission, extract_functions, run_in_sandbox, compare, diagnose, score,
              write_results)

A stage that finds a student problem records it on the context (`error`, `checks`) and the later
stages still run, so every submission gets a result file; a grader bug raises.

`prepare_submission` runs what needs no sandbox (reading the file, deciding its scope) and
computes the references of the functions it is graded on: the grader does that for its first
submissions while the sandbox's workers start, then runs the rest (`AFTER_PREPARE`).
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


PREPARE: tuple[Stage, ...] = STAGES[:2]
AFTER_PREPARE: tuple[Stage, ...] = STAGES[2:]


def grade_submission(ctx: Context, stages: tuple[Stage, ...] = STAGES) -> Context:
    """Run every stage in order (the clock starts with the first stage a context sees)."""
    if not ctx.started:
        ctx = replace(ctx, started=time.monotonic())
    for stage in stages:
        ctx = stage(ctx)
    return ctx


def prepare_submission(ctx: Context) -> Context:
    """The stages before the sandbox, and the references of the functions graded."""
    ctx = grade_submission(ctx, PREPARE)
    defined = set(ctx.extracted.defined) if ctx.extracted else set()
    ctx.settings.plan.warm(f for f in ctx.functions if f in defined)
    return ctx
