"""LTI 1.3 AGS scores: exact scores with skill checks and blanks, and a real POST to a loopback
line item."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from alr.errors import ExportError
from autograder.export.files import read_student_map
from autograder.export.gradesheet import GradeSheet, grade_sheet
from autograder.export.lti import post_scores, render_scores, scores_url, write_scores

from .conftest import LTI_USERS, TITLES, assert_golden

WHEN = datetime(2026, 1, 5, 9, 30, 0, 250000, tzinfo=UTC)
USERS = read_student_map(LTI_USERS, "lti_user_id")  # alice and bob


def test_scores_have_exactly_the_graded_cells_and_skill_checks(sheet: GradeSheet) -> None:
    """Modules and the skill-check total, at full precision; bob's blank 4.3 counts in neither
    the score nor the maximum, and his comment says so."""
    scores, report = render_scores(sheet, timestamp=WHEN, user_ids=USERS)
    given = {s.student: (s.body["scoreGiven"], s.body["scoreMaximum"]) for s in scores}
    assert given == {
        "alice": (6 + 6 + 3.333333333333333 + 7, 6 + 6 + 4 + 8),
        "bob": (4 + 4.5 + 2, 6 + 6 + 8),
    }
    bob = {s.student: s.body for s in scores}["bob"]
    assert bob["comment"].splitlines()[-2:] == [
        "Skill checks: 2/8.",
        "Not submitted (not counted): 4.3 AMSGrad.",
    ]
    assert report.unmatched == ("carol",)  # no LTI user id: no score under a guessed one
    assert report.blanks == (("bob", "4.3"),)
    assert [p.student for p in report.problems] == ["carol"]


def test_ags_score_matches_golden(sheet: GradeSheet, tmp_path: Path) -> None:
    scores, _ = render_scores(sheet, timestamp=WHEN, user_ids=USERS)
    paths = write_scores(scores, tmp_path)
    assert [p.name for p in paths] == ["alice.json", "bob.json"]
    body = json.loads((tmp_path / "bob.json").read_text())
    assert set(body) == {
        "scoreGiven",
        "scoreMaximum",
        "activityProgress",
        "gradingProgress",
        "timestamp",
        "userId",
        "comment",
    }
    assert (body["activityProgress"], body["gradingProgress"]) == ("Completed", "FullyGraded")
    assert body["timestamp"] == "2026-01-05T09:30:00.250Z"
    assert body["userId"] == USERS["bob"]
    assert_golden("lti-bob.json", (tmp_path / "bob.json").read_text())


def test_without_a_user_map_everyone_graded_gets_a_score(sheet: GradeSheet) -> None:
    scores, report = render_scores(sheet, timestamp=WHEN)
    assert {s.student: s.body["userId"] for s in scores} == {
        "alice": "alice",
        "bob": "bob",
        "carol": "carol",
    }
    carol = {s.student: s.body for s in scores}["carol"]
    assert (carol["scoreGiven"], carol["scoreMaximum"]) == (5.0, 6.0)
    assert report.unmatched == ()


def test_strict_refuses_students_without_a_user_id(sheet: GradeSheet) -> None:
    with pytest.raises(ExportError, match="no LTI user id: carol"):
        render_scores(sheet, timestamp=WHEN, user_ids=USERS, strict=True)


def test_one_module_only(results) -> None:
    """Only 4.1: bob's score is 4.1's; carol, blank in 4.1, gets no score."""
    sheet = grade_sheet(results, titles=TITLES, only=["4.1"])
    scores, report = render_scores(sheet, timestamp=WHEN)
    assert {s.student: s.body["scoreGiven"] for s in scores} == {"alice": 6.0, "bob": 4.5}
    assert report.blanks == (("carol", "4.1"),)


def test_invalid_user_id_is_refused(sheet: GradeSheet) -> None:
    users = {**USERS, "carol": "has space"}
    with pytest.raises(ExportError, match="'carol': lti_user_id: expected an LTI user id"):
        render_scores(sheet, timestamp=WHEN, user_ids=users)


def test_scores_url_keeps_the_query() -> None:
    url = "https://lms.example/api/lti/courses/1/line_items/7?type_id=2"
    assert scores_url(url) == "https://lms.example/api/lti/courses/1/line_items/7/scores?type_id=2"
    with pytest.raises(ExportError, match="expected an http"):
        scores_url("file:///etc/passwd")


class _LineItem(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(
            {
                "path": self.path,
                "type": self.headers["Content-Type"],
                "auth": self.headers["Authorization"],
                "body": json.loads(body),
            }
        )
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b'{"errors": "nope"}' if self.status >= 400 else b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def line_item() -> Iterator[tuple[str, type[_LineItem]]]:
    handler = type("Handler", (_LineItem,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/lti/line_items/7", handler
    server.shutdown()
    server.server_close()


def test_scores_are_posted_with_ags_content_type_and_bearer_token(
    sheet: GradeSheet, line_item: tuple[str, type[_LineItem]]
) -> None:
    url, handler = line_item
    scores, _ = render_scores(sheet, timestamp=WHEN, user_ids=USERS)
    assert post_scores(scores, lineitem=url, token="s3cret") == 2
    assert [r["path"] for r in handler.received] == ["/lti/line_items/7/scores"] * 2
    assert {r["type"] for r in handler.received} == {"application/vnd.ims.lis.v1.score+json"}
    assert {r["auth"] for r in handler.received} == {"Bearer s3cret"}
    assert [r["body"] for r in handler.received] == [s.body for s in scores]


def test_refused_post_says_how_many_were_accepted(
    sheet: GradeSheet, line_item: tuple[str, type[_LineItem]]
) -> None:
    url, handler = line_item
    handler.status = 403
    scores, _ = render_scores(sheet, timestamp=WHEN)
    with pytest.raises(ExportError, match=r"'alice' refused with HTTP 403 .*0 earlier score"):
        post_scores(scores, lineitem=url, token="expired")
