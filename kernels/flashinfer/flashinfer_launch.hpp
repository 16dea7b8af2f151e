// Internal seam between the FlashInferDecoder class (flashinfer_decode.cpp, host C++) and the translation
// units that instantiate FlashInfer's templates (one .cu per path and dtype, so they compile in parallel).
// Plain C++ so that the class needs no nvcc; streams travel as void* (cudaStream_t).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/decode_types.hpp"

namespace santa::gpu::flashinfer_detail {

// The only head dimension instantiated (a template parameter of every FlashInfer kernel).
inline constexpr int kHeadDim = 128;

// Scratch that FlashInfer's schedulers lay out: split-KV partial outputs (float_buf) and the work lists
// (int_buf, filled from the pinned host mirror int_host). Sizes in bytes.
struct Workspace {
  void* float_buf = nullptr;
  std::size_t float_bytes = 0;
  void* int_buf = nullptr;
  void* int_host = nullptr;
  std::size_t int_bytes = 0;
};
struct WorkspaceBytes {
  std::size_t float_bytes = 0;
  std::size_t int_bytes = 0;
};

// Host inputs of a schedule: page_indptr[b + 1] - page_indptr[b] pages for sequence b; qo_indptr is
// 0, 1, ..., batch (one query token per sequence; tensor-core path only).
struct Schedule {
  const int32_t* page_indptr_host = nullptr;
  const int32_t* qo_indptr_host = nullptr;
  int batch = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int page_size = 0;
};

// The paged NHD cache as FlashInfer reads it: device arrays in FlashInfer's CSR form.
struct PagedView {
  const void* k = nullptr;
  const void* v = nullptr;
  int32_t* page_indptr = nullptr;    // [batch + 1]
  int32_t* page_indices = nullptr;   // [page_indptr[batch]]
  int32_t* last_page_len = nullptr;  // [batch], in [1, page_size]
  int32_t* qo_indptr = nullptr;      // [batch + 1], tensor-core path only
  int page_size = 0;
};

// FlashInfer's plan info (DecodePlanInfo / PrefillPlanInfo as their ToVector() form).
using PlanInfo = std::vector<int64_t>;

struct Launch {
  float scale = 0.0f;  // resolved softmax scale
  bool enable_pdl = false;
  void* stream = nullptr;
};

// One of FlashInfer's batch kernels over a paged cache together with its planner (FlashInfer's own
// plan / run split): what plan() needs, the plan, the launch, and whether the plan splits the KV sequence.
struct BatchKernelOps {
  WorkspaceBytes (*workspace)(const Schedule& s);
  PlanInfo (*plan)(const Schedule& s, const Workspace& ws, void* stream);
  void (*run)(const DecodeProblem& p, const PagedView& kv, const PlanInfo& plan, const Workspace& ws,
              const Launch& launch);
  bool (*split_kv)(const PlanInfo& plan);
};

// CUDA-core batch decode: DecodePlan + BatchDecodeWithPagedKVCacheDispatched (batch_decode_<dtype>.cu).
template <DType D>
BatchKernelOps batch_decode_ops();
// Tensor-core path: PrefillPlan + BatchPrefillWithPagedKVCacheDispatched with qo_len = 1 and
// CTA_TILE_Q = 16 (batch_prefill_<dtype>.cu).
template <DType D>
BatchKernelOps batch_prefill_ops();

// CUDA-core single-request decode (SingleDecodeWithKVCacheDispatched) on a contiguous cache of kv_len
// tokens. tmp holds the split-KV partials: single_decode_tmp_bytes(...) bytes.
std::size_t single_decode_tmp_bytes(int num_heads, int64_t kv_len);
template <DType D>
void single_decode_run(const DecodeProblem& p, int64_t kv_len, void* tmp, const Launch& launch);

}  // namespace santa::gpu::flashinfer_detail
