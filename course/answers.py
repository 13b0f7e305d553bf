"""The worked answers of every module's diagnostic questions, for the instructor guide.

    python -m course.answers [GUIDE]    rewrite the generated section of docs/instructor-guide.md

The section lies between the two marker comments below; tests/course/test_answers.py checks that
the committed guide holds exactly what the module YAML says.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alr.fileio import write_atomic
from course.load import load_course
from course.spec import Course

BEGIN = "<!-- worked answers: generated from course/modules by `python -m course.answers` -->"
END = "<!-- end of worked answers -->"
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "instructor-guide.md"


def worked_answers(course: Course) -> str:
    """Markdown: per module, each diagnostic question and its worked answer."""
    parts = []
    for module in course.modules:
        parts.append(f"#### Module {module.id}: {module.title}")
        for i, q in enumerate(module.reading.diagnostic_questions, 1):
            parts.append(f"{i}. *{' '.join(q.question.split())}*\n\n   " + _indent(q.answer))
    return "\n\n".join(parts) + "\n"


def _indent(text: str) -> str:
    return "\n   ".join(" ".join(p.split()) for p in text.strip().split("\n\n"))


def with_answers(guide: str, course: Course) -> str:
    """The guide's text with its generated section replaced."""
    head, found, rest = guide.partition(BEGIN + "\n")
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise ValueError(f"the guide has no section between {BEGIN!r} and {END!r}")
    return head + BEGIN + "\n\n" + worked_answers(course) + "\n" + END + tail


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else GUIDE
    write_atomic(path, with_answers(path.read_text(encoding="utf-8"), load_course()))
    print(f"wrote the worked answers into {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
