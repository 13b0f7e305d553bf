"""The report's plots, drawn with matplotlib's object API (no pyplot, no global backend) and
returned as inline SVG text.

Every figure is self-contained SVG (text kept as <text>, no external fonts or images), with a
per-figure `svg.hashsalt` so the element ids of several figures on one page never collide and
the same data always gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from autograder.class_report.stats import Distribution, Misconception

FULL, PARTIAL, ZERO = "#2e7d32", "#f9a825", "#c62828"
NEUTRAL = "#5c6bc0"


def to_svg(fig: Figure, key: str, label: str) -> str:
    """Render `fig` to an inline <svg> element (no XML prolog), labelled for screen readers."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"alr-report-{key}"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    svg = text[text.index("<svg") :]
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" data-plot="{key}" ', 1)


def _grid_margins(fig: Figure, rows: int) -> None:
    """Fixed margins for a grid of small panels (tight_layout costs seconds per figure)."""
    inch = fig.get_figheight()
    fig.subplots_adjust(
        left=0.05,
        right=0.99,
        bottom=0.45 / inch,
        top=1 - 0.35 / inch,
        wspace=0.25,
        hspace=0.75 if rows > 1 else 0.2,
    )


def module_histograms(modules: Sequence[Distribution]) -> str:
    """One histogram of per-student score fractions per module (bins of 10%)."""
    cols = 5
    rows = max(1, -(-len(modules) // cols))
    fig = Figure(figsize=(11, 2.3 * rows))
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    bins = [i / 10 for i in range(11)]
    for ax, dist in zip(axes.flat, modules, strict=False):
        ax.hist([min(f, 1.0) for f in dist.fractions], bins=bins, color=NEUTRAL, edgecolor="white")
        ax.set_title(f"{dist.key}  n={dist.graded}, mean {dist.mean:.0%}", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_xticks([0, 0.5, 1], ["0%", "50%", "100%"], fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
    for ax in list(axes.flat)[len(modules) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("students", fontsize=8)
    _grid_margins(fig, rows)
    return to_svg(fig, "modules", "Histogram of student scores per module")


def function_outcomes(functions: Sequence[Distribution]) -> str:
    """Per function, how many students passed all its tests, some, or none (stacked bars)."""
    names = [f"{d.module} {d.key}" for d in functions][::-1]
    full = [d.full for d in functions][::-1]
    partial = [d.partial for d in functions][::-1]
    zero = [d.zero for d in functions][::-1]
    fig = Figure(figsize=(9, 0.28 * len(functions) + 1.2))
    ax = fig.subplots()
    ax.barh(names, full, color=FULL, label="all tests passed")
    ax.barh(names, partial, left=full, color=PARTIAL, label="some passed")
    left = [a + b for a, b in zip(full, partial, strict=True)]
    ax.barh(names, zero, left=left, color=ZERO, label="none passed")
    ax.set_xlabel("students")
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return to_svg(fig, "functions", "Students passing all, some or none of each function's tests")


def misconception_bars(items: Sequence[Misconception], top: int = 12) -> str:
    """The most frequent misconceptions (students per function and mistake)."""
    shown = list(items[:top])[::-1]
    fig = Figure(figsize=(9, 0.32 * len(shown) + 1.0))
    ax = fig.subplots()
    ax.barh([f"{m.function}: {m.diagnosis}" for m in shown], [len(m.students) for m in shown])
    ax.set_xlabel("students")
    ax.tick_params(axis="y", labelsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return to_svg(fig, "misconceptions", "Most frequent misconceptions")


def option_bars(
    key: str, panels: Sequence[tuple[str, Sequence[tuple[str, int, bool]]]], label: str
) -> str:
    """Small multiples of answer counts: per panel (title, [(option, picks, correct)])."""
    cols = min(4, max(1, len(panels)))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(11, 2.4 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (title, options) in zip(axes.flat, panels, strict=False):
        ax.bar(
            [o for o, _, _ in options],
            [n for _, n, _ in options],
            color=[FULL if ok else ZERO for _, _, ok in options],
        )
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    _grid_margins(fig, rows)
    return to_svg(fig, key, label)
