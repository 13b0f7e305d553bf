"""The quiz commands' tests use the quiz catalog fixture of the quizzes tests."""

from tests.quizzes.conftest import catalog

__all__ = ["catalog"]
