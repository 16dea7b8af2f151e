// What the FlashInfer instantiation units share: dtype mapping, the attention variant, error handling.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <flashinfer/attention/variants.cuh>
#include <flashinfer/exception.h>
#include <flashinfer/layout.cuh>
#include <flashinfer/page.cuh>
#include <flashinfer/pos_enc.cuh>
#include <stdexcept>
#include <string>

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

}  // namespace santa::gpu::flashinfer_detail
