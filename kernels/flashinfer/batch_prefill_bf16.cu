// FlashInfer tensor-core decode (batch prefill kernel), bf16 (own translation unit so the dtypes compile in parallel).
#include "kernels/flashinfer/batch_prefill.cuh"

namespace santa::gpu::flashinfer_detail {
SANTA_FLASHINFER_INSTANTIATE_BATCH_PREFILL(DType::bf16)
}  // namespace santa::gpu::flashinfer_detail
