// FlashInfer CUDA-core single-request decode, bf16 (own translation unit so the dtypes compile in parallel).
#include "kernels/flashinfer/single_decode.cuh"

namespace santa::gpu::flashinfer_detail {
SANTA_FLASHINFER_INSTANTIATE_SINGLE_DECODE(DType::bf16)
}  // namespace santa::gpu::flashinfer_detail
