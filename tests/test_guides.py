"""Do the guides' commands work? Every `bash` block of docs/*-guide.md runs, in order, in a fresh
folder with this environment's `alr` on PATH; a line ending in `# test: CMD` runs CMD instead
(the guide's non-interactive equivalent of a command that needs a person or a real LMS).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli.demo_class import DATA, fill_notebook, replace_functions

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TEST_MARK = "# test: "


def bash_blocks(text: str) -> list[str]:
    """The bodies of the ```bash fenced blocks, in order."""
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def runnable(block: str) -> str:
    """The block as the test runs it: `# test:` substitutions applied."""
    lines = []
    for line in block.splitlines():
        command, mark, substitute = line.partition(TEST_MARK)
        lines.append(substitute if mark else command)
    return "\n".join(lines)


def run_guide(name: str, cwd: Path) -> list[str]:
    """Run every bash block of docs/<name>; returns each block's output."""
    text = (DOCS / name).read_text(encoding="utf-8")
    blocks = bash_blocks(text)
    assert blocks, f"{name} has no bash blocks"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    outputs = []
    for i, block in enumerate(blocks, 1):
        script = "set -euo pipefail\ntrap 'echo \"FAILED: $BASH_COMMAND\" >&2' ERR\n"
        proc = subprocess.run(
            ["bash", "-c", script + runnable(block)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, (
            f"{name}, bash block {i}:\n{block}\n--- stdout\n{proc.stdout[-2000:]}"
            f"\n--- stderr\n{proc.stderr[-3000:]}"
        )
        outputs.append(proc.stdout)
    return outputs


def test_runnable_applies_test_substitutions_only_where_marked() -> None:
    block = "alr build --out x\njupyter lab nb.ipynb  # test: jupyter execute nb.ipynb\n"
    assert runnable(block) == "alr build --out x\njupyter execute nb.ipynb"


def test_instructor_guide_commands_run(tmp_path: Path) -> None:
    """Build, hand out, grade two module-3.1 notebooks, quiz, queue, report and export."""
    correct = (DATA / "correct.py.txt").read_text()
    wrong = replace_functions(correct, (DATA / "mistakes" / "eps_inside_sqrt.py.txt").read_text())
    notebook = ROOT / "exercises" / "module-3-1.ipynb"
    fill_notebook(notebook, correct, tmp_path / "submissions" / "alice.ipynb")
    fill_notebook(notebook, wrong, tmp_path / "submissions" / "bob.ipynb")
    shutil.copyfile(DATA / "canvas-roster.csv", tmp_path / "canvas-roster.csv")
    run_guide("instructor-guide.md", tmp_path)
    results = tmp_path / "results"
    alice = json.loads((results / "alice" / "3.1.json").read_text())
    assert alice["score"] == alice["max_score"] > 0
    bob = json.loads((results / "bob" / "3.1.json").read_text())
    assert "eps_inside_sqrt" in {t["extra_data"]["diagnosis"] for t in bob["tests"]}
    collected = json.loads((tmp_path / "nbgrader-results" / "alice" / "3.1.json").read_text())
    assert collected["score"] == alice["score"] and collected["tests"] == alice["tests"]
    assert "eps_inside_sqrt" in (results / "report.html").read_text()
    assert (results / "queues" / "alice.json").exists()
    assert "Liddell, Alice" in (tmp_path / "canvas-grades.csv").read_text()
    assert (tmp_path / "lti-scores" / "bob.json").exists()


def test_student_guide_commands_run(tmp_path: Path) -> None:
    """Open (execute) the notebook, take the skill check, self-grade, read queue and feedback."""
    shutil.copyfile(ROOT / "exercises" / "module-3-1.ipynb", tmp_path / "module-3-1.ipynb")
    outputs = run_guide("student-guide.md", tmp_path)
    queue = json.loads((tmp_path / "my-results" / "queues" / "alice.json").read_text())
    assert queue["student"] == "alice" and queue["entries"]
    assert (tmp_path / "my-results" / "alice" / "3.1.json").exists()
    first = queue["entries"][0]
    assert f"1 {first['kind']} {first['concept']} {first['item']}" in outputs[-1]
    assert "3.1.json" in outputs[-1]
