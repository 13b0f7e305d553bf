"""Safe output: free text guarded against formulas, numbers as LMSes read them, atomic writes."""

from __future__ import annotations

import pytest

from autograder.export.files import neutralise, number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1@x.org", "'+1@x.org"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Alice = 1", "Alice = 1"),
        ("", ""),
    ],
)
def test_formula_starting_text_gets_a_quote_prefix(text: str, expected: str) -> None:
    assert neutralise(text) == expected


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (2.0, None, "2"),
        (41.5, None, "41.5"),
        (1 / 3, None, "0.3333333333333333"),  # full precision: the float's shortest digits
        (0.1 + 0.2, None, "0.30000000000000004"),
        (1e-9, None, "0.000000001"),  # never an exponent
        (123456.5, None, "123456.5"),
        (0.0, None, "0"),
        (1 / 3, 5, "0.33333"),  # Moodle keeps 5 decimals
        (2.0, 5, "2"),
        (1e-9, 5, "0"),
    ],
)
def test_scores_are_plain_decimals(value: float, places: int | None, expected: str) -> None:
    assert number(value, places) == expected
