#!/usr/bin/env bash
# P1 on a GPU machine in ONE call (issue 5): build santa with FlashInfer (all cores), run
# experiments/p1_latency.yaml, append the torch SDPA rows for the same (batch, n_k) grid, draw the figures,
# and print the speedup table last. From the repository root, with the FlashInfer headers in
# third_party/flashinfer (device tool: carry ["third_party/flashinfer"]):
#     bash scripts/gpu_latency.sh
#   env: OUT (default ./out), SANTA_SKIP_TORCH=1, SANTA_LAT_TESTS=1 (also build and run the latency GPU tests),
#        SANTA_GIT_COMMIT (recorded in the results where the copy has no .git),
#        SANTA_CUDA_ARCHS (default 90: H100 and H200), SANTA_TIME_BUDGET (seconds, default 570)
# Files left in $OUT: p1_latency.h5 (santa's rows + torch rows, every timing sample), torch.csv,
# latency_vs_nk.png, speedup.png, bandwidth.png, speedup.md, logs.tar.gz (build, santa, torch, plot, env).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
LOGS=$(mktemp -d /tmp/santa-lat-logs.XXXX)
J=$(nproc)
BUILD=build-lat
RESULT="$OUT/p1_latency.h5"
BUDGET=${SANTA_TIME_BUDGET:-570}  # the device call's limit is 600 s
step() { echo "== $(date +%T) [${SECONDS}s] $*"; }
cap() { local r=$(( BUDGET - SECONDS - 15 )); (( r < $1 )) && echo $(( r > 10 ? r : 10 )) || echo "$1"; }
finish() {
  tar czf "$OUT/logs.tar.gz" -C "$LOGS" . 2>/dev/null
  if [[ -f "$OUT/speedup.md" ]]; then echo; echo "== speedup table ($OUT/speedup.md)"; cat "$OUT/speedup.md"; fi
}
trap finish EXIT

step "environment"
{ nvidia-smi; nvidia-smi -q -d CLOCK; nvcc --version; cmake --version; python3 -c "import torch; print('torch', torch.__version__)";
  git log -1 --format='commit %H %s' 2>/dev/null; git status --short 2>/dev/null | head -20; } > "$LOGS/env.txt" 2>&1
grep -m1 -E "H100|H200|NVIDIA" "$LOGS/env.txt" || true

step "configure + build santa with FlashInfer (-j$J)"
if [[ ! -f third_party/flashinfer/include/flashinfer/attention/decode.cuh ]]; then
  echo "gpu_latency.sh: third_party/flashinfer is missing: run scripts/fetch_flashinfer.sh on a machine with internet" \
       "and carry the folder (device tool: carry [\"third_party/flashinfer\"])" >&2
  exit 1
fi
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSANTA_BUILD_BENCH=OFF -DSANTA_GIT_COMMIT="${SANTA_GIT_COMMIT:-}" \
      -DSANTA_BUILD_TESTS="$([[ "${SANTA_LAT_TESTS:-0}" == "1" ]] && echo ON || echo OFF)" \
      -DCMAKE_CUDA_ARCHITECTURES="${SANTA_CUDA_ARCHS:-90}" > "$LOGS/build.log" 2>&1
grep -E "FlashInfer backend|CUDA kernels" "$LOGS/build.log"
if ! grep -q "FlashInfer backend ON" "$LOGS/build.log"; then
  echo "gpu_latency.sh: CMake did not enable FlashInfer (see the line above); stopping" >&2
  tail -20 "$LOGS/build.log"
  exit 1
fi
TARGETS=(santa)
[[ "${SANTA_LAT_TESTS:-0}" == "1" ]] && TARGETS+=(santa_tests_harness)
if ! cmake --build "$BUILD" -j"$J" --target "${TARGETS[@]}" >> "$LOGS/build.log" 2>&1; then
  grep -E "error|Error" "$LOGS/build.log" | head -40
  exit 1
fi
"$BUILD/santa" info | tee "$LOGS/santa_info.txt" | grep -E "GPU|commit"

if [[ "${SANTA_LAT_TESTS:-0}" == "1" ]]; then
  step "latency tests (GPU ones included)"
  timeout "$(cap 120)" "$BUILD/tests/santa_tests_harness" --gtest_filter='Latency*' > "$LOGS/tests.log" 2>&1
  echo "latency tests rc=$?"; grep -E "PASSED|FAILED|SKIPPED" "$LOGS/tests.log" | tail -12
fi

step "santa run experiments/p1_latency.yaml"
# SIGTERM from timeout makes santa finish the file with every point done so far (status: interrupted).
timeout "$(cap 330)" "$BUILD/santa" run experiments/p1_latency.yaml -o "$RESULT" --force > "$LOGS/santa.log" 2>&1
SANTA_RC=$?
tail -8 "$LOGS/santa.log"
grep "check failed" "$LOGS/santa.log" | head -20
echo "santa run rc=$SANTA_RC"
if [[ ! -f "$RESULT" ]]; then
  echo "gpu_latency.sh: no result file; see above" >&2
  exit 1
fi

if [[ "${SANTA_SKIP_TORCH:-0}" != "1" ]]; then
  step "torch SDPA (cuDNN, flash) on the same (batch, n_k) grid, appended to the result file"
  PYTHONUNBUFFERED=1 timeout "$(cap 150)" python3 scripts/torch_sdpa_baseline.py --batch 1 4 16 \
    --n-k 4096 8192 16384 32768 65536 131072 --warmup 10 --iters 40 --csv "$OUT/torch.csv" --h5 "$RESULT" \
    > "$LOGS/torch.log" 2>&1
  echo "torch rc=$?"; tail -5 "$LOGS/torch.log"
fi

step "figures and tables"
python3 scripts/plot_latency.py "$RESULT" --out "$OUT" > "$LOGS/plot.log" 2>&1
PLOT_RC=$?
grep "^# wrote" "$LOGS/plot.log"
if [[ $PLOT_RC -ne 0 ]]; then tail -20 "$LOGS/plot.log"; fi
step "done (santa rc=$SANTA_RC, plot rc=$PLOT_RC)"
[[ $SANTA_RC -eq 0 && $PLOT_RC -eq 0 ]]
