#!/usr/bin/env bash
# Fetch what the GPU check needs on an offline CUDA machine that already has Python, PyTorch
# (CUDA build), numpy, pyyaml, click, markdown-it-py, matplotlib, pytest and pytest-xdist:
# the project's other pure-Python dependencies as wheels into .whl/, and bubblewrap as a .deb
# into .deb/. Run it where PyPI and a Debian/Ubuntu mirror are reachable; then carry both
# folders and run scripts/gpu-check.sh there.
#
#   scripts/gpu-wheels.sh [PYTHON_VERSION]     (default 3.12: the target machine's Python)
set -euo pipefail
cd "$(dirname "$0")/.."
py="${1:-3.12}"
mkdir -p .whl .deb
pkgs=(
    mdit-py-plugins nbformat fastjsonschema jsonschema jsonschema-specifications referencing
    rpds-py traitlets jupyter-core platformdirs pyseccomp
    ipython ipython-pygments-lexers jedi parso matplotlib-inline pexpect ptyprocess prompt-toolkit
    wcwidth stack-data asttokens executing pure-eval fsrs
)
plats=()
for n in 17 24 27 28 31 34; do plats+=(--platform "manylinux_2_${n}_x86_64"); done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$py" \
    --implementation cp "${plats[@]}" --platform manylinux2014_x86_64 -d .whl "${pkgs[@]}"
(cd .deb && apt-get download -q bubblewrap)
ls -1 .whl .deb
du -sh .whl .deb
