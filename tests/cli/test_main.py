"""The `alr` group itself: what importing the command line changes for the rest of the process."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import cli  # noqa: F401
import nbformat
from nbformat import v4
from nbformat.validator import NotebookValidationError
from jsonschema import FormatChecker

assert sys.modules["rfc3987_syntax"] is None, "the grammar-compiling package was imported"
assert "iri" not in FormatChecker.checkers, "the iri format checker is still registered"
good = v4.new_notebook(cells=[v4.new_code_cell("x = 1")])
nbformat.validate(good)
bad = v4.new_notebook(cells=[v4.new_code_cell("x = 1")])
bad.cells[0]["cell_type"] = "not-a-cell"
try:
    nbformat.validate(bad)
except NotebookValidationError:
    print("rejected")
"""


def test_importing_the_cli_skips_the_iri_grammars_and_notebooks_are_still_validated() -> None:
    """`cli` marks jsonschema's optional `rfc3987_syntax` absent (about 0.9 s of grammar
    compilation at import); nbformat still accepts a valid notebook and rejects an invalid one."""
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "rejected"
