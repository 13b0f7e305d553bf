"""The feedback page a student reads: per function, the verdict, what went wrong, the named
mistake with a hint that teaches, and (for a failing trajectory) a plot of the relative error of
the student's values against the reference at each step.

Every student-derived string (file name, error messages, notes) is HTML-escaped. The page shows
only derived quantities: never a case's inputs or expected values.
"""

from __future__ import annotations

import html
import io
import math
import threading
from typing import TYPE_CHECKING, Any

from alr.misconceptions import hint
from autograder.stages.compare import CaseCheck

if TYPE_CHECKING:
    from autograder.stages.context import Context

#: matplotlib (its mathtext parser in particular) is not thread-safe: one plot at a time.
_PLOT_LOCK = threading.Lock()
_STYLE = """
body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:1.6rem}
.ok{color:#1b7a2f} .bad{color:#b3261e} .hint{background:#fff8e1;padding:.6rem .8rem;
border-left:4px solid #f0b400;margin:.5rem 0} .note{color:#555} svg{max-width:100%;height:auto}
code{background:#f3f3f3;padding:0 .2rem}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def error_plot(check: CaseCheck, tolerance: float, title: str) -> str:
    """Inline SVG: relative error of the student's first output per step (log scale). Text
    stays text (svg.fonttype none) and tick labels avoid mathtext: a plot costs ~0.1 s."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, NullFormatter

    steps = [i + 1 for i, e in enumerate(check.errors) if math.isfinite(e)]
    errs = [max(e, 1e-17) for e in check.errors if math.isfinite(e)]
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "alr"}):
        fig = Figure(figsize=(5.5, 2.6))
        ax = fig.add_subplot()
        ax.semilogy(steps, errs, "o-", color="#b3261e", label="your result")
        ax.axhline(tolerance, color="#1b7a2f", ls="--", label="tolerance")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(steps)
        ax.set_xlabel("step t")
        ax.set_ylabel("relative error")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
        fig.subplots_adjust(left=0.15, bottom=0.2, right=0.97, top=0.87)
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def _function_section(ctx: Context, name: str, tests: list[dict[str, Any]]) -> str:
    passed = sum(t["status"] == "passed" for t in tests)
    got = sum(t["score"] for t in tests)
    worth = sum(t["max_score"] for t in tests)
    cls = "ok" if passed == len(tests) else "bad"
    parts = [
        f"<h2><code>{_e(name)}</code> <span class='{cls}'>{passed}/{len(tests)} cases, "
        f"{got:.4g} / {worth:.4g} points</span></h2>"
    ]
    failures = [t for t in tests if t["status"] != "passed"]
    seen: set[str] = set()
    items: list[str] = []
    for t in failures:
        if t["output"] not in seen and len(items) < 4:
            seen.add(t["output"])
            label = t["name"].split(": ", 1)[-1]
            items.append(f"<li>{_e(label)}: {_e(t['output'])}</li>")
    if items:
        parts.append("<ul>" + "".join(items) + "</ul>")
    location = ctx.extracted.locations.get(name) if ctx.extracted else None
    for mid in dict.fromkeys(d for t in failures if (d := t["extra_data"]["diagnosis"])):
        parts.append(f"<div class='hint'><b>{_e(mid)}</b>: {_e(hint(mid, name, location))}</div>")
    plot = _plot_for(ctx, name)
    if plot:
        parts.append(plot)
    return "\n".join(parts)


def _plot_for(ctx: Context, name: str) -> str:
    """A plot for the first failing multi-step case whose error could be measured."""
    for case in ctx.settings.plan.cases.get(name, ()):
        check = ctx.checks.get(case.case_id)
        if check is None or check.passed or len(check.errors) < 2:
            continue
        if sum(math.isfinite(e) for e in check.errors) >= 2:
            title = f"{name}, {case.case_name}: {case.dtype} {case.device}"
            with _PLOT_LOCK:
                return error_plot(check, case.tolerance.rtol, title)
    return ""


def feedback_html(ctx: Context, result: dict[str, Any]) -> str:
    """The whole page for one submission."""
    by_function: dict[str, list[dict[str, Any]]] = {}
    for t in result["tests"]:
        by_function.setdefault(t["extra_data"]["function"], []).append(t)
    body = [
        f"<h1>Feedback for {_e(ctx.student)}</h1>",
        f"<p><b>{result['score']:g} / {result['max_score']:g} points</b></p>",
    ]
    if ctx.error:
        body.append(f"<p class='bad'>Your submission could not be graded: {_e(ctx.error)}</p>")
    if ctx.run is not None and ctx.run.status != "ok":
        body.append(f"<p class='bad'>Running your code: {_e(ctx.run.message)}</p>")
    body += [f"<p class='note'>{_e(n)}</p>" for n in ctx.notes]
    if not ctx.error:
        body += [_function_section(ctx, name, tests) for name, tests in by_function.items()]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>Feedback: {_e(ctx.student)}</title><style>{_STYLE}</style></head>"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
