// Host-side launch planning shared by the launchers (plain C++, no CUDA): the split of each sequence into
// chunks, shared-memory sizes, and the KernelParams of one call.
#pragma once

#include <cstddef>

#include "kernels/decode.hpp"
#include "kernels/detail/kernel_params.hpp"

namespace santa::gpu::detail {

struct Plan {
  int num_chunks = 0;
  int unit = 0;      // keys per unit of a chunk (the tile for sampling)
  int rows_max = 0;  // keys of the longest chunk
  std::size_t smem_bytes = 0;
  int64_t n_max = 0;
};

// Keys per CTA are capped (the sampling kernels keep the chunk's scores in shared memory).
inline constexpr int kDenseRowsCap = 4096;
// Call 4's split sweep (H200, 32k): prop is fastest with 4096-key chunks (B = 4: 108 vs 122 us, B = 16:
// 393 vs 413 us: fewer CTAs wait at its barrier), flash with 2048 (B = 16: 415 vs 439 us).
inline constexpr int kPropRowsCap = 4096;
inline constexpr int kFlashRowsCap = 2048;
inline constexpr int kDenseUnit = 64;
// Default L2 prefetch distances (16-key steps per warp) when LaunchOptions::prefetch_steps < 0.
inline constexpr int kDensePrefetch = 0;  // call 2: every distance > 0 was slower (extra DRAM reads)
inline constexpr int kSamplingPrefetch = 0;
// Automatic split: the chunk count minimising waves x (keys per CTA + a per-CTA fixed cost in key
// equivalents), with 2 resident CTAs per SM (1 for d = 256). The fixed costs (merge, sampling phases,
// barrier) were measured in call 1 (kernels/NOTES.md).
inline constexpr int kDenseCtaCostRows = 512;
inline constexpr int kSamplingCtaCostRows = 1024;

// key_ring_slots: the sampling kernel's cp.async key ring (sampling_key_ring), sized into smem_bytes.
Plan make_plan(KernelFamily family, const DecodeProblem& problem, int tile, const WorkspaceLimits& limits,
               int sm_count, int requested_chunks, int key_ring_slots = 0);
// 16-key steps per warp of the sampling kernels' cp.async key ring: 2 / 3 / 4 for variants 58 / 59 / 60, else 0
// (register loads).
inline int sampling_key_ring(const LaunchOptions& launch) {
  return launch.variant >= 58 && launch.variant <= 60 ? launch.variant - 56 : 0;
}

// The automatic split of the whole-row dense kernel (variant 7): one CTA per (chunk, sequence) and one per SM,
// so it minimises waves x (keys per CTA + the per-CTA cost) over CTAs = batch x chunks.
int rows_variant_chunks(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count);
// A split of the whole-row kernel (kernel_params.hpp: rows_range_begin): `ctas` ranges over the batch's
// steps, `steps_per_seq` of them per sequence; pieces_max = most CTAs any sequence is cut into (the partials'
// chunk stride), segments_max = most sequences any CTA touches.
struct RowsSplit {
  int ctas = 0;
  int64_t steps_per_seq = 0;
  int pieces_max = 0;
  int segments_max = 0;
};
RowsSplit rows_split_of(int batch, int64_t steps_per_seq, int ctas);
// Variant 7: a CTA per (chunk, sequence), chunks as the dense plan cuts them (requested, or
// rows_variant_chunks when 0).
RowsSplit rows_chunk_split(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count,
                           int requested_chunks);
// Variant 29: one CTA per SM, each the same number of steps of the whole batch (more CTAs where a CTA would
// otherwise touch more than kRowsMaxSegments sequences, fewer where a sequence would be cut into more than
// limits.max_chunks pieces; a CTA per sequence where both cannot hold otherwise).
RowsSplit rows_balanced_split(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count);
// Shared memory of the whole-row kernel: its ring, or the merge of all heads of a sequence if that is larger.
std::size_t rows_smem_bytes(const DecodeProblem& problem, const RowsSplit& split);
// Variants 29, 31 and 32 take the balanced split (31: 29's stream alone; 32: the same stream with the steps dealt
// round-robin over the CTAs; diagnostics).
bool rows_balanced(const LaunchOptions& launch);
// The split a whole-row call runs (the one choice for the launcher and split_info): balanced, which takes no
// num_chunks, or chunked. Throws std::invalid_argument for num_chunks with a balanced variant and for a split
// whose merge does not fit in the kernel's shared memory.
RowsSplit rows_split(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count,
                     const LaunchOptions& launch);
// Shapes the whole-row kernel serves: contiguous cache, 8 KV heads, d = 128, sm_90+ (the bulk copy engine).
bool rows_kernel_supports(const DecodeProblem& problem, int cc_major);
// Which dense kernel a call runs: the whole-row kernel only when variant 7, 29, 31 or 32 asks for it. Calls 11-12
// measured it 4-9 % faster than the per-KV-head kernel at batch 16 and chose it by default; call 13 measured it
// 20 % slower at the same points on the same GPU model (kernels/NOTES.md), so the default is the per-KV-head one.
bool use_rows_kernel(const LaunchOptions& launch);
// Variants 33-41, 49-51: the per-KV-head dense kernel streaming through cp.async (dense_async_kernel.cuh; KernelParams::
// async_mode = variant - 33 for 33-40, 8 for 41). d = 128 (its one instance), sm_80+ (cp.async); contiguous or
// paged, any group size.
bool use_async_kernel(const LaunchOptions& launch);
bool async_kernel_supports(const DecodeProblem& problem, int cc_major);
// Variants 52-54, 56, 57: the per-KV-head dense kernel with cuDNN's CTA-wide 128-key tiles through cp.async
// (dense_tile_kernel.cuh): the stages of its ring (52, 56, 57: 2, 53: 3, 54: 1 = one K and one V buffer), 0 for any
// other variant. Same shapes as the cp.async kernel (async_kernel_supports).
int tile_kernel_stages(const LaunchOptions& launch);
// How the per-KV-head dense kernel walks its keys: l2_hint for variant 42, lockstep for 44, pipelined for 45,
// plain otherwise (kernel_params.hpp). Variants other than plain serve d = 128 only (their one instance).
DenseLoop dense_loop(const LaunchOptions& launch);
// The per-KV-head dense kernels' plan: the requested chunks, else the default split (make_plan), or for the
// kernels compiled for one CTA per SM (the cp.async and CTA-wide-tile variants, whose rings take 64-192 KB, and the
// pipelined loop)
// the cheapest split with one resident CTA per SM; shared memory for the cp.async ring or the combine / merge,
// whichever is larger.
Plan dense_plan(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, const LaunchOptions& launch);
// What a dense call runs: `launch` itself, except that the default (variant 0, automatic split) becomes the
// CTA-wide-tile kernel (variant 52) where it serves the shape (d = 128, a contiguous cache or pages of >= 16 rows,
// sm_80+) and its one-CTA-per-SM
// split gives chunks of at least kTileMinKeys keys. Call 57 (NVIDIA H200, x = cuDNN / ours in the same run): B = 16,
// 32k 489.7 us against cuDNN's 483.3 and the register-load kernel's 531.7; B = 4, 32k 137.0 / 138.1 / 147.5; B = 1,
// 128k 139.6 against 149.9; but B = 1, 32k (chunks of 2048 keys) 51.8 against 48.5 and B = 4, 8k 48.7 against 46.2:
// short CTAs pay the ring's fill.
// The plan is dense_plan's for the chosen launch (empty for the whole-row kernel, which has its own split).
inline constexpr int64_t kTileMinKeys = 4096;
struct DenseKernel {
  LaunchOptions launch;
  Plan plan;
};
DenseKernel dense_kernel_for(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, int cc_major,
                               const LaunchOptions& launch);
// Diagnostic variants 21 / 22 / 23: 16 / 32 / 48 KB of unused dynamic shared memory per CTA on top of what the
// kernel needs, so the SM's shared-memory carveout grows and its L1 shrinks at the same occupancy (call 29: the
// key stream slowed by half when 48 KB of gather staging were added). 0 otherwise.
std::size_t smem_padding(const LaunchOptions& launch);

// Variants 61 / 62: S2ANTA-prop (global-systematic) in two launches (score_prefix_kernel.cuh with 3 K tiles in its
// ring, then prop_sampled_kernel.cuh in CTAs of 256 threads, 2 per SM / 128 threads, 4 per SM); 0 for any other
// variant. (v:62 was pass 1 with 4 tiles until call 67, then pass 2 at 256 x 3 in call 71: neither faster.)
// Variant 63: v:61 with pass 2 placing each sample by a binary search in its tile's prefix (a thread per sample)
// instead of counting every key of every sampled tile (a warp per tile).
// Variant 65: v:63 with 2 K tiles in pass 1's ring (76 KB at tile 256, G = 4: 3 CTAs per SM, 12 warps, against 8
// with 3 tiles).
// Diagnostics (benchmarks only; no output is written): pass 1 of v:63 alone, writing its prefixes as v:63 does (67),
// into an 8 MB ring that L2 could hold (68), or not at all (69): what the prefixes' DRAM writes cost the key stream.
inline bool two_pass_pass1_only(const LaunchOptions& launch) { return launch.variant >= 67 && launch.variant <= 69; }
inline int two_pass_prefix_mode(const LaunchOptions& launch) {
  return launch.variant == 68 ? kPrefixRing : launch.variant == 69 ? kPrefixNone : 0;
}
inline int two_pass_stages(const LaunchOptions& launch) {
  if (launch.variant == 65) return 2;
  return (launch.variant >= 61 && launch.variant <= 63) || two_pass_pass1_only(launch) ? 3 : 0;
}
inline Pass2Shape two_pass_pass2(const LaunchOptions& launch) {
  if (two_pass_pass1_only(launch)) return Pass2Shape{0, 4, true};  // threads 0: no pass 2
  if (launch.variant == 63 || launch.variant == 65) return Pass2Shape{256, 4, true};  // 63 registers: 4 CTAs per SM
  return launch.variant == 62 ? Pass2Shape{128, 4, false} : Pass2Shape{256, 2, false};
}
// The CTA-wide-tile key streams (score_prefix_kernel.cuh, flash_stream_kernel.cuh): chunks of whole super tiles
// (score_prefix_super) split as the CTA-wide-tile dense kernel's, for the CTAs per SM that smem_bytes allows
// (requested_chunks > 0 forces the split). static_bytes: the kernel's static shared memory (ptxas), rounded up.
inline constexpr std::size_t kScorePrefixStaticSmem = 2560, kFlashStaticSmem = 2304;  // ptxas: 2560, 2176 bytes
Plan tile_stream_plan(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, int tile,
                      std::size_t smem_bytes, std::size_t static_bytes, int requested_chunks);
// Variant 64: S2ANTA-flash in one key stream (flash_stream_kernel.cuh; d = 128, sm_80+), and its split.
inline bool flash_stream(const LaunchOptions& launch) { return launch.variant == 64; }
Plan flash_stream_plan(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, int tile,
                       int requested_chunks);
// Pass 1: tile_stream_plan with its ring and score buffers. Pass 2: one CTA per (query head, sequence),
// at most `entries` = min(tiles, S) sampled tiles, `stage` of them per round, split over `parts` CTAs per head where
// the batch's heads would leave SMs idle (their partial sums merged by the last to arrive).
inline constexpr int kMaxSampledParts = 8;
inline constexpr std::size_t kPass2StaticSmem = 2560;  // pass 2's static shared memory (ptxas: 2432 bytes), rounded up
struct TwoPassPlan {
  Plan pass1;
  int entries = 0;
  int stage = 0;
  int parts = 1;
  Pass2Shape pass2;
  std::size_t pass2_smem = 0;
};
TwoPassPlan two_pass_plan(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, int tile,
                          int64_t samples, int stages, int requested_chunks, Pass2Shape pass2 = {});

// Variants 70-72: S2ANTA-prop in one persistent launch (prop_fused_kernel.cuh; d = 128, sm_80+). 70: K copies
// marked evict-first in L2 (so the prefix ring stays there); 71: no cache hints; 72: 70 with the prefix stores also
// marked evict-last.
// Diagnostics (benchmarks only; no output is written): 73 = 70 whose sample items only wait for their KV head's
// stream (what the sampling work costs the persistent grid).
inline bool prop_fused(const LaunchOptions& launch) { return launch.variant >= 70 && launch.variant <= 73; }
inline int prop_fused_mode(const LaunchOptions& launch) {
  return (launch.variant == 71 ? 0 : kKeyEvictFirst) | (launch.variant == 72 ? kPrefixEvictLast : 0) |
         (launch.variant == 73 ? kFusedNoSampling : 0);
}
// Its schedule: `stream` = the stream items' split (chunks of whole super tiles, items of 1-2k keys where the batch
// has enough of them for ~4 per CTA); pass 2's `parts`, `entries` and `stage` as two_pass_plan's; `grid` the CTAs
// the shared memory lets reside (2 per SM at G = 4, tile 256); `lag` and `slots` (KV heads) of the schedule and
// prefix ring (prop_fused_kernel.cuh).
struct FusedPlan {
  Plan stream;
  int parts = 1, entries = 0, stage = 0, grid = 0, lag = 1, slots = 1;
};
inline constexpr std::size_t kFusedStaticSmem = 4096;  // the persistent kernel's static shared memory (ptxas: 3968 bytes), rounded up
FusedPlan fused_plan(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, int tile,
                     int64_t samples, int requested_chunks);

KernelParams make_params(const DecodeProblem& problem, const DecodeWorkspace& workspace, const Plan& plan,
                         const LaunchOptions& launch, KernelFamily family);

}  // namespace santa::gpu::detail
