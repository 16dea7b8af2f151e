// FlashInfer tensor-core decode (its batch prefill kernel), fp16 (own translation unit: dtypes compile in parallel).
#include "kernels/flashinfer/batch_prefill.cuh"

template santa::gpu::flashinfer_detail::BatchKernelOps
santa::gpu::flashinfer_detail::batch_prefill_ops<santa::gpu::DType::fp16>();
