// Warp-level building blocks shared by the decode kernels: 16-byte streaming loads, the m16n8k16 tensor-core
// product, KV row addressing, and the score step.
//
// Score step (one warp, 16 keys): S^T = Q K^T as mma.sync m16n8k16 with the G query heads (padded to 16)
// as M, 8 keys as N, head_dim as K. Lane (g = lane/4, c = lane%4) loads key rows g and 8+g with 16-byte loads
// straight into B fragments: the k-slot order of the product is a permutation of the head dimension, and
// the same permutation is applied to q, so no shared memory and no shuffles are needed. For k-step pair j,
// lane c holds head-dim elements [8(4j+c), 8(4j+c)+8) of its key row: words x,y feed k-step 2j (k-slots
// 2c,2c+1 and 2c+8,2c+9) and words z,w feed k-step 2j+1. The C fragment gives lane (g, c) the scores of
// head g for keys 2c, 2c+1 (n-tile 0) and 8+2c, 9+2c (n-tile 1): exactly the B fragment (P^T, keys as K,
// heads as N) that the P.V product of the dense kernel needs, so scores never leave registers.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/detail/kernel_params.hpp"

namespace santa::gpu::detail {

// 16 bytes, read-only path, not kept in L1, with a 256-byte L2 prefetch (a bf16 key row of d = 128).
__device__ __forceinline__ uint4 ld_stream(const void* p) {
  uint4 r;
  asm("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0,%1,%2,%3}, [%4];"
      : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
      : "l"(p));
  return r;
}

// The same without the L2 prefetch-size hint: the dense kernel's loads since call 44, where the hint made L2 look
// up 1.25 sectors per sector read (B = 16, 32k); variant 42 keeps it there, variant 43 drops it in the sampling
// kernels' key stream.
__device__ __forceinline__ uint4 ld_stream_nohint(const void* p) {
  uint4 r;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
  return r;
}
// The two as load functors: the hint fixed at compile time, or chosen at run time by a predicate inside one asm
// block (one instruction issued, no second code path: the sampling kernels' key stream, variant 43).
template <bool kL2Hint>
struct StreamLoad {
  __device__ __forceinline__ uint4 operator()(const void* p) const { return kL2Hint ? ld_stream(p) : ld_stream_nohint(p); }
};
struct SelectStreamLoad {
  int hint;
  __device__ __forceinline__ uint4 operator()(const void* p) const {
    uint4 r;
    asm("{\n.reg .pred h;\nsetp.ne.b32 h, %5, 0;\n"
        "@h ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0,%1,%2,%3}, [%4];\n"
        "@!h ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];\n}"
        : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
        : "l"(p), "r"(hint));
    return r;
  }
};

// 16 bytes of a gathered row (no prefetch: rows are scattered).
__device__ __forceinline__ uint4 ld_gather(const void* p) {
  uint4 r;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
      : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
      : "l"(p));
  return r;
}

// Asks L2 to fetch `bytes` (a multiple of 16, 16-byte aligned) without a register destination: keeps many
// more bytes in flight than the registers of the loads could hold. sm_90: one bulk prefetch; older GPUs:
// one prefetch per 128-byte line.
__device__ __forceinline__ void prefetch_l2(const void* p, int bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(p), "r"(bytes));
#else
  for (int o = 0; o < bytes; o += 128) asm volatile("prefetch.global.L2 [%0];" ::"l"(static_cast<const char*>(p) + o));
#endif
}

// The bulk copy engine (sm_90): a contiguous global -> shared copy that completes on an mbarrier (its bytes
// counted by expect_tx), and the mbarrier primitives around it. Elsewhere they trap (never launched there:
// the host rejects the bulk variant below sm_90).
__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void mbar_init(uint64_t* bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(smem_addr(bar)));
#else
  __trap();
#endif
}
__device__ __forceinline__ void mbar_init_fence() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
#endif
}
__device__ __forceinline__ void mbar_expect_tx(uint64_t* bar, uint32_t bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_addr(bar)), "r"(bytes) : "memory");
#else
  __trap();
