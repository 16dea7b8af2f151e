// FlashInfer CUDA-core batch decode, fp16 (own translation unit so the dtypes compile in parallel).
#include "kernels/flashinfer/batch_decode.cuh"

namespace santa::gpu::flashinfer_detail {
SANTA_FLASHINFER_INSTANTIATE_BATCH_DECODE(DType::fp16)
}  // namespace santa::gpu::flashinfer_detail
