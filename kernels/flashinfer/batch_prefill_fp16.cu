// FlashInfer tensor-core decode (batch prefill kernel), fp16 (own translation unit so the dtypes compile in parallel).
#include "kernels/flashinfer/batch_prefill.cuh"

namespace santa::gpu::flashinfer_detail {
SANTA_FLASHINFER_INSTANTIATE_BATCH_PREFILL(DType::fp16)
}  // namespace santa::gpu::flashinfer_detail
