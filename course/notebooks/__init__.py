"""Generate every notebook of the course from the module YAML.

    build_course(out=Path("."), modules_dir=None) -> {"student": [...], "source": [...], ...}

writes, under `out`:
- `exercises/requirements.txt`: what a student's machine needs to run every cell;
- `exercises/module-3-1.ipynb` ...: the student notebooks (what instructors hand out), made from
  the source by nbgrader's own preprocessors (solutions cleared to `raise NotImplementedError()`,
  hidden tests removed, cells locked, checksums computed);
- `build/nbgrader/`: an nbgrader course (`nbgrader_config.py`, `source/module-3-1/module-3-1.ipynb`)
  ready for `nbgrader generate_assignment module-3-1` and `nbgrader autograde module-3-1`;
- `build/solutions/module-3-1.ipynb` ...: the solution notebooks (reference code in place of
  the stubs, hidden tests included, worked answers open, no nbgrader markers).
Before writing anything the build evaluates every experiment's expectations on the reference
solutions (course.expect) and fails, naming module, experiment and the measured numbers, when one
does not hold. Every file is written atomically and is byte-for-byte reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from alr.fileio import write_atomic
from course.expect import check_course
from course.load import load_course
from course.notebooks.notebook import source_notebook
from course.notebooks.release import solution_notebook, student_notebook
from course.spec import ModuleSpec

NBGRADER_CONFIG = """\
import warnings

from course.nbgrader_hooks import RestoreHiddenTests
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds
from nbgrader.preprocessors import OverwriteKernelspec
from sqlalchemy.exc import SAWarning

# nbgrader's own Gradebook.add_submission lets SQLAlchemy autoflush a half-built submission
# (a harmless SAWarning at every autograde); only that warning of nbgrader's gradebook is hidden.
warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader.api")

c = get_config()  # noqa: F821 - provided by nbgrader
c.CourseDirectory.course_id = "adaptive-lr"
# The experiments train small models; leave them time on a slow machine.
c.Execute.timeout = 120
# Restore each test cell's hidden tests without nbgrader's false "checksum changed" warning.
c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreHiddenTests, CheckCellMetadata
]
"""


#: Everything the cells of a student notebook import beyond the standard library (torch,
#: matplotlib for the plots), and Jupyter to open them; tests/course/test_requirements.py runs
#: every notebook with nothing else importable.
STUDENT_REQUIREMENTS = """\
# What a student's machine needs to run every cell of the course notebooks (Python 3.11+):
#   python -m pip install -r requirements.txt
# A course JupyterHub may provide all of it already.
torch>=2.5
matplotlib>=3.8
jupyterlab>=4
"""


def dumps(nb: NotebookNode) -> str:
    """Notebook JSON as nbformat writes it (sorted keys, indent 1), ending in a newline."""
    return nbformat.writes(nb) + "\n"


#: The cells that end a module's notebook (its skill check), by module: the quizzes package
#: provides them (`quizzes.notebook.skill_check_cells`), passed in by the layer above both.
Appendix = Callable[[str], list[NotebookNode]]


def module_notebooks(
    module: ModuleSpec, appendix: Appendix | None = None
) -> dict[str, NotebookNode]:
    """The source, student and solution notebooks of one module."""
    source = source_notebook(module, appendix(module.skill_check) if appendix else [])
    return {
        "source": source,
        "student": student_notebook(source),
        "solution": solution_notebook(source),
    }


def build_course(
    *, out: Path = Path("."), modules_dir: Path | None = None, appendix: Appendix | None = None
) -> dict[str, list[Path]]:
    """Validate the course and write every notebook under `out`, each ended by `appendix`'s
    cells; returns the written paths."""
    course = load_course(modules_dir)
    check_course(course)
    out = Path(out)
    written: dict[str, list[Path]] = {"student": [], "source": [], "solution": []}
    write_atomic(out / "exercises" / "requirements.txt", STUDENT_REQUIREMENTS, durable=False)
    nbgrader_root = out / "build" / "nbgrader"
    write_atomic(nbgrader_root / "nbgrader_config.py", NBGRADER_CONFIG, durable=False)
    for module in course.modules:
        notebooks = module_notebooks(module, appendix)
        name = f"{module.slug}.ipynb"
        paths = {
            "student": out / "exercises" / name,
            "source": nbgrader_root / "source" / module.slug / name,
            "solution": out / "build" / "solutions" / name,
        }
        for kind, path in paths.items():
            write_atomic(path, dumps(notebooks[kind]), durable=False)  # rebuilt from the YAML
            written[kind].append(path)
    return written
