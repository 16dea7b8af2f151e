// Host side of the TMA key/value stream (kernels/detail/tma.cuh): one CUtensorMap per cache tensor. The driver
// call cuTensorMapEncodeTiled is reached through the runtime's entry-point query, so the library links
// against the runtime only (no -lcuda).
#include <cudaTypedefs.h>  // PFN_cuTensorMapEncodeTiled_v12000
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/cuda/launchers.cuh"

namespace santa::gpu::detail {
namespace {

PFN_cuTensorMapEncodeTiled_v12000 encode_fn() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult q{};
    SANTA_CUDA(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q));
    if (q != cudaDriverEntryPointSuccess || f == nullptr) {
      throw std::runtime_error("cuTensorMapEncodeTiled is not available from this CUDA driver (needs 12.0 or newer)");
    }
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
  }();
  return fn;
}

// [rows][H_kv][d] with d innermost; a box is kTmaRows rows x d elements of one KV head.
CUtensorMap encode_cache(const void* base, int64_t rows, int kv_heads, int head_dim, DType dtype) {
  CUtensorMap map{};
  const cuuint64_t dims[3] = {static_cast<cuuint64_t>(head_dim), static_cast<cuuint64_t>(kv_heads),
                              static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[2] = {static_cast<cuuint64_t>(head_dim) * 2,
                                 static_cast<cuuint64_t>(kv_heads) * head_dim * 2};  // bytes, dims 1 and 2
  const cuuint32_t box[3] = {static_cast<cuuint32_t>(head_dim), 1u, static_cast<cuuint32_t>(kTmaRows)};
  const cuuint32_t elem_strides[3] = {1u, 1u, 1u};
  const CUresult r =
      encode_fn()(&map, dtype == DType::bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 3,
                  const_cast<void*>(base), dims, strides, box, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                  CU_TENSOR_MAP_SWIZZLE_NONE, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    throw std::runtime_error("cuTensorMapEncodeTiled failed with CUresult " + std::to_string(static_cast<int>(r)) +
                             " (KV cache of " + std::to_string(rows) + " rows, " + std::to_string(kv_heads) +
                             " KV heads, head_dim " + std::to_string(head_dim) + ")");
  }
  return map;
}

}  // namespace

TmaKv make_kv_tensor_maps(const KernelParams& p, int head_dim, DType dtype) {
  const int64_t rows = static_cast<int64_t>(p.batch) * p.max_len;
  TmaKv maps;
  maps.k = encode_cache(p.k, rows, p.num_kv_heads, head_dim, dtype);
  maps.v = encode_cache(p.v, rows, p.num_kv_heads, head_dim, dtype);
  return maps;
}

}  // namespace santa::gpu::detail
