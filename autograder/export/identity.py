"""Identity values as the LMSes write them: checked, never rewritten.

An LMS matches an imported row to a person by an identity cell (Canvas: user ID, SIS User ID,
SIS Login ID; Moodle: email address; LTI: the user's `sub`). Such a cell must reach the LMS byte
for byte, so the exports never neutralise or trim it; instead each kind is validated where it
enters (a roster, a result's `extra_data`) and a value that cannot be one is refused with the
place it came from:

- email: an address as HTML's `type=email` accepts it (`local@domain`, no spaces);
- Canvas user ID: digits (Canvas's numeric user id);
- SIS User ID, SIS Login ID: any text without control characters or surrounding spaces;
- LTI user id (`sub`): 1-255 printable ASCII characters without spaces (LTI 1.3 / OpenID).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from alr.errors import ExportError

_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_CANVAS_ID = re.compile(r"[0-9]+")
_LTI_SUB = re.compile(r"[!-~]{1,255}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class IdKind(StrEnum):
    EMAIL = "email address"
    CANVAS_ID = "Canvas user ID"
    SIS_ID = "SIS id"
    LTI_USER = "LTI user id"


def is_valid(kind: IdKind, value: str) -> bool:
    """Whether `value` can be an identity of `kind` (see the module docstring)."""
    if kind is IdKind.EMAIL:
        return _EMAIL.fullmatch(value) is not None
    if kind is IdKind.CANVAS_ID:
        return _CANVAS_ID.fullmatch(value) is not None
    if kind is IdKind.LTI_USER:
        return _LTI_SUB.fullmatch(value) is not None
    return bool(value) and value == value.strip() and not _CONTROL.search(value)


def _article(kind: IdKind) -> str:
    return "a" if kind is IdKind.CANVAS_ID else "an"


def check(kind: IdKind, value: str, where: str) -> str:
    """`value` unchanged when it can be an identity of `kind`; else an ExportError at `where`."""
    if not is_valid(kind, value):
        raise ExportError(
            f"{where}: expected {_article(kind)} {kind.value}, got {value!r:.80}; fix it where it "
            "comes from"
            " (identity values are written exactly as given, never rewritten)"
        )
    return value


@dataclass(frozen=True)
class Identity:
    """Who a student is to the LMSes, from the `extra_data` of their results (all optional)."""

    user_id: str = ""
    email: str = ""
    name: str = ""


def merge_identity(student: str, fields: Iterable[tuple[str, Mapping[str, object]]]) -> Identity:
    """One Identity from the identity fields of a student's results ((where, fields) pairs).

    The results of one student must agree; an email is validated as an address.
    """
    found: dict[str, tuple[str, str]] = {}
    for where, identity in fields:
        for key in ("user_id", "email", "name"):
            raw = identity.get(key)
            if raw is None or raw == "":
                continue
            if not isinstance(raw, str | int) or isinstance(raw, bool):
                raise ExportError(
                    f"{where}: extra_data.{key}: expected a string, got {raw!r:.60}; regrade it"
                )
            value = str(raw)
            if key == "email":
                check(IdKind.EMAIL, value, f"{where}: extra_data.email")
            if key in found and found[key][0] != value:
                raise ExportError(
                    f"results of {student!r} disagree on {key}: {found[key][0]!r} in "
                    f"{found[key][1]}, {value!r} in {where}; regrade or remove one of them"
                )
            found.setdefault(key, (value, where))
    return Identity(**{k: v for k, (v, _) in found.items()})
