"""The class at a glance: per-module and per-function score distributions, misconceptions, and
the students who need attention, computed from the result model.

For a student s and a set of tests T (a module's or a function's tests in s's results):

    fraction(s, T) = sum_{t in T} score_t / sum_{t in T} max_score_t

A module a student did not submit is blank for that student and is left out of its distribution
and of the student's total (never counted as zero). A misconception is counted once per student
and function, however many of that function's tests named it. A submission that no module could
be given (an unscoped result) is a problem: it flags the student and is never a grade.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from alr.contract import FUNCTION_MODULE, MODULE_FUNCTIONS, MODULE_IDS
from alr.results import ModuleResult, TestRecord
from autograder.class_report.load import StudentRow

#: Below this fraction of the points a student, or one of their modules, needs attention.
ATTENTION_BELOW = 0.5
#: Naming this many distinct misconceptions flags a student as well.
ATTENTION_MISCONCEPTIONS = 2
#: A summary line that only states the score, e.g. "41.5 / 60 points."
SCORE_LINE = re.compile(r"^\s*[\d.]+\s*/\s*[\d.]+\s*points\.?\s*$")
#: Longest example hint shown per misconception (characters).
HINT_CHARS = 240


@dataclass(frozen=True)
class Distribution:
    """The per-student fractions of one module or function, over students it grades."""

    key: str
    module: str
    fractions: tuple[float, ...]

    @property
    def graded(self) -> int:
        return len(self.fractions)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.fractions) if self.fractions else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.fractions) if self.fractions else 0.0

    @property
    def full(self) -> int:
        """Students with every test of it passed."""
        return sum(f >= 1.0 for f in self.fractions)

    @property
    def zero(self) -> int:
        return sum(f <= 0.0 for f in self.fractions)

    @property
    def partial(self) -> int:
        return self.graded - self.full - self.zero


@dataclass(frozen=True)
class Misconception:
    """A named mistake of one function: how many students made it, and one example hint."""

    function: str
    diagnosis: str
    students: tuple[str, ...]
    tests: int
    example: str


@dataclass(frozen=True)
class Attention:
    """A student who needs attention, with every reason (most urgent first)."""

    student: str
    fraction: float | None  # None: nothing graded (only problems)
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ResultStats:
    """Everything the report shows that comes from graded results."""

    students: tuple[StudentRow, ...]
    modules: tuple[Distribution, ...]
    functions: tuple[Distribution, ...]
    misconceptions: tuple[Misconception, ...]
    grader_versions: tuple[tuple[str, int], ...]
    sandboxes: tuple[tuple[str, int], ...]
    devices: tuple[tuple[str, int], ...]

    @property
    def totals(self) -> Distribution:
        """The total fraction of every student with at least one graded module."""
        return Distribution("total", "", tuple(s.fraction for s in self.students if s.results))


def _fraction(tests: Sequence[TestRecord]) -> float:
    top = sum(t.max_score for t in tests)
    return sum(t.score for t in tests) / top if top else 0.0


def _course_order(keys: Iterable[str], order: Sequence[str]) -> list[str]:
    rank = {k: i for i, k in enumerate(order)}
    return sorted(set(keys), key=lambda k: (rank.get(k, len(rank)), k))


def _distributions(
    students: Sequence[StudentRow], key_of: Callable[[TestRecord], str], order: Sequence[str]
) -> tuple[Distribution, ...]:
    per: dict[str, list[float]] = defaultdict(list)
    module_of: dict[str, str] = {}
    for s in students:
        groups: dict[str, list[TestRecord]] = defaultdict(list)
        for t in s.tests:
            key = key_of(t)
            groups[key].append(t)
            module_of[key] = t.module
        for key, tests in groups.items():
            per[key].append(_fraction(tests))
    return tuple(Distribution(k, module_of[k], tuple(per[k])) for k in _course_order(per, order))


def _clip(text: str, limit: int = HINT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def misconceptions(students: Sequence[StudentRow]) -> tuple[Misconception, ...]:
    """Named mistakes per function, most frequent first (ties: course order, then id)."""
    who: dict[tuple[str, str], set[str]] = defaultdict(set)
    tests: Counter[tuple[str, str]] = Counter()
    example: dict[tuple[str, str], str] = {}
    for s in students:
        for t in s.tests:
            if t.diagnosis is None or t.passed:
                continue
            key = (t.function, t.diagnosis)
            who[key].add(s.student)
            tests[key] += 1
            example.setdefault(key, _clip(t.output))
    order = {f: i for i, f in enumerate(FUNCTION_MODULE)}
    keys = sorted(who, key=lambda k: (-len(who[k]), order.get(k[0], len(order)), k))
    return tuple(
        Misconception(f, d, tuple(sorted(who[(f, d)])), tests[(f, d)], example[(f, d)])
        for f, d in keys
    )


def _counts(values: Iterable[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))


def result_stats(students: Sequence[StudentRow]) -> ResultStats:
    """Aggregate graded results (students sorted by id, as `read_results` returns them)."""
    function_order = [f for m in MODULE_IDS for f in MODULE_FUNCTIONS[m]]
    return ResultStats(
        students=tuple(students),
        modules=_distributions(students, lambda t: t.module, MODULE_IDS),
        functions=_distributions(students, lambda t: t.function, function_order),
        misconceptions=misconceptions(students),
        grader_versions=_counts(r.grader_version or "unknown" for r in _files(students)),
        sandboxes=_counts(r.sandbox or "unknown" for r in _files(students)),
        devices=_counts(d for r in _files(students) for d in r.devices),
    )


def _files(students: Sequence[StudentRow]) -> list[ModuleResult]:
    """Every result file of the class (graded and unscoped)."""
    return [r for s in students for r in (*s.results, *s.unscoped)]


def _module_fractions(student: StudentRow) -> dict[str, float]:
    return {r.module or "": _fraction(r.tests) for r in student.results}


def headline(student: StudentRow) -> str:
    """The first line of the student's summaries that is not just the score."""
    for result in student.results:
        for line in result.output.splitlines():
            if line.strip() and not SCORE_LINE.match(line):
                return line.strip()
    return student.tests[0].output if student.tests else ""


