"""LTI 1.3 AGS scores: golden JSON, and a real POST to a loopback line item."""

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
from autograder.export.lti import (
    post_scores,
    render_scores,
    scores_url,
    unmapped_students,
    write_scores,
)
from autograder.export.results import ResultFile

from .conftest import FIXTURES, assert_golden

WHEN = datetime(2026, 1, 5, 9, 30, 0, 250000, tzinfo=UTC)
USERS = read_student_map(FIXTURES / "lti-users.csv", "lti_user_id")  # alice and bob


def test_ags_score_matches_golden(results: tuple[ResultFile, ...], tmp_path: Path) -> None:
    scores = render_scores(results, timestamp=WHEN, user_ids=USERS)
    paths = write_scores(scores, tmp_path)
    assert [p.name for p in paths] == ["alice.json", "bob.json"]
    assert unmapped_students(results, USERS) == ("carol", "dave")  # no guessed user ids
    assert_golden("lti-bob.json", (tmp_path / "bob.json").read_text())


def test_ags_score_fields(results: tuple[ResultFile, ...]) -> None:
    bob = {s.student: s.body for s in render_scores(results, timestamp=WHEN, user_ids=USERS)}["bob"]
    assert set(bob) == {
        "scoreGiven",
        "scoreMaximum",
        "activityProgress",
        "gradingProgress",
        "timestamp",
        "userId",
        "comment",
    }
    assert (bob["scoreGiven"], bob["scoreMaximum"]) == (8.5, 12.0)
    assert (bob["activityProgress"], bob["gradingProgress"]) == ("Completed", "FullyGraded")
    assert bob["timestamp"] == "2026-01-05T09:30:00.250Z"
    assert bob["userId"] == USERS["bob"]


def test_one_module_only(results: tuple[ResultFile, ...]) -> None:
    scores = render_scores(results, timestamp=WHEN, module="4.1")
    assert [s.student for s in scores] == ["alice", "bob"]  # carol, dave have no 4.1
    assert scores[1].body["scoreGiven"] == 4.5 and scores[1].body["scoreMaximum"] == 6.0
    with pytest.raises(ExportError, match="module '5.1': expected one of"):
        render_scores(results, timestamp=WHEN, module="5.1")


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
    results: tuple[ResultFile, ...], line_item: tuple[str, type[_LineItem]]
) -> None:
    url, handler = line_item
    scores = render_scores(results, timestamp=WHEN, user_ids=USERS)
    assert post_scores(scores, lineitem=url, token="s3cret") == 2
    assert [r["path"] for r in handler.received] == ["/lti/line_items/7/scores"] * 2
    assert {r["type"] for r in handler.received} == {"application/vnd.ims.lis.v1.score+json"}
    assert {r["auth"] for r in handler.received} == {"Bearer s3cret"}
    assert [r["body"] for r in handler.received] == [s.body for s in scores]


def test_refused_post_says_how_many_were_accepted(
    results: tuple[ResultFile, ...], line_item: tuple[str, type[_LineItem]]
) -> None:
    url, handler = line_item
    handler.status = 403
    scores = render_scores(results, timestamp=WHEN)
    with pytest.raises(ExportError, match=r"'alice' refused with HTTP 403 .*0 earlier score"):
        post_scores(scores, lineitem=url, token="expired")
