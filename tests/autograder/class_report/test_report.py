"""The class report: what it counts, what it lists as blank or not graded, what it refuses, and
how it renders in headless Chromium.

Fixtures (tests/fixtures/report/results/) are results in the result model
(`<student>/<module>.json`): a correct student, students with named misconceptions, one who
submitted two modules only (erin: the rest is blank), an unscoped syntax error (frank), a timeout
(grace), and output carrying HTML (mallory, renamed here to an id that carries HTML too); plus
skill-check answers. Quiz scores and queues are made by the quizzes package's own API.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from collections import defaultdict
from html import escape as html_escape
from pathlib import Path

import pytest

from alr.results import ResultError, read_json, read_result, result_files, write_result
from autograder.class_report.build import build_report
from autograder.class_report.load import ReportError
from quizzes.api import score_answers, write_queues
from quizzes.bank import load_quizzes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "report"
HOSTILE_ID = "mallory<img src=x onerror=alert('x')>"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    return None


def _copy_class(root: Path) -> Path:
    """The fixture class under `root`/results, mallory renamed to HOSTILE_ID."""
    results = root / "results"
    shutil.copytree(FIXTURES / "results", results)
    for path in sorted((results / "mallory").glob("*.json")):
        write_result(results, dataclasses.replace(read_result(path), student=HOSTILE_ID))
    shutil.rmtree(results / "mallory")
    return results


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the fixture class with one feedback page, quiz scores, queues and its report."""
    results = _copy_class(tmp_path_factory.mktemp("class"))
    (results / "alice" / "3.1.html").write_text("<p>feedback</p>")
    score_answers(answers=[results / "answers"], out=results)
    write_queues(results=results)
    build_report(results_dir=results)
    return results


@pytest.fixture(scope="module")
def html(class_dir: Path) -> str:
    return (class_dir / "report.html").read_text(encoding="utf-8")


def _fixture_results() -> list[dict]:
    """Every result document of the fixture class, as JSON."""
    return [json.loads(p.read_text()) for p in sorted((FIXTURES / "results").glob("*/*.json"))]


def _section(html: str, name: str) -> str:
    return html.split(f'id="{name}"')[1].split("</section>")[0]


def test_misconception_counts_match_the_result_files(html: str) -> None:
    """Each misconception row counts the distinct students and the tests that named it."""
    students: dict[tuple[str, str], set[str]] = defaultdict(set)
    tests: dict[tuple[str, str], int] = defaultdict(int)
    for doc in _fixture_results():
        for t in doc["tests"]:
            d = t["extra_data"]["diagnosis"]
            if d and t["status"] == "failed":
                students[(t["extra_data"]["function"], d)].add(doc["extra_data"]["student"])
                tests[(t["extra_data"]["function"], d)] += 1
    assert students, "the fixture must name misconceptions"
    section = _section(html, "misconceptions")
    for (fn, d), who in students.items():
        row = re.search(
            rf"<code>{fn}</code></td><td><code>{d}</code></td>"
            r'<td class="num">(\d+)</td><td class="num">(\d+)</td>',
            section,
        )
        assert row, f"no row for {fn}: {d}"
        assert (int(row[1]), int(row[2])) == (len(who), tests[(fn, d)])


def test_module_distribution_leaves_out_blank_cells(html: str) -> None:
    """Module 3.1 is graded for the seven students with results; 3.3 for all of them but erin
    (who submitted 3.1 and 3.2 only); frank has no module at all."""
    section = _section(html, "modules")
    graded = dict(re.findall(r'<code>(\d\.\d)</code>[^<]*</td><td class="num">(\d+)</td>', section))
    assert graded["3.1"] == "7" and graded["3.3"] == "6"


def test_blank_cells_and_unscoped_errors_are_listed_not_graded(html: str) -> None:
    """erin's eight unsubmitted modules and frank's ten are listed blank; frank's syntax error
    is a problem with what to do, and he has no score anywhere."""
    section = _section(html, "not-graded")
    assert "18 blank cell(s)" in section
    erin = section.split("<td>erin</td>")[1].split("</tr>")[0]
    assert re.findall(r"<code>(\d\.\d)</code>", erin) == [
        "3.3",
        "3.4",
        "3.5",
        "4.1",
        "4.2",
        "4.3",
        "4.4",
        "4.5",
    ]
    assert "1 submission(s) that no module could be given" in section
    assert "<code>frank.py</code></td><td>SyntaxError: invalid syntax (line 12); fix it" in section
    students = _section(html, "students")
    frank = students.split("<td>frank</td>")[1].split("</tr>")[0]
    assert re.sub(r"<[^>]+>", "", frank) == "–" * 11  # no points, no module: not 0, nothing
    attention = _section(html, "attention")
    assert '<td>frank</td><td class="num">–</td>' in attention


