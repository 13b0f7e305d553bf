"""The Gradescope autograder zip: `setup.sh` and `run_autograder` at its root, plus a wheel.

Gradescope unpacks the zip into `/autograder/source`, runs `setup.sh` once when it builds the
image, copies `run_autograder` to `/autograder/run_autograder` and runs it per submission with
the student's files in `/autograder/submission`; it reads `/autograder/results/results.json`.

`setup.sh` makes a virtual environment at `<root>/alr/venv` with CPU torch, the dependencies
and this package (from the bundled wheel); `run_autograder` grades the submission as `alr grade`
does and copies its result (already a valid results.json) into place. The zip carries the course
secret (`course-secret.txt`, so Gradescope's scores equal a local batch's) and, when exported for
one module, `module.txt` (the assignment's module, for submissions that do not name theirs).

Environment variables honoured by both scripts:

- `ALR_GRADESCOPE_ROOT` (default `/autograder`): the root to use instead of `/autograder`.
- `ALR_GRADESCOPE_PYTHON`: an existing Python environment that already has torch and the
  dependencies. `setup.sh` then makes the venv on top of it (its packages visible through a
  `.pth` file) and installs only the wheel, offline: no apt, no pip downloads. For machines
  without internet, and for testing the zip locally.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from alr.contract import MODULE_IDS
from alr.errors import ExportError
from alr.fileio import write_atomic
from autograder.export.wheel import build_wheel, project_metadata
from course.secret import read_secret

TORCH_INDEX = "https://download.pytorch.org/whl/cpu"

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
ROOT="${ALR_GRADESCOPE_ROOT:-/autograder}"
SRC="$ROOT/source"
VENV="$ROOT/alr/venv"
WHEEL="$(ls "$SRC"/*.whl)"
mkdir -p "$ROOT/alr"
rm -rf "$VENV"
if [ -n "${ALR_GRADESCOPE_PYTHON:-}" ]; then
    # Offline: reuse an environment that already has torch and the dependencies.
    "$ALR_GRADESCOPE_PYTHON" -m venv --without-pip "$VENV"
    SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    PATHS='import sysconfig; p = sysconfig.get_paths(); print(p["purelib"]); print(p["platlib"])'
    "$ALR_GRADESCOPE_PYTHON" -c "$PATHS" > "$SITE/alr-base-environment.pth"
    "$ALR_GRADESCOPE_PYTHON" -m pip install --quiet --no-deps --no-index --target "$SITE" "$WHEEL"
else
    # The Gradescope image (Ubuntu 22.04): Python 3.11 from the distribution, bubblewrap for the
    # grader's namespace sandbox, CPU-only torch, then this package and its dependencies.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends python3.11 python3.11-venv bubblewrap
    python3.11 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --upgrade pip
    "$VENV/bin/python" -m pip install "torch==@TORCH@" --index-url @TORCH_INDEX@
    "$VENV/bin/python" -m pip install "$WHEEL"
fi
"$VENV/bin/python" -c 'import autograder.export.gradescope_run'
echo "adaptive-lr-course autograder installed in $VENV"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this per submission, from /autograder; it must write results/results.json.
set -uo pipefail
ROOT="${ALR_GRADESCOPE_ROOT:-/autograder}"
cd "$ROOT"
PY="$ROOT/alr/venv/bin/python"
if [ ! -x "$PY" ]; then
    mkdir -p "$ROOT/results"
    MSG="The autograder is not installed (setup.sh failed); please tell your instructor."
    printf '{"score": 0, "output": "%s", "tests": []}\n' "$MSG" > "$ROOT/results/results.json"
    exit 1
fi
exec "$PY" -m autograder.export.gradescope_run --root "$ROOT"
"""


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]


def render_setup() -> str:
    """setup.sh, pinned to the torch version the course was exported with (CPU build)."""
    return SETUP_SH.replace("@TORCH@", _torch_version()).replace("@TORCH_INDEX@", TORCH_INDEX)


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    entry = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
    entry.external_attr = mode << 16
    archive.writestr(entry, data, zipfile.ZIP_DEFLATED)


def export_gradescope(*, out: Path, secret: Path, module: str | None = None) -> Path:
    """Write the autograder zip to `out` (atomically) and return its path; `secret` is the
    course secret the inputs come from, `module` the assignment's module (optional)."""
    inputs = read_secret(secret)  # refuses a file that is not a course secret
    if module is not None and module not in MODULE_IDS:
        raise ExportError(f"--module: expected one of {', '.join(MODULE_IDS)}, got {module!r}")
    meta = project_metadata()
    readme = (
        f"{meta.name} {meta.version}: Gradescope autograder.\n\n"
        "Upload this zip as the assignment's autograder (base image: Ubuntu 22.04).\n"
        "Students submit their module notebook (.ipynb) or one .py file; the notebook's\n"
        "metadata (else module.txt) says which module it is. The zip holds the course secret:\n"
        "keep it among the course staff. setup.sh installs Python 3.11, bubblewrap, CPU torch\n"
        "and this course (from the bundled wheel); run_autograder grades\n"
        "/autograder/submission into /autograder/results/results.json.\n\n"
        "Testing the zip locally, offline: unzip it into ROOT/source, then run\n"
        "  ALR_GRADESCOPE_ROOT=ROOT ALR_GRADESCOPE_PYTHON=/path/to/python \\\n"
        "      bash ROOT/source/setup.sh\n"
        "  ALR_GRADESCOPE_ROOT=ROOT bash ROOT/source/run_autograder\n"
        "where /path/to/python already has torch and the course's dependencies installed.\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        staged = Path(tmp) / "autograder.zip"
        with zipfile.ZipFile(staged, "w") as archive:
            _add(archive, "setup.sh", render_setup().encode(), 0o755)
            _add(archive, "run_autograder", RUN_AUTOGRADER.encode(), 0o755)
            _add(archive, "README.txt", readme.encode(), 0o644)
            _add(archive, wheel.name, wheel.read_bytes(), 0o644)
            _add(archive, "course-secret.txt", f"{inputs.seed:032x}\n".encode(), 0o600)
            if module is not None:
                _add(archive, "module.txt", f"{module}\n".encode(), 0o644)
        return write_atomic(Path(out), staged.read_bytes())
