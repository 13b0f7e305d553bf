"""Canvas QTI 1.2 zip of the skill checks and practice banks ("Import existing content" > QTI).

Layout: `imsmanifest.xml` listing one `imsqti_xmlv1p2` resource per quiz, and
`<ident>/<ident>.xml` holding a `questestinterop` with one assessment. Identifiers are stable:
quiz "alr-<module>-check" / "alr-<module>-bank", item "alr-<question id>", choice
"alr-<question id>.<option id>", so a re-import updates rather than duplicates.

Scoring (SCORE 0..100): single choice = 100 for the correct choice; multiple answers = 100 for
exactly the correct set (Canvas then applies its own partial credit to multiple-answers
questions; our named partial-credit rules have no QTI 1.2 form); numeric = 100 within the margin.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from alr.fileio import write_atomic
from autograder.export.quiz_text import QuizPart, decimal, html, numeric_answer, quiz_parts
from quizzes.model import Question, QuestionKind, QuizCatalog

QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CP_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
QUESTION_TYPES = {
    QuestionKind.SINGLE_CHOICE: "multiple_choice_question",
    QuestionKind.MULTIPLE_ANSWER: "multiple_answers_question",
    QuestionKind.NUMERIC: "numerical_question",
    QuestionKind.GENERATED_NUMERIC: "numerical_question",
}
_SUB = ET.SubElement


def _mattext(parent: ET.Element, text: str) -> None:
    material = _SUB(parent, "material")
    _SUB(material, "mattext", texttype="text/html").text = text


def _metadata(parent: ET.Element, fields: list[tuple[str, str]]) -> None:
    meta = _SUB(parent, "qtimetadata")
    for label, entry in fields:
        field = _SUB(meta, "qtimetadatafield")
        _SUB(field, "fieldlabel").text = label
        _SUB(field, "fieldentry").text = entry


def _feedback(item: ET.Element, ident: str, text: str) -> None:
    feedback = _SUB(item, "itemfeedback", ident=ident)
    _mattext(_SUB(feedback, "flow_mat"), html(text))


def _choice_item(item: ET.Element, presentation: ET.Element, question: Question) -> None:
    ident = f"alr-{question.id}"
    single = question.kind is QuestionKind.SINGLE_CHOICE
    lid = _SUB(
        presentation,
        "response_lid",
        ident="response1",
        rcardinality="Single" if single else "Multiple",
    )
    render = _SUB(lid, "render_choice")
    for option in question.options:
        label = _SUB(render, "response_label", ident=f"{ident}.{option.id}")
        _mattext(label, html(option.text))
    processing = _score_processing(item)
    for option in question.options:
        shown = _SUB(processing, "respcondition", {"continue": "Yes"})
        _SUB(
            _SUB(shown, "conditionvar"), "varequal", respident="response1"
        ).text = f"{ident}.{option.id}"
        _SUB(shown, "displayfeedback", feedbacktype="Response", linkrefid=f"{ident}.{option.id}_fb")
    right = _SUB(processing, "respcondition", {"continue": "No"})
    condition = _SUB(right, "conditionvar")
    if not single:
        condition = _SUB(condition, "and")
    for option in question.options:
        if option.correct:
            _SUB(condition, "varequal", respident="response1").text = f"{ident}.{option.id}"
        elif not single:
            _SUB(
                _SUB(condition, "not"), "varequal", respident="response1"
            ).text = f"{ident}.{option.id}"
    _SUB(right, "setvar", action="Set", varname="SCORE").text = "100"
    for option in question.options:
        _feedback(item, f"{ident}.{option.id}_fb", option.explanation)


def _score_processing(item: ET.Element) -> ET.Element:
    """The item's resprocessing, declaring the 0-100 SCORE its conditions set."""
    processing = _SUB(item, "resprocessing")
    _SUB(
        _SUB(processing, "outcomes"),
        "decvar",
        maxvalue="100",
        minvalue="0",
        varname="SCORE",
        vartype="Decimal",
    )
    return processing


