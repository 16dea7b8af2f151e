// Reading FlashInfer's plan infos and sizing the single-decode scratch (no kernels in this unit).
#include <flashinfer/attention/scheduler.cuh>

#include "kernels/flashinfer/flashinfer_common.cuh"

namespace santa::gpu::flashinfer_detail {

bool batch_decode_split_kv(const PlanInfo& plan) {
  flashinfer::DecodePlanInfo info;
  info.FromVector(plan);
  return info.split_kv;
}

bool batch_prefill_split_kv(const PlanInfo& plan) {
  flashinfer::PrefillPlanInfo info;
  info.FromVector(plan);
  return info.split_kv;
}

// SingleDecodeWithKVCacheDispatched splits kv_len into chunks of at least 256 tokens and keeps, per chunk,
// the partial output [H, d] (output dtype) followed by the partial log-sum-exp [H] (float).
std::size_t single_decode_tmp_bytes(DType dtype, int num_heads, int64_t kv_len) {
  constexpr int64_t kMinChunk = 256;
  const int64_t chunks = (kv_len + kMinChunk - 1) / kMinChunk;
  const std::size_t out_bytes = dtype == DType::bf16 ? sizeof(nv_bfloat16) : sizeof(half);
  return static_cast<std::size_t>(chunks) * static_cast<std::size_t>(num_heads) *
         (kHeadDim * out_bytes + sizeof(float));
}

}  // namespace santa::gpu::flashinfer_detail