#endif
}
__device__ __forceinline__ void bulk_copy_g2s(void* dst, const void* src, uint32_t bytes, uint64_t* bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                   smem_addr(dst)),
               "l"(src), "r"(bytes), "r"(smem_addr(bar))
               : "memory");
#else
  __trap();
#endif
}
__device__ __forceinline__ void mbar_wait(uint64_t* bar, uint32_t parity) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "{\n.reg .pred P1;\nLAB_WAIT:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 P1, [%0], %1;\n"
      "@P1 bra DONE;\nbra LAB_WAIT;\nDONE:\n}\n" ::"r"(smem_addr(bar)),
      "r"(parity)
      : "memory");
#else
  __trap();
#endif
}

// 16 bytes global -> shared through the LSU's asynchronous copy (LDGSTS), not kept in L1 (.cg); src_bytes = 0
// writes 16 zero bytes and reads nothing. Completes per thread at cp_async_wait<N>() (N = groups left pending).
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(smem_addr(dst)), "l"(src), "r"(valid ? 16 : 0)
               : "memory");
}
// The same with an L2 prefetch-size hint: prefetch 128 -> .L2::128B, 256 -> .L2::256B, else none (cuDNN's decode
// kernel issues LDGSTS with a 128-byte L2 hint; ours without one made L2 look up every sector twice: call 43).
__device__ __forceinline__ void cp_async_16_prefetch(void* dst, const void* src, bool valid, int prefetch) {
  if (prefetch == 128) {
    asm volatile("cp.async.cg.shared.global.L2::128B [%0], [%1], 16, %2;" ::"r"(smem_addr(dst)), "l"(src),
                 "r"(valid ? 16 : 0)
                 : "memory");
  } else if (prefetch == 256) {
    asm volatile("cp.async.cg.shared.global.L2::256B [%0], [%1], 16, %2;" ::"r"(smem_addr(dst)), "l"(src),
                 "r"(valid ? 16 : 0)
                 : "memory");
  } else {
    cp_async_16(dst, src, valid);
  }
}
// The same with an L2 cache policy (createpolicy), e.g. l2_evict_first_policy(): the persistent prop kernel's key
// stream marks K evict-first so that its prefix ring stays in L2 (prop_fused_kernel.cuh).
__device__ __forceinline__ void cp_async_16_policy(void* dst, const void* src, uint64_t policy) {
  asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2;" ::"r"(smem_addr(dst)), "l"(src),
               "l"(policy)
               : "memory");
}
__device__ __forceinline__ uint64_t l2_evict_first_policy() {
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
  return policy;
}
__device__ __forceinline__ uint64_t l2_evict_last_policy() {
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_last.b64 %0, 1.0;" : "=l"(policy));
  return policy;
}
__device__ __forceinline__ void st_global_policy(float4* dst, float4 v, uint64_t policy) {
  asm volatile("st.global.L2::cache_hint.v4.f32 [%0], {%1, %2, %3, %4}, %5;" ::"l"(dst), "f"(v.x), "f"(v.y), "f"(v.z),
               "f"(v.w), "l"(policy)
               : "memory");
}
__device__ __forceinline__ void cp_async_16_plain(void* dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(smem_addr(dst)), "l"(src) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
}

// The same with the count known only at run time (0..7; more waits for all).
__device__ __forceinline__ void cp_async_wait_pending(int n) {
  switch (n) {
    case 7: return cp_async_wait<7>();
    case 6: return cp_async_wait<6>();
    case 5: return cp_async_wait<5>();
    case 4: return cp_async_wait<4>();
    case 3: return cp_async_wait<3>();
    case 2: return cp_async_wait<2>();
    case 1: return cp_async_wait<1>();
    default: return cp_async_wait<0>();
  }
}

// Four 8x8 b16 matrices from shared memory, transposed (lanes 8j..8j+7 give the row addresses of matrix j).
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row)));
}

__device__ __forceinline__ uint32_t word_of(const uint4& v, int w) {
  return w == 0 ? v.x : w == 1 ? v.y : w == 2 ? v.z : v.w;
}

template <class T>
struct Half;

