#!/usr/bin/env bash
# The kernels' one device script (issue 4): in ONE call on the GPU machine, build (all cores), run the
# kernel tests, compute-sanitizer memcheck + racecheck on a small filter, the bandwidth probe and the kernel
# benchmarks, the torch SDPA baselines (same GPU, same call), a few Nsight Compute figures and SASS counts,
# then print the summary table last. Usage, from the repository root:
#     bash scripts/gpu_run.sh                # everything
#   env: OUT (default ./out), SANTA_SKIP_SANITIZE=1, SANTA_SKIP_TORCH=1, SANTA_SKIP_NCU=1,
#        SANTA_BENCH_FILTER=REGEX (Google Benchmark filter of what follows the family name, e.g.
#        '(_gs)?(/S:128)?/B:16/n:32768(/v:2)?/iter'), SANTA_NCU_FILTER=REGEX (the points Nsight Compute
#        profiles), SANTA_NCU_EXTRA=METRICS (more ncu metrics, comma-separated), SANTA_PHASE_CLOCK=1 (per-phase
#        CTA timings in the bench counters), SANTA_CUDA_ARCHS (default 90), SANTA_NCU_SOURCE=REGEX[;REGEX...] (one point each
#        profiled with warp-stall sampling per source line: ncu_source.txt; the build then adds -lineinfo),
#        SANTA_TORCH_SPECS='B:n n ...;B:n ...' (the torch baseline points; default: every point of the tables),
#        SANTA_NCU_TORCH=B:n (Nsight Compute of the cuDNN SDPA kernels at that point: ncu_cudnn.txt),
#        SANTA_MEMCHECK_FILTER / SANTA_RACECHECK_FILTER=GTEST_FILTER (the sanitizers' tests; default: a fixed subset)
# Files left in $OUT (at most 8): summary.md, points.csv, bench.json (merged), torch.csv, ncu.txt, tests.txt,
# logs.tar.gz (every log: build with ptxas -v, ctest, sanitizers, per-family bench output, SASS counts, env).
# Steps run in order of value (build, tests, benchmarks, baselines, then sanitizers, ncu) within the budget.
set -uo pipefail
cd "$(dirname "$0")/.."
# The bench filter follows the family name (^dense, ^flash, ^prop are prepended): a leading ^ would match nothing.
if [[ "${SANTA_BENCH_FILTER:-}" == ^* ]]; then
  echo "SANTA_BENCH_FILTER='$SANTA_BENCH_FILTER' starts with ^, but it is matched after the family name" \
       "(e.g. '/B:16/n:32768/iter'); drop the ^" >&2
  exit 2
fi
OUT=${OUT:-$PWD/out}
LOGS=$(mktemp -d /tmp/santa-gpu-logs.XXXX)
mkdir -p "$OUT"
J=$(nproc)
BUILD=build-kern
step() { echo "== $(date +%T) [${SECONDS}s] $*"; }
# The device call's command limit is 600 s: optional steps run only while enough of SANTA_TIME_BUDGET is left.
BUDGET=${SANTA_TIME_BUDGET:-570}
left() { (( BUDGET - SECONDS >= $1 )); }
cap() { local r=$(( BUDGET - SECONDS - 15 )); (( r < $1 )) && echo $(( r > 10 ? r : 10 )) || echo "$1"; }
finish() {
  tar czf "$OUT/logs.tar.gz" -C "$LOGS" . 2>/dev/null
  [[ -f "$OUT/summary.md" ]] && { echo; cat "$OUT/summary.md"; }
}
trap finish EXIT

step "environment"
{ nvidia-smi; nvidia-smi -q -d CLOCK; nvcc --version; cmake --version; git log -1 --format='commit %H %s' 2>/dev/null;
  git status --short 2>/dev/null | head -20; } > "$LOGS/env.txt" 2>&1
grep -m1 -E "H100|H200|NVIDIA" "$LOGS/env.txt" || true

