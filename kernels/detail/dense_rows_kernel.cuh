// Dense decode reading whole cache rows (benchmark variant 7; contiguous cache, d = 128, 8 KV heads).
//
// The default kernel's CTA owns one (chunk, KV head) and reads 256 bytes out of every 2 KB cache row; here a
// CTA owns one chunk of one sequence and all 8 KV heads (warp w = KV head w), so each 16-key step of the CTA
// is one contiguous 32 KB block of K and one of V: two bulk copies (the copy engine, sm_90) into a ring of
// kDenseStages stages, the read pattern of the bulk probe (kernels/cuda/timing.cu). Each warp computes its
// head's scores, online softmax and P.V exactly as the default kernel does (softmax_pv_step), over all the
// chunk's keys in order, and writes its partial straight from registers: no cross-warp combine. A CTA
// contributes to 8 (sequence, KV head) merges; it merges every one it arrives last at.
#pragma once

#include "kernels/detail/dense_kernel.cuh"

namespace santa::gpu::detail {

template <int D, class T>
struct RowsStage {
  static constexpr int kBlockBytes = 16 * kRowsKvHeads * D * static_cast<int>(sizeof(T));  // 16 rows x H_kv x D
  static constexpr int kBytes = 2 * kBlockBytes;                                           // K block, V block
};

template <int D, class T>
__global__ void __launch_bounds__(kThreads, 1) dense_rows_kernel(const KernelParams p) {
  static_assert(D == 128, "laid out for d = 128");
  using S = RowsStage<D, T>;
  constexpr int kStages = kDenseStages;
  extern __shared__ float4 smem4[];
  unsigned char* ring = reinterpret_cast<unsigned char*>(smem4);
  __shared__ __align__(16) T s_q[kRowsKvHeads][kMaxGroup * kQRowStride<D>];
  __shared__ __align__(8) uint64_t s_full[kStages];
  __shared__ int s_last;

  const int chunk = blockIdx.x, b = blockIdx.z;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, c = lane & 3;
  const int G = p.group;
  const int n = min(max(p.seq_lens[b], 0), static_cast<int>(p.n_max));
  const int chunk_rows = chunk_rows_for(n, p.num_chunks, p.unit);
  const int r0 = chunk * chunk_rows;
  const int r1 = min(n, r0 + chunk_rows);
  const int steps = r1 > r0 ? (r1 - r0 + 15) / 16 : 0;
  constexpr int64_t kRowElems = static_cast<int64_t>(kRowsKvHeads) * D;  // one cache row: all KV heads
  const T* kp = static_cast<const T*>(p.k) + (static_cast<int64_t>(b) * p.max_len) * kRowElems;
  const T* vp = static_cast<const T*>(p.v) + (static_cast<int64_t>(b) * p.max_len) * kRowElems;

  if (tid == 0) {
    for (int i = 0; i < kStages; ++i) mbar_init(s_full + i);
    mbar_init_fence();
  }
  for (int h = 0; h < kRowsKvHeads; ++h) stage_q<D, T>(s_q[h], p, b, h);
  __syncthreads();

  // Thread 0 posts the step's bytes and issues its two block copies (rows past the chunk are not copied).
  const auto issue = [&](int step) {
    const int row0 = r0 + 16 * step, valid = min(16, r1 - row0);
    const int s = step % kStages;
    const uint32_t bytes = static_cast<uint32_t>(valid) * kRowElems * sizeof(T);
    mbar_expect_tx(s_full + s, 2 * bytes);
    bulk_copy_g2s(ring + s * S::kBytes, kp + row0 * kRowElems, bytes, s_full + s);
    bulk_copy_g2s(ring + s * S::kBytes + S::kBlockBytes, vp + row0 * kRowElems, bytes, s_full + s);
  };
  if (tid == 0) {
    for (int i = 0; i < kStages - 1 && i < steps; ++i) issue(i);
  }

  float m_run = -INFINITY, l_run = 0.f;
  float acc[D / 16][4];
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt) acc[mt][0] = acc[mt][1] = acc[mt][2] = acc[mt][3] = 0.f;

