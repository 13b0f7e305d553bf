"""The report as one static HTML page: inline CSS and SVG, no scripts, no network.

Every string that comes from a result, quiz or queue file (student ids, test output, hints) goes
through `esc` (HTML-escaped, quotes included); links to feedback pages are relative and
percent-encoded. Scores are shown rounded to 2 decimals (`alr.results.shown`), shares as whole
percentages.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from alr.results import shown
from autograder.class_report.load import StudentRow
from autograder.class_report.stats import Attention, Distribution, Misconception, ResultStats

#: (student, module) -> relative link to that result's feedback page (None: no page).
Links = dict[tuple[str, str], str | None]

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f}
main{max-width:1150px;margin:0 auto;padding:1rem 1.5rem 3rem}
header{background:#283593;color:#fff;padding:1.2rem 1.5rem}
header h1{margin:0 0 .3rem;font-size:1.6rem} header p{margin:0;opacity:.9}
nav a{margin-right:1rem} h2{border-bottom:2px solid #c5cae9;padding-bottom:.2rem;margin-top:2.2rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}
.card{border:1px solid #c5cae9;border-radius:8px;padding:.6rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.5rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border-bottom:1px solid #e0e0e0;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f5f5f5} td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:.8rem 0} figure svg{max-width:100%;height:auto}
figcaption{font-size:.85rem;color:#555} code{background:#f3f3f3;padding:0 .2rem}
.hint{color:#444;font-size:.85rem} .muted{color:#777}
.lo{background:#ffebee} .mid{background:#fff8e1} .hi{background:#e8f5e9}
footer{margin-top:3rem;color:#555;font-size:.85rem}
"""


def esc(text: object) -> str:
    """HTML-escape any value shown on the page (quotes included)."""
    return html.escape(str(text), quote=True)


def pct(x: float) -> str:
    return f"{x:.0%}"


def table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """A table of already-escaped cells (a cell starting with '#' is right-aligned)."""
    th = "".join(f"<th>{h}</th>" for h in head)
    body = []
    for row in rows:
        cells = (
            f'<td class="num">{c[1:]}</td>' if c.startswith("#") else f"<td>{c}</td>" for c in row
        )
        body.append("<tr>" + "".join(cells) + "</tr>")
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(svg: str, caption: str, key: str) -> str:
    return f'<figure class="plot" id="plot-{key}">{svg}<figcaption>{caption}</figcaption></figure>'


def band(x: float) -> str:
    return "lo" if x < 0.5 else "mid" if x < 0.9 else "hi"


def _distribution_rows(items: Sequence[Distribution], titles: dict[str, str]) -> list[list[str]]:
    return [
        [
            f"<code>{esc(d.key)}</code> {esc(titles.get(d.key, ''))}",
            f"#{d.graded}",
            f"#{pct(d.mean)}",
            f"#{pct(d.median)}",
            f"#{d.full}",
            f"#{d.partial}",
            f"#{d.zero}",
        ]
        for d in items
    ]


DIST_HEAD = ["", "graded", "mean", "median", "all passed", "some", "none"]


def modules_section(stats: ResultStats, svg: str, titles: dict[str, str]) -> str:
    return (
        '<section id="modules"><h2>Scores per module</h2>'
        + figure(svg, "Per-student share of each module's points (students it grades).", "modules")
        + table(["module", *DIST_HEAD[1:]], _distribution_rows(stats.modules, titles))
        + "</section>"
    )


def functions_section(stats: ResultStats, svg: str) -> str:
    return (
        '<section id="functions"><h2>Scores per function</h2>'
        + figure(svg, "Students who passed all, some or none of a function's tests.", "functions")
        + table(["function", *DIST_HEAD[1:]], _distribution_rows(stats.functions, {}))
        + "</section>"
    )


def misconceptions_section(items: Sequence[Misconception], svg: str, per_function: int) -> str:
    if not items:
        return (
            '<section id="misconceptions"><h2>Most frequent misconceptions</h2>'
            "<p>No known misconception was named in these results.</p></section>"
        )
    shown: dict[str, int] = {}
    rows = []
    for m in items:
        shown[m.function] = shown.get(m.function, 0) + 1
        if shown[m.function] > per_function:
            continue
        rows.append(
            [
                f"<code>{esc(m.function)}</code>",
                f"<code>{esc(m.diagnosis)}</code>",
                f"#{len(m.students)}",
                f"#{m.tests}",
                f'<span class="hint">{esc(m.example)}</span>',
            ]
        )
    return (
        '<section id="misconceptions"><h2>Most frequent misconceptions</h2>'
        + figure(svg, "Students per named mistake (a mistake counts once per student).", "mis")
        + f"<p>Up to {per_function} per function, most frequent first, with one example hint "
        "as students saw it.</p>"
        + table(["function", "misconception", "students", "tests", "example hint"], rows)
        + "</section>"
    )


def feedback_link(text: str, href: str | None) -> str:
    """`text` (already escaped) as a link to a feedback page, when there is one."""
    return f'<a href="{esc(href)}">{text}</a>' if href else text


