// Dense split-KV decode (FlashDecoding style), the project's exact baseline.
//
// Grid (chunk, KV head, sequence); 8 warps per CTA; each warp takes 16-key steps of its chunk. Per step a
// lane issues 16 independent 16-byte loads (its two key rows, its four value rows), the G heads' scores come
// from tensor-core products (fragments.cuh), the online softmax runs on the scores in registers, and
// O^T += V^T P^T is a second tensor-core product whose B fragment is the score C fragment itself (keys as K,
// heads as N) and whose A fragment is built from the value loads with byte permutes (value rows 2c, 2c+1,
// 2c+8, 2c+9 as K, head-dim elements as M). The warps' partials are combined in a fixed order, then the
// chunks are merged by the last CTA (merge.cuh).
#pragma once

#include "kernels/detail/merge.cuh"

namespace santa::gpu::detail {

template <int D>
struct VFrag {
  uint4 r[4][D / 64];  // value rows 2c, 2c+1, 2c+8, 2c+9; head-dim segments g + 8u
};

template <int D, class T, class Load = StreamLoad<true>>
__device__ __forceinline__ void load_v(VFrag<D>& f, const T* v, const KvRows& rows, int row0, int row_end, int g,
                                       int c, Load load = Load{}) {
#pragma unroll
  for (int ri = 0; ri < 4; ++ri) {
    const int row = row0 + 2 * c + (ri & 1) + 8 * (ri >> 1);
    if (row < row_end) {
      const T* src = v + rows(row) + 8 * g;
#pragma unroll
      for (int u = 0; u < D / 64; ++u) f.r[ri][u] = load(src + 64 * u);
    } else {
#pragma unroll
      for (int u = 0; u < D / 64; ++u) f.r[ri][u] = make_uint4(0, 0, 0, 0);
    }
  }
}

// Online softmax of one 16-key step's scores s (raw dot products) and O^T += V^T P^T.
template <int D, class T>
__device__ __forceinline__ void softmax_pv_step(float (&s)[2][2], const VFrag<D>& vf, int row0, int r1, float scale_log2,
                                                int G, int g, int c, float& m_run, float& l_run,
                                                float (&acc)[D / 16][4]) {
#pragma unroll
  for (int nt = 0; nt < 2; ++nt)
#pragma unroll
    for (int e = 0; e < 2; ++e) s[nt][e] = row0 + 8 * nt + 2 * c + e < r1 ? s[nt][e] * scale_log2 : -INFINITY;
  float mx = fmaxf(fmaxf(s[0][0], s[0][1]), fmaxf(s[1][0], s[1][1]));
  mx = fmaxf(mx, __shfl_xor_sync(0xFFFFFFFFu, mx, 1));
  mx = fmaxf(mx, __shfl_xor_sync(0xFFFFFFFFu, mx, 2));
  const float m_new = fmaxf(m_run, mx);
  const float m_use = m_new == -INFINITY ? 0.f : m_new;
  const float alpha = exp2f(m_run - m_use);
  float pr[2][2];
#pragma unroll
  for (int nt = 0; nt < 2; ++nt)
#pragma unroll
    for (int e = 0; e < 2; ++e) pr[nt][e] = g < G ? exp2f(s[nt][e] - m_use) : 0.f;
  l_run = l_run * alpha + ((pr[0][0] + pr[0][1]) + (pr[1][0] + pr[1][1]));
  m_run = m_new;
  // The accumulators of heads 2c and 2c+1 live here; their rescale factors live in quads 2c and 2c+1.
  const float a_lo = __shfl_sync(0xFFFFFFFFu, alpha, 8 * c);
  const float a_hi = __shfl_sync(0xFFFFFFFFu, alpha, 8 * c + 4);
  const uint32_t pb0 = Half<T>::pack(pr[0][0], pr[0][1]);
  const uint32_t pb1 = Half<T>::pack(pr[1][0], pr[1][1]);
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt) {
    acc[mt][0] *= a_lo;
    acc[mt][1] *= a_hi;
    acc[mt][2] *= a_lo;
    acc[mt][3] *= a_hi;
    const int u = mt >> 2, w = mt & 3;
    const uint32_t x0 = word_of(vf.r[0][u], w), x1 = word_of(vf.r[1][u], w);
    const uint32_t x2 = word_of(vf.r[2][u], w), x3 = word_of(vf.r[3][u], w);
    Half<T>::mma(acc[mt], __byte_perm(x0, x1, 0x5410), __byte_perm(x0, x1, 0x7632), __byte_perm(x2, x3, 0x5410),
                 __byte_perm(x2, x3, 0x7632), pb0, pb1);
  }
}

