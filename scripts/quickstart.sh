#!/usr/bin/env bash
# The README's first command: install what is missing, configure, build, and run the default job
# (experiments/quickstart.yaml, a CPU sweep of under a minute) into out/quickstart.h5 plus figures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh --with-python
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)" --target santa
mkdir -p out
./build/santa run experiments/quickstart.yaml -o out/quickstart.h5 --force --jobs "$(nproc)"
if python3 -c "import h5py, numpy, matplotlib" 2>/dev/null; then
  python3 scripts/plot_results.py out/quickstart.h5 --out out
else
  echo "quickstart: python3 h5py/numpy/matplotlib not found; skipping figures" >&2
fi
