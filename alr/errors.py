"""The project's exception hierarchy.

Every error a user can cause derives from `AlrError`; the CLI turns it into a one-line message and
exit code 1 (a traceback only with --debug). A student's failing code is data, not an exception.
"""

from __future__ import annotations


class AlrError(Exception):
    """Root of every error the package raises on bad input or configuration."""


class CourseFileError(AlrError):
    """A course or quiz file is malformed: the message names the file, the key path and the fix."""

    def __init__(self, path: str, where: str, problem: str) -> None:
        self.path, self.where, self.problem = path, where, problem
        super().__init__(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")


class SubmissionError(AlrError):
    """A submission file cannot be read or parsed (becomes that student's error result)."""


class SandboxError(AlrError):
    """The sandbox cannot be set up at the requested isolation level."""


class ExportError(AlrError):
    """An export was given malformed results or options."""