// A per-KV-head dense CTA's (chunk, KV head, sequence) and its keys [r0, r1).
struct DenseCta {
  int chunk, kvh, b, r0, r1;
};
// Chunk `chunk` of KV head kvh of sequence b (the persistent prop's stream items take them by ticket).
__device__ __forceinline__ DenseCta dense_cta_at(const KernelParams& p, int chunk, int kvh, int b) {
  const int n = min(max(p.seq_lens[b], 0), static_cast<int>(p.n_max));
  const int chunk_rows = chunk_rows_for(n, p.num_chunks, p.unit);
  const int r0 = chunk * chunk_rows;
  return {chunk, kvh, b, r0, min(n, r0 + chunk_rows)};
}
__device__ __forceinline__ DenseCta dense_cta(const KernelParams& p) {
  const CtaCoord cta = cta_coord(static_cast<int>(blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z)),
                                 p.num_chunks, p.num_kv_heads, p.heads_inner);
  return dense_cta_at(p, cta.chunk, cta.kvh, cta.b);
}

// The end of a per-KV-head dense CTA: its warps' partials combined in a fixed order (through `smem`), the
// chunk's partial written, and the (sequence, KV head) merged by the last of its chunks to arrive.
// First each warp's state goes to its slot of the combine's scratch (the CTA-wide-tile kernel's warps hold two
// states each, dense_tile_kernel.cuh: slots 2w and 2w + 1). All lanes of the warp call this.
template <int D>
__device__ __forceinline__ void publish_warp_state(int slot, int G, float m_run, float l_run,
                                                   const float (&acc)[D / 16][4], float* smem) {
  const int lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
  // acc[mt][0..3] = O[head 2c | 2c+1][d | d+1], d = 8(g + 8u) + 2w.
  l_run += __shfl_xor_sync(0xFFFFFFFFu, l_run, 1);
  l_run += __shfl_xor_sync(0xFFFFFFFFu, l_run, 2);
  float* s_acc = smem;                          // [kWarps][G][D]
  float* s_m = smem + kWarps * G * D;           // [kWarps][kMaxGroup]
  float* s_l = s_m + kWarps * kMaxGroup;
  if (c == 0 && g < G) {
    s_m[slot * kMaxGroup + g] = m_run;
    s_l[slot * kMaxGroup + g] = l_run;
  }
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt) {
    const int d = 8 * (g + 8 * (mt >> 2)) + 2 * (mt & 3);
    if (2 * c < G) {
      s_acc[(slot * G + 2 * c) * D + d] = acc[mt][0];
      s_acc[(slot * G + 2 * c) * D + d + 1] = acc[mt][2];
    }
    if (2 * c + 1 < G) {
      s_acc[(slot * G + 2 * c + 1) * D + d] = acc[mt][1];
      s_acc[(slot * G + 2 * c + 1) * D + d + 1] = acc[mt][3];
    }
  }
}

// Then the kWarps slots are combined (fixed order), the chunk's partial written and the group merged.
template <int D, class T, int kBlock = kThreads>
__device__ __forceinline__ void combine_slots_and_merge(const KernelParams& p, int b, int kvh, int chunk, float* smem,
                                                        int* s_flag) {
  const int G = p.group;
  const float* s_acc = smem;
  const float* s_m = smem + kWarps * G * D;
  const float* s_l = s_m + kWarps * kMaxGroup;
  __syncthreads();
  const int group = b * p.num_kv_heads + kvh;
  const int64_t part = static_cast<int64_t>(group) * p.num_chunks + chunk;
  for (int e = threadIdx.x; e < G * D; e += kBlock) {
    const int h = e / D, d = e % D;
    float mc = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) mc = fmaxf(mc, s_m[w * kMaxGroup + h]);
    float num = 0.f, den = 0.f;
    if (mc != -INFINITY) {
#pragma unroll
      for (int w = 0; w < kWarps; ++w) {
        const float mw = s_m[w * kMaxGroup + h];
        const float f = mw == -INFINITY ? 0.f : exp2f(mw - mc);
        num += f * s_acc[(w * G + h) * D + d];
        den += f * s_l[w * kMaxGroup + h];
      }
    }
    p.part_acc[part * G * D + e] = num;
    if (d == 0) {
      p.part_ml[2 * (part * G + h)] = mc;
      p.part_ml[2 * (part * G + h) + 1] = den;
    }
  }
  if (arrive_last(p, group, s_flag)) merge_chunks<D, T, MergeKind::softmax, kBlock>(p, b, kvh, smem);
}

template <int D, class T>
__device__ __forceinline__ void combine_warps_and_merge(const KernelParams& p, int b, int kvh, int chunk, float m_run,
                                                        float l_run, const float (&acc)[D / 16][4], float* smem,
                                                        int* s_flag) {
  publish_warp_state<D>(threadIdx.x >> 5, p.group, m_run, l_run, acc, smem);
  combine_slots_and_merge<D, T>(p, b, kvh, chunk, smem, s_flag);
}