step "configure + build (-j$J)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSANTA_BUILD_BENCH=ON -DSANTA_PTXAS_VERBOSE=ON \
      -DSANTA_ENABLE_FLASHINFER=OFF -DCMAKE_CUDA_ARCHITECTURES="${SANTA_CUDA_ARCHS:-90}" \
      ${SANTA_NCU_SOURCE:+-DCMAKE_CUDA_FLAGS=-lineinfo} > "$LOGS/build.log" 2>&1 &&
  cmake --build "$BUILD" -j"$J" --target santa_tests_kernels santa_bench_kernels >> "$LOGS/build.log" 2>&1
if [[ $? -ne 0 ]]; then
  grep -E "error|Error" "$LOGS/build.log" | head -40
  exit 1
fi
# registers / spills / shared memory of every decode kernel
grep -A2 "Compiling entry function '.*decode_kernel" "$LOGS/build.log" | grep -E "entry|spill|registers" |
  sed -E "s/.*entry function '([^']*)'.*/\1/" | paste - - - > "$LOGS/ptxas.txt"
cut -c1-220 "$LOGS/ptxas.txt" | head -24

step "kernel tests (ctest -L kernels)"
timeout $(cap 240) ctest --test-dir "$BUILD" -L kernels --output-on-failure -j4 --timeout 200 > "$LOGS/ctest.log" 2>&1
CTEST_RC=$?
{ echo "ctest -L kernels: rc=$CTEST_RC"; grep -E "tests passed|tests failed|\*\*\*Failed|Not Run|Timeout" "$LOGS/ctest.log" | head -40; } | tee "$OUT/tests.txt"

step "bandwidth probe + kernel benchmarks (one process per family: a failure cannot take the others down)"
BENCH=()
for fam in dense flash prop; do
  filter="^${fam}"
  [[ -n "${SANTA_BENCH_FILTER:-}" ]] && filter="^${fam}(${SANTA_BENCH_FILTER})"
  timeout $(cap 200) "$BUILD/bench/santa_bench_kernels" --benchmark_out="$LOGS/bench_$fam.json" \
    --benchmark_out_format=json --benchmark_filter="$filter" > "$LOGS/bench_$fam.txt" 2>&1
  echo "bench $fam rc=$? $(head -1 "$LOGS/bench_$fam.txt")"
  [[ -s "$LOGS/bench_$fam.json" ]] && BENCH+=("$LOGS/bench_$fam.json")
done

