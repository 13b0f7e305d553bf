"""One time budget per submission, for all its functions together (`autograder/run.py`).

The budget logic is checked with a simulated child whose functions take given (simulated)
times, so no verdict depends on this machine's load; one batch through the real sandbox checks
that a hanging function ends the run once, keeping the cases that finished before it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alr.contract import FUNCTION_MODULE, MODULE_FUNCTIONS
from autograder.grade import grade_batch
from autograder.plan import build_plan
from autograder.sandbox import CallRecord, Job, JobResult, RunStatus, detect_level
from autograder.stages.extract import Extracted
from autograder.stages.run import MAX_FAILED_PARTS, run_in_sandbox
from tests.autograder.grading_helpers import (
    SEED,
    SUBMISSIONS,
    context,
    course_exercises,
    course_plan,
)

LIMIT = 10.0
FUNCTIONS = MODULE_FUNCTIONS["3.1"]  # ema, coupled_l2_grad, rmsprop_step


class SimulatedChild:
    """A runner that 'runs' each case of a job in order, the case of function f taking
    `seconds[f]`, and stops the job like the sandbox does: at the job's limit (TIMEOUT, with the
    cases that finished) or at a function listed in `crashes` (CRASHED)."""

    def __init__(
        self, seconds: dict[str, float], crashes: tuple[str, ...] = (), crash_once: bool = False
    ) -> None:
        self.seconds, self.crashes, self.crash_once = seconds, crashes, crash_once
        self.jobs: list[Job] = []
        self.spent = 0.0  # the wall clock the slot was held, all jobs together

    def __call__(self, job: Job) -> JobResult:
        if self.crash_once and self.jobs:
            self.crashes = ()
        self.jobs.append(job)
        result = self._run(job)
        self.spent += result.duration_s
        return result

    def _run(self, job: Job) -> JobResult:
        limit = LIMIT if job.timeout_s is None else min(job.timeout_s, LIMIT)
        clock, cases = 0.05, {}  # forking and loading the source
        for case in job.cases:
            function = case.case_id.split("/")[0]
            if function in self.crashes:
                return JobResult(RunStatus.CRASHED, "killed by SIGSEGV", cases, clock, "L2", limit)
            clock += self.seconds.get(function, 0.01)
            if clock > limit:
                message = f"stopped after the {limit:g} s time limit"
                return JobResult(RunStatus.TIMEOUT, message, cases, limit, "L2", limit)
            cases[case.case_id] = tuple(CallRecord(c.function) for c in case.program.calls)
        return JobResult(RunStatus.OK, "", cases, clock, "L2", limit)


def _run(child: SimulatedChild) -> JobResult:
    exercises = [e for e in course_exercises() if e.function in FUNCTIONS]
    plan = build_plan(exercises, seed=SEED, devices=("cpu",))
    source = "".join(f"def {f}(*a):\n    pass\n" for f in FUNCTIONS)
    extracted = Extracted(source, FUNCTIONS, dict.fromkeys(FUNCTIONS, ""))
    run = run_in_sandbox(context(plan, Path("unused"), runner=child, extracted=extracted)).run
    assert run is not None
    return run


def _verdicts(run: JobResult) -> dict[str, set[str]]:
    """Per function: 'ran' for a case with its own records, else the parent's error prefix."""
    out: dict[str, set[str]] = {}
    for case_id, records in run.cases.items():
        error = records[0].error
        out.setdefault(case_id.split("/")[0], set()).add(
            "ran" if error is None else error.split(":")[0]
        )
    return out


def test_sleeping_just_under_the_limit_in_each_function_gets_one_limit_in_all() -> None:
    """Each function's cases take 90% of the limit together: is the submission stopped once,
    at its one limit, with the first function's cases kept and the rest given time-limit
    verdicts (where one limit per function held the slot for three)?"""
    per_case = {f: 0.9 * LIMIT / len(course_plan().cases[f]) for f in FUNCTIONS}
    child = SimulatedChild(per_case)
    run = _run(child)
    assert len(child.jobs) == 1 and child.spent == LIMIT
    assert run.status is RunStatus.TIMEOUT and "for all your functions together" in run.message
    assert _verdicts(run) == {
        "ema": {"ran"},
        "coupled_l2_grad": {"Timeout"},
        "rmsprop_step": {"Timeout"},
    }


