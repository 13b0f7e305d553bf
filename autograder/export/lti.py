"""LTI 1.3 Assignment and Grade Services: one score per student, rendered and optionally posted.

An AGS score is

    {"scoreGiven": s, "scoreMaximum": M, "activityProgress": "Completed",
     "gradingProgress": "FullyGraded", "timestamp": ISO-8601 with milliseconds,
     "userId": <the learner's LTI sub>, "comment": <plain text for the learner>}

with s = sum of the student's module scores and M = sum of their maxima (or one module's, with
`module=`). It is posted to `<line item URL>/scores` with content type
`application/vnd.ims.lis.v1.score+json` and a bearer token holding the AGS score scope.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pylti1p3.grade import Grade

from alr.contract import MODULE_IDS
from alr.errors import ExportError
from autograder.export.files import atomic_write
from autograder.export.gradesheet import module_feedback
from autograder.export.results import ResultFile, module_grades, total

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


def render_scores(
    results: Sequence[ResultFile],
    *,
    timestamp: datetime,
    module: str | None = None,
    user_ids: Mapping[str, str] | None = None,
) -> tuple[Score, ...]:
    """One AGS score per student who has a grade (for `module`, when given).

    With `user_ids` (student -> LTI user id), students missing from it get no score: see
    `unmapped_students`; an LTI score under a guessed user id would reach no one, or the wrong one.
    """
    if module is not None and module not in MODULE_IDS:
        raise ExportError(f"module {module!r}: expected one of {', '.join(MODULE_IDS)}")
    scores = []
    for student, per_module in sorted(module_grades(results).items()):
        grades = [g for m, g in per_module.items() if module is None or m == module]
        if not grades or (user_ids is not None and student not in user_ids):
            continue
        given = total(g.score for g in grades)
        maximum = total(g.max_score for g in grades)
        if maximum <= 0:
            raise ExportError(f"{grades[0].source}: maximum score is 0; AGS needs scoreMaximum > 0")
        grade = (
            Grade()
            .set_score_given(given)
            .set_score_maximum(maximum)
            .set_activity_progress("Completed")
            .set_grading_progress("FullyGraded")
            .set_timestamp(iso_timestamp(timestamp))
            .set_user_id(user_ids[student] if user_ids is not None else student)
            .set_comment("\n".join(module_feedback(g) for g in grades))
        )
        scores.append(Score(student, json.loads(grade.get_value())))
    return tuple(scores)


def unmapped_students(
    results: Sequence[ResultFile], user_ids: Mapping[str, str]
) -> tuple[str, ...]:
    """Graded students without an LTI user id in `user_ids` (they get no score)."""
    return tuple(s for s in sorted(module_grades(results)) if s not in user_ids)


def write_scores(scores: Sequence[Score], out: Path) -> tuple[Path, ...]:
    """Write `<out>/<student>.json` for every score (each atomically)."""
    return tuple(
        atomic_write(Path(out) / f"{s.student}.json", json.dumps(s.body, indent=2) + "\n")
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
