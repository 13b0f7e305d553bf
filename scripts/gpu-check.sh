#!/usr/bin/env bash
# The GPU check, for an offline CUDA machine (run from the repository root, as root or in a
# throwaway environment: it installs into the current Python). It installs the wheels in .whl/
# and, where bubblewrap is missing, the .deb in .deb/ (both made by scripts/gpu-wheels.sh),
# then runs every CUDA-marked test, the sandbox suite, and `alr demo` (which grades its sample
# class with --device auto). The log goes to LOG_DIR/gpu-check.log.
#
#   scripts/gpu-check.sh [LOG_DIR]        (default: the current folder)
set -uo pipefail
log_dir="${1:-.}"
mkdir -p "$log_dir"
log="$log_dir/gpu-check.log"
exec > >(tee "$log") 2>&1
export PYTHONUNBUFFERED=1
py=python3
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%FT%TZ)"; }

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

step "alr demo (grades with --device auto: CPU and CUDA)"
alr="$("$py" -c 'import os, sys; print(os.path.join(os.path.dirname(sys.executable), "alr"))')"
out="$(mktemp -d)"
"$alr" demo --out "$out/demo" || status=1
"$py" - "$out/demo" <<'PY' || status=1
import json, pathlib, sys
files = sorted(p for p in pathlib.Path(sys.argv[1]).glob("results/*.json") if p.name[0] != ".")
devices = {tuple(json.loads(p.read_text())["extra_data"]["devices"]) for p in files}
print(len(files), "results; devices recorded:", devices)
sys.exit(0 if files and devices == {("cpu", "cuda")} else 1)
PY
step "done: $([ $status = 0 ] && echo PASSED || echo FAILED)"
exit $status
