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

// Keys per CTA are capped (the sampling kernels keep the chunk's scores in shared memory); the automatic
// split aims at about 4 CTAs per SM in total so that batch 1 still fills the GPU (>= 2 waves of 2 CTAs/SM).
inline constexpr int kDenseRowsCap = 8192;
inline constexpr int kSamplingRowsCap = 2048;
inline constexpr int kDenseUnit = 64;

Plan make_plan(KernelFamily family, const DecodeProblem& problem, int tile, const WorkspaceLimits& limits,
               int sm_count, int requested_chunks);

KernelParams make_params(const DecodeProblem& problem, const DecodeWorkspace& workspace, const Plan& plan);

}  // namespace santa::gpu::detail
