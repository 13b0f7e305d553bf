"""What `run_autograder` runs inside Gradescope: grade `<root>/submission` into results.json.

1. The student id comes from `<root>/submission_metadata.json` (first user's email, else id) when
   present, else "submission"; it is reduced to a safe file name.
2. The submission is the single `.ipynb` file under `<root>/submission` (else the single `.py`).
3. It is graded with `alr grade <student>.<ext> --out <tmp>`; the result file, a valid
   Gradescope results.json, is copied to `<root>/results/results.json` (atomically).

Whatever goes wrong, a results.json is written: score 0 with an `output` saying what to fix,
because Gradescope shows nothing useful to the student without one.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from alr.errors import AlrError
from autograder.export.files import atomic_write
from autograder.grade import grade_batch

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]")


def student_id(root: Path) -> str:
    """The student id for the result file, from Gradescope's submission metadata."""
    try:
        meta = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
        user = meta["users"][0]
        raw = str(user.get("email") or user.get("id") or "")
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        raw = ""
    safe = _UNSAFE.sub("_", raw).lstrip(".-")[:100]
    return safe or "submission"


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


def grade(root: Path, student: str) -> dict[str, Any]:
    """Grade the submission under `root` as `alr grade` does; the result document."""
    submission = find_submission(root / "submission")
    with tempfile.TemporaryDirectory(prefix="alr-gradescope-") as tmp:
        staged = Path(tmp) / "in" / f"{student}{submission.suffix}"
        staged.parent.mkdir()
        shutil.copyfile(submission, staged)
        out = Path(tmp) / "out"
        grade_batch([staged], out=out, workers=1)
        result = out / f"{student}.json"
        if not result.is_file():
            raise AlrError("the grader wrote no result file")
        data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
        return data


def run(root: Path) -> int:
    """Grade and write `<root>/results/results.json`; 0 when grading ran, 1 when it could not."""
    student = student_id(root)
    try:
        data, code = grade(root, student), 0
    except AlrError as exc:
        data, code = failure_result(student, str(exc)), 1
    except Exception as exc:  # a grader bug: still tell the student something, log the rest
        print(f"grader error: {exc!r}", file=sys.stderr)
        data, code = failure_result(student, "internal grader error; tell your instructor"), 1
        import traceback

        traceback.print_exc()
    atomic_write(root / "results" / "results.json", json.dumps(data, indent=2) + "\n")
    print(f"{student}: {data.get('score')} / {data.get('max_score', '?')}")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    return run(parser.parse_args(argv).root)


if __name__ == "__main__":
    sys.exit(main())
