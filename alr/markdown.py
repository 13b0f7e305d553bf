"""Markdown of the course files, parsed and checked with markdown-it-py and its dollarmath plugin.

A broken formula or link is a validation error, not a broken notebook. `check_markdown` returns
the problems of one text (empty when it is fine):
- a `$` that does not open or close a formula (unbalanced math);
- in a formula: unbalanced braces, `\\left` without `\\right`, `\\begin{x}` without `\\end{x}`,
  a TeX command outside the set Jupyter's MathJax renders for this course;
- a link whose target is not http(s), mailto or an in-page `#anchor`, or link syntax that did not
  parse (`[text](target with spaces)`).
"""

from __future__ import annotations

import re
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

#: TeX commands the course's formulas may use (all rendered by MathJax in Jupyter).
TEX_COMMANDS: frozenset[str] = frozenset(
    """
    alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi
    pi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi
    Omega nabla partial infty ell hat bar tilde vec dot ddot widehat widetilde overline underline
    frac dfrac tfrac sqrt sum prod int lim limsup liminf max min sup inf arg argmin argmax log exp
    ln sin cos tan mathrm mathbf mathbb mathcal mathit boldsymbol operatorname text textbf textit
    mathsf mathtt texttt left right big Big bigg Bigg bigl bigr Bigl Bigr le leq ge geq ne neq
    approx
    sim simeq equiv propto cdot cdots ldots dots vdots ddots times div pm mp odot otimes oplus
    circ star ast in notin subset subseteq cup cap setminus forall exists to mapsto rightarrow
    leftarrow Rightarrow Leftarrow leftrightarrow iff implies quad qquad lvert rvert lVert rVert
    vert Vert langle rangle lfloor rfloor lceil rceil mid top intercal prime begin end
    underbrace overbrace stackrel overset underset displaystyle textstyle scriptstyle tag
    mathop limits nolimits ll gg lesssim gtrsim coloneqq triangleq ldotp colon cdotp not
    llbracket rrbracket emptyset varnothing Pr mathrm operatorname hline substack bmod binom
    """.split()
)
_ENVIRONMENTS = frozenset(
    {"aligned", "align", "align*", "cases", "pmatrix", "bmatrix", "matrix", "array", "gathered"}
)
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_ENV = re.compile(r"\\(begin|end)\{([^}]*)\}")
_BROKEN_LINK = re.compile(r"\[[^\]]*\]\(|\]\[[^\]]*\]")
_TARGET = re.compile(r"^(https?://[^\s]+|mailto:[^\s]+|#[A-Za-z0-9_\-]+)$")


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark").use(dollarmath_plugin, allow_space=True, double_inline=True)
    return md.disable("text_join")  # keep escaped \$ apart from plain text


def check_markdown(text: str) -> list[str]:
    """Problems of one markdown text, each a sentence saying what is wrong and where."""
    problems: list[str] = []
    for token in _tokens(_parser().parse(text)):
        if token.type in ("math_inline", "math_inline_double", "math_block"):
            problems += [
                f"formula ${_short(token.content)}$: {p}" for p in check_tex(token.content)
            ]
        elif token.type == "text":
            if "$" in token.content:
                problems.append(
                    f"unbalanced $ near {_short(token.content)!r}: close the formula, or write "
                    "\\$ for a dollar sign"
                )
            if _BROKEN_LINK.search(token.content):
                problems.append(f"link syntax did not parse near {_short(token.content)!r}")
        elif token.type == "link_open":
            href = str(token.attrs.get("href", ""))
            if not _TARGET.match(href):
                problems.append(
                    f"link target {href!r}: expected an http(s) URL, mailto: or an #anchor "
                    "(a notebook has no files beside it)"
                )
    return problems


def check_tex(tex: str) -> list[str]:
    """Problems of one formula: braces, \\left/\\right, environments, unknown commands."""
    problems: list[str] = []
    depth = 0
    stripped = re.sub(r"\\[{}]", "", tex)
    for ch in stripped:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            problems.append("a '}' closes no '{'")
            break
    if depth > 0:
        problems.append(f"{depth} '{{' never closed")
    lefts, rights = len(re.findall(r"\\left\b", tex)), len(re.findall(r"\\right\b", tex))
    if lefts != rights:
        problems.append(f"{lefts} \\left but {rights} \\right")
    stack: list[str] = []
    for kind, env in _ENV.findall(tex):
        if env not in _ENVIRONMENTS:
            problems.append(f"unknown environment {env!r}")
        if kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            problems.append(f"\\end{{{env}}} does not match the open environment")
    if stack:
        problems.append(f"\\begin{{{stack[-1]}}} is never ended")
    unknown = sorted({c for c in _COMMAND.findall(tex) if c not in TEX_COMMANDS})
    if unknown:
        problems.append(
            "unknown TeX command "
            + ", ".join("\\" + c for c in unknown)
            + " (typo, or not rendered)"
        )
    return problems


def _tokens(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for t in tokens:
        out.append(t)
        if t.children:
            out += _tokens(t.children)
    return out


def _short(s: str, n: int = 40) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"