template <>
struct Half<__nv_bfloat16> {
  // D += A B, A 16x16 row-major bf16 (4 regs), B 16x8 col-major bf16 (2 regs), D fp32.
  static __device__ __forceinline__ void mma(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                             uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
  }
  // D += A B with K = 8: A 16x8 row-major (2 regs), B 8x8 col-major (1 reg).
  static __device__ __forceinline__ void mma_k8(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t b0) {
    asm("mma.sync.aligned.m16n8k8.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a0), "r"(a1), "r"(b0));
  }
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&h);
  }
  static __device__ __forceinline__ float lo(uint32_t w) { return __uint_as_float(w << 16); }
  static __device__ __forceinline__ float hi(uint32_t w) { return __uint_as_float(w & 0xFFFF0000u); }
  static __device__ __forceinline__ __nv_bfloat16 from_float(float f) { return __float2bfloat16_rn(f); }
};

template <>
struct Half<__half> {
  static __device__ __forceinline__ void mma(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                             uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
  }
  static __device__ __forceinline__ void mma_k8(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t b0) {
    asm("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a0), "r"(a1), "r"(b0));
  }
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    const __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&h);
  }
  static __device__ __forceinline__ float lo(uint32_t w) { return __half2float(__ushort_as_half(static_cast<unsigned short>(w & 0xFFFFu))); }
  static __device__ __forceinline__ float hi(uint32_t w) { return __half2float(__ushort_as_half(static_cast<unsigned short>(w >> 16))); }
  static __device__ __forceinline__ __half from_float(float f) { return __float2half_rn(f); }
};

// Element offset of key/value row `row` of one (sequence, KV head), contiguous or paged.
struct KvRows {
  int64_t seq_base = 0;            // contiguous: b * max_len
  const int32_t* pages = nullptr;  // paged: this sequence's page-table row
  int page_shift = 0;
  int64_t row_stride = 0;          // H_kv * d
  int64_t head_offset = 0;         // kvh * d

  __device__ __forceinline__ int64_t operator()(int row) const {
    int64_t pos;
    if (pages != nullptr) {
      const int64_t page = __ldg(pages + (row >> page_shift));
      pos = (page << page_shift) + (row & ((1 << page_shift) - 1));
    } else {
      pos = seq_base + row;
    }
    return pos * row_stride + head_offset;
  }
};

template <int D>
__device__ __forceinline__ KvRows kv_rows(const KernelParams& p, int b, int kvh) {
  KvRows r;
  r.row_stride = static_cast<int64_t>(p.num_kv_heads) * D;
  r.head_offset = static_cast<int64_t>(kvh) * D;
  if (p.page_table != nullptr) {
    r.pages = p.page_table + static_cast<int64_t>(b) * p.max_pages;
    r.page_shift = p.page_shift;
  } else {
    r.seq_base = static_cast<int64_t>(b) * p.max_len;
  }
  return r;
}

// L2 prefetch of the 16 rows of a step starting at row0 (lane i < 16 takes row row0 + i).
template <int D, class T>
__device__ __forceinline__ void prefetch_step(const T* base, const KvRows& rows, int row0, int row_end, int lane) {
  const int row = row0 + (lane & 15);
  if (lane < 16 && row < row_end) prefetch_l2(base + rows(row), D * static_cast<int>(sizeof(T)));
}

// Rows of 2-byte elements in shared memory (the cp.async rings): unit u (16 bytes) of row r lies at unit u ^ swz(r)
// of the row, so a quarter-warp's fragment reads (K: rows g, g + 1 at units c + 4j; V: rows 2c + e at units g + 8u)
// fall on 8 distinct 16-byte bank groups.
template <int D, class T>
struct SwizzledRows {
  static constexpr int kUnits = D * static_cast<int>(sizeof(T)) / 16;  // 16-byte units of a row
  static_assert(kUnits % 8 == 0, "the swizzle permutes units within groups of 8");
  static __device__ __forceinline__ int swz(int r) { return (((r >> 1) & 3) << 1) ^ ((r & 1) << 2); }
  // mask = 0 lays the rows out plainly (diagnostic async_mode bit 2), -1 swizzled.
  static __device__ __forceinline__ int at(int r, int u, int mask) { return (r * kUnits + (u ^ (swz(r) & mask))) * 16; }
};

