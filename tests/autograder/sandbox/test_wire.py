"""The sandbox's wire format: round trips are bit-exact; anything malformed is refused."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

from autograder.sandbox import wire

CAP = 1 << 20


def _frame(header: object, payload: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<4sIQ", b"ALRW", len(raw), len(payload)) + raw + payload


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.array(np.pi, dtype=np.float64),  # 0-d stays 0-d
        np.zeros((0, 5), dtype=np.float64),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.array([True, False]),
        np.array([np.nan, np.inf, -0.0], dtype=np.float16),
    ],
)
def test_round_trip_is_bit_exact(array: np.ndarray) -> None:
    """Does an array come back with the same dtype, shape and bytes?"""
    meta, arrays = wire.decode_frame(wire.encode_frame({"a": 0}, [array]), max_bytes=CAP)
    assert meta == {"a": 0}
    assert arrays[0].dtype == array.dtype and arrays[0].shape == array.shape
    assert arrays[0].tobytes() == np.ascontiguousarray(array).tobytes()


def test_object_arrays_cannot_be_sent() -> None:
    """Is an object array (which would need pickle) refused at encoding?"""
    with pytest.raises(wire.WireError, match="object"):
        wire.encode_frame({}, [np.array([object()])])


GOOD_PAYLOAD = np.arange(4, dtype=np.float32).tobytes()


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (b"PKL!" + bytes(12), "magic"),
        (_frame({"meta": 1, "arrays": []})[:-1], "length"),
        (_frame({"meta": 1, "arrays": []}) + b"x", "length"),
        (_frame({"meta": 1}), "exactly"),
        (_frame({"meta": 1, "arrays": [], "x": 2}), "exactly"),
        (_frame({"meta": 1, "arrays": [["object", [4], 0, 16]]}, GOOD_PAYLOAD), "dtype"),
        (_frame({"meta": 1, "arrays": [["float32", [5], 0, 16]]}, GOOD_PAYLOAD), "size"),
        (_frame({"meta": 1, "arrays": [["float32", [-4], 0, 16]]}, GOOD_PAYLOAD), "shape"),
        (_frame({"meta": 1, "arrays": [["float32", [4], 8, 16]]}, GOOD_PAYLOAD), "outside"),
        (
            _frame(
                {"meta": 1, "arrays": [["float32", [2], 0, 8], ["float32", [2], 4, 8]]},
                GOOD_PAYLOAD,
            ),
            "overlap",
        ),
        (
            struct.pack("<4sIQ", b"ALRW", 9, 0) + b'{"meta":N',
            "header",
        ),
    ],
)
def test_malformed_frames_are_refused(frame: bytes, problem: str) -> None:
    """Is every kind of malformed frame refused with a message naming the problem?"""
    with pytest.raises(wire.WireError, match=problem):
        wire.decode_frame(frame, max_bytes=CAP)


def test_nan_constants_in_json_are_refused() -> None:
    """Is a JSON NaN constant (not valid JSON) refused rather than parsed?"""
    raw = b'{"meta": NaN, "arrays": []}'
    frame = struct.pack("<4sIQ", b"ALRW", len(raw), 0) + raw
    with pytest.raises(wire.WireError):
        wire.decode_frame(frame, max_bytes=CAP)


def test_oversize_frames_are_refused_before_parsing() -> None:
    """Is a frame above the cap refused, by its announced length as well as its real one?"""
    big = wire.encode_frame({}, [np.zeros(1000)])
    with pytest.raises(wire.WireError, match="cap"):
        wire.decode_frame(big, max_bytes=100)
    r, w = os.pipe()
    try:
        os.write(w, big[:16])
        with pytest.raises(wire.WireError, match="cap"):
            wire.read_frame(r, max_bytes=100)
    finally:
        os.close(r)
        os.close(w)
