"""Identity values: accepted as the LMSes write them, refused when they cannot be one."""

from __future__ import annotations

import pytest

from alr.errors import ExportError
from autograder.export.identity import IdKind, check, is_valid


@pytest.mark.parametrize(
    ("kind", "value", "valid"),
    [
        (IdKind.EMAIL, "-dash@school.example", True),
        (IdKind.EMAIL, "+bob@school.example", True),
        (IdKind.EMAIL, "o'neil@school.example", True),
        (IdKind.EMAIL, "not-an-address", False),
        (IdKind.EMAIL, "two words@school.example", False),
        (IdKind.EMAIL, "a@b@school.example", False),
        (IdKind.EMAIL, "'-dash@school.example", True),  # a quote is legal in an address
        (IdKind.CANVAS_ID, "1001", True),
        (IdKind.CANVAS_ID, "bob", False),
        (IdKind.CANVAS_ID, "", False),
        (IdKind.SIS_ID, "-S-0001", True),
        (IdKind.SIS_ID, "S 01", True),
        (IdKind.SIS_ID, " S-01", False),
        (IdKind.SIS_ID, "S\t01", False),
        (IdKind.LTI_USER, "0ae836b9-7fc9-4060-006f-27b2066ac545", True),
        (IdKind.LTI_USER, "has space", False),
        (IdKind.LTI_USER, "x" * 256, False),
    ],
)
def test_identity_kinds(kind: IdKind, value: str, valid: bool) -> None:
    assert is_valid(kind, value) is valid


def test_check_returns_the_value_unchanged_or_says_where() -> None:
    assert check(IdKind.EMAIL, "-dash@school.example", "x") == "-dash@school.example"
    with pytest.raises(ExportError, match=r"roster\.csv: line 3: expected an email address"):
        check(IdKind.EMAIL, "nobody", "roster.csv: line 3")
