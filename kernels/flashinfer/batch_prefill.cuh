// FlashInfer's tensor-core decode path: its batch prefill kernel over a paged cache with one query token
// per sequence. The kernel packs (query token, head of the GQA group) pairs into the rows of its query
// tile, so a group of 4 heads fills 4 of the 16 rows of CTA_TILE_Q = 16 (what FlashInfer's Python API
// does with use_tensor_cores=True). Wired as FlashInfer's csrc/batch_prefill.cu. One .cu per dtype.
#pragma once

#include <flashinfer/attention/default_prefill_params.cuh>
#include <flashinfer/attention/mask.cuh>
#include <flashinfer/attention/prefill.cuh>
#include <flashinfer/attention/scheduler.cuh>

#include "kernels/flashinfer/flashinfer_common.cuh"

namespace santa::gpu::flashinfer_detail {

template <typename T>
using PrefillParams = flashinfer::BatchPrefillPagedParams<T, T, T, int32_t>;

// FlashInfer's planner picks the query tile from the packed query length (G rows per sequence); 16 is
// its choice for G <= 16 and the only tile instantiated here.
inline constexpr uint32_t kCtaTileQ = 16;

// Arguments of PrefillPlan / PrefillPlanWorkspaceSize that Python's decode wrapper passes for plain decode.
struct PrefillPlanArgs {
  static constexpr bool enable_cuda_graph = false;
  static constexpr int32_t window_left = -1;       // no sliding window
  static constexpr int32_t fixed_split_size = -1;  // let the planner choose the KV split
  static constexpr bool disable_split_kv = false;
  static constexpr int64_t num_colocated_ctas = 0;
  static constexpr int64_t uniform_q_len = 0;
};

template <DType D>
WorkspaceBytes batch_prefill_workspace(const Schedule& s) {
  using T = typename CudaType<D>::type;
  using A = PrefillPlanArgs;
  WorkspaceBytes bytes;
  call_flashinfer("tensor-core decode workspace size", [&] {
    return flashinfer::PrefillPlanWorkspaceSize<int32_t>(
        bytes.float_bytes, bytes.int_bytes, const_cast<int32_t*>(s.qo_indptr_host),
        const_cast<int32_t*>(s.page_indptr_host), /*total_num_rows=*/s.batch, s.batch, s.num_heads,
        s.num_kv_heads, kHeadDim, kHeadDim, s.page_size, A::enable_cuda_graph,
        /*sizeof_dtype_o=*/sizeof(T), A::window_left, A::fixed_split_size, A::disable_split_kv,
        A::num_colocated_ctas, A::uniform_q_len, /*stream=*/nullptr, /*kv_dtype_bytes=*/sizeof(T));
  });
  return bytes;
}

template <DType D>
PlanInfo batch_prefill_plan(const Schedule& s, const Workspace& ws, void* stream) {
  using T = typename CudaType<D>::type;
  using A = PrefillPlanArgs;
  flashinfer::PrefillPlanInfo info;
  call_flashinfer("tensor-core decode plan", [&] {
    return flashinfer::PrefillPlan<int32_t>(
        ws.float_buf, ws.float_bytes, ws.int_buf, ws.int_host, ws.int_bytes, info,
        const_cast<int32_t*>(s.qo_indptr_host), const_cast<int32_t*>(s.page_indptr_host),
        /*total_num_rows=*/s.batch, s.batch, s.num_heads, s.num_kv_heads, kHeadDim, kHeadDim,
        s.page_size, A::enable_cuda_graph, /*sizeof_dtype_o=*/sizeof(T), A::window_left,
        A::fixed_split_size, A::disable_split_kv, A::num_colocated_ctas, A::uniform_q_len,
        static_cast<cudaStream_t>(stream), /*kv_dtype_bytes=*/sizeof(T));
  });
  if (info.cta_tile_q != kCtaTileQ) {
    throw std::runtime_error("FlashInfer tensor-core decode: the planner chose CTA_TILE_Q = " +
                             std::to_string(info.cta_tile_q) + ", only " + std::to_string(kCtaTileQ) +
                             " is instantiated (GQA group larger than 16?)");
  }
  return info.ToVector();
}

template <DType D>
void batch_prefill_run(const DecodeProblem& p, const PagedView& kv, const PlanInfo& plan,
                       const Workspace& ws, const Launch& launch) {
  using T = typename CudaType<D>::type;
  flashinfer::PrefillPlanInfo info;
  info.FromVector(plan);
  PrefillParams<T> params;  // its constructor nulls every optional feature (mask, rope offsets, ...)
  set_shared_params(params, p, kv, info, ws, launch);
  params.q_indptr = kv.qo_indptr;
  params.group_size = flashinfer::uint_fastdiv(static_cast<uint32_t>(p.num_heads / p.num_kv_heads));
  params.qo_tile_indices = flashinfer::GetPtrFromBaseOffset<int32_t>(ws.int_buf, info.qo_tile_indices_offset);
  params.max_total_num_rows = static_cast<uint32_t>(info.total_num_rows);
  params.total_num_rows = nullptr;  // only read under CUDA graphs
  if (info.split_kv) {
    params.merge_indptr = flashinfer::GetPtrFromBaseOffset<int32_t>(ws.int_buf, info.merge_indptr_offset);
  }
  const std::pair<T*, float*> tmp = split_kv_scratch<T>(info, ws);  // partial outputs, LSEs
  call_flashinfer("tensor-core decode run", [&] {
    return flashinfer::BatchPrefillWithPagedKVCacheDispatched<
        kCtaTileQ, kHeadDim, kHeadDim, kNoRope, /*USE_FP16_QK_REDUCTION=*/false,
        flashinfer::MaskMode::kNone, PlainAttention>(params, tmp.first, tmp.second, launch.enable_pdl,
                                                     static_cast<cudaStream_t>(launch.stream));
  });
}

template <DType D>
BatchKernelOps batch_prefill_ops() {
  return {&batch_prefill_workspace<D>, &batch_prefill_plan<D>, &batch_prefill_run<D>,
          &plan_splits_kv<flashinfer::PrefillPlanInfo>};
}

}  // namespace santa::gpu::flashinfer_detail