def test_attention_lists_ungradable_and_weak_students_but_not_strong_ones(html: str) -> None:
    """The syntax error and the timeout are flagged with their reason; alice is not."""
    section = _section(html, "attention")
    assert "not graded, no module (frank.py): SyntaxError" in section
    assert "time limit" in section
    named: dict[str, set[str]] = defaultdict(set)
    for doc in _fixture_results():
        named[doc["extra_data"]["student"]] |= {
            t["extra_data"]["diagnosis"] for t in doc["tests"] if t["status"] == "failed"
        } - {None}
    for diagnoses in named.values():
        if len(diagnoses) >= 2:
            assert f"{len(diagnoses)} misconceptions: {', '.join(sorted(diagnoses))}" in section
    assert "alice" not in section


def test_scores_are_shown_to_two_decimals(html: str) -> None:
    """The students table shows points rounded to 2 decimals over the modules submitted."""
    students = _section(html, "students")
    erin = students.split("<td>erin</td>")[1].split("</tr>")[0]
    assert '<td class="num">16/18 (89%)</td>' in erin


def test_student_strings_are_escaped_and_page_loads_nothing_external(html: str) -> None:
    """A student id or output holding HTML shows as text; the page has no scripts or URLs."""
    assert "<script" not in html and "<img" not in html
    assert "mallory&lt;img src=x onerror=alert(&#x27;x&#x27;)&gt;" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "<link" not in html and "@import" not in html
    assert not re.search(r"url\((?!#)", html), "only in-page references (SVG clip paths)"


def test_hostile_strings_in_plots_and_tables_stay_text(tmp_path: Path) -> None:
    """Diagnosis and output strings reach SVG labels and tables only escaped (function names
    cannot carry HTML: the result model accepts only the course's graded functions)."""
    results = tmp_path / "results"
    shutil.copytree(FIXTURES / "results" / "alice", results / "alice")
    path = results / "alice" / "3.1.json"
    doc = read_json(path)
    for t in doc["tests"][:4]:
        t["score"] = 0.0
        t["status"] = "failed"
        t["extra_data"]["diagnosis"] = "<script>alert(1)</script>"
        t["output"] = "<iframe src=//evil.example>"
    path.write_text(json.dumps(doc))
    build_report(results_dir=results)
    page = (results / "report.html").read_text()
    assert "<script" not in page and "<img" not in page and "<iframe" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_feedback_links_are_relative_and_only_for_existing_pages(html: str) -> None:
    """alice's 3.1 links to alice/3.1.html beside its result (it exists); bob's have no link."""
    students = _section(html, "students")
    assert '<a href="alice/3.1.html">100%</a>' in students
    assert 'href="bob/' not in html


def test_provenance_names_grader_version_and_sandbox_level(html: str) -> None:
    """Counts are result files: every graded and unscoped result of the class."""
    files = len(list((FIXTURES / "results").glob("*/*.json")))
    assert files == 63
    footer = html.split('id="provenance"')[1]
    assert f"version 0.1.0 ({files})" in footer and f"sandbox level L1 ({files})" in footer


def test_same_results_give_the_same_bytes(class_dir: Path) -> None:
    """The report is deterministic (no timestamps, stable SVG ids): building again changes
    nothing, and the page links feedback relative to where it is."""
    first = (class_dir / "report.html").read_bytes()
    build_report(results_dir=class_dir)
    assert (class_dir / "report.html").read_bytes() == first
    assert b'href="alice/3.1.html"' in first


def _first_picks() -> dict[str, dict[str, int]]:
    """question -> option -> students whose first answer picked it, from the answer files."""
    first: dict[tuple[str, str], tuple[str, str]] = {}
    for path in sorted((FIXTURES / "results" / "answers").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            a = json.loads(line)
            key = (a["student"], a["question"])
            if key not in first or a["answered_at"] < first[key][0]:
                first[key] = (a["answered_at"], a["response"])
    picks: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (_, question), (_, option) in first.items():
        picks[question][option] += 1
    return picks


def test_distractor_counts_follow_each_students_first_answer(html: str) -> None:
    """Per question, the distractors row counts students whose first answer (the one that
    scores) picked it: bob's later, changed answer to 3.1.check.term is practice, not counted."""
    catalog = {q.id: q for q in load_quizzes().questions}
    section = _section(html, "skill-checks")
    picks = _first_picks()
    assert len(picks) == 8
    for qid, options in picks.items():
        row = re.search(rf"<code>{re.escape(qid)}</code></td>(.*?)</tr>", section)
        assert row, qid
        for option, n in options.items():
            text = html_escape(catalog[qid].option(option).text)
            if option in catalog[qid].correct_ids:
                assert f"<code>{option}</code> {text}" not in row[1]
            else:
                assert f"<code>{option}</code> {text} ({n})" in row[1], (qid, option, n)


def test_students_without_or_with_weak_skill_checks_need_attention(
    class_dir: Path, html: str
) -> None:
    """A student without a skill check, or under half right, is flagged; others are not."""
    section = _section(html, "attention")
    grace = section.split("<td>grace</td>")[1].split("</tr>")[0]
    assert "took no skill check" in grace
    for path in (class_dir / "quizzes").glob("*.json"):
        totals = json.loads(path.read_text())["totals"]
        share = totals["score"] / totals["max_score"]
        assert (f"skill checks {share:.0%} correct" in section) == (share < 0.5), path.stem


def _one_result(tmp_path: Path, change=None, text: str | None = None) -> tuple[Path, Path]:
    """A results folder holding alice's 3.1 result, changed by `change` or replaced by `text`."""
    results = tmp_path / "results"
    (results / "alice").mkdir(parents=True)
    path = results / "alice" / "3.1.json"
    doc = read_json(FIXTURES / "results" / "alice" / "3.1.json")
    if change is not None:
        change(doc)
    path.write_text(text if text is not None else json.dumps(doc))
    return results, path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["tests"][0].update(score="ten"),
            "tests[0].score: expected a number, got 'ten'",
        ),
        (lambda d: d.pop("tests"), "tests: expected a list, got None"),
        (
            lambda d: d["tests"][3]["extra_data"].pop("function"),
            "tests[3].extra_data.function: expected a string, got None",
        ),
        (
            lambda d: d["extra_data"].update(student="bob"),
            "extra_data.student: 'bob' is not the folder's student 'alice'",
        ),
    ],
    ids=["score-not-a-number", "no-tests", "test-without-function", "wrong-folder"],
)
def test_malformed_result_file_names_file_field_and_problem(
    tmp_path: Path, mutate, message: str
) -> None:
    """The result model's reader refuses it, in its `file: key.path: problem` style."""
    results, path = _one_result(tmp_path, mutate)
    with pytest.raises(ResultError, match=re.escape(f"{path}: {message}")):
        build_report(results_dir=results)
    assert not (results / "report.html").exists()


