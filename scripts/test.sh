#!/usr/bin/env bash
# The README's test command (and CI's): install what is missing, build, run the whole suite with CTest,
# then again with AddressSanitizer + UndefinedBehaviorSanitizer (host code; set SANTA_SKIP_SANITIZE=1 to skip).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

if [[ "${SANTA_SKIP_SANITIZE:-0}" != "1" ]]; then
  # Unity batches and -O1 keep the instrumented build near 3 minutes on 2 cores (vs ~17 without).
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSANTA_SANITIZE=ON -DSANTA_ENABLE_CUDA=OFF \
        -DSANTA_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1"
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE slow
fi
echo "test.sh: all tests passed"
