// FlashInfer CUDA-core single-request decode, bf16 (own translation unit so the dtypes compile in parallel).
#include "kernels/flashinfer/single_decode.cuh"

template void santa::gpu::flashinfer_detail::single_decode_run<santa::gpu::DType::bf16>(
    const santa::gpu::DecodeProblem&, int64_t, void*, const santa::gpu::flashinfer_detail::Launch&);
