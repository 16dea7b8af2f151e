// FlashInfer CUDA-core batch decode, bf16 (own translation unit so the dtypes compile in parallel).
#include "kernels/flashinfer/batch_decode.cuh"

template santa::gpu::flashinfer_detail::BatchKernelOps
santa::gpu::flashinfer_detail::batch_decode_ops<santa::gpu::DType::bf16>();
