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
  params.q = const_cast<T*>(static_cast<const T*>(p.q));
  params.paged_kv = to_paged_kv<T>(p, kv);
  params.o = static_cast<T*>(p.out);
  params.lse = nullptr;
  params.maybe_alibi_slopes = nullptr;
  params.num_qo_heads = static_cast<uint32_t>(p.num_heads);
  params.q_stride_n = p.num_heads * p.head_dim;
  params.q_stride_h = p.head_dim;
  params.window_left = -1;
  params.logits_soft_cap = 0.0f;
  params.sm_scale = launch.scale;
  params.rope_rcp_scale = 1.0f / kRopeScale;
  params.rope_rcp_theta = 1.0f / kRopeTheta;
  params.request_indices = flashinfer::GetPtrFromBaseOffset<int32_t>(ws.int_buf, info.request_indices_offset);
  params.kv_tile_indices = flashinfer::GetPtrFromBaseOffset<int32_t>(ws.int_buf, info.kv_tile_indices_offset);
  params.o_indptr = flashinfer::GetPtrFromBaseOffset<int32_t>(ws.int_buf, info.o_indptr_offset);
  params.kv_chunk_size_ptr =
      flashinfer::GetPtrFromBaseOffset<int32_t>(ws.int_buf, info.kv_chunk_size_ptr_offset);
  params.block_valid_mask = nullptr;
  params.padded_batch_size = static_cast<uint32_t>(info.padded_batch_size);

  T* tmp_v = nullptr;
  float* tmp_s = nullptr;
  if (info.split_kv) {
    tmp_v = flashinfer::GetPtrFromBaseOffset<T>(ws.float_buf, info.v_offset);
    tmp_s = flashinfer::GetPtrFromBaseOffset<float>(ws.float_buf, info.s_offset);
  }
  call_flashinfer("batch decode run", [&] {
    return flashinfer::BatchDecodeWithPagedKVCacheDispatched<kHeadDim, kNoRope, PlainAttention>(
        params, tmp_v, tmp_s, launch.enable_pdl, static_cast<cudaStream_t>(launch.stream));
  });
}

}  // namespace santa::gpu::flashinfer_detail

// Explicit instantiation for one dtype; used inside namespace santa::gpu::flashinfer_detail.
#define SANTA_FLASHINFER_INSTANTIATE_BATCH_DECODE(D)                                          \
  template WorkspaceBytes batch_decode_workspace<D>(const Schedule&);                        \
  template PlanInfo batch_decode_plan<D>(const Schedule&, const Workspace&, void*);          \
  template void batch_decode_run<D>(const DecodeProblem&, const PagedView&, const PlanInfo&, \
                                    const Workspace&, const Launch&);
