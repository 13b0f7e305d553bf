"""Framing of the bytes that cross the sandbox boundary: JSON plus raw arrays, no pickle.

A frame is

    b"ALRW" | header length (u32, little endian) | payload length (u64) | header | payload

where the header is UTF-8 JSON `{"meta": ..., "arrays": [[dtype, shape, offset, nbytes], ...]}`
and the payload holds the arrays' raw little-endian bytes back to back. `meta` refers to an array
by its index. Decoding is strict: exact lengths, a dtype allow-list, non-negative integer shapes
whose size matches `nbytes`, arrays that lie inside the payload without overlap, and JSON without
NaN/Infinity constants, and caps on the header's size and the number of arrays checked before
the header is parsed or any array is made. Arrays are read-only `np.frombuffer` views of the
received bytes (never copied, never unpickled).

This module imports only the standard library and numpy: the sandboxed worker loads it by path,
outside the project's packages (which the child must not be able to import).
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

import numpy as np

MAGIC = b"ALRW"
_PREFIX = struct.Struct("<4sIQ")
PREFIX_BYTES = _PREFIX.size

#: numpy dtypes that may cross the boundary (names as numpy spells them).
DTYPES: frozenset[str] = frozenset(
    {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"}
)


# numpy's dtype.name is slow (a subclass walk per call): name dtypes by their type character
_NAME_OF_CHAR = {c: np.dtype(c).name for c in "?bBhHiIlLqQefd" if np.dtype(c).name in DTYPES}
#: the little-endian dtype of each allowed name (made once, not per array)
_LITTLE = {name: np.dtype(name).newbyteorder("<") for name in DTYPES}

#: An array as it crosses: (dtype name, shape, its little-endian bytes in C order).
Raw = tuple[str, list[int], bytes]


def dtype_name(dtype: np.dtype) -> str | None:
    """The allow-listed name of a numpy dtype ("float32"), or None if it may not cross."""
    if dtype.byteorder == ">":
        return None
    return _NAME_OF_CHAR.get(dtype.char)


class WireError(ValueError):
    """A frame is malformed, too large, or breaks the strict format."""


def _reject_constant(name: str) -> Any:
    raise WireError(f"JSON constant {name} is not allowed")


def encode_frame(meta: Any, arrays: list[np.ndarray]) -> bytes:
    """Frame `meta` (plain JSON data) with `arrays` (their indices are referenced from meta)."""
    raws: list[Raw] = []
    for a in arrays:
        arr = np.asarray(a)
        name = dtype_name(arr.dtype)
        if name is None:
            arr = arr.astype(arr.dtype.newbyteorder("<")) if arr.dtype.byteorder == ">" else arr
            name = dtype_name(arr.dtype)
        if name is None:
            raise WireError(f"array dtype {arr.dtype} cannot cross the boundary")
        raws.append((name, list(arr.shape), arr.tobytes(order="C")))
    return encode_raw(meta, raws)


def encode_raw(meta: Any, raws: list[Raw]) -> bytes:
    """`encode_frame` of arrays already taken as bytes (`Raw`: the name must be allowed)."""
    table: list[list[Any]] = []
    offset = 0
    for name, shape, raw in raws:
        table.append([name, shape, offset, len(raw)])
        offset += len(raw)
    header = json.dumps({"meta": meta, "arrays": table}, allow_nan=False).encode()
    return b"".join([_PREFIX.pack(MAGIC, len(header), offset), header, *(r[2] for r in raws)])


def _sizes(data: bytes | memoryview) -> tuple[int, int]:
    if len(data) < _PREFIX.size:
        raise WireError("truncated frame prefix")
    magic, hlen, plen = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise WireError("bad frame magic")
    return int(hlen), int(plen)


def frame_length(prefix: bytes | memoryview) -> int:
    """Total frame length announced by the first 16 bytes (raises WireError if malformed)."""
    hlen, plen = _sizes(prefix)
    return _PREFIX.size + hlen + plen


def frame_sizes(data: bytes | memoryview) -> tuple[int, int]:
    """(header length, payload length) announced by a frame's prefix."""
    return _sizes(data)


