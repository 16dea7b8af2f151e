#!/usr/bin/env bash
# Spread one santa sweep over several processes with `santa run --shard K/N`, then join the shard files with
# `santa merge`. Two ways:
#
#   Local, one process per GPU (or per CPU slot), merged at the end:
#     scripts/run_shards.sh local 4 experiments/p2_variance.yaml
#     (shard K runs with CUDA_VISIBLE_DEVICES=K; output results/<name>.shard-K-of-4.h5, merged into the spec's
#      output)
#
#   Slurm job array, one shard per task; merge once every task is done:
#     sbatch --array=0-7 --cpus-per-task=2 scripts/run_shards.sh slurm 8 experiments/p2_variance.yaml
#     scripts/run_shards.sh merge 8 experiments/p2_variance.yaml
#
# A killed shard is continued by running the same command again: every shard runs with --resume.
# Environment: SANTA (default ./build/santa), JOBS (threads per shard, default: Slurm's cpus-per-task or 1).
set -euo pipefail
mode=${1:-}
n=${2:-}
spec=${3:-}
if [[ -z "$mode" || -z "$n" || -z "$spec" ]]; then
  sed -n '2,17p' "$0"
  exit 2
fi
santa=${SANTA:-./build/santa}
jobs=${JOBS:-${SLURM_CPUS_PER_TASK:-1}}

# The spec's output path and the shard files santa names by default.
output=$(grep -E '^output:' "$spec" | sed -E 's/^output:[[:space:]]*//; s/[[:space:]]+#.*$//' || true)
if [[ -z "$output" ]]; then
  output="results/$(grep -E '^name:' "$spec" | sed -E 's/^name:[[:space:]]*//; s/[[:space:]]+#.*$//').h5"
fi
stem=${output%.h5}
shards=()
for ((k = 0; k < n; k++)); do shards+=("$stem.shard-$k-of-$n.h5"); done

case "$mode" in
  local)
    pids=()
    for ((k = 0; k < n; k++)); do
      CUDA_VISIBLE_DEVICES=$k "$santa" run "$spec" --shard "$k/$n" --jobs "$jobs" --resume &
      pids+=($!)
    done
    status=0
    for pid in "${pids[@]}"; do wait "$pid" || status=1; done
    if ((status != 0)); then
      echo "run_shards: a shard failed; rerun the same command to resume" >&2
      exit 1
    fi
    exec "$santa" merge --force "$output" "${shards[@]}"
    ;;
  slurm)
    k=${SLURM_ARRAY_TASK_ID:?run under sbatch --array=0-$((n - 1))}
    exec "$santa" run "$spec" --shard "$k/$n" --jobs "$jobs" --resume
    ;;
  merge)
    exec "$santa" merge --force "$output" "${shards[@]}"
    ;;
  *)
    echo "run_shards: unknown mode '$mode'; allowed: local, slurm, merge" >&2
    exit 2
    ;;
esac
