"""The class report: what it counts, what it refuses, and how it renders in headless Chromium.

Fixtures (tests/fixtures/report/) are result files in the project's result-file format: a
correct student, students with named misconceptions, a partial submission, a syntax error, a
timeout, and a student whose id and output carry HTML; plus quiz scores and queues.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import defaultdict
from html import escape as html_escape
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.class_report.build import build_report
from autograder.class_report.load import ReportError
from cli import main
from quizzes.api import score_answers, write_queues
from quizzes.bank import load_quizzes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "report"
HOSTILE_ID = "mallory<script>alert('x')</script>"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the fixture class with one feedback page, and its report."""
    root = tmp_path_factory.mktemp("class")
    results = root / "results"
    shutil.copytree(FIXTURES / "results", results)
    (results / "feedback").mkdir(exist_ok=True)
    (results / "feedback" / "alice.html").write_text("<p>feedback</p>")
    score_answers(answers=[results / "answers"], out=results)
    write_queues(results=results)
    build_report(results_dir=results)
    return results


@pytest.fixture(scope="module")
def html(class_dir: Path) -> str:
    return (class_dir / "report.html").read_text(encoding="utf-8")


def _fixture_results() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((FIXTURES / "results").glob("*.json"))]


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
    section = html.split('id="misconceptions"')[1].split("</section>")[0]
    for (fn, d), who in students.items():
        row = re.search(
            rf"<code>{fn}</code></td><td><code>{d}</code></td>"
            r'<td class="num">(\d+)</td><td class="num">(\d+)</td>',
            section,
        )
        assert row, f"no row for {fn}: {d}"
        assert (int(row[1]), int(row[2])) == (len(who), tests[(fn, d)])


def test_module_distribution_leaves_out_modules_a_student_was_not_graded_on(html: str) -> None:
    """Module 3.3 is graded for every student but erin (who submitted 3.1 and 3.2 only)."""
    n = len(_fixture_results())
    section = html.split('id="modules"')[1].split("</section>")[0]
    graded = dict(re.findall(r'<code>(\d\.\d)</code>[^<]*</td><td class="num">(\d+)</td>', section))
    assert graded["3.1"] == str(n) and graded["3.3"] == str(n - 1)


def test_attention_lists_ungradable_and_weak_students_but_not_strong_ones(html: str) -> None:
    """Syntax error and timeout students are flagged with their reason; alice is not."""
    section = html.split('id="attention"')[1].split("</section>")[0]
    assert "SyntaxError" in section and "time limit" in section
    for doc in _fixture_results():
        named = {t["extra_data"]["diagnosis"] for t in doc["tests"]} - {None}
        if len(named) >= 2:
            assert f"{len(named)} misconceptions: {', '.join(sorted(named))}" in section
    assert ">alice<" not in section and "alice" not in section


def test_student_strings_are_escaped_and_page_loads_nothing_external(html: str) -> None:
    """A student id or output holding HTML shows as text; the page has no scripts or URLs."""
    assert "<script" not in html and "<img" not in html
    assert "mallory&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "<link" not in html and "@import" not in html
    assert not re.search(r"url\((?!#)", html), "only in-page references (SVG clip paths)"


def test_hostile_names_in_plots_and_tables_stay_text(tmp_path: Path) -> None:
    """Diagnosis, function and output strings reach SVG labels and tables only escaped."""
    doc = _alice()
    for t in doc["tests"][:4]:
        t["score"] = 0.0
        t["status"] = "failed"
        t["extra_data"]["diagnosis"] = "<script>alert(1)</script>"
        t["extra_data"]["function"] = "f</text></svg><img src=x onerror=alert(2)>"
        t["output"] = "<iframe src=//evil.example>"
    build_report(results_dir=_result(tmp_path, doc))
    page = (tmp_path / "results" / "report.html").read_text()
    assert "<script" not in page and "<img" not in page and "<iframe" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_feedback_links_are_relative_and_only_for_existing_pages(html: str) -> None:
    """alice's name links to feedback/alice.html (it exists); bob's has no link (none does)."""
    assert '<a href="feedback/alice.html">alice</a>' in html
    assert 'href="feedback/bob.html"' not in html


