"""Moodle XML of the skill checks and practice banks (Question bank > Import > Moodle XML).

Each quiz part becomes a category `$course$/Adaptive LR/<module title>/<skill check|practice>`;
every question keeps its id as `<name>` and `<idnumber>`, so results join back to concept tags.

Scoring: single choice gives the correct answer fraction 100. Multiple answers are
`<single>false</single>` with each correct option worth 100/c and each wrong one -100/c (c =
number of correct options); Moodle sums the picked fractions and floors at 0, which is exactly
the net-correct rule (max(0, (t - f) / c)); the other partial-credit rules are exported as
net-correct, the closest rule Moodle can express. Numeric answers carry their margin as
`<tolerance>` (nominal, i.e. absolute).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from alr.fileio import write_atomic
from autograder.export.quiz_text import Part, QuizPart, html, numeric_answer, quiz_parts
from quizzes.model import Question, QuestionKind, QuizCatalog

CATEGORY_ROOT = "$course$/Adaptive LR"
_SUB = ET.SubElement
_PART_NAMES = {Part.SKILL_CHECK: "skill check", Part.BANK: "practice"}


def fraction(value: float) -> str:
    """A Moodle answer fraction (percent) with the 7 significant digits Moodle writes."""
    text = f"{value:.7g}"
    return "0" if text == "-0" else text


def _text(parent: ET.Element, tag: str, text: str, *, fmt: str | None = "html") -> ET.Element:
    node = _SUB(parent, tag, {"format": fmt} if fmt else {})
    _SUB(node, "text").text = text
    return node


def _common(question: Question, kind: str, stem: str) -> ET.Element:
    node = ET.Element("question", type=kind)
    _text(node, "name", question.id, fmt=None)
    _text(node, "questiontext", html(stem))
    _text(node, "generalfeedback", html(question.explanation) if question.explanation else "")
    _SUB(node, "defaultgrade").text = f"{question.points:.7f}"
    _SUB(node, "penalty").text = "0.3333333"
    _SUB(node, "hidden").text = "0"
    _SUB(node, "idnumber").text = question.id
    return node


def _choice(question: Question) -> ET.Element:
    single = question.kind is QuestionKind.SINGLE_CHOICE
    node = _common(question, "multichoice", question.stem)
    _SUB(node, "single").text = "true" if single else "false"
    _SUB(node, "shuffleanswers").text = "true"
    _SUB(node, "answernumbering").text = "abc"
    _text(node, "correctfeedback", "Correct.")
    _text(node, "partiallycorrectfeedback", "Partly correct.")
    _text(node, "incorrectfeedback", "Not quite: read the feedback on each choice.")
    share = 100.0 / max(1, sum(o.correct for o in question.options))
    for option in question.options:
        value = (
            (100.0 if option.correct else 0.0) if single else (share if option.correct else -share)
        )
        answer = _text(node, "answer", html(option.text))
        answer.set("fraction", fraction(value))
        _text(answer, "feedback", html(option.explanation))
    return node


def _numerical(question: Question, seed: int) -> ET.Element:
    numeric = numeric_answer(question, seed)
    node = _common(question, "numerical", numeric.stem)
    answer = _SUB(node, "answer", fraction="100", format="moodle_auto_format")
    _SUB(answer, "text").text = repr(numeric.answer)
    _SUB(answer, "tolerance").text = repr(numeric.margin)
    _text(answer, "feedback", "")
    _SUB(node, "unitgradingtype").text = "0"
    _SUB(node, "unitpenalty").text = "0.1000000"
    _SUB(node, "showunits").text = "3"
    _SUB(node, "unitsleft").text = "0"
    return node


def _category(part: QuizPart, title: str) -> ET.Element:
    node = ET.Element("question", type="category")
    _text(node, "category", f"{CATEGORY_ROOT}/{title}/{_PART_NAMES[part.part]}", fmt=None)
    return node


def render_moodle_xml(catalog: QuizCatalog, *, modules: tuple[str, ...] = (), seed: int = 0) -> str:
    """The Moodle XML document of the skill checks and banks of `modules` (default: all)."""
    root = ET.Element("quiz")
    titles = {m.module: f"{m.module} {m.title}" for m in catalog.modules}
    for part in quiz_parts(catalog, modules):
        root.append(_category(part, titles[part.module]))
        for question in part.questions:
            choice = question.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_ANSWER)
            root.append(_choice(question) if choice else _numerical(question, seed))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def export_moodle_xml(
    *, out: Path, modules: tuple[str, ...] = (), seed: int = 0, catalog: QuizCatalog | None = None
) -> Path:
    """Write the Moodle XML of the course's quizzes to `out` (atomically)."""
    if catalog is None:
        from quizzes.bank import load_quizzes

        catalog = load_quizzes()
    return write_atomic(Path(out), render_moodle_xml(catalog, modules=modules, seed=seed))
