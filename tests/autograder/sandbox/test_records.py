"""The grader's strict, bounded parse of a child's result stream: only the exact expected shape
is accepted, and nothing is parsed beyond what the job can honestly need."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from autograder.sandbox import CaseRun, Job, wire
from autograder.sandbox.records import (
    ResultError,
    array_cap,
    encode_job,
    header_cap,
    parse_result,
)
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
    meta = {
        "final": {"status": "ok", "message": "", "memory": False},
        "cases": {"c1": [ema, diag]},
    }
    return meta, [VALUE, np.array(2.5)]


def _stream(meta: dict[str, Any], arrays: list[np.ndarray]) -> bytes:
    """The child's stream: a frame per case (in the order given), then the final frame."""
    frames = [
        wire.encode_frame({"case": c, "calls": calls}, arrays) for c, calls in meta["cases"].items()
    ]
    return b"".join(frames) + wire.encode_frame(meta["final"], [])


def _parse(meta: dict[str, Any], arrays: list[np.ndarray]) -> Any:
    return parse_result(_stream(meta, arrays), JOB, max_bytes=CAP)


def test_a_well_formed_result_becomes_protocol_records() -> None:
    """Are tensors, floats and dict keys of a valid result carried into CallRecords exactly?"""
    parsed = _parse(*_good())
    assert (parsed.status, parsed.message, parsed.memory) == ("ok", "", False)
    ema, diag = parsed.cases["c1"]
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
        (("final", "extra"), 1, "bad keys"),
        (("final", "status"), "passed", "bad status"),
        (("cases", "c2"), [], "exceeds the cap"),
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
    meta, arrays = _set(("cases", "c1", 0, "error"), "E" * 5_000)
    parsed = _parse(meta, arrays)
    assert len(parsed.cases["c1"][0].error) <= 600


def test_a_load_error_carries_no_cases() -> None:
    """Is a load error after case data refused, and one without accepted with its message?"""
    final = {"status": "load_error", "message": "SyntaxError: x", "memory": False}
    parsed = _parse({"final": final, "cases": {}}, [])
    assert (parsed.status, parsed.message, parsed.cases) == ("load_error", "SyntaxError: x", {})
    with pytest.raises(ResultError, match="load error after cases"):
        _parse({"final": final, "cases": _good()[0]["cases"]}, _good()[1])


def test_a_stream_cut_short_keeps_the_cases_that_finished() -> None:
    """When the child is stopped mid-stream (no final frame, the last frame half written), are
    the complete case frames kept and the status left open?"""
    two = Job(JOB.source, (JOB.cases[0], CaseRun("c2", PROGRAM, JOB.cases[0].inputs)))
    meta, arrays = _good()
    first = wire.encode_frame({"case": "c1", "calls": meta["cases"]["c1"]}, arrays)
    second = wire.encode_frame({"case": "c2", "calls": meta["cases"]["c1"]}, arrays)
    parsed = parse_result(first + second[:40], two, max_bytes=CAP)
    assert parsed.status is None and list(parsed.cases) == ["c1"]
    with pytest.raises(ResultError, match="case ids"):  # a final "ok" must follow every case
        parse_result(first + wire.encode_frame(meta["final"], []), two, max_bytes=CAP)
    with pytest.raises(ResultError, match="order"):
        parse_result(second, two, max_bytes=CAP)


def test_a_header_beyond_what_the_case_can_need_is_refused_unparsed() -> None:
    """Is a case frame whose header (millions of empty arrays) or array count exceeds the job's
    bound refused from its prefix and table, before any JSON or array work?"""
    case = JOB.cases[0]
    table = [["float32", [0], 0, 0]] * 1_000_000
    huge = wire.encode_frame({"case": "c1", "calls": []}, [])
    header = (
        b'{"meta": {"case": "c1", "calls": []}, "arrays": '
        + repr(table).replace("'", '"').encode()
        + b"}"
    )
    huge = huge[:4] + len(header).to_bytes(4, "little") + bytes(8) + header
    assert len(header) > header_cap(case)
    with pytest.raises(ResultError, match="exceeds the cap"):
        parse_result(huge, JOB, max_bytes=64 << 20)
    many = wire.encode_frame({"case": "c1", "calls": []}, [np.zeros(0)] * (array_cap(case) + 1))
    with pytest.raises(ResultError, match="arrays exceeds the cap"):
        parse_result(many, JOB, max_bytes=CAP)


def test_the_bounds_leave_room_for_every_honest_result() -> None:
    """Does the largest honest case frame (every message, name and dict entry at its longest)
    fit the header bound the parent derives for it?"""
    from autograder.sandbox.child import MAX_MESSAGE, MAX_NAME, dict_entries

    case = JOB.cases[0]
    calls = []
    for call in case.program.calls:
        value = {"kind": "other", "type_name": "\U0001f600" * MAX_NAME}
        outputs = {name: value for name in call.outputs}
        for i in range(dict_entries(call) * len(call.outputs)):
            outputs[f"{call.outputs[0]}/{i:0{MAX_NAME - 10}d}"] = value
        calls.append(
            {
                "function": call.function,
                "error": "\U0001f600" * MAX_MESSAGE,
                "skipped": False,
                "mutated": ["\U0001f600" * MAX_NAME] * 3,
                "aliased": ["\U0001f600" * MAX_NAME] * len(call.outputs),
                "outputs": outputs,
            }
        )
    frame = wire.encode_frame({"case": "c1", "calls": calls}, [])
    assert wire.frame_sizes(frame)[0] <= header_cap(case)


def test_the_job_frame_holds_only_source_programs_and_inputs() -> None:
    """Does the job sent to the child contain exactly the source, its programs and per case the
    program's index, device and input arrays (nothing else)?"""
    meta, arrays = wire.decode_frame(encode_job(JOB), max_bytes=CAP)
    assert set(meta) == {"source", "programs", "cases"}
    assert set(meta["cases"][0]) == {"id", "program", "device", "inputs"}
    assert Program.from_obj(meta["programs"][meta["cases"][0]["program"]]) == PROGRAM
    assert [a.tobytes() for a in arrays] == [a.tobytes() for a in JOB.cases[0].inputs.values()]


def test_programs_and_arrays_shared_by_cases_are_sent_once() -> None:
    """Do two cases of the same program and inputs (two devices of one case) carry one copy of
    each, each case still naming its own?"""
    twice = Job(JOB.source, (JOB.cases[0], replace(JOB.cases[0], case_id="c2", device="meta")))
    meta, arrays = wire.decode_frame(encode_job(twice), max_bytes=CAP)
    assert len(meta["programs"]) == 1 and len(arrays) == len(JOB.cases[0].inputs)
    first, second = meta["cases"]
    assert (first["id"], second["id"]) == ("c1", "c2") and second["device"] == "meta"
    assert first["program"] == second["program"] and first["inputs"] == second["inputs"]