  for (int i = 0; i < steps; ++i) {
    __syncthreads();  // every warp has finished reading the stage of step i - 1: it can be refilled
    if (tid == 0 && i + kStages - 1 < steps) issue(i + kStages - 1);
    const int s = i % kStages;
    mbar_wait(s_full + s, static_cast<uint32_t>((i / kStages) & 1));
    const int row0 = r0 + 16 * i;
    const unsigned char* kb = ring + s * S::kBytes + warp * D * sizeof(T);
    const unsigned char* vb = kb + S::kBlockBytes;
    constexpr int kRowBytes = kRowsKvHeads * D * sizeof(T);
    KFrag<D> kf;
    VFrag<D> vf;
#pragma unroll
    for (int nt = 0; nt < 2; ++nt) {
      const bool ok = row0 + 8 * nt + g < r1;  // rows past the end were not copied: zeros, as the loads give
#pragma unroll
      for (int j = 0; j < D / 32; ++j) {
        kf.r[nt][j] = ok ? *reinterpret_cast<const uint4*>(kb + (8 * nt + g) * kRowBytes + 16 * c + 64 * j)
                         : make_uint4(0, 0, 0, 0);
      }
    }
#pragma unroll
    for (int ri = 0; ri < 4; ++ri) {
      const int r = 2 * c + (ri & 1) + 8 * (ri >> 1);
      const bool ok = row0 + r < r1;
#pragma unroll
      for (int u = 0; u < D / 64; ++u) {
        vf.r[ri][u] = ok ? *reinterpret_cast<const uint4*>(vb + r * kRowBytes + 16 * g + 128 * u) : make_uint4(0, 0, 0, 0);
      }
    }
    float sc[2][2];
    {
      QFrag<D> qf;
      load_q_smem<D, T>(qf, s_q[warp], g, c);
      score_step<D, T>(qf, kf, sc);
    }
    softmax_pv_step<D, T>(sc, vf, row0, r1, p.scale_log2, G, g, c, m_run, l_run, acc);
  }

  // This warp's partial of (b, KV head warp, chunk), straight from registers. acc[mt][0..3] =
  // O[head 2c | 2c+1][d | d+1], d = 8(g + 8u) + 2w, relative to m_run (the default kernel's per-chunk form).
  l_run += __shfl_xor_sync(0xFFFFFFFFu, l_run, 1);
  l_run += __shfl_xor_sync(0xFFFFFFFFu, l_run, 2);
  const int group = b * p.num_kv_heads + warp;
  const int64_t part = static_cast<int64_t>(group) * p.num_chunks + chunk;
  if (c == 0 && g < G) {
    p.part_ml[2 * (part * G + g)] = m_run;
    p.part_ml[2 * (part * G + g) + 1] = l_run;
  }
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt) {
    const int d = 8 * (g + 8 * (mt >> 2)) + 2 * (mt & 3);
    if (2 * c < G) *reinterpret_cast<float2*>(p.part_acc + (part * G + 2 * c) * D + d) = make_float2(acc[mt][0], acc[mt][2]);
    if (2 * c + 1 < G) {
      *reinterpret_cast<float2*>(p.part_acc + (part * G + 2 * c + 1) * D + d) = make_float2(acc[mt][1], acc[mt][3]);
    }
  }
  __threadfence();
  __syncthreads();  // also: the ring is free for the merges' scratch
  if (tid == 0) s_last = 0;
  __syncthreads();
  if (tid < kRowsKvHeads) {
    const uint32_t prev = atomicAdd(merge_counter(p, b * p.num_kv_heads + tid), 1u);
    if (prev == static_cast<uint32_t>(p.num_chunks - 1)) atomicOr(&s_last, 1 << tid);
  }
  __syncthreads();
  const int last = s_last;
  if (last != 0) __threadfence();
  for (int h = 0; h < kRowsKvHeads; ++h) {
    if (last & (1 << h)) merge_chunks<D, T, MergeKind::softmax>(p, b, h, reinterpret_cast<float*>(smem4));
  }
}

}  // namespace santa::gpu::detail
