"""The feedback page a student reads for one graded module, rendered from its result alone:
per function, the verdict, what went wrong, the named mistake with a hint that teaches, and for a
failing trajectory a plot of the measure that failed (the values, or in float64 the step taken)
against the tolerance that was applied, step by step.

Every student-derived string (file name, error messages, notes) is HTML-escaped. The page shows
only derived quantities, never a case's inputs or expected values. The plot is one small inline
SVG drawn here (a log-scale line of at most a few dozen points needs no plotting library).
"""

from __future__ import annotations

import html
import math

from alr.misconceptions import hint
from alr.results import ModuleResult, TestRecord, shown

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:1.6rem}
.ok{color:#1b7a2f} .bad{color:#b3261e} .hint{background:#fff8e1;padding:.6rem .8rem;
border-left:4px solid #f0b400;margin:.5rem 0} .note{color:#555} svg{max-width:100%;height:auto}
code{background:#f3f3f3;padding:0 .2rem}
"""
_MEASURES = {"value": "relative error of the values", "displacement": "relative error of the step"}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def error_plot(errors: tuple[float, ...], tolerance: float, title: str, measure: str) -> str:
    """Inline SVG: the failed measure per step on a log scale, and the tolerance line."""
    points = [(i + 1, max(e, 1e-17)) for i, e in enumerate(errors) if math.isfinite(e)]
    width, height, left, right, top, bottom = 520, 220, 62, 12, 28, 38
    logs = [math.log10(e) for _, e in points] + [math.log10(tolerance)]
    low, high = math.floor(min(logs)), math.ceil(max(logs))
    high = high if high > low else low + 1
    steps = max(len(errors), 2)

    def x(step: float) -> float:
        return left + (step - 1) / (steps - 1) * (width - left - right)

    def y(value: float) -> float:
        return top + (high - math.log10(value)) / (high - low) * (height - top - bottom)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"role='img' aria-label='{_e(title)}' font-size='11'>",
        f"<text x='{width / 2}' y='16' text-anchor='middle' font-size='12'>{_e(title)}</text>",
        f"<line x1='{left}' y1='{top}' x2='{left}' y2='{height - bottom}' stroke='#888'/>",
        f"<line x1='{left}' y1='{height - bottom}' x2='{width - right}' y2='{height - bottom}' "
        "stroke='#888'/>",
    ]
    for exponent in range(low, high + 1):
        parts.append(
            f"<text x='{left - 6}' y='{y(10.0**exponent) + 4:.1f}' text-anchor='end'>"
            f"1e{exponent}</text>"
        )
    for step in range(1, len(errors) + 1):
        parts.append(
            f"<text x='{x(step):.1f}' y='{height - bottom + 14}' text-anchor='middle'>{step}</text>"
        )
    parts.append(
        f"<text x='{(left + width) / 2}' y='{height - 6}' text-anchor='middle'>step t</text>"
        f"<text x='12' y='{(top + height - bottom) / 2}' text-anchor='middle' "
        f"transform='rotate(-90 12 {(top + height - bottom) / 2})'>{_e(measure)}</text>"
    )
    ty = y(tolerance)
    parts.append(
        f"<line x1='{left}' y1='{ty:.1f}' x2='{width - right}' y2='{ty:.1f}' stroke='#1b7a2f' "
        f"stroke-dasharray='5 4'/><text x='{width - right}' y='{ty - 4:.1f}' "
        f"text-anchor='end' fill='#1b7a2f'>tolerance {tolerance:.0e}</text>"
    )
    line = " ".join(f"{x(s):.1f},{y(e):.1f}" for s, e in points)
    parts.append(f"<polyline points='{line}' fill='none' stroke='#b3261e' stroke-width='1.5'/>")
    parts += [f"<circle cx='{x(s):.1f}' cy='{y(e):.1f}' r='3' fill='#b3261e'/>" for s, e in points]
    parts.append("</svg>")
    return "".join(parts)


def _plot(tests: list[TestRecord]) -> str:
    """A plot for the first failing case whose failed measure was measured at 2+ steps."""
    for t in tests:
        finite = sum(math.isfinite(e) for e in t.errors)
        if t.passed or t.tolerance is None or t.failure not in _MEASURES or finite < 2:
            continue
        title = f"{t.function}, {t.case}: {t.dtype} {t.device}"
        return error_plot(t.errors, t.tolerance, title, _MEASURES[t.failure])
    return ""


def _function_section(result: ModuleResult, name: str, tests: list[TestRecord]) -> str:
    passed = sum(t.passed for t in tests)
    got = math.fsum(t.score for t in tests)
    worth = math.fsum(t.max_score for t in tests)
    cls = "ok" if passed == len(tests) else "bad"
    parts = [
        f"<h2><code>{_e(name)}</code> <span class='{cls}'>{passed}/{len(tests)} cases, "
        f"{shown(got)} / {shown(worth)} points</span></h2>"
    ]
    failures = [t for t in tests if not t.passed]
    seen: set[str] = set()
    items: list[str] = []
    for t in failures:
        if t.output not in seen and len(items) < 4:
            seen.add(t.output)
            label = t.name.split(": ", 1)[-1]
            items.append(f"<li>{_e(label)}: {_e(t.output)}</li>")
    if items:
        parts.append("<ul>" + "".join(items) + "</ul>")
    location = result.locations.get(name)
    for mid in dict.fromkeys(t.diagnosis for t in failures if t.diagnosis):
        parts.append(f"<div class='hint'><b>{_e(mid)}</b>: {_e(hint(mid, name, location))}</div>")
    parts.append(_plot(failures))
    return "\n".join(p for p in parts if p)


def feedback_html(result: ModuleResult) -> str:
    """The whole page for one graded module (or one submission that could not be graded)."""
    what = f"module {result.module}" if result.module else result.submission or "submission"
    body = [
        f"<h1>Feedback for {_e(result.student)}: {_e(what)}</h1>",
        f"<p><b>{shown(result.score)} / {shown(result.max_score)} points</b></p>",
    ]
    lines = result.output.splitlines()[1:]  # the first line is the score, shown above
    cls = "bad" if result.error else "note"
    body += [f"<p class='{cls}'>{_e(line)}</p>" for line in lines]
    by_function: dict[str, list[TestRecord]] = {}
    for t in result.tests:
        by_function.setdefault(t.function, []).append(t)
    if not result.error:
        body += [_function_section(result, name, tests) for name, tests in by_function.items()]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>Feedback: {_e(result.student)}</title><style>{_STYLE}</style></head>"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
