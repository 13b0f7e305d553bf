#!/usr/bin/env bash
# The GPU check, for an offline CUDA machine (run from the repository root, as root or in a
# throwaway environment: it installs into the current Python). It installs the wheels in .whl/
# and, where bubblewrap is missing, the .deb in .deb/ (both made by scripts/gpu-wheels.sh),
# then runs every CUDA-marked test, the sandbox suite and the red-team corpus, and grades the
# sample class of `alr demo` with --device auto and with --device cpu, comparing the two,
# measures what grading on CUDA as well costs per submission (--against-cpu), and times the cold
# start (one notebook from a fresh process, alr grade and run_autograder, against one
# `import torch`) with --device auto and cpu. The log goes to LOG_DIR/gpu-check.log, the
# benchmarks' figures to LOG_DIR/throughput.json and LOG_DIR/cold-start-{auto,cpu}.json.
#
#   scripts/gpu-check.sh [LOG_DIR]        (default: the current folder)
set -uo pipefail
log_dir="${1:-.}"
mkdir -p "$log_dir"
log="$log_dir/gpu-check.log"
export PYTHONUNBUFFERED=1
py=python3
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%FT%TZ)"; }

main() {

step "machine"
nvidia-smi -L || true
"$py" -c "import sys, torch; print(sys.version.split()[0], torch.__version__, torch.version.cuda,
      torch.cuda.is_available() and torch.cuda.get_device_name(0))" || exit 1
"$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
    || { echo "no CUDA device: nothing to check here"; exit 1; }

step "install"
if compgen -G ".whl/*.whl" >/dev/null; then
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir .whl/*.whl || exit 1
fi
"$py" -m pip install -q --no-index --no-deps --no-build-isolation -e . || exit 1
if ! command -v bwrap >/dev/null && compgen -G ".deb/bubblewrap_*.deb" >/dev/null; then
    dpkg -x .deb/bubblewrap_*.deb / && echo "bubblewrap unpacked"
fi
"$py" -c "from autograder.sandbox import detect_level; print('sandbox level', detect_level())"

status=0
step "CUDA-marked tests, the sandbox, its CUDA set-up and the red-team corpus (graded on CUDA too)"
"$py" -m pytest -o addopts="" -p no:cacheprovider -n 4 --dist loadscope -ra -q \
    tests/solutions/test_purity.py tests/autograder/test_cuda.py tests/autograder/test_harness.py \
    tests/autograder/sandbox/test_cuda_setup.py tests/autograder/sandbox/test_sandbox.py \
    tests/autograder/sandbox/test_redteam.py || status=1
step "CUDA-marked tests alone (the count that ran)"
"$py" -m pytest -o addopts="" -p no:cacheprovider -n 4 -q -m cuda \
    tests/solutions/test_purity.py tests/autograder/test_cuda.py tests/autograder/test_harness.py \
    tests/autograder/sandbox/test_sandbox.py 2>&1 | tail -3

step "alr grade on the sample class of alr demo: --device auto against --device cpu"
alr="$("$py" -c 'import os, sys; print(os.path.join(os.path.dirname(sys.executable), "alr"))')"
out="$(mktemp -d)"
"$py" - "$out" <<'PY' || status=1
import shutil, sys
from pathlib import Path
from cli.demo import prepare, write_class
from cli.demo_class import read_class
p = prepare(Path(sys.argv[1]))
shutil.copytree("exercises", p.course / "exercises")  # the built student notebooks
write_class(p, read_class(), print)
PY
for dev in auto cpu; do
    "$alr" grade "$out"/submissions/* --out "$out/$dev" --device "$dev" --seed 20240611 \
        --timeout 20 --workers 4 || status=1
done
"$py" - "$out" <<'PY' || status=1
import json, sys
from pathlib import Path
from cli.demo_class import read_class
out, bad = Path(sys.argv[1]), []
def results(dev, student):
    return [json.loads(p.read_text()) for p in sorted((out / dev / student).glob("*.json"))]
def tests(rs, device):
    return [(t["name"], t["status"]) for r in rs for t in r.get("tests", []) if t["extra_data"]["device"] == device]
for s in read_class():
    auto, cpu = results("auto", s.student), results("cpu", s.student)
    score = lambda rs: f"{sum(r['score'] for r in rs):g}/{sum(r.get('max_score', 0) for r in rs):g}"
    cuda_ok = sum(st == "passed" for _, st in tests(auto, "cuda"))
    cpu_ok = sum(st == "passed" for _, st in tests(cpu, "cpu"))
    print(f"{s.student:8} {s.kind.value:9} auto {score(auto)}  cpu {score(cpu)}  passed: cpu {cpu_ok}, cuda {cuda_ok}")
    for r in auto:
        if r["extra_data"].get("module") and r["extra_data"]["devices"] != ["cpu", "cuda"]:
            bad.append(f"{s.student}: devices {r['extra_data']['devices']}")
    if tests(auto, "cpu") != tests(cpu, "cpu"):
        bad.append(f"{s.student}: CPU verdicts differ between --device auto and cpu")
    full = all(r["score"] == r["max_score"] for r in auto) and auto
    if s.kind.value == "correct" and (not full or cuda_ok != cpu_ok):
        bad.append(f"{s.student}: the correct submission lost points on CUDA")
print("\n".join(bad) or "every check held")
sys.exit(1 if bad else 0)
PY
step "what grading on CUDA as well costs (benchmarks/grading_throughput.py --against-cpu)"
"$py" benchmarks/grading_throughput.py --n 64 --workers 8 --nbgrader-n 0 --against-cpu \
    --json "$log_dir/throughput.json" || status=1

step "cold start: one notebook from a fresh process (benchmarks/cold_start.py), with CUDA and without"
for dev in auto cpu; do
    "$py" benchmarks/cold_start.py --repeats 3 --device "$dev" \
        --json "$log_dir/cold-start-$dev.json" || status=1
done

step "done: $([ $status = 0 ] && echo PASSED || echo FAILED)"
return $status
}

main 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
