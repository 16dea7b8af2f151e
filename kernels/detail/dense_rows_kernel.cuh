// Dense decode reading whole cache rows (benchmark variants 7 and 29; contiguous cache, d = 128, 8 KV heads).
//
// The default kernel's CTA owns one (chunk, KV head) and reads 256 bytes out of every 2 KB cache row; here a
// CTA owns a range of 16-key steps with all 8 KV heads (warp w = KV head w), so each step is one contiguous
// 32 KB block of K and one of V: two bulk copies (the copy engine, sm_90) into a ring of kDenseStages stages,
// the read pattern of the bulk probe (kernels/cuda/timing.cu). Each warp computes its head's scores, online
// softmax and P.V exactly as the default kernel does (softmax_pv_step) and writes its partial straight from
// registers: no cross-warp combine. The ranges (kernel_params.hpp: rows_range_begin) are either chunks of one
// sequence (variant 7: a CTA per (chunk, sequence)) or equal shares of the whole batch's steps (variant 29: a
// CTA per SM, ranges crossing sequence ends); the last CTA to finish a piece of a sequence merges all of the
// sequence's heads after its own stream.
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
  extern __shared__ __align__(kSmemAlign) float4 smem4[];
  unsigned char* ring = reinterpret_cast<unsigned char*>(smem4);
  __shared__ __align__(16) T s_q[kRowsKvHeads][kMaxGroup * kQRowStride<D>];
  __shared__ __align__(8) uint64_t s_full[kStages];
  __shared__ int s_merge[kRowsMaxSegments];  // sequences this CTA arrived last at: merged after the stream
  __shared__ int s_num_merge;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, c = lane & 3;
  const int G = p.group, H = p.num_heads;
  // This CTA's steps of the batch's step space (kernel_params.hpp: rows_range_begin).
  const int64_t sps = p.rows_steps, total = static_cast<int64_t>(p.batch) * sps, ctas = gridDim.x;
  // Diagnostic 32 (p.stop_after == 2): the stream alone with the steps dealt round-robin (CTA c reads steps c,
  // c + P, ...: all CTAs sweep the same window, the bulk probe's pattern); nothing is computed or written.
  const bool sweep = p.stop_after == 2;
  const int64_t t0 = sweep ? 0 : rows_range_begin(blockIdx.x, total, ctas);
  const int steps = sweep ? static_cast<int>((total - blockIdx.x + ctas - 1) / ctas)
                          : static_cast<int>(rows_range_begin(blockIdx.x + 1, total, ctas) - t0);
  constexpr int64_t kRowElems = static_cast<int64_t>(kRowsKvHeads) * D;  // one cache row: all KV heads
  constexpr int kRowBytes = kRowsKvHeads * D * sizeof(T);
  const auto seq_len = [&](int b) { return min(max(p.seq_lens[b], 0), static_cast<int>(p.n_max)); };
  const auto first_cta = [&](int b) { return static_cast<int>(rows_cta_of(b * sps, total, ctas)); };  // of sequence b
  const auto pieces = [&](int b) { return static_cast<int>(rows_cta_of((b + 1) * sps - 1, total, ctas)) - first_cta(b) + 1; };

  phase_mark(p, blockIdx.x, kPhaseStart);
  if (tid == 0) {
    for (int i = 0; i < kStages; ++i) mbar_init(s_full + i);
    mbar_init_fence();
    s_num_merge = 0;
  }

  // Thread 0 posts the step's bytes and issues its two block copies (rows past the sequence are not copied; a
  // step with none completes its stage on the arrival alone). It walks the steps in order: its cursor is the
  // (sequence, step) of the next one to issue and the sequence's length.
  const int b_first = static_cast<int>(t0 / sps);
  const int st_first = static_cast<int>(t0 - b_first * sps);
  int issue_b = b_first, issue_st = st_first, issue_n = tid == 0 && steps > 0 ? seq_len(b_first) : 0;
  const auto issue = [&](int step) {
    if (sweep) {
      const int64_t t = blockIdx.x + step * ctas;
      issue_b = static_cast<int>(t / sps);
      issue_st = static_cast<int>(t - issue_b * sps);
      issue_n = seq_len(issue_b);
    }
    const int b = issue_b;
    const int row0 = issue_st * 16;
    const int valid = min(16, max(0, issue_n - row0));
    if (++issue_st == sps && step + 1 < steps) {
      issue_st = 0;
      issue_n = seq_len(++issue_b);
    }
    const int s = step % kStages;
    const uint32_t bytes = static_cast<uint32_t>(valid) * kRowElems * sizeof(T);
    mbar_expect_tx(s_full + s, 2 * bytes);
    if (bytes > 0) {
      const int64_t at = (static_cast<int64_t>(b) * p.max_len + row0) * kRowElems;
      bulk_copy_g2s(ring + s * S::kBytes, static_cast<const T*>(p.k) + at, bytes, s_full + s);
      bulk_copy_g2s(ring + s * S::kBytes + S::kBlockBytes, static_cast<const T*>(p.v) + at, bytes, s_full + s);
    }
  };
  // Steps in flight ahead of the one being computed: kStages - 1, or fewer on request (LaunchOptions::
  // prefetch_steps, a diagnostic of how the stream depends on the bytes in flight).
  const int ahead = p.prefetch > 0 ? min(p.prefetch, kStages - 1) : kStages - 1;
  if (tid == 0) {
    for (int i = 0; i < ahead && i < steps; ++i) issue(i);
  }

  float m_run = -INFINITY, l_run = 0.f;
  float acc[D / 16][4];
  // The end of a segment (this CTA's steps of sequence b): this warp's partial of (b, KV head warp) straight
  // from registers, into the piece slot of this CTA; the sequence's last CTA to arrive merges it (later).
  // acc[mt][0..3] = O[head 2c | 2c+1][d | d+1], d = 8(g + 8u) + 2w, relative to m_run.
  const auto finish_segment = [&](int b) {
    const int piece = static_cast<int>(blockIdx.x) - first_cta(b);
    l_run += __shfl_xor_sync(0xFFFFFFFFu, l_run, 1);
    l_run += __shfl_xor_sync(0xFFFFFFFFu, l_run, 2);
    const int64_t first = (static_cast<int64_t>(b) * p.num_chunks + piece) * H + warp * G;  // head (b, warp*G)
    if (c == 0 && g < G) {
      p.part_ml[2 * (first + g)] = m_run;
      p.part_ml[2 * (first + g) + 1] = l_run;
    }
#pragma unroll
    for (int mt = 0; mt < D / 16; ++mt) {
      const int d = 8 * (g + 8 * (mt >> 2)) + 2 * (mt & 3);
      if (2 * c < G) *reinterpret_cast<float2*>(p.part_acc + (first + 2 * c) * D + d) = make_float2(acc[mt][0], acc[mt][2]);
      if (2 * c + 1 < G) {
        *reinterpret_cast<float2*>(p.part_acc + (first + 2 * c + 1) * D + d) = make_float2(acc[mt][1], acc[mt][3]);
      }
    }
    __threadfence();
    __syncthreads();
    if (tid == 0) {
      const uint32_t prev = atomicAdd(merge_counter(p, b * p.num_kv_heads), 1u);
      if (prev == static_cast<uint32_t>(pieces(b) - 1)) {
        if (s_num_merge == kRowsMaxSegments) __trap();  // the host's split bounds the segments per CTA
        s_merge[s_num_merge++] = b;
      }
    }
  };

  if (sweep) {
    for (int i = 0; i < steps; ++i) {
      __syncthreads();
      if (tid == 0 && i + ahead < steps) issue(i + ahead);
      mbar_wait(s_full + i % kStages, static_cast<uint32_t>((i / kStages) & 1));
    }
    phase_mark(p, blockIdx.x, kPhaseKeys);
    phase_mark(p, blockIdx.x, kPhaseEnd);
    return;
  }
  // The consumers' cursor: the (sequence, step) of step i, the sequence's length, its queries in registers.
  int seg_b = -1, b = b_first, st = st_first, n = 0;
  bool need_q = false;
  QFrag<D> qf;
  const bool stream_only = p.stop_after == 1;  // diagnostic (variant 31): no scores, no P.V
  for (int i = 0; i < steps; ++i, ++st) {
    if (st == sps) {
      ++b;
      st = 0;
    }
    if (b != seg_b) {  // block-uniform
      if (seg_b >= 0) finish_segment(seg_b);
      seg_b = b;
      n = seq_len(b);
      m_run = -INFINITY;
      l_run = 0.f;
#pragma unroll
      for (int mt = 0; mt < D / 16; ++mt) acc[mt][0] = acc[mt][1] = acc[mt][2] = acc[mt][3] = 0.f;
      __syncthreads();  // every warp is done with the previous sequence's queries
      for (int h = 0; h < kRowsKvHeads; ++h) stage_q<D, T>(s_q[h], p, b, h);
      need_q = true;
    }
    __syncthreads();  // every warp has finished reading the stage of step i - 1: it can be refilled
    if (tid == 0 && i + ahead < steps) issue(i + ahead);
    if (need_q) {
      load_q_smem<D, T>(qf, s_q[warp], g, c);
      need_q = false;
    }
    const int s = i % kStages;
    mbar_wait(s_full + s, static_cast<uint32_t>((i / kStages) & 1));
    const int row0 = st * 16;
    if (row0 >= n || stream_only) continue;  // past the sequence's end: nothing was copied
    const unsigned char* kb = ring + s * S::kBytes + warp * D * sizeof(T);
    const unsigned char* vb = kb + S::kBlockBytes;
    KFrag<D> kf;
    VFrag<D> vf;
#pragma unroll
    for (int nt = 0; nt < 2; ++nt) {
      const bool ok = row0 + 8 * nt + g < n;  // rows past the end were not copied: zeros, as the loads give
#pragma unroll
      for (int j = 0; j < D / 32; ++j) {
        kf.r[nt][j] = ok ? *reinterpret_cast<const uint4*>(kb + (8 * nt + g) * kRowBytes + 16 * c + 64 * j)
                         : make_uint4(0, 0, 0, 0);
      }
    }
#pragma unroll
    for (int ri = 0; ri < 4; ++ri) {
      const int r = 2 * c + (ri & 1) + 8 * (ri >> 1);
      const bool ok = row0 + r < n;
#pragma unroll
      for (int u = 0; u < D / 64; ++u) {
        vf.r[ri][u] = ok ? *reinterpret_cast<const uint4*>(vb + r * kRowBytes + 16 * g + 128 * u) : make_uint4(0, 0, 0, 0);
      }
    }
    float sc[2][2];
    score_step<D, T>(qf, kf, sc);
    softmax_pv_step<D, T>(sc, vf, row0, n, p.scale_log2, G, g, c, m_run, l_run, acc);
  }
  if (seg_b >= 0) finish_segment(seg_b);

  __syncthreads();  // s_merge complete; the ring is free for the merges' scratch (every stage was waited on)
  const int num_merge = s_num_merge;
  phase_mark(p, blockIdx.x, kPhaseKeys);
  if (num_merge > 0) __threadfence();
  for (int j = 0; j < num_merge; ++j) {
    const int b = s_merge[j];
    merge_heads<D, T, MergeKind::softmax>(p, b, 0, H, pieces(b), reinterpret_cast<float*>(smem4));
    __syncthreads();
  }
  if (num_merge > 0) phase_mark(p, blockIdx.x, kPhaseMerged);
  phase_mark(p, blockIdx.x, kPhaseEnd);
}

}  // namespace santa::gpu::detail
