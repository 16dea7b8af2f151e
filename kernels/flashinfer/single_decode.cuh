// FlashInfer's CUDA-core decode for one request over a contiguous NHD cache [kv_len, H_kv, d]:
// SingleDecodeWithKVCacheDispatched, wired as FlashInfer's csrc/single_decode.cu. One .cu per dtype.
#pragma once

#include <flashinfer/attention/decode.cuh>
#include <flashinfer/attention/default_decode_params.cuh>

#include "kernels/flashinfer/flashinfer_common.cuh"

namespace santa::gpu::flashinfer_detail {

template <DType D>
void single_decode_run(const DecodeProblem& p, int64_t kv_len, void* tmp, const Launch& launch) {
  using T = typename CudaType<D>::type;
  flashinfer::SingleDecodeParams<T, T, T> params(
      const_cast<T*>(static_cast<const T*>(p.q)), const_cast<T*>(static_cast<const T*>(p.kv.k)),
      const_cast<T*>(static_cast<const T*>(p.kv.v)), static_cast<T*>(p.out),
      /*maybe_alibi_slopes=*/nullptr, static_cast<uint32_t>(kv_len), static_cast<uint32_t>(p.num_heads),
      static_cast<uint32_t>(p.num_kv_heads), flashinfer::QKVLayout::kNHD,
      static_cast<uint32_t>(p.head_dim), /*window_left=*/-1, /*logits_soft_cap=*/0.0f, launch.scale,
      kRopeScale, kRopeTheta);
  call_flashinfer("single decode run", [&] {
    return flashinfer::SingleDecodeWithKVCacheDispatched<kHeadDim, kNoRope, PlainAttention>(
        params, static_cast<T*>(tmp), static_cast<cudaStream_t>(launch.stream));
  });
}

}  // namespace santa::gpu::flashinfer_detail
