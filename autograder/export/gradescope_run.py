"""What `run_autograder` runs inside Gradescope: grade `<root>/submission` into results.json.

1. The student comes from `<root>/submission_metadata.json` (the first user's email, else
   id), made a safe id; the email and Gradescope's user id are kept in the result.
2. The submission is the single `.ipynb` file under `<root>/submission` (else the single `.py`).
3. It is graded as `alr grade` grades it, with the course secret and the module the zip carries
   (`<root>/source/course-secret.txt`, `module.txt`); its result, a valid Gradescope
   results.json, is written to `<root>/results/results.json` (atomically). A .py file that
   defines functions of several modules is graded on the assignment's module.

Whatever goes wrong, a results.json is written: score 0 with an `output` saying what to fix,
because Gradescope shows nothing useful to the student without one.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from alr.errors import AlrError
from alr.fileio import write_atomic
from autograder.grade import grade_batch
from autograder.stages.load import module_from_name
from autograder.submissions import Collected, Entry, Layout, safe_id
from course.secret import read_secret


def identity(root: Path) -> tuple[str, dict[str, Any]]:
    """The student id and identity fields, from Gradescope's submission metadata."""
    try:
        meta = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
        user = meta["users"][0]
        email, uid = user.get("email"), user.get("id")
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        email, uid = None, None
    fields: dict[str, Any] = {}
    if isinstance(email, str) and email:
        fields["email"] = email
    if isinstance(uid, str | int) and not isinstance(uid, bool):
        fields["user_id"] = str(uid)
    raw = fields.get("email") or fields.get("user_id") or ""
    return (safe_id(raw) if raw else "submission"), fields


def find_submission(folder: Path) -> Path:
    """The one notebook (or, without notebooks, the one .py file) the student submitted.

    Symbolic links are ignored: a submitted link could point at any file of the grading machine.
    """
    if not folder.is_dir():
        raise AlrError(f"no submission folder {folder}")
    for suffix in (".ipynb", ".py"):
        found = sorted(
            p
            for p in folder.rglob(f"*{suffix}")
            if p.is_file() and not p.is_symlink() and ".ipynb_checkpoints" not in p.parts
        )
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(str(p.relative_to(folder)) for p in found)
            raise AlrError(f"submit exactly one {suffix} file; found {len(found)}: {names}")
    raise AlrError("no notebook (.ipynb) or Python (.py) file was submitted")


def failure_result(student: str, message: str) -> dict[str, Any]:
    return {
        "score": 0.0,
        "output": f"Your submission could not be graded: {message}",
        "extra_data": {"student": student, "error": message},
        "tests": [],
    }


def grade(root: Path, student: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """Grade the submission under `root` as `alr grade` does; the result document."""
    submission = find_submission(root / "submission")
    source = root / "source"
    module_file = source / "module.txt"
    module = module_file.read_text().strip() if module_file.is_file() else None
    inputs = read_secret(source / "course-secret.txt")
    entry = Entry(submission, student, module_from_name(submission.name), dict(fields or {}))
    collected = Collected(Layout.FILENAME, "gradescope: submission_metadata.json", (entry,), ())
    with tempfile.TemporaryDirectory(prefix="alr-gradescope-") as tmp:
        summary = grade_batch(
            [submission],
            out=Path(tmp),
            workers=1,
            module=module,
            inputs=inputs,
            collected=collected,
        )
        (outcome,) = summary.outcomes
        results = [r for r in outcome.results if module is None or r.module in (module, None)]
        if not results:
            raise AlrError(f"the submission defines no function of module {module}")
        return results[0].to_dict()


def run(root: Path) -> int:
    """Grade and write `<root>/results/results.json`; 0 when grading ran, 1 when it could not."""
    student, fields = identity(root)
    try:
        data, code = grade(root, student, fields), 0
    except AlrError as exc:
        data, code = failure_result(student, str(exc)), 1
    except Exception as exc:  # a grader bug: still tell the student something, log the rest
        print(f"grader error: {exc!r}", file=sys.stderr)
        data, code = failure_result(student, "internal grader error; tell your instructor"), 1
        import traceback

        traceback.print_exc()
    write_atomic(root / "results" / "results.json", json.dumps(data, indent=2) + "\n")
    print(f"{student}: {data.get('score')} / {data.get('max_score', '?')}")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    code = run(parser.parse_args(argv).root)
    gc.freeze()  # results.json is written: the interpreter's last collections skip torch's objects
    return code


if __name__ == "__main__":
    sys.exit(main())