def _numeric_item(
    item: ET.Element, presentation: ET.Element, question: Question, seed: int
) -> None:
    numeric = numeric_answer(question, seed)
    response = _SUB(presentation, "response_str", ident="response1", rcardinality="Single")
    _SUB(_SUB(response, "render_fib", fibtype="Decimal"), "response_label", ident="answer1")
    processing = _score_processing(item)
    right = _SUB(processing, "respcondition", {"continue": "No"})
    either = _SUB(_SUB(right, "conditionvar"), "or")
    _SUB(either, "varequal", respident="response1").text = decimal(numeric.answer)
    within = _SUB(either, "and")
    _SUB(within, "vargte", respident="response1").text = decimal(numeric.answer - numeric.margin)
    _SUB(within, "varlte", respident="response1").text = decimal(numeric.answer + numeric.margin)
    _SUB(right, "setvar", action="Set", varname="SCORE").text = "100"
    if question.explanation:
        _SUB(right, "displayfeedback", feedbacktype="Response", linkrefid="general_fb")
        _feedback(item, "general_fb", question.explanation)


def _item(section: ET.Element, question: Question, seed: int) -> None:
    ident = f"alr-{question.id}"
    item = _SUB(section, "item", ident=ident, title=question.id)
    choice = question.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_ANSWER)
    answer_ids = ",".join(f"{ident}.{o.id}" for o in question.options) if choice else "answer1"
    _metadata(
        _SUB(item, "itemmetadata"),
        [
            ("question_type", QUESTION_TYPES[question.kind]),
            ("points_possible", decimal(question.points)),
            ("original_answer_ids", answer_ids),
            ("assessment_question_identifierref", f"{ident}.bank"),
        ],
    )
    presentation = _SUB(item, "presentation")
    stem = numeric_answer(question, seed).stem if not choice else question.stem
    _mattext(presentation, html(stem))
    if choice:
        _choice_item(item, presentation, question)
    else:
        _numeric_item(item, presentation, question, seed)


def assessment_xml(part: QuizPart, seed: int = 0) -> str:
    """The QTI 1.2 `questestinterop` document of one quiz."""
    root = ET.Element("questestinterop", xmlns=QTI_NS)
    assessment = _SUB(root, "assessment", ident=part.ident, title=part.title)
    _metadata(assessment, [("cc_maxattempts", "1")])
    section = _SUB(assessment, "section", ident="root_section")
    for question in part.questions:
        _item(section, question, seed)
    return _serialise(root)


def manifest_xml(parts: tuple[QuizPart, ...]) -> str:
    root = ET.Element("manifest", identifier="alr-quizzes", xmlns=CP_NS)
    metadata = _SUB(root, "metadata")
    _SUB(metadata, "schema").text = "IMS Content"
    _SUB(metadata, "schemaversion").text = "1.1.3"
    _SUB(root, "organizations")
    resources = _SUB(root, "resources")
    for part in parts:
        resource = _SUB(resources, "resource", identifier=part.ident, type="imsqti_xmlv1p2")
        _SUB(resource, "file", href=f"{part.ident}/{part.ident}.xml")
    return _serialise(root)


def _serialise(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def render_qti(catalog: QuizCatalog, *, modules: tuple[str, ...] = (), seed: int = 0) -> bytes:
    """The QTI zip (bytes, reproducible) of the skill checks and banks of `modules` (all)."""
    parts = quiz_parts(catalog, modules)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        files = [("imsmanifest.xml", manifest_xml(parts))]
        files += [(f"{p.ident}/{p.ident}.xml", assessment_xml(p, seed)) for p in parts]
        for name, text in files:
            entry = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, text.encode("utf-8"), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def export_qti(
    *, out: Path, modules: tuple[str, ...] = (), seed: int = 0, catalog: QuizCatalog | None = None
) -> Path:
    """Write the QTI zip of the course's quizzes (`quizzes.bank.load_quizzes()`) to `out`."""
    if catalog is None:
        from quizzes.bank import load_quizzes

        catalog = load_quizzes()
    return write_atomic(Path(out), render_qti(catalog, modules=modules, seed=seed))