// The query heads of one KV head as A fragments of the score product (heads >= G are zero).
template <int D>
struct QFrag {
  uint4 r[D / 32];
};

template <int D, class T>
__device__ __forceinline__ void load_q(QFrag<D>& q, const KernelParams& p, int b, int kvh, int g, int c) {
  const T* src = static_cast<const T*>(p.q) + (static_cast<int64_t>(b) * p.num_heads + kvh * p.group + g) * D + 8 * c;
#pragma unroll
  for (int j = 0; j < D / 32; ++j) {
    q.r[j] = g < p.group ? __ldg(reinterpret_cast<const uint4*>(src + 32 * j)) : make_uint4(0, 0, 0, 0);
  }
}

// The same fragments staged once per CTA in shared memory (saves 4 * D / 32 registers in the dense kernel).
// Rows are padded by 32 elements so that the 8 lanes of a quarter-warp hit distinct banks.
template <int D>
inline constexpr int kQRowStride = D + 32;

template <int D, class T, int kBlock = kThreads>
__device__ __forceinline__ void stage_q(T* s_q, const KernelParams& p, int b, int kvh) {
  const T* src = static_cast<const T*>(p.q) + (static_cast<int64_t>(b) * p.num_heads + kvh * p.group) * D;
  for (int e = threadIdx.x; e < kMaxGroup * D / 8; e += kBlock) {
    const int h = e / (D / 8), seg = e % (D / 8);
    const uint4 v = h < p.group ? __ldg(reinterpret_cast<const uint4*>(src + h * D + 8 * seg)) : make_uint4(0, 0, 0, 0);
    *reinterpret_cast<uint4*>(s_q + h * kQRowStride<D> + 8 * seg) = v;
  }
}

template <int D, class T>
__device__ __forceinline__ void load_q_smem(QFrag<D>& q, const T* s_q, int g, int c) {
#pragma unroll
  for (int j = 0; j < D / 32; ++j) q.r[j] = *reinterpret_cast<const uint4*>(s_q + g * kQRowStride<D> + 32 * j + 8 * c);
}

// Key rows g and 8+g of a 16-key step, as B fragments.
template <int D>
struct KFrag {
  uint4 r[2][D / 32];
};

template <int D, class T, class Load = StreamLoad<true>>
__device__ __forceinline__ void load_k(KFrag<D>& f, const T* k, const KvRows& rows, int row0, int row_end, int g,
                                       int c, Load load = Load{}) {
#pragma unroll
  for (int nt = 0; nt < 2; ++nt) {
    const int row = row0 + 8 * nt + g;
    if (row < row_end) {
      const T* src = k + rows(row) + 8 * c;
#pragma unroll
      for (int j = 0; j < D / 32; ++j) f.r[nt][j] = load(src + 32 * j);
    } else {
#pragma unroll
      for (int j = 0; j < D / 32; ++j) f.r[nt][j] = make_uint4(0, 0, 0, 0);
    }
  }
}

// Raw dot products q_g . k for keys row0 + 8 nt + 2c + e: s[nt][e]. Two accumulator chains per n-tile.
template <int D, class T>
__device__ __forceinline__ void score_step(const QFrag<D>& q, const KFrag<D>& k, float (&s)[2][2]) {
#pragma unroll
  for (int nt = 0; nt < 2; ++nt) {
    float a[4] = {0.f, 0.f, 0.f, 0.f}, b[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
    for (int j = 0; j < D / 32; ++j) {
      Half<T>::mma(a, q.r[j].x, 0u, q.r[j].y, 0u, k.r[nt][j].x, k.r[nt][j].y);
      Half<T>::mma(b, q.r[j].z, 0u, q.r[j].w, 0u, k.r[nt][j].z, k.r[nt][j].w);
    }
    s[nt][0] = a[0] + b[0];
    s[nt][1] = a[1] + b[1];
  }
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xFFFFFFFFu, v, o));
  return v;
}

template <class V>
__device__ __forceinline__ V warp_sum(V v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
  return v;
}

}  // namespace santa::gpu::detail
