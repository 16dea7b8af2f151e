// Tensor-memory-accelerator (TMA) copies of the KV cache (sm_90): a CUtensorMap per cache tensor views the
// contiguous NHD cache [batch * max_len rows][H_kv][d] as a 3-D tensor (d innermost), so one instruction
// moves a box of 16 rows x d elements of one KV head (rows 2 KB apart at H_kv = 8, d = 128) into shared
// memory, completing on an mbarrier. The maps are built on the host (kernels/cuda/tensor_maps.cu) and passed
// as __grid_constant__ kernel parameters (TMA reads them from parameter space).
#pragma once

#include <cuda.h>  // CUtensorMap (a type only; the encode call is reached through the runtime's entry point)

#include <cstdint>

#include "kernels/detail/fragments.cuh"

namespace santa::gpu::detail {

inline constexpr int kTmaRows = 16;  // cache rows per box: one 16-key step

struct TmaKv {
  CUtensorMap k;  // both 64-byte aligned (CUtensorMap is declared alignas(64))
  CUtensorMap v;
};

// TMA destinations must be 128-byte aligned; dynamic shared memory starts right after the kernel's static
// shared memory (16-byte aligned only), so the ring starts at the next 128-byte boundary (the host adds
// 128 bytes more: dense_tma_ring_bytes()).
__device__ __forceinline__ unsigned char* tma_ring(void* dynamic_smem) {
  const uint32_t pad = (128u - (smem_addr(dynamic_smem) & 127u)) & 127u;
  return static_cast<unsigned char*>(dynamic_smem) + pad;
}

// Box (0, kvh, row) of `map` -> dst (shared, 128-byte aligned); its bytes count on `bar` (expect_tx first).
// Rows past the tensor's extent arrive as zeros and are counted too (a box always moves its full size).
__device__ __forceinline__ void tma_load_rows(void* dst, const CUtensorMap* map, int kvh, int row, uint64_t* bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];" ::"r"(
          smem_addr(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(0), "r"(kvh), "r"(row), "r"(smem_addr(bar))
      : "memory");
#else
  __trap();
#endif
}

}  // namespace santa::gpu::detail