TORCH=()
if [[ "${SANTA_SKIP_TORCH:-0}" != "1" ]]; then
  step "torch SDPA baselines (cuDNN, flash)"
  export PYTHONUNBUFFERED=1
  i=0
  IFS=';' read -r -a SPECS <<< "${SANTA_TORCH_SPECS:-1:4096 8192 16384 32768 65536 131072;4:8192 32768 131072;16:8192 32768 65536}"
  for spec in "${SPECS[@]}"; do
    b=${spec%%:*}; ns=${spec#*:}; i=$((i + 1))
    # shellcheck disable=SC2086
    timeout $(cap 150) python3 scripts/torch_sdpa_baseline.py --batch "$b" --n-k $ns --warmup 10 --iters 40 \
      --csv "$LOGS/torch_$i.csv" >> "$LOGS/torch.log" 2>&1 || echo "torch run $i failed (see torch.log)"
    [[ -f "$LOGS/torch_$i.csv" ]] && TORCH+=("$LOGS/torch_$i.csv")
  done
  if [[ ${#TORCH[@]} -gt 0 ]]; then
    head -1 "${TORCH[0]}" > "$OUT/torch.csv"
    for f in "${TORCH[@]}"; do tail -n +2 "$f" >> "$OUT/torch.csv"; done
  fi
  tail -4 "$LOGS/torch.log"
fi

if [[ "${SANTA_SKIP_SANITIZE:-0}" != "1" ]] && left 200; then
  T="$BUILD/tests/santa_tests_kernels"
  MEM=${SANTA_MEMCHECK_FILTER:-'AllSupported/DenseShapes.MatchesFp64Reference/d128_G4_bf16_*:SamplingVariants.*:SamplingPhaseClock.*:DenseDecode.LaunchVariants*:DenseDecode.WholeRow*:DenseDecode.BalancedWholeRow*:DenseDecode.Async*:DenseDecode.DefaultPicks*:Kernels/SamplingCounts.EqualCpuReferenceExactly/*_d128_G4_bf16_S*_tile256:Kernels/SamplingCounts.EqualCpuReferenceExactly/*_d64_G8_fp16_*:SamplingDeterminism.CudaGraph*'}
  RACE=${SANTA_RACECHECK_FILTER:-'AllSupported/DenseShapes.MatchesFp64Reference/d128_G4_bf16_contiguous:DenseDecode.LaunchVariants*:DenseDecode.WholeRow*:DenseDecode.BalancedWholeRow*:DenseDecode.Async*:Kernels/SamplingCounts.EqualCpuReferenceExactly/prop_global_systematic_d128_G4_bf16_S128_tile256:Kernels/SamplingCounts.EqualCpuReferenceExactly/flash_exact_d64_G8_fp16_S100_tile64'}
  step "compute-sanitizer memcheck"
  export SANTA_SANITIZER_SUBSET=1  # tests that honour it run a sanitizer-sized subset of their cases
  timeout $(cap 150) compute-sanitizer --tool memcheck --error-exitcode 9 "$T" --gtest_filter="$MEM" > "$LOGS/memcheck.log" 2>&1
  echo "memcheck rc=$? $(grep -E 'ERROR SUMMARY|PASSED|FAILED' "$LOGS/memcheck.log" | tail -3 | tr '\n' ' ')" | tee -a "$OUT/tests.txt"
  step "compute-sanitizer racecheck"
  timeout $(cap 150) compute-sanitizer --tool racecheck --error-exitcode 9 "$T" --gtest_filter="$RACE" > "$LOGS/racecheck.log" 2>&1
  echo "racecheck rc=$? $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY|PASSED|FAILED' "$LOGS/racecheck.log" | tail -3 | tr '\n' ' ')" | tee -a "$OUT/tests.txt"
fi

# SANTA_NCU_KERNELS: the kernels ncu profiles (a regex; default: every decode kernel of the library).
NCU_KERNELS=${SANTA_NCU_KERNELS:-decode_kernel|rows_kernel|async_kernel|tile_kernel|prefix_kernel|sampled_kernel}
if [[ "${SANTA_SKIP_NCU:-0}" != "1" ]] && left 90; then
  step "Nsight Compute (clocks untouched)"
  SANTA_BENCH_ITERS=1 timeout $(cap 120) ncu --clock-control none -k "regex:$NCU_KERNELS" \
    --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,lts__t_bytes.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,sm__warps_active.avg.pct_of_peak_sustained_active,launch__registers_per_thread,launch__occupancy_limit_registers,launch__occupancy_limit_shared_mem,launch__grid_size,smsp__inst_executed.sum${SANTA_NCU_EXTRA:+,$SANTA_NCU_EXTRA} \
    "$BUILD/bench/santa_bench_kernels" --benchmark_filter="${SANTA_NCU_FILTER:-^(dense|prop_gs/S:128|flash/S:2048)/B:(1|16)/n:32768/iter}" \
    > "$OUT/ncu.txt" 2>&1
  echo "ncu rc=$?"; grep -cE "(decode|rows|async|tile|prefix|sampled)_kernel<" "$OUT/ncu.txt"
  step "SASS counts"
  cuobjdump --dump-sass "$BUILD/kernels/libsanta_kernels.a" 2>/dev/null | awk '
    /Function :/ { if (fn != "") print fn, ldg128, ldg, hmma, ldl, stl, bar; fn=$3; ldg128=ldg=hmma=ldl=stl=bar=0; next }
    /LDG\.E\.128|LDG\.E\.ENL2\.128|LDG.*\.128/ { ldg128++ }
    /LDG/ { ldg++ } /HMMA/ { hmma++ } /LDL/ { ldl++ } /STL/ { stl++ } /BAR\.SYNC/ { bar++ }
    END { if (fn != "") print fn, ldg128, ldg, hmma, ldl, stl, bar }' |
    grep decode_kernel | sed 's/^/function LDG128 LDG HMMA LDL STL BAR: /' > "$LOGS/sass.txt"
  cut -c1-200 "$LOGS/sass.txt" | head -12
fi

# SANTA_NCU_SOURCE may list several points, separated by ';': ncu_source.txt, ncu_source_2.txt, ...
IFS=';' read -r -a SOURCE_POINTS <<< "${SANTA_NCU_SOURCE:-}"
for i in "${!SOURCE_POINTS[@]}"; do
  left 60 || break
  point="${SOURCE_POINTS[$i]}"; suffix=$([[ $i -eq 0 ]] && echo "" || echo "_$((i + 1))")
  step "Nsight Compute warp-stall sampling per source line: ${point}"
  SANTA_BENCH_ITERS=1 timeout $(cap 90) ncu --clock-control none -k "regex:$NCU_KERNELS" --launch-count 1 \
    --section SourceCounters --section WarpStateStats -o "$LOGS/src$suffix" -f \
    "$BUILD/bench/santa_bench_kernels" --benchmark_filter="${point}" > "$LOGS/ncu_src$suffix.log" 2>&1
  echo "ncu source rc=$?"
  { ncu --import "$LOGS/src$suffix.ncu-rep" --page details --section WarpStateStats 2>&1 | grep -vE "^==" | head -60
    ncu --import "$LOGS/src$suffix.ncu-rep" --page source --csv --print-source sass > "$LOGS/src_sass$suffix.csv" 2>&1
    python3 scripts/ncu_hotspots.py "$LOGS/src_sass$suffix.csv" --top 30 2>&1; } > "$OUT/ncu_source$suffix.txt" 2>&1
  tail -c 3000 "$OUT/ncu_source$suffix.txt"
done

if [[ -n "${SANTA_NCU_TORCH:-}" ]] && left 60; then
  # The best dense baseline's own kernels (torch SDPA, cuDNN backend) under Nsight Compute: launch shape,
  # memory workload, instruction mix and warp-stall hot spots, to see how it reads the NHD cache.
  b=${SANTA_NCU_TORCH%%:*}; n=${SANTA_NCU_TORCH#*:}
  step "Nsight Compute of torch SDPA / cuDNN at B=$b n_k=$n"
  timeout $(cap 120) ncu --clock-control none --profile-from-start off --section LaunchStats --section Occupancy \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section MemoryWorkloadAnalysis_Tables \
    --section InstructionStats --section SchedulerStats --section WarpStateStats --section SourceCounters \
    --metrics dram__bytes_read.sum,lts__t_sector_op_read_hit_rate.pct,lts__t_bytes.sum,smsp__inst_executed.sum,launch__cluster_dim_x,launch__cluster_dim_y,launch__cluster_dim_z,sass__inst_executed_per_opcode \
    -o "$LOGS/cudnn" -f python3 scripts/torch_sdpa_baseline.py --batch "$b" --n-k "$n" --backends cudnn \
    --warmup 2 --iters 2 --profile-range > "$LOGS/ncu_cudnn.log" 2>&1
  echo "ncu cudnn rc=$?"
  { ncu --import "$LOGS/cudnn.ncu-rep" --page details --print-details all 2>&1 | grep -vE "^==" | head -400
    echo "---- raw (selected) ----"
    ncu --import "$LOGS/cudnn.ncu-rep" --page raw --print-metric-instances values 2>&1 |
      grep -E "Function Name|grid|block|cluster|dram__bytes_read.sum |lts__t_sector_op_read_hit_rate|sass__inst_executed_per_opcode|smsp__inst_executed.sum |registers|shared_mem" | head -60
    ncu --import "$LOGS/cudnn.ncu-rep" --page source --csv --print-source sass > "$LOGS/cudnn_sass.csv" 2>&1
    python3 scripts/ncu_hotspots.py "$LOGS/cudnn_sass.csv" --top 40 2>&1; } > "$OUT/ncu_cudnn.txt" 2>&1
  grep -m3 -iE "Function Name|Grid Size|Block Size" "$OUT/ncu_cudnn.txt"
fi

step "summary"
python3 bench/kernels/summarize.py --bench "${BENCH[@]}" --merged "$OUT/bench.json" ${TORCH:+--torch "$OUT/torch.csv"} \
  --md "$OUT/summary.md" --csv "$OUT/points.csv" > "$LOGS/summary.log" 2>&1 || tail -20 "$LOGS/summary.log"