def test_invalid_json_and_an_empty_folder_are_refused(tmp_path: Path) -> None:
    results, path = _one_result(tmp_path, text="{nope")
    with pytest.raises(ResultError, match=re.escape(f"{path}: line 1: not valid JSON")):
        build_report(results_dir=results)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match="no result files .*run `alr grade SUBMISSION"):
        build_report(results_dir=tmp_path / "empty")


def test_the_report_reads_only_the_result_files_of_the_model(class_dir: Path) -> None:
    """Quiz scores, queues and answers beside the results are not read as results."""
    assert {p.parent.name for p in result_files(class_dir)} == {
        "alice",
        "bob",
        "carol",
        "dave",
        "erin",
        "frank",
        "grace",
        HOSTILE_ID,
    }


# ---- the page in a real browser ----------------------------------------------------------

PROBE = """<script>
const body = document.body.dataset;
body.plots = JSON.stringify([...document.querySelectorAll('figure.plot svg')].map(s => {
  const r = s.getBoundingClientRect();
  return [s.dataset.plot, r.width, r.height, s.querySelectorAll('path,rect,use').length];
}));
body.sections = JSON.stringify(
  [...document.querySelectorAll('section[id],footer[id]')].map(e => e.id));
body.scripts = document.querySelectorAll('script').length;
body.images = document.querySelectorAll('img').length;
body.hostile = [...document.querySelectorAll('td')].some(td => td.textContent.includes(ID));
</script>"""


def _probe(hostile: str) -> str:
    """The probe script, with the hostile id as a JS string that cannot close the script."""
    return PROBE.replace("ID", json.dumps(hostile).replace("</", "<\\/"))


def _run_chromium(chromium: str, tmp: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    args = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp / 'profile'}",
        "--window-size=1200,3000",
        *extra,
        url,
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_report_renders_with_its_plots_in_headless_chromium(class_dir: Path, tmp_path: Path):
    """In Chromium every section is present, every plot is laid out with real size and drawn
    shapes, no student string became an element, and the screenshot shows the plot colours."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium)")
    page = (class_dir / "report.html").read_text()
    probed = class_dir / "probed.html"
    probed.write_text(page.replace("</body>", _probe(HOSTILE_ID) + "</body>"))
    proc = _run_chromium(chromium, tmp_path, probed.as_uri(), "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", proc.stdout)
    assert body, proc.stdout[:500]
    attrs = {
        k: json.loads(v.replace("&quot;", '"'))
        for k, v in re.findall(r'data-(\w+)="([^"]*)"', body[1])
    }
    assert attrs["sections"] == [
        "overview",
        "modules",
        "functions",
        "misconceptions",
        "skill-checks",
        "queues",
        "attention",
        "not-graded",
        "students",
        "provenance",
    ]
    plots = {p[0]: p[1:] for p in attrs["plots"]}
    assert {"modules", "functions", "misconceptions", "quiz-3-1", "quiz-4-1"} <= set(plots)
    for key, (width, height, shapes) in plots.items():
        assert width >= 300 and height >= 100 and shapes >= 5, (key, width, height, shapes)
    assert attrs["scripts"] == 1 and attrs["images"] == 0 and attrs["hostile"] is True

    shot = tmp_path / "shot.png"
    proc = _run_chromium(
        chromium, tmp_path, (class_dir / "report.html").as_uri(), f"--screenshot={shot}"
    )
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    from PIL import Image

    colours = {c for _, c in Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 24) or []}
    assert (0x2E, 0x7D, 0x32) in colours, "the green 'all tests passed' bars were not painted"
    assert (0x5C, 0x6B, 0xC0) in colours, "the module histograms were not painted"
