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

Plan make_plan(KernelFamily family, const DecodeProblem& problem, int tile, const WorkspaceLimits& limits,
               int sm_count, int requested_chunks);

// The automatic split of the whole-row dense kernels (variants 7, 27, 28): one CTA per (chunk, sequence),
// `ctas_per_sm` resident per SM, so it minimises waves x (keys per CTA + the per-CTA cost) over CTAs = batch x chunks.
int rows_variant_chunks(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, int ctas_per_sm = 1);
// Shapes the whole-row kernel serves: contiguous cache, 8 KV heads, d = 128, sm_90+ (the bulk copy engine).
bool rows_kernel_supports(const DecodeProblem& problem, int cc_major);
// Which dense kernel a call runs: the whole-row kernel only when variant 7 asks for it. Calls 11-12
// measured it 4-9 % faster than the per-KV-head kernel at batch 16 and chose it by default; call 13 measured it
// 20 % slower at the same points on the same GPU model (kernels/NOTES.md), so the default is the per-KV-head one.
bool use_rows_kernel(const LaunchOptions& launch);
// The TMA-stream dense kernels: steps in flight per warp for variants 25 / 27 (1) and 26 / 28 (2), 0 for every
// other variant (the default runs the per-KV-head kernel with 16-byte loads). 25 / 26: dense_tma_kernel.cuh (the
// default's CTA per (chunk, KV head, sequence)); 27 / 28: whole rows (dense_rows_kernel.cuh: CTA per (chunk,
// sequence), warp per KV head; the shapes of variant 7).
int dense_tma_slots(const LaunchOptions& launch);
bool use_rows_tma_kernel(const LaunchOptions& launch);
// Rejects (std::invalid_argument, naming what is wrong) a problem the TMA-stream kernel cannot serve: it needs
// a contiguous cache, an sm_90 GPU or newer, batch x max_len < 2^31 rows (TMA coordinates are 32-bit), K and V
// 16-byte aligned, and head_dim <= 128 for two slots (the ring would not fit in shared memory at 256).
// `variant` names the caller in the message.
void check_tma_kernel(const DecodeProblem& problem, int cc_major, int slots, int variant);
// Diagnostic variants 21 / 22 / 23: 16 / 32 / 48 KB of unused dynamic shared memory per CTA on top of what the
// kernel needs, so the SM's shared-memory carveout grows and its L1 shrinks at the same occupancy (call 29: the
// key stream slowed by half when 48 KB of gather staging were added). 0 otherwise.
std::size_t smem_padding(const LaunchOptions& launch);

KernelParams make_params(const DecodeProblem& problem, const DecodeWorkspace& workspace, const Plan& plan,
                         const LaunchOptions& launch, KernelFamily family);

}  // namespace santa::gpu::detail