def test_provenance_names_grader_version_and_sandbox_level(html: str) -> None:
    footer = html.split('id="provenance"')[1]
    assert "version 0.1.0 (8)" in footer and "sandbox level L1 (8)" in footer


def test_same_results_give_the_same_bytes(class_dir: Path) -> None:
    """The report is deterministic (no timestamps, stable SVG ids): building again changes
    nothing, and the page links feedback relative to where it is."""
    first = (class_dir / "report.html").read_bytes()
    build_report(results_dir=class_dir)
    assert (class_dir / "report.html").read_bytes() == first
    assert b'href="feedback/alice.html"' in first


def _latest_picks() -> dict[str, dict[str, int]]:
    """question -> option -> students whose latest answer picked it, from the answer files."""
    latest: dict[tuple[str, str], tuple[str, str]] = {}
    for path in sorted((FIXTURES / "results" / "answers").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            a = json.loads(line)
            key = (a["student"], a["question"])
            if key not in latest or a["answered_at"] > latest[key][0]:
                latest[key] = (a["answered_at"], a["response"])
    picks: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (_, question), (_, option) in latest.items():
        picks[question][option] += 1
    return picks


def test_distractor_counts_follow_each_students_latest_answer(html: str) -> None:
    """Per question, the distractors row counts students whose latest answer picked it
    (bob's earlier, changed answer to 3.1.check.term is not counted)."""
    catalog = {q.id: q for q in load_quizzes().questions}
    section = html.split('id="skill-checks"')[1].split("</section>")[0]
    picks = _latest_picks()
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
    section = html.split('id="attention"')[1].split("</section>")[0]
    grace = section.split(">grace<")[1].split("</tr>")[0]
    assert "took no skill check" in grace
    for path in (class_dir / "quizzes").glob("*.json"):
        totals = json.loads(path.read_text())["totals"]
        share = totals["score"] / totals["max_score"]
        assert (f"skill checks {share:.0%} correct" in section) == (share < 0.5), path.stem


def _result(tmp_path: Path, doc: object, name: str = "x.json") -> Path:
    d = tmp_path / "results"
    d.mkdir(exist_ok=True)
    (d / name).write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return d


def _alice() -> dict:
    return json.loads((FIXTURES / "results" / "alice.json").read_text())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(score="ten"), "x.json: score: expected a finite number, got 'ten'"),
        (lambda d: d.pop("tests"), "x.json: tests: expected a list, got NoneType"),
        (
            lambda d: d["tests"][3]["extra_data"].pop("function"),
            "x.json: tests[3].extra_data.function: expected a string",
        ),
    ],
    ids=["score-not-a-number", "no-tests", "test-without-function"],
)
def test_malformed_result_file_names_file_field_and_problem(
    tmp_path: Path, mutate, message: str
) -> None:
    doc = _alice()
    mutate(doc)
    with pytest.raises(ReportError, match=re.escape(message)):
        build_report(results_dir=_result(tmp_path, doc))
    assert not (tmp_path / "results" / "report.html").exists()


def test_invalid_json_and_duplicate_students_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"x\.json: line 1: not valid JSON"):
        build_report(results_dir=_result(tmp_path, "{nope"))
    d = _result(tmp_path, _alice(), "x.json")
    _result(tmp_path, _alice(), "y.json")
    with pytest.raises(ReportError, match="student 'alice' also graded in x.json"):
        build_report(results_dir=d)


def test_cli_writes_the_report_and_explains_an_empty_folder(tmp_path: Path) -> None:
    """`alr report` prints where the page is; on a folder without results it says what to run."""
    res = CliRunner().invoke(main, ["report", str(FIXTURES / "results"), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert str(tmp_path / "report.html") in res.output and "8 students" in res.output
    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(main, ["report", str(tmp_path / "empty")])
    assert res.exit_code == 1 and "run `alr grade SUBMISSION..." in res.output


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
