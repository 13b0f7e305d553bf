"""The grader's strict parse of a child's result: only the exact expected shape is accepted."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from autograder.sandbox import CaseRun, Job, wire
from autograder.sandbox.records import ResultError, encode_job, parse_result
from course.cases.program import Call, Program, Ref

CAP = 1 << 20
PROGRAM = Program(
    (
        Call("ema", (Ref("a"), Ref("x"), 0.9), outputs=("out",)),
        Call("update_diagnostics", (Ref("a"), Ref("out"), Ref("x")), outputs=("diag",)),
    )
)
JOB = Job(
    "def ema(a, x, b): ...",
    (CaseRun("c1", PROGRAM, {"a": np.ones(3, np.float32), "x": np.zeros(3, np.float32)}),),
)
VALUE = np.array([0.9, 0.9, 0.9], dtype=np.float32)


def _good() -> tuple[dict[str, Any], list[np.ndarray]]:
    ema = {
        "function": "ema",
        "error": None,
        "skipped": False,
        "mutated": [],
        "aliased": [],
        "outputs": {
            "out": {"kind": "tensor", "dtype": "float32", "device": "cpu", "shape": [3], "value": 0}
        },
    }
    diag = {
        "function": "update_diagnostics",
        "error": None,
        "skipped": False,
        "mutated": [],
        "aliased": [],
        "outputs": {"diag/grad_norm": {"kind": "float", "value": 1}},
    }
    meta = {"status": "ok", "message": "", "memory": False, "cases": {"c1": [ema, diag]}}
    return meta, [VALUE, np.array(2.5)]


def _parse(meta: Any, arrays: list[np.ndarray]) -> Any:
    return parse_result(wire.encode_frame(meta, arrays), JOB, max_bytes=CAP)


def test_a_well_formed_result_becomes_protocol_records() -> None:
    """Are tensors, floats and dict keys of a valid result carried into CallRecords exactly?"""
    status, message, memory, cases = _parse(*_good())
    assert (status, message, memory) == ("ok", "", False)
    ema, diag = cases["c1"]
    out = ema.outputs["out"]
    assert (out.kind, out.dtype, out.device, out.shape) == ("tensor", "float32", "cpu", (3,))
    assert out.value is not None and out.value.tobytes() == VALUE.tobytes()
    assert float(diag.outputs["diag/grad_norm"].value) == 2.5


def _set(path: tuple[Any, ...], value: Any) -> tuple[dict[str, Any], list[np.ndarray]]:
    meta, arrays = _good()
    meta = copy.deepcopy(meta)
    target: Any = meta
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return meta, arrays


_DELETE = object()
OUT = ("cases", "c1", 0, "outputs", "out")


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("extra",), 1, "bad keys"),
        (("status",), "passed", "bad status"),
        (("cases", "c2"), [], "case ids"),
        (("cases", "c1"), [], "call count"),
        (("cases", "c1", 0, "function"), "adam_step", "does not match"),
        (("cases", "c1", 0, "skipped"), "no", "boolean"),
        (("cases", "c1", 0, "outputs", "expected"), {"kind": "other", "type_name": "x"}, "asked"),
        ((*OUT, "dtype"), "float64", "contradicts"),
        ((*OUT, "shape"), [1, 3], "contradicts"),
        ((*OUT, "value"), 7, "index"),
        ((*OUT, "value"), None, "must carry"),
        ((*OUT, "device"), "/etc/passwd", "device"),
        ((*OUT, "kind"), "pickle", "unknown kind"),
        ((*OUT, "extra"), 1, "bad keys"),
        (("cases", "c1", 1, "outputs", "diag/grad_norm", "value"), 0, "0-d float64"),
        (("cases", "c1", 0, "mutated"), "a", "list of names"),
        (("cases", "c1", 0, "error"), 3, "string"),
    ],
)
def test_malformed_results_are_refused(path: tuple[Any, ...], value: Any, problem: str) -> None:
    """Is each deviation from the expected result shape refused (-> PROTOCOL_ERROR)?"""
    with pytest.raises(ResultError, match=problem):
        _parse(*_set(path, value))


def test_long_strings_from_the_child_are_truncated() -> None:
    """Is a huge error message from the child cut to a bounded length?"""
    meta, arrays = _set(("cases", "c1", 0, "error"), "E" * 100_000)
    _, _, _, cases = _parse(meta, arrays)
    assert len(cases["c1"][0].error) <= 600


def test_a_load_error_carries_no_cases() -> None:
    """Is a load error with case data refused, and one without accepted with its message?"""
    meta = {"status": "load_error", "message": "SyntaxError: x", "memory": False, "cases": {}}
    assert _parse(meta, [])[:2] == ("load_error", "SyntaxError: x")
    meta["cases"] = _good()[0]["cases"]
    with pytest.raises(ResultError, match="no cases"):
        _parse(meta, [])


def test_the_job_frame_holds_only_source_programs_and_inputs() -> None:
    """Does the job sent to the child contain exactly the source and per case program, device
    and input arrays (nothing else)?"""
    meta, arrays = wire.decode_frame(encode_job(JOB), max_bytes=CAP)
    assert set(meta) == {"source", "cases"}
    assert set(meta["cases"][0]) == {"id", "program", "device", "inputs"}
    assert Program.from_json(meta["cases"][0]["program"]) == PROGRAM
    assert [a.tobytes() for a in arrays] == [a.tobytes() for a in JOB.cases[0].inputs.values()]
