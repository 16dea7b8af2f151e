// FlashInfer's CUDA-core batch decode over a paged cache: DecodePlan + BatchDecodeWithPagedKVCacheDispatched,
// wired as FlashInfer's own csrc/batch_decode.cu does. Included by one .cu per dtype.
#pragma once

#include <flashinfer/attention/decode.cuh>
#include <flashinfer/attention/default_decode_params.cuh>
#include <flashinfer/attention/scheduler.cuh>

#include "kernels/flashinfer/flashinfer_common.cuh"

namespace santa::gpu::flashinfer_detail {

template <typename T>
using DecodeParams = flashinfer::BatchDecodeParams<T, T, T, int32_t>;

// FlashInfer's planner needs a work estimator compiled for the GQA group size; `f` receives it.
template <typename T, typename F>
cudaError_t with_decode_work_estimator(uint32_t group_size, F&& f) {
  DISPATCH_GQA_GROUP_SIZE(group_size, GROUP_SIZE, {
    return f(flashinfer::BatchDecodeWithPagedKVCacheWorkEstimationDispatched<
             GROUP_SIZE, kHeadDim, kNoRope, PlainAttention, DecodeParams<T>>);
  });
  return cudaErrorInvalidValue;  // not reached: the dispatch throws for unsupported group sizes
}

template <DType D>
WorkspaceBytes batch_decode_workspace(const Schedule& s) {
  using T = typename CudaType<D>::type;
  WorkspaceBytes bytes;
  call_flashinfer("batch decode workspace size", [&] {
    return with_decode_work_estimator<T>(s.num_heads / s.num_kv_heads, [&](auto estimator) {
      return flashinfer::DecodePlanWorkspaceSize<kHeadDim, kNoRope, PlainAttention, DecodeParams<T>>(
          bytes.float_bytes, bytes.int_bytes, const_cast<int32_t*>(s.page_indptr_host), s.batch,
          s.num_heads, s.page_size, /*enable_cuda_graph=*/false, /*stream=*/nullptr, estimator);
    });
  });
  return bytes;
}

template <DType D>
PlanInfo batch_decode_plan(const Schedule& s, const Workspace& ws, void* stream) {
  using T = typename CudaType<D>::type;
  flashinfer::DecodePlanInfo info;
  call_flashinfer("batch decode plan", [&] {
    return with_decode_work_estimator<T>(s.num_heads / s.num_kv_heads, [&](auto estimator) {
      return flashinfer::DecodePlan<kHeadDim, kNoRope, PlainAttention, DecodeParams<T>>(
          ws.float_buf, ws.float_bytes, ws.int_buf, ws.int_host, ws.int_bytes, info,
          const_cast<int32_t*>(s.page_indptr_host), s.batch, s.num_heads, s.page_size,
          /*enable_cuda_graph=*/false, static_cast<cudaStream_t>(stream), estimator);
    });
  });
  return info.ToVector();
}

template <DType D>
void batch_decode_run(const DecodeProblem& p, const PagedView& kv, const PlanInfo& plan,
                      const Workspace& ws, const Launch& launch) {
  using T = typename CudaType<D>::type;
  flashinfer::DecodePlanInfo info;
  info.FromVector(plan);
  DecodeParams<T> params;
  set_shared_params(params, p, kv, info, ws, launch);
  params.q_rope_offset = nullptr;
  const std::pair<T*, float*> tmp = split_kv_scratch<T>(info, ws);  // partial outputs, LSEs
  call_flashinfer("batch decode run", [&] {
    return flashinfer::BatchDecodeWithPagedKVCacheDispatched<kHeadDim, kNoRope, PlainAttention>(
        params, tmp.first, tmp.second, launch.enable_pdl, static_cast<cudaStream_t>(launch.stream));
  });
}

template <DType D>
BatchKernelOps batch_decode_ops() {
  return {&batch_decode_workspace<D>, &batch_decode_plan<D>, &batch_decode_run<D>,
          &plan_splits_kv<flashinfer::DecodePlanInfo>};
}

}  // namespace santa::gpu::flashinfer_detail