def result_reasons(student: StudentRow) -> list[str]:
    """Why a student's results need attention (empty when they do not)."""
    reasons = [
        f"not graded, no module ({u.submission or 'a submission'}): {_clip(u.error or '', 160)}"
        for u in student.unscoped
    ]
    if student.tests and not any(t.score > 0 for t in student.tests):
        reasons.append("nothing passed: " + _clip(headline(student), 160))
    elif student.results and student.fraction < ATTENTION_BELOW:
        reasons.append(f"scored {student.fraction:.0%} of the points graded")
    low = [
        f"{m} ({f:.0%})"
        for m, f in sorted(_module_fractions(student).items())
        if f < ATTENTION_BELOW and any(t.score > 0 for t in student.tests)
    ]
    if low:
        reasons.append("below half in module " + ", ".join(low))
    named = sorted({t.diagnosis for t in student.tests if t.diagnosis and not t.passed})
    if len(named) >= ATTENTION_MISCONCEPTIONS:
        reasons.append(f"{len(named)} misconceptions: " + ", ".join(named))
    return reasons


def attention(
    students: Sequence[StudentRow], extra: dict[str, list[str]] | None = None
) -> tuple[Attention, ...]:
    """Students with at least one reason, most reasons first, then lowest score, then id.

    `extra` adds reasons from other sources (skill checks, queues), keyed by student id.
    """
    extra = extra or {}
    flagged = []
    for s in students:
        reasons = result_reasons(s) + extra.get(s.student, [])
        if reasons:
            fraction = s.fraction if s.results else None
            flagged.append(Attention(s.student, fraction, tuple(reasons)))
    return tuple(sorted(flagged, key=lambda a: (-len(a.reasons), a.fraction or 0.0, a.student)))
