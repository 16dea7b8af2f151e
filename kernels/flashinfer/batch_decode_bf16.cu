// FlashInfer CUDA-core batch decode, bf16 (own translation unit so the dtypes compile in parallel).
#include "kernels/flashinfer/batch_decode.cuh"

namespace santa::gpu::flashinfer_detail {
SANTA_FLASHINFER_INSTANTIATE_BATCH_DECODE(DType::bf16)
}  // namespace santa::gpu::flashinfer_detail
