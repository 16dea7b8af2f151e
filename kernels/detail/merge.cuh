// The end of every decode kernel: each CTA publishes its chunk's partial result, and the last CTA of a
// (sequence, KV head) to arrive (a ticket counter) merges all chunks in chunk order and writes the output.
// No float atomics anywhere, so results are bitwise reproducible. The counters are reset by that CTA, so
// the next call (or CUDA-graph replay) starts from zero.
#pragma once

#include "kernels/detail/fragments.cuh"

namespace santa::gpu::detail {

// Phase timing (diagnostics, KernelParams::phase_clock != nullptr): thread 0 records clock64() after the
// block barrier that ends phase k (PhaseClockSlot, decode_types.hpp), and the SM, the global timer at start and end.
__device__ __forceinline__ void phase_mark(const KernelParams& p, int lid, int k) {
  if (p.phase_clock == nullptr || threadIdx.x != 0) return;
  int64_t* rec = p.phase_clock + static_cast<int64_t>(lid) * kPhaseClockSlots;
  rec[k] = clock64();
  if (k == kPhaseStart || k == kPhaseEnd) {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    rec[k == kPhaseStart ? kPhaseGlobalStart : kPhaseGlobalEnd] = static_cast<int64_t>(t);
  }
  if (k == kPhaseStart) {
    unsigned smid;
    asm volatile("mov.u32 %0, %%smid;" : "=r"(smid));
    rec[kPhaseSm] = smid;
  }
}

enum class MergeKind { softmax, plain_sum };  // softmax: sum_c w_c acc_c / sum_c w_c l_c ; plain: sum_c acc_c / S

__device__ __forceinline__ uint32_t* merge_counter(const KernelParams& p, int group) { return p.counters + group; }
__device__ __forceinline__ uint32_t* barrier_counter(const KernelParams& p, int group) {
  return p.counters + p.counter_groups + group;
}
__device__ __forceinline__ uint32_t* ticket_counter(const KernelParams& p) { return p.counters + 2 * p.counter_groups; }
__device__ __forceinline__ uint32_t* exit_counter(const KernelParams& p) { return p.counters + 2 * p.counter_groups + 1; }

// Called by all threads after this CTA's partial is written. Returns true in the CTA that must merge.
__device__ __forceinline__ bool arrive_last(const KernelParams& p, int group, int* s_flag) {
  __threadfence();  // every thread's partial stores are visible device-wide before the ticket
  __syncthreads();
  if (threadIdx.x == 0) {
    const uint32_t prev = atomicAdd(merge_counter(p, group), 1u);
    *s_flag = prev == static_cast<uint32_t>(p.num_chunks - 1);
  }
  __syncthreads();
  const bool last = *s_flag != 0;
  if (last) __threadfence();
  return last;
}

// Merges the first `count` chunk partials of `heads` consecutive query heads (from head kvh * G of sequence b)
// and writes their outputs. Partials are laid out [b * H + kvh * G][p.num_chunks][heads][D] (floats) and
// [...][heads][2] (max, sum): for heads = G that is the (sequence, KV head) group's block; the whole-row dense
// kernel merges all H heads of a sequence at once (kvh = 0, heads = H).
// kBlock: the CTA's threads (every kernel has kThreads but the CTA-wide-tile dense kernel, dense_tile_kernel.cuh).
template <int D, class T, MergeKind kKind, int kBlock = kThreads>
__device__ void merge_heads(const KernelParams& p, int b, int kvh, int heads, int count, float* smem) {
  const int G = heads, C = count, tid = threadIdx.x;
  const int group = b * p.num_kv_heads + kvh;
  const int64_t first_head = static_cast<int64_t>(b) * p.num_heads + kvh * p.group;
  const float* acc = p.part_acc + first_head * p.num_chunks * D;
  const float* ml = p.part_ml + first_head * p.num_chunks * 2;
  float* s_w = smem;                 // [C][G] weight of each chunk's partial
  float* s_den = smem + C * G;       // [merge_den_floats(G)]
  float4* s_red = reinterpret_cast<float4*>(smem + ((C * G + merge_den_floats(G) + 3) & ~3));  // [kThreads]

  // Chunk weights: all (max, sum) pairs are fetched in one parallel round, then warp h reduces head h over
  // the chunks (lanes take interleaved chunks, a fixed shuffle tree combines them: deterministic).
  if constexpr (kKind == MergeKind::softmax) {
    float2* s_ml = reinterpret_cast<float2*>(s_red + kThreads);  // [C][G] (max, sum)
    for (int e = tid; e < C * G; e += kBlock) s_ml[e] = __ldcg(reinterpret_cast<const float2*>(ml) + e);
    __syncthreads();
    const int warp = tid >> 5, lane = tid & 31;
    for (int h = warp; h < G; h += (kBlock / 32)) {
      float mstar = -INFINITY;
      for (int c = lane; c < C; c += 32) mstar = fmaxf(mstar, s_ml[c * G + h].x);
      mstar = warp_max(mstar);
      float den = 0.f;
      for (int c = lane; c < C; c += 32) {
        const float2 v = s_ml[c * G + h];
        const float w = v.x == -INFINITY ? 0.f : exp2f(v.x - mstar);
        den += w * v.y;
        s_w[c * G + h] = w;
      }
      den = warp_sum(den);
      if (lane == 0) s_den[h] = den;
    }
  } else {
    for (int e = tid; e < C * G; e += kBlock) s_w[e] = 1.f;
    for (int h = tid; h < G; h += kBlock) s_den[h] = static_cast<float>(p.samples);
  }
  __syncthreads();

  // Columns of 4 consecutive outputs; `split` of kThreads slots share a column over interleaved chunks. The slots
  // are fixed at kThreads whatever the block size (a thread takes every kBlock-th), so every kernel sums the same
  // products in the same order: the CTA-wide-tile kernel is bitwise the default at the same split.
  const int ncols = G * D / 4;
  const int split = ncols >= kThreads ? 1 : kThreads / ncols;
  const int width = kThreads / split;
  const float4* acc4 = reinterpret_cast<const float4*>(acc);
  T* out = static_cast<T*>(p.out) + first_head * D;
  for (int col0 = 0; col0 < ncols; col0 += width) {
    for (int slot = tid; slot < kThreads; slot += kBlock) {
      const int col = col0 + slot % width, part = slot / width;
      float4 s = make_float4(0.f, 0.f, 0.f, 0.f);
      if (col < ncols) {
        const int h = (4 * col) / D;
#pragma unroll 8
        for (int c = part; c < C; c += split) {
          const float w = s_w[c * G + h];
          const float4 a = __ldcg(acc4 + static_cast<int64_t>(c) * ncols + col);
          s.x += w * a.x;
          s.y += w * a.y;
          s.z += w * a.z;
          s.w += w * a.w;
        }
      }
      s_red[slot] = s;
    }
    __syncthreads();
    for (int slot = tid; slot < width; slot += kBlock) {  // part 0 of each column
      const int col = col0 + slot;
      if (col >= ncols) continue;
      float4 t = s_red[slot];
      for (int q = 1; q < split; ++q) {  // fixed order over the parts
        const float4 u = s_red[slot + q * width];
        t.x += u.x;
        t.y += u.y;
        t.z += u.z;
        t.w += u.w;
      }
      const int h = (4 * col) / D;
      const float inv = s_den[h] > 0.f ? 1.f / s_den[h] : 0.f;
      T* o = out + 4 * col;
      o[0] = Half<T>::from_float(t.x * inv);
      o[1] = Half<T>::from_float(t.y * inv);
      o[2] = Half<T>::from_float(t.z * inv);
      o[3] = Half<T>::from_float(t.w * inv);
    }
    __syncthreads();
  }

  // Records (sampling kernels): samples drawn per head and distinct V rows per KV head, summed over chunks
  // (integers: any order gives the same total).
  const int32_t* cnt = p.part_cnt + static_cast<int64_t>(group) * p.num_chunks * kCntStride;
  if (p.samples_out != nullptr || p.rows_out != nullptr) {
    const int warp = tid >> 5, lane = tid & 31;
    for (int slot = warp; slot <= G; slot += (kBlock / 32)) {  // slots 0..G-1: heads; slot G: distinct rows
      const int field = slot < G ? slot : kMaxGroup;
      int total = 0;
      for (int c = lane; c < C; c += 32) total += __ldcg(cnt + c * kCntStride + field);
      total = warp_sum(total);
      if (lane == 0) {
        if (slot < G && p.samples_out != nullptr) p.samples_out[static_cast<int64_t>(b) * p.num_heads + kvh * G + slot] = total;
        if (slot == G && p.rows_out != nullptr) p.rows_out[group] = total;
      }
    }
  }
  if (tid == 0) {  // every CTA of this group has arrived: nobody reads these counters any more in this call
    *merge_counter(p, group) = 0u;
    *barrier_counter(p, group) = 0u;
  }
}

// The (sequence, KV head) group's merge: all its chunks, its G heads.
template <int D, class T, MergeKind kKind, int kBlock = kThreads>
__device__ void merge_chunks(const KernelParams& p, int b, int kvh, float* smem) {
  merge_heads<D, T, kKind, kBlock>(p, b, kvh, p.group, p.num_chunks, smem);
}

}  // namespace santa::gpu::detail
