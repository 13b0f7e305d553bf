"""Markdown and math checks: a broken formula or link is an error, good markdown passes."""

from __future__ import annotations

import pytest

from alr.markdown import check_markdown

GOOD = [
    "Adam: $\\theta_t = \\theta_{t-1} - \\eta\\,\\hat m_t/(\\sqrt{\\hat v_t}+\\epsilon)$.",
    "$$\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}$$",
    "Costs \\$5, see [torch](https://pytorch.org) and [below](#proof).",
    "Braces in math: $\\{x : \\|x\\| \\le 1\\}$ and `code with $dollars$`.",
    "$\\left( \\frac{1}{2} \\right)$ and $\\mathrm{RMS}(x) = \\|x\\|/\\sqrt{n}$",
]

BAD = [
    ("$\\frac{1}{2$", "'{' never closed"),
    ("$a}$", "'}' closes no '{'"),
    ("$\\left( x$", "1 \\left but 0 \\right"),
    ("$$\\begin{aligned} x \\end{align}$$", "does not match"),
    ("$\\begin{weird} x \\end{weird}$", "unknown environment"),
    ("$\\farc{1}{2}$", "unknown TeX command \\farc"),
    ("price $5 and more", "unbalanced $"),
    ("[notes](notes.md)", "link target 'notes.md'"),
    ("[notes](http://a b)", "link syntax did not parse"),
]


@pytest.mark.parametrize("text", GOOD)
def test_valid_markdown_has_no_problems(text: str) -> None:
    """Is correct markdown with inline and display math accepted?"""
    assert check_markdown(text) == []


@pytest.mark.parametrize(("text", "problem"), BAD, ids=[b[1] for b in BAD])
def test_broken_math_or_link_is_reported(text: str, problem: str) -> None:
    """Is each kind of broken formula or link reported with a reason?"""
    problems = check_markdown(text)
    assert any(problem in p for p in problems), problems
