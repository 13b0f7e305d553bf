"""LTI 1.3 Assignment and Grade Services: one score per student, rendered and optionally posted.

An AGS score is

    {"scoreGiven": s, "scoreMaximum": M, "activityProgress": "Completed",
     "gradingProgress": "FullyGraded", "timestamp": ISO-8601 with milliseconds,
     "userId": <the learner's LTI sub>, "comment": <plain text for the learner>}

with s = the sum of the student's grades over the sheet's columns (modules and the skill-check
total; `only` picks columns) and M = the sum of those grades' maxima, both at full precision (a
JSON number). A blank (a module not submitted) counts in neither and the comment names it; a
student with no grade at all gets no score. It is posted to `<line item URL>/scores` with content
type `application/vnd.ims.lis.v1.score+json` and a bearer token holding the AGS score scope.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pylti1p3.grade import Grade

from alr.errors import ExportError
from alr.fileio import write_atomic
from autograder.export.gradesheet import ExportReport, GradeSheet, column_title, require_roster
from autograder.export.identity import IdKind, check

SCORE_CONTENT_TYPE = "application/vnd.ims.lis.v1.score+json"


@dataclass(frozen=True)
class Score:
    student: str
    body: Mapping[str, object]  # the AGS score JSON object


def iso_timestamp(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds, as AGS platforms expect: 2026-01-05T09:30:00.000Z."""
    if moment.tzinfo is None:
        raise ExportError("LTI timestamp: expected a timezone-aware time (UTC)")
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _comment(sheet: GradeSheet, student: str) -> str:
    lines = [c.feedback for col in sheet.columns if (c := sheet.cell(student, col.key))]
    blank = [column_title(sheet, key) for _, key in sheet.blanks([student])]
    if blank:
        lines.append(f"Not submitted (not counted): {'; '.join(blank)}.")
    return "\n".join(lines)


def render_scores(
    sheet: GradeSheet,
    *,
    timestamp: datetime,
    user_ids: Mapping[str, str] | None = None,
    strict: bool = False,
    where: Path | None = None,
) -> tuple[tuple[Score, ...], ExportReport]:
    """One AGS score per student with a grade in the sheet's columns, and the report.

    With `user_ids` (student -> LTI user id, from `where`), students missing from it get no
    score and are listed as unmatched (an LTI score under a guessed user id would reach no one,
    or the wrong one); with `strict` they are an ExportError. Without it the user id is the
    student id.
    """
    unmatched = tuple(s for s in sheet.students if user_ids is not None and s not in user_ids)
    require_roster(unmatched, "LTI user id", strict=strict)
    scores = []
    for student in sheet.students:
        cells = [c for col in sheet.columns if (c := sheet.cell(student, col.key))]
        if not cells or student in unmatched:
            continue
        user_id = user_ids[student] if user_ids is not None else student
        place = f"{where}: student {student!r}" if where else f"student {student!r}"
        check(IdKind.LTI_USER, user_id, f"{place}: lti_user_id")
        maximum = math.fsum(c.max_score for c in cells)
        if maximum <= 0:
            raise ExportError(f"{student!r}: maximum score is 0; AGS needs scoreMaximum > 0")
        grade = (
            Grade()
            .set_score_given(math.fsum(c.score for c in cells))
            .set_score_maximum(maximum)
            .set_activity_progress("Completed")
            .set_grading_progress("FullyGraded")
            .set_timestamp(iso_timestamp(timestamp))
            .set_user_id(user_id)
            .set_comment(_comment(sheet, student))
        )
        scores.append(Score(student, json.loads(grade.get_value())))
    mapped = [s for s in sheet.students if s not in unmatched]
    report = ExportReport(
        path=Path(),
        students=tuple(s.student for s in scores),
        unmatched=unmatched,
        missing=tuple(sorted(set(user_ids or {}) - set(sheet.students))),
        blanks=sheet.blanks(mapped),
        problems=sheet.problems,
    )
    return tuple(scores), report


def write_scores(scores: Sequence[Score], out: Path) -> tuple[Path, ...]:
    """Write `<out>/<student>.json` for every score (each atomically)."""
    return tuple(
        write_atomic(Path(out) / f"{s.student}.json", json.dumps(s.body, indent=2) + "\n")
        for s in scores
    )


def scores_url(lineitem: str) -> str:
    """The score endpoint of a line item: its path plus `/scores`, query string kept."""
    parts = urllib.parse.urlsplit(lineitem)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ExportError(f"line item URL {lineitem!r}: expected an http(s) URL from the platform")
    return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def post_scores(scores: Sequence[Score], *, lineitem: str, token: str, timeout: float = 30) -> int:
    """POST each score to the line item's score endpoint; returns how many were accepted."""
    url = scores_url(lineitem)
    if not token:
        raise ExportError("LTI post: no access token; pass --token or set ALR_LTI_TOKEN")
    for posted, score in enumerate(scores):
        request = urllib.request.Request(
            url,
            data=json.dumps(score.body).encode(),
            method="POST",
            headers={"Content-Type": SCORE_CONTENT_TYPE, "Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace")
            raise ExportError(
                f"{url}: score of {score.student!r} refused with HTTP {exc.code} {detail!r};"
                f" {posted} earlier score(s) were accepted"
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ExportError(
                f"{url}: cannot post the score of {score.student!r} ({exc});"
                f" {posted} earlier score(s) were accepted"
            ) from exc
    return len(scores)