#: one decoder for every header (NaN and Infinity refused)
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def decode_frame(
    data: bytes | memoryview,
    *,
    max_bytes: int,
    max_header: int | None = None,
    max_arrays: int | None = None,
) -> tuple[Any, list[np.ndarray]]:
    """Parse one complete frame strictly; return (meta, arrays).

    Every bound is checked before the work it bounds: the frame's size, the header's size
    (`max_header`, before the JSON is parsed) and the number of arrays (`max_arrays`, before
    any is made). Arrays are read-only views of `data`, which is never copied."""
    view = memoryview(data).toreadonly()
    if len(view) > max_bytes:
        raise WireError(f"frame of {len(view)} bytes exceeds the cap of {max_bytes}")
    hlen, plen = _sizes(view)
    if _PREFIX.size + hlen + plen != len(view):
        raise WireError("frame length does not match its prefix")
    if max_header is not None and hlen > max_header:
        raise WireError(f"frame header of {hlen} bytes exceeds the cap of {max_header}")
    start = _PREFIX.size
    try:
        header = _DECODER.decode(bytes(view[start : start + hlen]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WireError(f"bad frame header: {type(exc).__name__}") from None
    if type(header) is not dict or header.keys() != {"meta", "arrays"}:
        raise WireError("frame header must have exactly 'meta' and 'arrays'")
    table = header["arrays"]
    if type(table) is not list:
        raise WireError("'arrays' must be a list")
    if max_arrays is not None and len(table) > max_arrays:
        raise WireError(f"frame of {len(table)} arrays exceeds the cap of {max_arrays}")
    payload = view[start + hlen :]
    arrays = [_decode_array(entry, payload, plen) for entry in table]
    _check_no_overlap(table, plen)
    return header["meta"], arrays


def _is_int(x: Any) -> bool:
    """A non-negative JSON integer (never a bool: JSON decodes to exact types)."""
    return type(x) is int and x >= 0


def _decode_array(entry: Any, payload: memoryview, plen: int) -> np.ndarray:
    if type(entry) is not list or len(entry) != 4:
        raise WireError("array entry must be [dtype, shape, offset, nbytes]")
    dtype, shape, offset, nbytes = entry
    dt = _LITTLE.get(dtype) if type(dtype) is str else None
    if dt is None:
        raise WireError(f"array dtype {dtype!r} is not allowed")
    if type(shape) is not list or len(shape) > 16:
        raise WireError("array shape must be a list of at most 16 non-negative integers")
    size = 1
    for d in shape:
        if type(d) is not int or d < 0:
            raise WireError("array shape must be a list of at most 16 non-negative integers")
        size *= d
    if not (_is_int(offset) and _is_int(nbytes)) or offset + nbytes > plen:
        raise WireError("array lies outside the payload")
    if size * dt.itemsize != nbytes:
        raise WireError("array size does not match its shape and dtype")
    # a read-only view into the received bytes (no copy, nothing executed)
    return np.frombuffer(payload, dtype=dt, count=size, offset=offset).reshape(shape)


def _check_no_overlap(table: list[Any], plen: int) -> None:
    end = 0
    for entry in table:  # the usual layout, back to back in order: one pass decides
        if entry[2] < end:
            break
        end = entry[2] + entry[3]
    else:
        if end > plen:
            raise WireError("arrays lie outside the payload")
        return
    spans = sorted((e[2], e[2] + e[3]) for e in table)
    end = 0
    for lo, hi in spans:
        if lo < end:
            raise WireError("arrays overlap in the payload")
        end = hi
    if end > plen:
        raise WireError("arrays lie outside the payload")


# ---- blocking fd helpers (used by the child) ----


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_frame(fd: int, *, max_bytes: int) -> bytes:
    """Read exactly one frame from a blocking fd (raises WireError on EOF or oversize)."""
    buf = _read_exact(fd, _PREFIX.size)
    total = frame_length(buf)
    if total > max_bytes:
        raise WireError(f"frame of {total} bytes exceeds the cap of {max_bytes}")
    return buf + _read_exact(fd, total - _PREFIX.size)


def _read_exact(fd: int, n: int) -> bytes:
    parts: list[bytes] = []
    left = n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise WireError("unexpected end of stream")
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)