def test_after_a_crash_the_unfinished_functions_run_within_what_is_left() -> None:
    """When the job crashes in the second function, are only the unfinished functions run again,
    each within what is left of the budget, so that all jobs together never get more than the
    one limit?"""
    child = SimulatedChild({"ema": 0.5}, crashes=("coupled_l2_grad",))
    run = _run(child)
    assert [sorted({c.case_id.split("/")[0] for c in j.cases}) for j in child.jobs] == [
        list(sorted(FUNCTIONS)),
        ["coupled_l2_grad"],
        ["rmsprop_step"],
    ]
    assert child.jobs[1].timeout_s is not None and child.jobs[1].timeout_s < LIMIT
    assert child.jobs[2].timeout_s < child.jobs[1].timeout_s  # type: ignore[operator]
    assert child.spent <= LIMIT
    assert _verdicts(run) == {
        "ema": {"ran"},
        "coupled_l2_grad": {"Crashed"},
        "rmsprop_step": {"ran"},
    }
    assert run.status is RunStatus.OK


def test_once_the_budget_is_spent_the_rest_get_time_limit_verdicts_unrun() -> None:
    """After a crash with nothing back, when a retried function uses up the budget, is the next
    one not run at all but given a time-limit verdict?"""
    child = SimulatedChild({"coupled_l2_grad": 2 * LIMIT}, crashes=("ema",), crash_once=True)
    run = _run(child)
    ran = [sorted({c.case_id.split("/")[0] for c in j.cases}) for j in child.jobs]
    assert ran == [sorted(FUNCTIONS), [], ["ema"], ["coupled_l2_grad"]]  # [] checks the loading
    assert _verdicts(run) == {
        "ema": {"ran"},
        "coupled_l2_grad": {"Timeout"},
        "rmsprop_step": {"Timeout"},
    }
    assert run.status is RunStatus.TIMEOUT and "for all your functions together" in run.message
    assert child.spent <= LIMIT


def test_at_most_a_few_retried_functions_may_fail() -> None:
    """When every retried function crashes, do at most MAX_FAILED_PARTS of them run again?"""
    child = SimulatedChild({}, crashes=FUNCTIONS)
    run = _run(child)
    assert len(child.jobs) == 2 + MAX_FAILED_PARTS  # all together, the loading probe, the parts
    assert all(v <= {"Crashed", "Timeout"} for v in _verdicts(run).values())


@pytest.mark.slow
@pytest.mark.skipif(detect_level().startswith("L0"), reason="needs bubblewrap (L1)")
def test_a_hanging_function_ends_the_run_once_and_keeps_what_finished(tmp_path: Path) -> None:
    """Through the real sandbox: when the second function of 3.1 never returns, do the first
    function's cases keep full marks, do the hanging one and the one after it get time-limit
    verdicts, and is the run not repeated function by function?"""
    exercises = [e for e in course_exercises() if FUNCTION_MODULE[e.function] == "3.1"]
    source = (SUBMISSIONS / "correct.py").read_text()
    source += "\n\ndef coupled_l2_grad(grad, theta, weight_decay):\n    while True:\n        pass\n"
    path = tmp_path / "hang.py"
    path.write_text(source)
    summary = grade_batch(
        [path],
        out=tmp_path / "out",
        workers=1,
        timeout=6,
        seed=1,
        exercises=exercises,
        device="cpu",
    )
    (module,) = summary.outcomes[0].results  # only 3.1 is graded here
    result = module.to_dict()
    status = {t["extra_data"]["function"]: set() for t in result["tests"]}
    for t in result["tests"]:
        status[t["extra_data"]["function"]].add(t["status"])
    assert status == {"ema": {"passed"}, "coupled_l2_grad": {"failed"}, "rmsprop_step": {"failed"}}
    assert "time limit of 6 s for all your functions together" in result["output"]
    assert "run on their own" not in result["output"]
