"""The misconceptions a wrong answer can reveal, the concept each is about, and how to say it.

Two sources, one table:
- the grader's ids (spec/exercises.md), which `quizzes.concepts.DIAGNOSIS_CONCEPTS` maps to
  concepts, with the grader's teaching hints (`alr.misconceptions.HINTS`);
- confusions only a quiz can reveal (a belief rather than a line of code, `QUIZ_ONLY`).
All are members of the one enum, `alr.misconceptions.Misconception`; this module joins each to its
concept and words for the quizzes and the queue.

Quiz options name these ids (`misconception:` in the quiz YAML; `none` for a wrong option that
reveals none of them), generated questions name them for the wrong values their variants compute,
and the queue turns them into targeted practice with the reason in words.
"""

from __future__ import annotations

from dataclasses import dataclass

from alr.misconceptions import HINTS, QUIZ_ONLY
from alr.misconceptions import Misconception as Ids
from quizzes.concepts import DIAGNOSIS_CONCEPTS

#: what a YAML distractor writes when it reveals none of the named misconceptions
NONE = "none"


@dataclass(frozen=True)
class Misconception:
    """One misconception: its id, the concept it is about, what a student holding it does, and
    what the rule says (both full sentences, second person)."""

    id: str
    concept: str
    did: str
    rule: str
    graded: bool  # True for the grader's ids (a graded function can show it)


#: id -> (concept, what you do, what the rule says), for confusions only a quiz reveals


def _table() -> dict[str, Misconception]:
    return {
        m: Misconception(
            m,
            concept,
            *HINTS[Ids(m)],
            graded=Ids(m) not in QUIZ_ONLY,
        )
        for m, concept in DIAGNOSIS_CONCEPTS.items()
    }


#: every misconception a question or a graded test can name, by id
MISCONCEPTIONS: dict[str, Misconception] = _table()