def attention_section(items: Sequence[Attention]) -> str:
    if not items:
        return (
            '<section id="attention"><h2>Students who need attention</h2>'
            "<p>Nobody: every student scored at least half and no more than one "
            "misconception was named.</p></section>"
        )
    rows = [
        [
            esc(a.student),
            "#–" if a.fraction is None else f"#{pct(a.fraction)}",
            "<br>".join(esc(r) for r in a.reasons),
        ]
        for a in items
    ]
    return (
        '<section id="attention"><h2>Students who need attention</h2>'
        f"<p>{len(items)} student(s), most reasons first; their modules link to the feedback "
        'pages under <a href="#students">All students</a>.</p>'
        + table(["student", "score", "reasons"], rows)
        + "</section>"
    )


def not_graded_section(students: Sequence[StudentRow]) -> str:
    """The blank cells (modules not submitted) and the submissions that earned no grade."""
    blank = [s for s in students if s.blank]
    cells = sum(len(s.blank) for s in blank)
    problems = [(s.student, u) for s in students for u in s.unscoped]
    parts = [
        '<section id="not-graded"><h2>Not submitted, not graded</h2>',
        f"<p>{cells} blank cell(s): a module a student did not submit is left out of every "
        "score on this page (never counted as 0).</p>",
    ]
    if blank:
        rows = [
            [esc(s.student), ", ".join(f"<code>{esc(m)}</code>" for m in s.blank)] for s in blank
        ]
        parts.append(table(["student", "modules not submitted"], rows))
    parts.append(
        f"<p>{len(problems)} submission(s) that no module could be given: no grade, "
        "each with what to do.</p>"
    )
    if problems:
        rows = [
            [esc(student), f"<code>{esc(u.submission)}</code>", esc(u.error or "")]
            for student, u in problems
        ]
        parts.append(table(["student", "submission", "problem"], rows))
    return "".join(parts) + "</section>"


def _module_cell(result_score: float, result_max: float, href: str | None) -> str:
    f = result_score / result_max if result_max else 0.0
    return f'#<span class="{band(f)}">{feedback_link(pct(f), href)}</span>'


def students_section(stats: ResultStats, links: Links) -> str:
    modules = [d.key for d in stats.modules]
    rows = []
    for s in stats.students:
        graded = {r.module: r for r in s.results}
        total = (
            f"#{shown(s.score)}/{shown(s.max_score)} ({pct(s.fraction)})"
            if s.results
            else '#<span class="muted">–</span>'
        )
        cells = [esc(s.student), total]
        for m in modules:
            r = graded.get(m)
            if r is None:
                cells.append('#<span class="muted" title="not submitted">–</span>')
            else:
                cells.append(_module_cell(r.score, r.max_score, links.get((s.student, m))))
        rows.append(cells)
    head = ["student", "points", *(f"<code>{esc(m)}</code>" for m in modules)]
    return (
        '<section id="students"><h2>All students</h2>'
        "<p>Points over the modules each student submitted, and the share of each module's "
        "points (linked to the feedback page); – means not submitted.</p>"
        + table(head, rows, "students")
        + "</section>"
    )


def counts_text(counts: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{esc(k)} ({n})" for k, n in counts) or "unknown"


def header(stats: ResultStats, n_attention: int) -> str:
    total = stats.totals
    blank = sum(len(s.blank) for s in stats.students)
    cards = [
        ("students", str(len(stats.students))),
        ("mean score", pct(total.mean)),
        ("median score", pct(total.median)),
        ("need attention", str(n_attention)),
        ("misconceptions named", str(len(stats.misconceptions))),
        ("blank cells", str(blank)),
    ]
    files = sum(n for _, n in stats.grader_versions)
    return (
        "<header><h1>Class report</h1>"
        f"<p>{len(stats.students)} students, {files} result files · grader version "
        f"{counts_text(stats.grader_versions)} · sandbox level {counts_text(stats.sandboxes)}"
        "</p></header><main>"
        '<nav><a href="#modules">Modules</a><a href="#functions">Functions</a>'
        '<a href="#misconceptions">Misconceptions</a><a href="#skill-checks">Skill checks</a>'
        '<a href="#queues">Queues</a><a href="#attention">Attention</a>'
        '<a href="#not-graded">Not graded</a><a href="#students">All students</a></nav>'
        '<section id="overview"><div class="cards">'
        + "".join(f'<div class="card"><b>{esc(v)}</b>{esc(k)}</div>' for k, v in cards)
        + "</div></section>"
    )


def footer(stats: ResultStats) -> str:
    return (
        '<footer id="provenance">Graded by the adaptive-lr-course grader, version '
        f"{counts_text(stats.grader_versions)}; sandbox level {counts_text(stats.sandboxes)}; "
        f"devices {counts_text(stats.devices)}. Counts in brackets are result files. "
        "Sandbox levels: L0 separate process with limits, L1 adds namespaces (bubblewrap), "
        "L2 adds per-run users and cgroups, +seccomp adds a system-call filter.</footer>"
    )


def page(body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Class report</title><style>{CSS}</style></head><body>{body}</main></body></html>\n"
    )