// kLoop (kernel_params.hpp): DenseLoop::plain is the default. l2_hint was the default before call 44 (NVIDIA H200,
// B = 16, 32k: the hint made L2 look up 1.25 sectors per sector read, 84.0 M against 67.3 M, DRAM 84.7 % against
// 90.5 % of peak, 538 against 523 us; variant 42). lockstep reads each 128-key tile with all 8 warps together, as
// cuDNN's CTAs do (variant 44; slower: call 47). pipelined keeps two steps per warp in flight (variant 45; at B = 16
// no faster: call 49).
template <int D, class T, int kMinBlocks, DenseLoop kLoop = DenseLoop::plain>
__global__ void __launch_bounds__(kThreads, kMinBlocks) dense_decode_kernel(const KernelParams p) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  __shared__ int s_flag;
  __shared__ __align__(16) T s_q[kMaxGroup * kQRowStride<D>];
  // d = 256: value loads are issued after the score product has consumed the key registers (fewer
  // registers live at once; d <= 128 keeps both in flight).
  constexpr bool kLateV = D > 128;
  constexpr bool kPipelined = kLoop == DenseLoop::pipelined;
  static_assert(!kPipelined || !kLateV, "the pipelined loop needs d <= 128");
  using Load = StreamLoad<kLoop == DenseLoop::l2_hint>;
  const Load load{};
  const DenseCta cta = dense_cta(p);
  const int chunk = cta.chunk, kvh = cta.kvh, b = cta.b, r0 = cta.r0, r1 = cta.r1;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, c = lane & 3;
  const int G = p.group;
  const KvRows rows = kv_rows<D>(p, b, kvh);
  const T* kp = static_cast<const T*>(p.k);
  const T* vp = static_cast<const T*>(p.v);

  stage_q<D, T>(s_q, p, b, kvh);
  __syncthreads();

  float m_run = -INFINITY, l_run = 0.f;  // head g (this lane's quad)
  float acc[D / 16][4];                  // O^T: head-dim slots x heads 2c, 2c+1
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt) acc[mt][0] = acc[mt][1] = acc[mt][2] = acc[mt][3] = 0.f;

  const int P = p.prefetch;
  constexpr int kStride = 16 * kWarps;  // keys between a warp's consecutive steps
  // The step's K and V (rows at or past r1 read nothing and load zeros), and its product.
  const auto load_step = [&](KFrag<D>& kf, VFrag<D>& vf, int row0) {
    if (P > 0) {  // keys (lanes 0-15) and values (lanes 16-31) of this warp's step P steps ahead
      const int row = row0 + kStride * P + (lane & 15);
      if (row < r1) prefetch_l2((lane < 16 ? kp : vp) + rows(row), D * static_cast<int>(sizeof(T)));
    }
    load_k<D, T, Load>(kf, kp, rows, row0, r1, g, c, load);
    if (!kLateV) load_v<D, T, Load>(vf, vp, rows, row0, r1, g, c, load);
  };
  const auto compute_step = [&](const KFrag<D>& kf, VFrag<D>& vf, int row0) {
    float s[2][2];
    {
      QFrag<D> qf;
      load_q_smem<D, T>(qf, s_q, g, c);
      score_step<D, T>(qf, kf, s);
    }
    if (kLateV) load_v<D, T, Load>(vf, vp, rows, row0, r1, g, c, load);
    softmax_pv_step<D, T>(s, vf, row0, r1, p.scale_log2, G, g, c, m_run, l_run, acc);
  };
  const auto step = [&](int row0) {
    KFrag<D> kf;
    VFrag<D> vf;
    load_step(kf, vf, row0);
    compute_step(kf, vf, row0);
  };
  if constexpr (kLoop == DenseLoop::lockstep) {  // every warp runs warp 0's count of 128-key tiles, so all reach each barrier
    const int tiles = r0 < r1 ? (r1 - r0 + kStride - 1) / kStride : 0;
    for (int i = 0; i < tiles; ++i) {
      __syncthreads();
      const int row0 = r0 + 16 * warp + kStride * i;
      if (row0 < r1) step(row0);
    }
  } else if constexpr (kPipelined) {  // buffers a and b alternate (unrolled by two)
    KFrag<D> ka, kb;
    VFrag<D> va, vb;
    int row0 = r0 + 16 * warp;
    if (row0 < r1) load_step(ka, va, row0);
    while (row0 < r1) {
      load_step(kb, vb, row0 + kStride);
      compute_step(ka, va, row0);
      row0 += kStride;
      if (row0 >= r1) break;
      load_step(ka, va, row0 + kStride);
      compute_step(kb, vb, row0);
      row0 += kStride;
    }
  } else {
    for (int row0 = r0 + 16 * warp; row0 < r1; row0 += kStride) step(row0);
  }

  combine_warps_and_merge<D, T>(p, b, kvh, chunk, m_run, l_run, acc, smem, &s_flag);
}

}  // namespace santa::gpu::detail
