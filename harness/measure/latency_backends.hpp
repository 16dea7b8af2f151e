// The backends the latency runner times, one table entry each (ARCHITECTURE.md: adding a backend touches
// kernels/ or its adapter, this table, and the `backend` choices of the latency schema entry, which a test
// keeps equal to this table's names).
//
//   dense           our exact split-KV decode kernel
//   flash           S2ANTA-flash, exact-total per-tile budget (SANTA.md section 3)
//   prop            S2ANTA-prop with global-systematic budgets (exactly S, unbiased)
//   prop_reference  S2ANTA-prop with the published kernel's largest-remainder budgets (biased, for comparison)
//   prop_two_pass   S2ANTA-prop, global-systematic, in two launches (kernel variant 63: a key stream writing tile
//                   prefixes, then a thread per sample; d = 128, sm_80+): the same counts as prop, faster on Hopper
//   flashinfer      FlashInfer's decode kernels: every path this build has and the shape allows is timed, the
//                   fastest (by median) is the row's time, every path keeps its own columns and samples
//   torch_cudnn, torch_flash
//                   torch SDPA: rows appended by scripts/torch_sdpa_baseline.py --h5, never run by santa
#pragma once

#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "estimators/scheme.hpp"
#include "harness/core/point.hpp"
#include "harness/measure/latency_inputs.hpp"
#include "kernels/decode.hpp"

namespace santa::harness::measure {

enum class BackendFamily { exact, sampled };

// What a backend is handed for one point: the prepared inputs (on the GPU) and the point's sampling knobs.
struct BackendSetup {
  gpu::DecodeProblem problem;
  gpu::DecodeWorkspace* workspace = nullptr;
  gpu::SamplingRecord record;  // device arrays the untimed checked call fills (sampling backends)
  DecodeShape shape;
  int64_t S = 0, tile = 256;
  uint64_t rng_seed = 0;
};

// One timed way of running a backend: FlashInfer has several, the others one.
struct TimedPath {
  std::string name;                       // "" for single-path backends, else the FlashInfer path
  std::function<void(bool record)> call;  // enqueues one whole backend call on the default stream;
                                          // record = true also fills BackendSetup::record (untimed call)
  double extra_meta_bytes = 0.0;          // index structures this path reads besides q, lengths, page table
  double num_chunks = std::nan("");       // our kernels: CTAs per (sequence, KV head)
};

struct LatencyBackend {
  std::string name;
  std::string description;
  BackendFamily family = BackendFamily::exact;
  std::optional<santa::Scheme> scheme;  // sampling: the CPU scheme its draws follow (used by the check)
  bool run_by_harness = true;           // false: rows come from a script (torch)
  // Why this build cannot run the point ("" when it can); touches no GPU. Names the parameter to blame.
  std::optional<PointError> (*why_not)(const Point& point, const LatencyInputsSpec& inputs) = nullptr;
  // The timed paths for the prepared inputs (untimed: may allocate, plan and synchronise).
  std::vector<TimedPath> (*prepare)(const BackendSetup& setup) = nullptr;
  // Its workspace must hold the two-pass prop's prefix buffer (gpu::WorkspaceLimits::score_prefix: 4 bytes per
  // sequence, query head and position). The runner reserves it for the inputs of the first point that needs it.
  bool needs_score_prefix = false;
};

const std::vector<LatencyBackend>& latency_backends();
const LatencyBackend* find_latency_backend(std::string_view name);
std::vector<std::string> latency_backend_names();

// FlashInfer's paths in a fixed order (the per-path columns fi_<path>_median_us, ... and fi_best_path's code).
const std::vector<std::string>& flashinfer_path_names();
bool flashinfer_in_build();

// The workspace limits our kernels need for these inputs with sampling tiles of at least `min_tile` keys;
// score_prefix: with the two-pass prop's prefix buffer (LatencyBackend::needs_score_prefix).
gpu::WorkspaceLimits workspace_limits(const LatencyInputsSpec& inputs, int64_t min_tile, bool score_prefix = false);
// The smallest min_tile a workspace for these inputs may have (at most 4096 tiles per sequence).
int64_t smallest_min_tile(const LatencyInputsSpec& inputs);

}  // namespace santa::harness::measure
