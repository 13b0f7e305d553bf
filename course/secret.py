"""The course secret: where the grader's inputs come from, so scores are stable and unguessable.

The instructor's first `alr build` creates it (`build/course-secret.txt` under the build's
output, a 128-bit random number, readable by its owner only); the grader finds it with
`--secret FILE`, else the file named by $ALR_COURSE_SECRET, else `build/course-secret.txt` in the
working folder. The same secret gives the same inputs, hence the same score for the same code, on
every run and machine; the Gradescope autograder zip carries it. Student notebooks never contain
it: their visible tests use a public seed. A result records only the secret's fingerprint.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from alr.errors import AlrError
from alr.fileio import write_atomic

SECRET_FILE = Path("build") / "course-secret.txt"
ENV = "ALR_COURSE_SECRET"


@dataclass(frozen=True)
class Inputs:
    """The seed of the grader's inputs and where it came from (for the summary line)."""

    seed: int
    source: str

    @property
    def fingerprint(self) -> str:
        """What results record: enough to tell whether inputs changed, nothing to recover them."""
        return hashlib.sha256(f"alr-inputs:{self.seed}".encode()).hexdigest()[:16]


def read_secret(path: Path) -> Inputs:
    try:
        text = Path(path).read_text(encoding="ascii").strip()
        return Inputs(int(text, 16), str(path))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AlrError(
            f"{path}: not a course secret ({exc}); restore it from your course backup, or delete "
            "it to start a new one (scores may then change)"
        ) from None


def ensure_secret(path: Path) -> tuple[Inputs, bool]:
    """The secret at `path`, created when missing; (inputs, created)."""
    path = Path(path)
    if path.exists():
        return read_secret(path), False
    value = secrets.randbits(128)
    write_atomic(path, f"{value:032x}\n")
    os.chmod(path, 0o600)
    return Inputs(value, str(path)), True


def grading_inputs(*, seed: int | None = None, secret: Path | None = None) -> tuple[Inputs, bool]:
    """The seed of a grading run: `seed` when given, else the course secret (see the module
    docstring), created in the working folder when there is none; (inputs, created)."""
    if seed is not None:
        return Inputs(seed, f"--seed {seed}"), False
    if secret is not None:
        return read_secret(secret), False
    if os.environ.get(ENV):
        return read_secret(Path(os.environ[ENV])), False
    return ensure_secret(SECRET_FILE)
