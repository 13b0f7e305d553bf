"""QTI 1.2 zip and Moodle XML of the quizzes: golden files, and structure element by element."""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET
import zipfile

import pytest

from alr.errors import ExportError
from autograder.export.moodle_xml import render_moodle_xml
from autograder.export.qti import QUESTION_TYPES, render_qti
from autograder.export.quiz_text import numeric_answer
from quizzes.bank import load_quizzes
from quizzes.model import Question, QuestionKind, QuizCatalog

from .conftest import assert_golden

NS = {
    "q": "http://www.imsglobal.org/xsd/ims_qtiasiv1p2",
    "cp": "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1",
}
CHOICE = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_ANSWER)


@pytest.fixture(scope="module")
def catalog() -> QuizCatalog:
    return load_quizzes()


def test_qti_matches_golden(small_catalog: QuizCatalog) -> None:
    with zipfile.ZipFile(io.BytesIO(render_qti(small_catalog))) as archive:
        assert archive.namelist() == [
            "imsmanifest.xml",
            "alr-3.1-check/alr-3.1-check.xml",
            "alr-3.1-bank/alr-3.1-bank.xml",
        ]
        for name in archive.namelist():
            assert_golden("qti/" + name, archive.read(name).decode())


def test_moodle_xml_matches_golden(small_catalog: QuizCatalog) -> None:
    assert_golden("moodle-quizzes.xml", render_moodle_xml(small_catalog))


def test_exports_are_reproducible(small_catalog: QuizCatalog) -> None:
    assert render_qti(small_catalog) == render_qti(small_catalog)


def _fields(item: ET.Element) -> dict[str, str]:
    return {
        f.findtext("q:fieldlabel", namespaces=NS): f.findtext("q:fieldentry", namespaces=NS)
        for f in item.iterfind("q:itemmetadata/q:qtimetadata/q:qtimetadatafield", NS)
    }


def _check_qti_item(item: ET.Element, question: Question) -> None:
    ident = f"alr-{question.id}"
    assert item.get("ident") == ident
    fields = _fields(item)
    assert fields["question_type"] == QUESTION_TYPES[question.kind]
    assert float(fields["points_possible"]) == question.points
    scored = item.find("q:resprocessing/q:respcondition[@continue='No']", NS)
    assert scored is not None and scored.findtext("q:setvar", namespaces=NS) == "100"
    if question.kind in CHOICE:
        labels = [e.get("ident") for e in item.iterfind(".//q:response_label", NS)]
        assert labels == [f"{ident}.{o.id}" for o in question.options]
        assert fields["original_answer_ids"] == ",".join(labels)
        lid = item.find("q:presentation/q:response_lid", NS)
        single = question.kind is QuestionKind.SINGLE_CHOICE
        assert lid is not None and lid.get("rcardinality") == ("Single" if single else "Multiple")
        required = {
            e.text
            for e in scored.iterfind("q:conditionvar//q:varequal", NS)
            if e not in set(scored.iterfind("q:conditionvar//q:not/q:varequal", NS))
        }
        assert required == {f"{ident}.{o.id}" for o in question.options if o.correct}
        feedback = {e.get("ident") for e in item.iterfind("q:itemfeedback", NS)}
        assert feedback == {f"{label}_fb" for label in labels}
    else:
        numeric = numeric_answer(question)
        low = float(scored.findtext(".//q:vargte", namespaces=NS) or "nan")
        high = float(scored.findtext(".//q:varlte", namespaces=NS) or "nan")
        assert low <= numeric.answer <= high
        assert math.isclose(high - low, 2 * numeric.margin, rel_tol=1e-9, abs_tol=1e-15)


def test_qti_structure_of_the_real_quizzes(catalog: QuizCatalog) -> None:
    """Every module's check and bank, every question with its stable id, type, points, answers."""
    with zipfile.ZipFile(io.BytesIO(render_qti(catalog))) as archive:
        manifest = ET.fromstring(archive.read("imsmanifest.xml"))
        resources = manifest.findall("cp:resources/cp:resource", NS)
        assert [r.get("identifier") for r in resources] == [
            f"alr-{m.module}-{part}" for m in catalog.modules for part in ("check", "bank")
        ]
        seen: list[str] = []
        for resource in resources:
            assert resource.get("type") == "imsqti_xmlv1p2"
            href = resource.find("cp:file", NS).get("href")  # type: ignore[union-attr]
            assessment = ET.fromstring(archive.read(href)).find("q:assessment", NS)
            assert assessment is not None and assessment.get("ident") == resource.get("identifier")
            items = assessment.findall("q:section/q:item", NS)
            module, part = href.split("/")[0].removeprefix("alr-").rsplit("-", 1)
            quiz = catalog.module(module)
            questions = quiz.skill_check if part == "check" else quiz.bank
            assert len(items) == len(questions) > 0
            for item, question in zip(items, questions, strict=True):
                _check_qti_item(item, question)
            seen += [i.get("ident") or "" for i in items]
    assert len(seen) == len(set(seen)) == len(catalog.questions)


def test_moodle_xml_structure_of_the_real_quizzes(catalog: QuizCatalog) -> None:
    root = ET.fromstring(render_moodle_xml(catalog))
    assert root.tag == "quiz"
    categories = root.findall("question[@type='category']")
    assert len(categories) == 2 * len(catalog.modules)
    assert all(
        c.findtext("category/text", "").startswith("$course$/Adaptive LR/") for c in categories
    )
    questions = root.findall("question[@type!='category']") or [
        q for q in root.findall("question") if q.get("type") != "category"
    ]
    assert [q.findtext("idnumber") for q in questions] == [q.id for q in catalog.questions]
    for node, question in zip(questions, catalog.questions, strict=True):
        assert node.findtext("name/text") == question.id
        assert float(node.findtext("defaultgrade", "nan")) == question.points
        answers = node.findall("answer")
        if question.kind in CHOICE:
            assert node.get("type") == "multichoice"
            single = question.kind is QuestionKind.SINGLE_CHOICE
            assert node.findtext("single") == ("true" if single else "false")
            fractions = [float(a.get("fraction", "nan")) for a in answers]
            right = [f for f, o in zip(fractions, question.options, strict=True) if o.correct]
            wrong = [f for f, o in zip(fractions, question.options, strict=True) if not o.correct]
            assert math.isclose(sum(right), 100, abs_tol=1e-4)
            assert all(f == 0 for f in wrong) if single else all(f < 0 for f in wrong)
        else:
            assert node.get("type") == "numerical" and len(answers) == 1
            numeric = numeric_answer(question)
            assert float(answers[0].findtext("text", "nan")) == numeric.answer
            assert float(answers[0].findtext("tolerance", "nan")) == numeric.margin


def test_student_visible_text_is_escaped_html(small_catalog: QuizCatalog) -> None:
    """Markdown becomes HTML; raw HTML in a stem is shown as text, never run."""
    root = ET.fromstring(render_moodle_xml(small_catalog))
    stem = root.findtext("question[@type='multichoice']/questiontext/text") or ""
    assert "<code>ema</code>" in stem and "&lt;script&gt;" in stem and "<script>" not in stem


def test_unknown_module_is_refused(small_catalog: QuizCatalog) -> None:
    with pytest.raises(ExportError, match=r"no quiz for module\(s\) 4\.1; known: 3\.1"):
        render_qti(small_catalog, modules=("4.1",))
