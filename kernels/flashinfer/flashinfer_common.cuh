// What the FlashInfer instantiation units share: dtype mapping, the attention variant, error handling.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <flashinfer/allocator.h>
#include <flashinfer/attention/variants.cuh>
#include <flashinfer/exception.h>
#include <flashinfer/layout.cuh>
#include <flashinfer/page.cuh>
#include <flashinfer/pos_enc.cuh>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernels/flashinfer/flashinfer_launch.hpp"

// The CCCL that FlashInfer bundles must win over the toolkit's (CMake passes the bundled version); a
// mismatch means the include order is wrong and FlashInfer may not compile or may misbehave.
#include <cuda/std/version>
#if defined(SANTA_FLASHINFER_CCCL_VERSION)
static_assert(CCCL_VERSION == SANTA_FLASHINFER_CCCL_VERSION,
              "the CUDA toolkit's CCCL shadows the one FlashInfer bundles: fix the include order");
#endif

namespace santa::gpu::flashinfer_detail {

template <DType D>
struct CudaType;
template <>
struct CudaType<DType::bf16> {
  using type = nv_bfloat16;
};
template <>
struct CudaType<DType::fp16> {
  using type = half;
};

// The attention FlashInfer's Python API instantiates for plain decode: softmax, no custom mask, no
// sliding window, no logits soft cap, no ALiBi.
using PlainAttention = flashinfer::DefaultAttention<false, false, false, false>;
inline constexpr auto kNoRope = flashinfer::PosEncodingMode::kNone;

// Runs one FlashInfer call, turning its error codes and exceptions into std::runtime_error naming `what`.
template <typename F>
void call_flashinfer(const char* what, F&& f) {
  cudaError_t status = cudaSuccess;
  try {
    status = f();
  } catch (const flashinfer::Error& e) {
    throw std::runtime_error(std::string("FlashInfer ") + what + ": " + e.what());
  }
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("FlashInfer ") + what + ": " + cudaGetErrorString(status));
  }
}

// FlashInfer's paged_kv_t over our view (NHD pages; the kernels only read K/V).
template <typename T>
flashinfer::paged_kv_t<T, int32_t> to_paged_kv(const DecodeProblem& p, const PagedView& kv) {
  return flashinfer::paged_kv_t<T, int32_t>(
      static_cast<uint32_t>(p.num_kv_heads), static_cast<uint32_t>(kv.page_size),
      static_cast<uint32_t>(p.head_dim), static_cast<uint32_t>(p.batch), flashinfer::QKVLayout::kNHD,
      const_cast<T*>(static_cast<const T*>(kv.k)), const_cast<T*>(static_cast<const T*>(kv.v)),
      kv.page_indices, kv.page_indptr, kv.last_page_len);
}

// RoPE is off (kNone); these reciprocals are only read when it is on. FlashInfer's defaults.
inline constexpr float kRopeScale = 1.0f;
inline constexpr float kRopeTheta = 1e4f;

// The fields FlashInfer's batch decode and batch prefill parameters share, set as its csrc/batch_*.cu run
// functions set them: our problem, no LSE output, no sliding window / soft cap / ALiBi / RoPE, and the work
// lists the plan laid out in the int workspace. `info` is a DecodePlanInfo or a PrefillPlanInfo.
template <typename Params, typename Info>
void set_shared_params(Params& params, const DecodeProblem& p, const PagedView& kv, const Info& info,
                       const Workspace& ws, const Launch& launch) {
  using T = typename Params::DTypeQ;
  params.q = const_cast<T*>(static_cast<const T*>(p.q));
  params.paged_kv = to_paged_kv<T>(p, kv);
  params.o = static_cast<T*>(p.out);
  params.lse = nullptr;
  params.maybe_alibi_slopes = nullptr;
  params.num_qo_heads = static_cast<uint32_t>(p.num_heads);
  params.q_stride_n = p.num_heads * p.head_dim;
  params.q_stride_h = p.head_dim;
  params.window_left = -1;
  params.logits_soft_cap = 0.0f;
  params.sm_scale = launch.scale;
  params.rope_rcp_scale = 1.0f / kRopeScale;
  params.rope_rcp_theta = 1.0f / kRopeTheta;
  params.request_indices = flashinfer::GetPtrFromBaseOffset<int32_t>(ws.int_buf, info.request_indices_offset);
  params.kv_tile_indices = flashinfer::GetPtrFromBaseOffset<int32_t>(ws.int_buf, info.kv_tile_indices_offset);
  params.o_indptr = flashinfer::GetPtrFromBaseOffset<int32_t>(ws.int_buf, info.o_indptr_offset);
  params.kv_chunk_size_ptr =
      flashinfer::GetPtrFromBaseOffset<int32_t>(ws.int_buf, info.kv_chunk_size_ptr_offset);
  params.block_valid_mask = nullptr;  // only read under CUDA graphs
  params.padded_batch_size = static_cast<uint32_t>(info.padded_batch_size);
}

// Split-KV partial outputs and log-sum-exps in the float workspace, or nulls when the plan does not split.
template <typename T, typename Info>
std::pair<T*, float*> split_kv_scratch(const Info& info, const Workspace& ws) {
  if (!info.split_kv) return {nullptr, nullptr};
  return {flashinfer::GetPtrFromBaseOffset<T>(ws.float_buf, info.v_offset),
          flashinfer::GetPtrFromBaseOffset<float>(ws.float_buf, info.s_offset)};
}

template <typename Info>
bool plan_splits_kv(const PlanInfo& plan) {
  Info info;
  info.FromVector(plan);
  return info.split_kv;
}

}  // namespace santa::gpu::flashinfer_detail
