// S2ANTA-flash and S2ANTA-prop in one kernel template (the budget rule is a runtime mode).
//
// One CTA per (chunk, KV head, sequence). Phases:
//  A. stream the chunk's keys once (double-buffered 16-byte loads, tensor-core scores for the G heads,
//     fragments.cuh) into an fp32 score array in shared memory. Keys are never read again. Fused (default,
//     tiles <= 256 keys): each warp streams whole tiles and runs phase B on a tile (flash: and C, D) as soon as
//     it has stored the tile's scores, with its next key loads in flight.
//  B. per (head, tile): tile max m_t, exp2(s - m_t), an fp32 running prefix (the CDF is fp32, never bf16),
//     the tile sum l_t, the last key with positive weight.
//  C. budgets. flash: n_t per tile, offset from the tile's Philox site, weights count * l_t / n_t (the chunk
//     factor exp2(m_t - m_c) is set per tile in phase E1 and applied in the gather). prop: the CTA publishes its tiles'
//     (m_t, l_t), waits for the other CTAs of its (sequence, KV head) (a counter barrier; CTAs take ordered
//     tickets at start so the wait cannot deadlock while one (sequence, KV head) fits on the GPU at once;
//     with the heads-inner order, while one sequence's CTAs do: the host checks either),
//     then scans all tile masses of the head in 64-bit fixed point (associative, so every CTA computes
//     bitwise the same boundaries) to get the global-systematic boundaries B_t = S C_t, or the
//     largest-remainder budgets.
//  D. counts by the systematic rule on the running prefix, c_i = floor(u + F_i) - floor(u + F_{i-1}) in
//     double with the tile's end forced to its boundary, so the totals are exact (S, or n_t per tile);
//     each row's weight (count; flash: times l_t / n_t) replaces its prefix in shared memory. prop skips
//     tiles whose count axis holds no integer (no samples; their tile factor is 0).
//  E. compact the rows any head sampled (CUB block scan), gather each distinct V row once with 16-byte
//     loads and apply every head's weight on tensor cores (gather.cuh: only sampled rows are touched).
//  F. publish the partial, last CTA merges (merge.cuh).
#pragma once

#include <cub/block/block_scan.cuh>

#include "estimators/philox.hpp"
#include "kernels/detail/gather.cuh"
#include "kernels/detail/merge.cuh"

namespace santa::gpu::detail {

__device__ __forceinline__ bool is_prop(int mode) {
  return mode == static_cast<int>(SamplingMode::prop_global_systematic) ||
         mode == static_cast<int>(SamplingMode::prop_largest_remainder);
}

__device__ __forceinline__ uint32_t sampling_step(const KernelParams& p) {
  return p.step_ptr != nullptr ? *p.step_ptr : p.step;
}

// flash: tile t's budget n_t (exact_total: S / tiles, one more for the first S mod tiles; reference: S / tiles, at
// least 1), its count axis [0, b1 = n_t], its Philox offset u, and the weight factor f = l_t / n_t (the one-pass
// kernel and the one-stream kernel, flash_stream_kernel.cuh, take theirs from here: the same counts).
struct FlashBudget {
  float f;
  double b1, u;
};
__device__ __forceinline__ FlashBudget flash_budget(const KernelParams& p, int64_t base, int64_t extra, uint32_t step,
                                                    int b, int head, int t, float l_t) {
  int64_t nt = p.mode == static_cast<int>(SamplingMode::flash_exact) ? base + (t < extra ? 1 : 0) : base;
  if (nt < 1) nt = 1;
  const santa::RngSite site{p.seed, step, static_cast<uint32_t>(b), static_cast<uint32_t>(head), static_cast<uint32_t>(t)};
  return {l_t / static_cast<float>(nt), static_cast<double>(nt), santa::systematic_offset(site)};
}

// Tile masses in 64-bit fixed point: W_t = exp2(m_t - m*) l_t <= tile <= 512 = 2^9, scaled by 2^40, so a
// sum over up to 2^12 tiles stays below 2^61. Integer sums are associative: every CTA gets the same prefix.
__device__ __forceinline__ unsigned long long fixed_mass(float m, float l, float mstar) {
  const double w = static_cast<double>(exp2f(m - mstar)) * static_cast<double>(l);
  return static_cast<unsigned long long>(w * 1099511627776.0);  // 2^40
}

// PER consecutive floats of shared memory <-> registers (16-byte accesses where PER allows). With PER >= 8 a
// lane's run spans 2 or 4 16-byte chunks and the lanes of a quarter warp would hit the same banks (2- or 4-way
// conflicts); instruction k therefore moves chunk (k + rot) mod NQ, rot depending on the lane, so the quarter
// warp covers all 32 banks, and selects put the chunks back in order (same values, same registers after).
template <int NQ>
__device__ __forceinline__ int chunk_rotation(int lane) {
  return NQ >= 2 ? (lane / (8 / NQ)) % NQ : 0;
}
template <int NQ>
__device__ __forceinline__ float4 pick(const float4 (&v)[NQ], int i) {  // v[i] without local-memory indexing
  float4 w = v[0];
#pragma unroll
  for (int k = 1; k < NQ; ++k) w = i == k ? v[k] : w;
  return w;
}

template <int PER>
__device__ __forceinline__ void load_run(const float* src, float (&x)[PER], int lane) {
  if constexpr (PER % 4 == 0) {
    constexpr int NQ = PER / 4;
    const int rot = chunk_rotation<NQ>(lane);
    float4 v[NQ];  // v[k] = chunk (k + rot) mod NQ
#pragma unroll
    for (int k = 0; k < NQ; ++k) v[k] = *reinterpret_cast<const float4*>(src + 4 * ((k + rot) % NQ));
#pragma unroll
    for (int j = 0; j < NQ; ++j) {
      const float4 w = pick<NQ>(v, (j - rot + NQ) % NQ);
      x[4 * j] = w.x, x[4 * j + 1] = w.y, x[4 * j + 2] = w.z, x[4 * j + 3] = w.w;
    }
  } else {
#pragma unroll
    for (int k = 0; k < PER; ++k) x[k] = src[k];
  }
}

template <int PER>
__device__ __forceinline__ void store_run(float* dst, const float (&x)[PER], int lane) {
  if constexpr (PER % 4 == 0) {
    constexpr int NQ = PER / 4;
    const int rot = chunk_rotation<NQ>(lane);
    float4 v[NQ];
#pragma unroll
    for (int j = 0; j < NQ; ++j) v[j] = make_float4(x[4 * j], x[4 * j + 1], x[4 * j + 2], x[4 * j + 3]);
#pragma unroll
    for (int k = 0; k < NQ; ++k) {
      const int j = (k + rot) % NQ;
      *reinterpret_cast<float4*>(dst + 4 * j) = pick<NQ>(v, j);
    }
  } else {
#pragma unroll
    for (int k = 0; k < PER; ++k) dst[k] = x[k];
  }
}

// Heads per warp task in phases B and D (v5): a warp works on HB heads of one tile at once, so the shuffle
// scans and fp64 chains of the heads overlap instead of running one (head, tile) after another.
// kOneHead = 1: one head per task in both phases (the v4 arrangement; a benchmark variant).
__host__ __device__ constexpr int heads_per_task(int per, int one_head) { return one_head ? 1 : per <= 8 ? 4 : 2; }
__host__ __device__ constexpr int heads_per_count_task(int per, int one_head) { return one_head ? 1 : per <= 8 ? 2 : 1; }

// Phase B for up to HB heads of one tile: head j's scores in col[j * stride + [0, 32 * PER)), lane owns keys
// [PER lane, PER lane + PER). Leaves the fp32 running prefix of exp2(s - m) in place; writes max, sum (== the
// last prefix) and the last key with positive weight of head j to tm/tl/tlast[j * tstride] (lane 0).
template <int PER, int kOneHead>
__device__ __forceinline__ void tile_prefix(float* col, int stride, int nh, int lane, float* tm, float* tl,
                                            int* tlast, int tstride) {
  constexpr int HB = heads_per_task(PER, kOneHead);
  float x[HB][PER], mx[HB], sum[HB], incl[HB];
  int last[HB];
#pragma unroll
  for (int j = 0; j < HB; ++j) {
    if (j < nh) {
      load_run<PER>(col + j * stride + lane * PER, x[j], lane);
    } else {
#pragma unroll
      for (int k = 0; k < PER; ++k) x[j][k] = 0.f;
    }
    mx[j] = x[j][0];
#pragma unroll
    for (int k = 1; k < PER; ++k) mx[j] = fmaxf(mx[j], x[j][k]);
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
#pragma unroll
    for (int j = 0; j < HB; ++j) mx[j] = fmaxf(mx[j], __shfl_xor_sync(0xFFFFFFFFu, mx[j], o));
#pragma unroll
  for (int j = 0; j < HB; ++j) {
    sum[j] = 0.f;
    last[j] = -1;
#pragma unroll
    for (int k = 0; k < PER; ++k) {
      x[j][k] = exp2f(x[j][k] - mx[j]);
      sum[j] += x[j][k];
      if (x[j][k] > 0.f) last[j] = lane * PER + k;
    }
    incl[j] = sum[j];
  }
#pragma unroll
  for (int o = 1; o < 32; o <<= 1)
#pragma unroll
    for (int j = 0; j < HB; ++j) {
      const float t = __shfl_up_sync(0xFFFFFFFFu, incl[j], o);
      if (lane >= o) incl[j] += t;
    }
#pragma unroll
  for (int j = 0; j < HB; ++j) {
    float run = __shfl_up_sync(0xFFFFFFFFu, incl[j], 1);
    if (lane == 0) run = 0.f;
#pragma unroll
    for (int k = 0; k < PER; ++k) {
      run += x[j][k];
      x[j][k] = run;
    }
    if (j < nh) store_run<PER>(col + j * stride + lane * PER, x[j], lane);
    sum[j] = __shfl_sync(0xFFFFFFFFu, run, 31);  // the prefix stored at the tile's last key
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
#pragma unroll
    for (int j = 0; j < HB; ++j) last[j] = max(last[j], __shfl_xor_sync(0xFFFFFFFFu, last[j], o));
  if (lane == 0) {
#pragma unroll
    for (int j = 0; j < HB; ++j) {
      if (j < nh) {
        tm[j * tstride] = mx[j];
        tl[j * tstride] = sum[j];
        tlast[j * tstride] = last[j];
      }
    }
  }
}

// Phase D for up to HB heads of one tile (head j: weights at col + j * stride, tile values at [j * tstride],
// counts record at counts_row + j * cstride): systematic counts on the count axis [B0, B1] with offset u,
// c_i = floor(u + F_i) - floor(u + F_{i-1}), F_i = B0 + (B1 - B0) prefix_i / l (fp64), F forced to B1 from the
// last positive key on (so the tile's counts sum to floor(u + B1) - floor(u + B0) exactly). The weights
// count * f replace the prefix; rows with a non-zero weight for any head get their bit in mask_t (the tile's
// first word; integer atomics, so the mask does not depend on the order). Adds head j's total to tot[j] (lane 0).
// Within a lane floor(u + F_i) never decreases (its prefixes are a sequential fp32 sum of non-negative terms,
// every later step is monotone and F is forced to B1 from `last` on), so a lane whose first and last floors
// agree has no counts after its first key: only lanes where the floor moves evaluate every key (v5). The floor
// before a lane's first key is the left lane's last floor (the same expression on the same values), shuffled.
template <int PER, int kOneHead>
__device__ __forceinline__ void tile_counts(float* col, int stride, int nh, int lane, const double* tb0,
                                            const double* tb1, const double* tu, const float* tf, const int* tlast,
                                            const float* tl, int tstride, int32_t* counts_row, int64_t cstride,
                                            int valid, uint32_t* mask_t, int* tot) {
  constexpr int HB = heads_per_count_task(PER, kOneHead);
  uint32_t bits = 0;
  int csum[HB];
  float x[HB][PER];
  double B0[HB], B1[HB], u[HB], inv_l[HB], fl_last[HB], fl_first[HB], fl_prev[HB];
  int last[HB];
  // Branch-free part first (the heads' loads and fp64 chains overlap), then the per-lane slow path.
#pragma unroll
  for (int j = 0; j < HB; ++j) {
    const int jj = j < nh ? j : 0;  // a missing head repeats head 0 (results unused)
    load_run<PER>(col + jj * stride + lane * PER, x[j], lane);
    B0[j] = tb0[jj * tstride], B1[j] = tb1[jj * tstride], u[j] = tu[jj * tstride];
    last[j] = tlast[jj * tstride];
    inv_l[j] = 1.0 / static_cast<double>(tl[jj * tstride]);
  }
  auto F = [&](int j, int i, float prefix) -> double {
    if (i >= last[j]) return B1[j];
    return fmin(B0[j] + (B1[j] - B0[j]) * (static_cast<double>(prefix) * inv_l[j]), B1[j]);
  };
#pragma unroll
  for (int j = 0; j < HB; ++j) {
    fl_last[j] = floor(u[j] + F(j, lane * PER + PER - 1, x[j][PER - 1]));
    fl_first[j] = PER == 1 ? fl_last[j] : floor(u[j] + F(j, lane * PER, x[j][0]));
  }
#pragma unroll
  for (int j = 0; j < HB; ++j) {
    fl_prev[j] = __shfl_up_sync(0xFFFFFFFFu, fl_last[j], 1);  // floor(u + F_{i-1}) before this lane's first key
    if (lane == 0) fl_prev[j] = floor(u[j] + B0[j]);
  }
#pragma unroll
  for (int j = 0; j < HB; ++j) {
    csum[j] = 0;
    if (j >= nh) continue;
    int cnt[PER];
    if (fl_first[j] == fl_last[j]) {
      cnt[0] = static_cast<int>(fl_first[j] - fl_prev[j]);
#pragma unroll
      for (int k = 1; k < PER; ++k) cnt[k] = 0;
    } else {
      double pr = fl_prev[j];
#pragma unroll
      for (int k = 0; k < PER; ++k) {
        const double fl = floor(u[j] + F(j, lane * PER + k, x[j][k]));
        cnt[k] = static_cast<int>(fl - pr);
        pr = fl;
      }
    }
    const float f = tf[j * tstride];
#pragma unroll
    for (int k = 0; k < PER; ++k) {
      x[j][k] = static_cast<float>(cnt[k]) * f;
      csum[j] += cnt[k];
      bits |= (x[j][k] != 0.f ? 1u : 0u) << k;
      if (counts_row != nullptr && lane * PER + k < valid) counts_row[j * cstride + lane * PER + k] = cnt[k];
    }
    store_run<PER>(col + j * stride + lane * PER, x[j], lane);
  }
  if (bits != 0u) atomicOr(mask_t + ((lane * PER) >> 5), bits << ((lane * PER) & 31));
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
#pragma unroll
    for (int j = 0; j < HB; ++j) csum[j] += __shfl_xor_sync(0xFFFFFFFFu, csum[j], o);
  if (lane == 0) {
#pragma unroll
    for (int j = 0; j < HB; ++j) {
      if (j < nh) atomicAdd(tot + j, csum[j]);  // integer: order does not matter
    }
  }
}

// kMaxPer = 8 for callers that never see tiles of 512 keys (the fused key stream: its in-flight key fragment
// leaves no registers for 16 keys per lane), so the PER = 16 code is not compiled into them.
template <template <int> class Fn, int kMaxPer = 16, class... Args>
__device__ __forceinline__ auto with_per(int per, Args&&... args) {
  switch (per) {
    case 1: return Fn<1>::run(args...);
    case 2: return Fn<2>::run(args...);
    case 4: return Fn<4>::run(args...);
    case 8:
      if constexpr (kMaxPer > 8) return Fn<8>::run(args...);
      [[fallthrough]];
    default: return Fn<kMaxPer>::run(args...);  // tile 512 (kMaxTile): 32 keys per lane would spill
  }
}
// prop: the last CTA of the grid resets the ticket counter (and, after a diagnostic early stop, the barrier
// counters that no merge reset) for the next call.
__device__ __forceinline__ void prop_exit(const KernelParams& p, bool reset_barriers) {
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    const uint32_t total = gridDim.x * gridDim.y * gridDim.z;
    if (atomicAdd(exit_counter(p), 1u) == total - 1) {
      if (reset_barriers) {
        for (int g = 0; g < p.batch * p.num_kv_heads; ++g) *barrier_counter(p, g) = 0u;
      }
      *ticket_counter(p) = 0u;
      *exit_counter(p) = 0u;
    }
  }
}

template <int kOneHead>
struct TilePrefixOps {
  template <int PER>
  struct Fn {
    template <class... A>
    static __device__ __forceinline__ void run(A&&... a) { tile_prefix<PER, kOneHead>(a...); }
  };
};
template <int kOneHead>
struct TileCountsOps {
  template <int PER>
  struct Fn {
    template <class... A>
    static __device__ __forceinline__ void run(A&&... a) { tile_counts<PER, kOneHead>(a...); }
  };
};

// kMinBlocks: CTAs per SM the registers must allow (2 by default, 1 for d = 256; 3 is a variant with a
// single-buffered key stream so that more CTAs in different phases share an SM).
// kKeyRing: the fused key stream through a per-warp cp.async ring (variants 58-60; its own build, so the default
// kernel's registers stay as they are: the ring path alone added 76 bytes of spills to it).
template <int D, class T, int kMaxG, int kMinBlocks = (D <= 128 ? 2 : 1), int kOneHead = 0, bool kKeyRing = false>
__global__ void __launch_bounds__(kThreads, kMinBlocks) sampling_decode_kernel(const KernelParams p) {
  using BlockScan = cub::BlockScan<int, kThreads>;
  __shared__ typename BlockScan::TempStorage scan_storage;
  __shared__ __align__(16) T s_q[kMaxGroup * kQRowStride<D>];
  __shared__ int s_flag, s_lid;
  __shared__ int s_cnt[kMaxGroup];
  __shared__ float s_mc[kMaxGroup], s_L[kMaxGroup];
  __shared__ unsigned long long s_Z[kMaxGroup];
  extern __shared__ __align__(kSmemAlign) float4 smem4[];  // aligned for the key ring's cp.async (kSmemAlign)
  float* smem = reinterpret_cast<float*>(smem4);

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, c = lane & 3;
  const int G = p.group, TR = p.tile, C = p.num_chunks;
  const bool prop = is_prop(p.mode);

  // Logical CTA id: prop takes tickets in start order (needed by the barrier), the others use blockIdx.
  if (tid == 0) {
    s_lid = prop ? static_cast<int>(atomicAdd(ticket_counter(p), 1u))
                 : static_cast<int>(blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z));
  }
  if (tid < kMaxGroup) s_cnt[tid] = 0;
  __syncthreads();
  const int lid = s_lid;
  phase_mark(p, lid, kPhaseStart);
  const CtaCoord cta = cta_coord(lid, C, p.num_kv_heads, p.heads_inner);
  const int chunk = cta.chunk, kvh = cta.kvh, b = cta.b;
  const int group = b * p.num_kv_heads + kvh;
  const int n = min(max(p.seq_lens[b], 0), static_cast<int>(p.n_max));
  const int chunk_rows = chunk_rows_for(n, C, TR);
  const int r0 = chunk * chunk_rows;
  const int r1 = min(n, r0 + chunk_rows);
  const int ntl = r1 > r0 ? (r1 - r0 + TR - 1) / TR : 0;  // tiles of this chunk with keys
  const int t0 = r0 / TR;                                 // global index of the first tile
  const int ntiles = (n + TR - 1) / TR;                   // tiles of the sequence
  const int rows_max = p.rows_max;
  const int tpc = rows_max / TR;
  const SamplingSmem L = sampling_smem(G, rows_max, TR, D, C, p.key_ring);
  const int sst = score_stride(rows_max);  // padded: the G heads' rows start on different banks
  float* sc = smem + L.scores;  // [G][sst]: scores -> exp -> prefix -> weights
  float* t_m = smem + L.tile_f;
  float* t_l = t_m + G * tpc;
  float* t_f = t_l + G * tpc;
  int* t_last = reinterpret_cast<int*>(smem + L.tile_last);
  double* t_b0 = reinterpret_cast<double*>(smem + L.tile_d);
  double* t_b1 = t_b0 + G * tpc;
  double* t_u = t_b1 + G * tpc;
  uint16_t* list = reinterpret_cast<uint16_t*>(smem + L.list);
  uint32_t* mask = reinterpret_cast<uint32_t*>(smem + L.mask);
  const KvRows rows = kv_rows<D>(p, b, kvh);
  const uint32_t step = sampling_step(p);
  const int per = TR / 32;  // keys per lane in the per-tile phases B and D

  // Per-tile work (phases B and, for flash, C and D of one tile) as warp-level calls, so that the fused key
  // stream (below) can run them as soon as a warp has stored a tile's scores.
  const int64_t S = p.samples;
  const double Sd = static_cast<double>(S);
  const int HB = heads_per_task(per, kOneHead);
  const int HC = heads_per_count_task(per, kOneHead);
  auto tile_stats = [&](int h0, int lt) {  // heads [h0, h0 + HB) of tile lt
    with_per<TilePrefixOps<kOneHead>::template Fn>(per, sc + h0 * sst + lt * TR, sst, min(HB, G - h0), lane,
                                                     t_m + h0 * tpc + lt, t_l + h0 * tpc + lt, t_last + h0 * tpc + lt,
                                                     tpc);
  };
  // flash: tile t's count axis [0, n_t], its Philox offset, and the weight factor l_t / n_t (the chunk's
  // exp2(m_t - m_c) comes later, through t_f in the gather, so a tile's counts need nothing from other tiles).
  // S / ntiles once per CTA, not per tile (a 64-bit division is a long call; the tile work is instruction-bound).
  const int64_t flash_base = ntiles > 0 ? S / ntiles : 0, flash_extra = ntiles > 0 ? S % ntiles : 0;
  auto flash_tile_budget = [&](int h, int lt) {
    const FlashBudget fb = flash_budget(p, flash_base, flash_extra, step, b, kvh * G + h, t0 + lt, t_l[h * tpc + lt]);
    t_f[h * tpc + lt] = fb.f;
    t_b0[h * tpc + lt] = 0.0;
    t_b1[h * tpc + lt] = fb.b1;
    t_u[h * tpc + lt] = fb.u;
  };
  auto tile_counts_task = [&](int h0, int lt) {  // heads [h0, h0 + HC) of tile lt
    const int64_t grow0 = static_cast<int64_t>(t0 + lt) * TR;  // sequence row of the tile's first key
    int32_t* counts_row = p.counts_out == nullptr
                              ? nullptr
                              : p.counts_out + (static_cast<int64_t>(b) * p.num_heads + kvh * G + h0) * p.n_max + grow0;
    const int at = h0 * tpc + lt;
    with_per<TileCountsOps<kOneHead>::template Fn>(per, sc + h0 * sst + lt * TR, sst, min(HC, G - h0), lane,
                                                     t_b0 + at, t_b1 + at, t_u + at, t_f + at, t_last + at, t_l + at,
                                                     tpc, counts_row, p.n_max, static_cast<int>(n - grow0),
                                                     mask + lt * (TR / 32), s_cnt + h0);
  };
  // Everything one warp can do for tile lt once it holds the tile's scores (fused stream): the statistics, and
  // for flash the budget and the counts.
  auto tile_work = [&](int lt) {
    for (int h = 0; h < G; ++h) {
      with_per<TilePrefixOps<1>::template Fn, 8>(per, sc + h * sst + lt * TR, sst, 1, lane, t_m + h * tpc + lt,
                                              t_l + h * tpc + lt, t_last + h * tpc + lt, tpc);
    }
    if (prop) return;
    __syncwarp();
    if (lane < G) flash_tile_budget(lane, lt);
    __syncwarp();
    for (int h = 0; h < G; ++h) {
      const int64_t grow0 = static_cast<int64_t>(t0 + lt) * TR;
      int32_t* counts_row = p.counts_out == nullptr
                                ? nullptr
                                : p.counts_out + (static_cast<int64_t>(b) * p.num_heads + kvh * G + h) * p.n_max + grow0;
      const int at = h * tpc + lt;
      with_per<TileCountsOps<1>::template Fn, 8>(per, sc + h * sst + lt * TR, sst, 1, lane, t_b0 + at, t_b1 + at,
                                              t_u + at, t_f + at, t_last + at, t_l + at, tpc, counts_row, p.n_max,
                                              static_cast<int>(n - grow0), mask + lt * (TR / 32), s_cnt + h);
    }
  };
  // Variant 1 keeps its single-buffered stream; tiles of 512 keys, and chunks of fewer tiles than warps (the
  // stream would idle warps: call 20, 8k at batch 1), run the phases after the stream.
  const bool fused = p.fused_tiles != 0 && kMinBlocks < 3 && per <= 8 && ntl >= kWarps;

  // ---- A. scores of the chunk's keys (whole tiles; keys past the sequence are -inf).
  stage_q<D, T>(s_q, p, b, kvh);
  for (int w = tid; w < (rows_max + 31) / 32; w += kThreads) mask[w] = 0u;
  __syncthreads();
  {
    const T* kp = static_cast<const T*>(p.k);
    const int nsteps = ntl * TR / 16;
    auto store = [&](const KFrag<D>& f, int s) {
      float sv[2][2];
      {
        QFrag<D> qf;
        load_q_smem<D, T>(qf, s_q, g, c);
        score_step<D, T>(qf, f, sv);
      }
      if (g < G) {
#pragma unroll
        for (int nt = 0; nt < 2; ++nt) {
          const int local = 16 * s + 8 * nt + 2 * c;
          float2 v;
          v.x = r0 + local < r1 ? sv[nt][0] * p.scale_log2 : -INFINITY;
          v.y = r0 + local + 1 < r1 ? sv[nt][1] * p.scale_log2 : -INFINITY;
          *reinterpret_cast<float2*>(sc + g * sst + local) = v;
        }
      }
    };
    // Key loads with the L2 256-byte prefetch-size hint, or without it (KernelParams::l2_hint; variant 43).
    const SelectStreamLoad load{p.l2_hint};
    const auto ldk = [&](KFrag<D>& f, int row0) { load_k<D, T>(f, kp, rows, row0, r1, g, c, load); };
    // The fused stream's order: warp w's k-th step is step k % spt of tile w + 8 (k / spt); after a tile's last step
    // the warp runs tile_work on it.
    const int spt = TR / 16;  // steps per tile (>= 2)
    const int nk = fused ? (ntl > warp ? (ntl - warp + kWarps - 1) / kWarps : 0) * spt : 0;
    auto step_of = [&](int k) { return (warp + kWarps * (k / spt)) * spt + k % spt; };
    auto stored = [&](int k) {
      if ((k + 1) % spt != 0) return;
      __syncwarp();
      tile_work(warp + kWarps * (k / spt));
    };
    if (kKeyRing && fused) {
      // The fused stream's steps through a cp.async ring in shared memory (variants 58-60): the same steps in the
      // same order as below, copied and consumed in halves of 8 rows (one n-tile of the score product), so that of
      // the warp's 2 key_ring half-step slots all but the one being read are in flight, during the score product and
      // during tile work alike (the register loads hold two steps at most and issue none during tile work; call 60:
      // a ring of whole 16-row steps, one step in flight, ran as fast as the registers). The warp's ring is private,
      // so only __syncwarp orders it; rows past r1 are zero-filled, as load_k zeroes them.
      using R = SwizzledRows<D, T>;
      constexpr int kHalfBytes = 8 * D * static_cast<int>(sizeof(T));
      constexpr int kRowsPerCopy = 32 / R::kUnits;  // rows one warp-wide 16-byte copy covers
      constexpr int kElemsPerUnit = 16 / static_cast<int>(sizeof(T));
      const int NH = 2 * p.key_ring, nh = 2 * nk;
      unsigned char* ring = reinterpret_cast<unsigned char*>(smem + L.ring) + warp * NH * kHalfBytes;
      // Lane l copies unit l % kUnits of rows l / kUnits + kRowsPerCopy j of a half step. A half step whose 8 rows are
      // contiguous in the cache (contiguous layout, or pages of >= 8 rows: half steps start at multiples of 8) takes
      // one row address; otherwise each copy computes its own and zero-fills rows past r1.
      const int l_row = lane / R::kUnits, l_unit = lane % R::kUnits;
      const bool half_contiguous = p.page_table == nullptr || p.page_shift >= 3;
      const int64_t row_stride = rows.row_stride;
      // Cursors instead of step_of's divisions (call 62: the ring's address arithmetic made the key pass 40 % more
      // instructions). The issue cursor: the next half step's first row, its slot, its place in its tile.
      const int ring_bytes = NH * kHalfBytes, tile_halves = 2 * spt;
      int i_left = nh, i_row = r0 + warp * TR, i_slot = 0, i_half = 0;
      const auto issue = [&] {
        if (i_left > 0) {
          const int row0 = i_row;
          unsigned char* slot = ring + i_slot;
          if (half_contiguous && row0 + 8 <= r1) {
            const T* src = kp + rows(row0 + l_row) + kElemsPerUnit * l_unit;
#pragma unroll
            for (int j = 0; j < 8 / kRowsPerCopy; ++j) {
              cp_async_16(slot + R::at(l_row + kRowsPerCopy * j, l_unit, -1), src + j * kRowsPerCopy * row_stride, true);
            }
          } else {
#pragma unroll
            for (int j = 0; j < 8 / kRowsPerCopy; ++j) {
              const int r = l_row + kRowsPerCopy * j;
              const bool ok = row0 + r < r1;
              cp_async_16(slot + R::at(r, l_unit, -1), kp + (ok ? rows(row0 + r) + kElemsPerUnit * l_unit : 0), ok);
            }
          }
          --i_left;
          i_slot = i_slot + kHalfBytes == ring_bytes ? 0 : i_slot + kHalfBytes;
          if (++i_half == tile_halves) {  // on to this warp's next tile, kWarps tiles on
            i_half = 0;
            i_row += (kWarps - 1) * TR + 8;
          } else {
            i_row += 8;
          }
        }
        cp_async_commit();  // empty past the last half step, so every wait below counts the same
      };
      for (int h = 0; h < NH - 1; ++h) issue();
      // The read cursor: the slot of the next half step to read. A half step goes into n-tile 0 or 1 of the
      // fragment by separate calls (a run-time index into the fragment would put it in local memory).
      int r_slot = 0;
      const auto take = [&](uint4(&half)[D / 32]) {
        __syncwarp();  // every lane has read the slot the next issue refills (it held the previous half step)
        issue();
        cp_async_wait_pending(NH - 1);  // this half step's group is complete
        __syncwarp();                   // and every lane's copies of it are visible to the warp
        const unsigned char* slot = ring + r_slot;
#pragma unroll
        for (int j = 0; j < D / 32; ++j) half[j] = *reinterpret_cast<const uint4*>(slot + R::at(g, c + 4 * j, -1));
        r_slot = r_slot + kHalfBytes == ring_bytes ? 0 : r_slot + kHalfBytes;
      };
      int c_step = warp * spt, c_in_tile = 0, c_tile = warp;  // the step being computed, its tile
      for (int k = 0; k < nk; ++k) {
        KFrag<D> f;
        take(f.r[0]);
        take(f.r[1]);
        store(f, c_step);
        if (++c_in_tile == spt) {  // the tile's last step: its tile work (stored(k) of the register stream)
          __syncwarp();
          tile_work(c_tile);
          c_in_tile = 0;
          c_tile += kWarps;
          c_step += (kWarps - 1) * spt + 1;
        } else {
          ++c_step;
        }
      }
      cp_async_wait<0>();
    } else if (fused) {
      // Fused stream (v8): warp w streams whole tiles w, w + 8, ... (16-key steps of a tile in order, double
      // buffered across tile ends) and runs tile_work on a tile right after storing its last step, while the
      // next step's loads are in flight: the statistics (and flash's counts) leave the block-wide phases.
      KFrag<D> fa, fb;
      if (nk > 0) ldk(fa, r0 + 16 * step_of(0));
      for (int k = 0; k < nk; k += 2) {
        if (k + 1 < nk) ldk(fb, r0 + 16 * step_of(k + 1));
        store(fa, step_of(k));
        stored(k);
        if (k + 2 < nk) ldk(fa, r0 + 16 * step_of(k + 2));
        if (k + 1 < nk) {
          store(fb, step_of(k + 1));
          stored(k + 1);
        }
      }
    } else if constexpr (kMinBlocks >= 3) {  // single buffer: 8 loads per lane in flight, fewer registers
      for (int s = warp; s < nsteps; s += kWarps) {
        KFrag<D> f;
        ldk(f, r0 + 16 * s);
        store(f, s);
      }
    } else {
      KFrag<D> fa, fb;
      if (warp < nsteps) ldk(fa, r0 + 16 * warp);
      const int P = p.prefetch;
      for (int s = warp; s < nsteps; s += 2 * kWarps) {
        if (P > 0) {  // two new steps per iteration, P (+1) iterations of this warp ahead
          const int a = s + kWarps * (P + 1), bstep = a + kWarps;
          if (a < nsteps) prefetch_step<D, T>(kp, rows, r0 + 16 * a, r1, lane);
          if (bstep < nsteps) prefetch_step<D, T>(kp, rows, r0 + 16 * bstep, r1, lane);
        }
        const int s2 = s + kWarps;
        if (s2 < nsteps) ldk(fb, r0 + 16 * s2);
        store(fa, s);
        if (s + 2 * kWarps < nsteps) ldk(fa, r0 + 16 * (s + 2 * kWarps));
        if (s2 < nsteps) store(fb, s2);
      }
    }
  }
  __syncthreads();
  phase_mark(p, lid, kPhaseKeys);

  if (p.stop_after == 1) {  // diagnostics: the key stream alone
    if (prop) prop_exit(p, false);
    return;
  }

  // ---- B. per (head, tile): max, exp2, fp32 running prefix (each lane owns TR/32 consecutive keys); a warp
  // task is HB heads of one tile. (Done in the stream when fused.)
  if (!fused) {
    const int hq = (G + HB - 1) / HB;  // head groups per tile
    for (int task = warp; task < hq * ntl; task += kWarps) tile_stats((task / ntl) * HB, task % ntl);
  }
  __syncthreads();
  phase_mark(p, lid, kPhaseStats);

  // ---- C. budgets: boundaries [B0, B1] of each tile on the count axis, the offset u, the weight factor.
  // Serial work is kept short: per-(head, tile) work (Philox offsets, boundaries) runs one thread per task.
  if (!prop) {
    if (tid < G) {  // flash: the chunk's log-sum-exp statistics per head
      const int h = tid;
      float mc = -INFINITY;
      for (int lt = 0; lt < ntl; ++lt) mc = fmaxf(mc, t_m[h * tpc + lt]);
      float Lsum = 0.f;
      for (int lt = 0; lt < ntl; ++lt) Lsum += exp2f(t_m[h * tpc + lt] - mc) * t_l[h * tpc + lt];
      s_mc[h] = mc;
      s_L[h] = Lsum;
    }
    __syncthreads();
    if (!fused) {
      for (int task = tid; task < G * ntl; task += kThreads) flash_tile_budget(task / ntl, task % ntl);
    }
  } else {
    // Publish this chunk's tiles, then wait for the whole (sequence, KV head).
    float* ts = p.tile_stats;
    for (int task = tid; task < G * ntl; task += kThreads) {
      const int h = task / ntl, lt = task % ntl;
      const int64_t at = (static_cast<int64_t>(b) * p.num_heads + kvh * G + h) * p.max_tiles + t0 + lt;
      ts[2 * at] = t_m[h * tpc + lt];
      ts[2 * at + 1] = t_l[h * tpc + lt];
    }
    __threadfence();
    __syncthreads();
    if (tid == 0) {
      atomicAdd(barrier_counter(p, group), 1u);
      volatile uint32_t* bar = barrier_counter(p, group);
      long long waited = 0;
      while (*bar < static_cast<uint32_t>(C)) {
        __nanosleep(32);
        if (++waited > (1ll << 27)) __trap();  // seconds: a broken co-residency assumption fails loudly
      }
      __threadfence();
    }
    __syncthreads();
    const bool global_sys = p.mode == static_cast<int>(SamplingMode::prop_global_systematic);
    auto* x0 = reinterpret_cast<unsigned long long*>(t_b0);  // integer prefixes first, boundaries later
    auto* x1 = reinterpret_cast<unsigned long long*>(t_b1);
    if (warp < G) {  // warp h: all tile masses of head h, in blocks of 32 x kPer tiles, one load round each
      constexpr int kPer = 8;
      const int h = warp, hg = kvh * G + h;
      const float2* hs = reinterpret_cast<const float2*>(ts) + (static_cast<int64_t>(b) * p.num_heads + hg) * p.max_tiles;
      auto load_block = [&](int base, float2 (&v)[kPer]) {
#pragma unroll
        for (int k = 0; k < kPer; ++k) {
          const int t = base + lane * kPer + k;
          v[k] = t < ntiles ? __ldcg(hs + t) : make_float2(-INFINITY, 0.f);
        }
      };
      float2 v0[kPer];  // the first block stays in registers: one L2 round fewer for <= 256 tiles (v5)
      load_block(0, v0);
      float mstar = -INFINITY;
#pragma unroll
      for (int k = 0; k < kPer; ++k) mstar = fmaxf(mstar, v0[k].x);
      for (int base = 32 * kPer; base < ntiles; base += 32 * kPer) {
        float2 v[kPer];
        load_block(base, v);
#pragma unroll
        for (int k = 0; k < kPer; ++k) mstar = fmaxf(mstar, v[k].x);
      }
      mstar = warp_max(mstar);
      unsigned long long carry = 0;  // exact integer prefix of all earlier blocks
      for (int base = 0; base < ntiles; base += 32 * kPer) {
        float2 v[kPer];
        if (base == 0) {
#pragma unroll
          for (int k = 0; k < kPer; ++k) v[k] = v0[k];
        } else {
          load_block(base, v);
        }
        unsigned long long lsum = 0;
#pragma unroll
        for (int k = 0; k < kPer; ++k) lsum += v[k].y > 0.f ? fixed_mass(v[k].x, v[k].y, mstar) : 0ull;
        unsigned long long incl = lsum;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
          const unsigned long long t = __shfl_up_sync(0xFFFFFFFFu, incl, o);
          if (lane >= o) incl += t;
        }
        unsigned long long run = carry + (incl - lsum);
#pragma unroll
        for (int k = 0; k < kPer; ++k) {
          const int lt = base + lane * kPer + k - t0;
          const unsigned long long w = v[k].y > 0.f ? fixed_mass(v[k].x, v[k].y, mstar) : 0ull;
          if (lt >= 0 && lt < ntl) x0[h * tpc + lt] = run;
          run += w;
          if (lt >= 0 && lt < ntl) x1[h * tpc + lt] = run;
        }
        carry += __shfl_sync(0xFFFFFFFFu, incl, 31);
      }
      const unsigned long long Z = carry;
      if (lane == 0) s_Z[h] = Z;
      if (!global_sys) {
        // Largest remainder of S P_t; ties: tiles with mass first, then the lower index (the CPU rule).
        const double Zd = static_cast<double>(Z);
        long long floors = 0;
        for (int base = 0; base < ntiles; base += 32 * kPer) {
          float2 v[kPer];
          load_block(base, v);
#pragma unroll
          for (int k = 0; k < kPer; ++k) {
            if (base + lane * kPer + k < ntiles) {
              floors += static_cast<long long>(floor(Sd * (static_cast<double>(fixed_mass(v[k].x, v[k].y, mstar)) / Zd)));
            }
          }
        }
        floors = warp_sum(floors);
        long long left = S - floors;
        left = left < 0 ? 0 : (left > ntiles ? ntiles : left);
        for (int lt = 0; lt < ntl; ++lt) {
          const int t = t0 + lt;
          const unsigned long long wt = fixed_mass(t_m[h * tpc + lt], t_l[h * tpc + lt], mstar);
          const double xt = Sd * (static_cast<double>(wt) / Zd);
          const double rt = xt - floor(xt);
          int ahead = 0;
          for (int base = 0; base < ntiles; base += 32 * kPer) {
            float2 v[kPer];
            load_block(base, v);
#pragma unroll
            for (int k = 0; k < kPer; ++k) {
              const int t2 = base + lane * kPer + k;
              if (t2 >= ntiles) continue;
              const unsigned long long w2 = fixed_mass(v[k].x, v[k].y, mstar);
              const double x2 = Sd * (static_cast<double>(w2) / Zd);
              const double r2 = x2 - floor(x2);
              const bool before =
                  r2 > rt || (r2 == rt && ((w2 > 0) > (wt > 0) || ((w2 > 0) == (wt > 0) && t2 < t)));
              ahead += before ? 1 : 0;
            }
          }
          ahead = warp_sum(ahead);
          if (lane == 0) x1[h * tpc + lt] = wt > 0 ? static_cast<unsigned long long>(floor(xt)) + (ahead < left ? 1ull : 0ull) : 0ull;
        }
      }
    }
    __syncthreads();
    // One thread per (head, tile): boundaries and offsets.
    for (int task = tid; task < G * ntl; task += kThreads) {
      const int h = task / ntl, lt = task % ntl, t = t0 + lt;
      const int hg = kvh * G + h;
      t_f[h * tpc + lt] = 1.f;
      if (global_sys) {
        const double Zd = static_cast<double>(s_Z[h]);
        const unsigned long long a = x0[h * tpc + lt], e = x1[h * tpc + lt];
        t_b0[h * tpc + lt] = fmin(Sd * (static_cast<double>(a) / Zd), Sd);
        t_b1[h * tpc + lt] = t == ntiles - 1 ? Sd : fmin(Sd * (static_cast<double>(e) / Zd), Sd);
        const santa::RngSite site{p.seed, step, static_cast<uint32_t>(b), static_cast<uint32_t>(hg), santa::kHeadSiteTile};
        t_u[h * tpc + lt] = santa::systematic_offset(site);
      } else {
        const unsigned long long St = x1[h * tpc + lt];
        t_b0[h * tpc + lt] = 0.0;
        t_b1[h * tpc + lt] = static_cast<double>(St);
        const santa::RngSite site{p.seed, step, static_cast<uint32_t>(b), static_cast<uint32_t>(hg), static_cast<uint32_t>(t)};
        t_u[h * tpc + lt] = santa::systematic_offset(site);
      }
      // A tile whose count axis holds no integer step has no samples: phase D skips it, and a zero factor
      // zeroes the prefix values the gather reads there for rows other heads sampled (prefixes are finite).
      if (floor(t_u[h * tpc + lt] + t_b0[h * tpc + lt]) == floor(t_u[h * tpc + lt] + t_b1[h * tpc + lt])) {
        t_f[h * tpc + lt] = 0.f;
      }
    }
  }
  __syncthreads();
  phase_mark(p, lid, kPhaseBudgets);

  if (p.stop_after == 2) {  // diagnostics: keys, tile statistics and budgets (prop: the barrier and scan)
    if (prop) prop_exit(p, true);
    return;
  }

  // ---- D. counts -> weights, in place of the prefix (a warp task is HC heads of one tile; flash: in the stream
  // when fused).
  if (!(fused && !prop)) {
    const int hqc = (G + HC - 1) / HC;
    for (int task = warp; task < hqc * ntl; task += kWarps) {
      const int h0 = (task / ntl) * HC, lt = task % ntl;
      bool any = !prop;  // prop: skip tasks whose heads all have empty count axes (t_f = 0 above)
      for (int h = h0; h < min(G, h0 + HC) && !any; ++h) any = t_f[h * tpc + lt] != 0.f;
      if (any) {
        tile_counts_task(h0, lt);
      } else if (p.counts_out != nullptr) {  // the record still gets its zeros
        const int64_t grow0 = static_cast<int64_t>(t0 + lt) * TR;
        for (int h = h0; h < min(G, h0 + HC); ++h) {
          int32_t* row = p.counts_out + (static_cast<int64_t>(b) * p.num_heads + kvh * G + h) * p.n_max + grow0;
          for (int i = lane; i < TR && grow0 + i < n; i += 32) row[i] = 0;
        }
      }
    }
  }
  __syncthreads();
  phase_mark(p, lid, kPhaseCounts);

  // ---- E1. compact the rows any head sampled from the bit mask of phase D: thread t takes a contiguous run of
  // words, one block scan, so the list is the sampled rows in ascending order (v5; before: a strided pass over
  // every row and head of the weights, twice).
  const int words = ntl * TR / 32;
  const int wpt = (words + kThreads - 1) / kThreads;
  const int w0 = min(words, tid * wpt), w1 = min(words, w0 + wpt);
  int mine = 0;
  for (int w = w0; w < w1; ++w) mine += __popc(mask[w]);
  int pos, R;
  BlockScan(scan_storage).ExclusiveSum(mine, pos, R);
  for (int w = w0; w < w1; ++w) {
    uint32_t m = mask[w];
    while (m != 0u) {
      list[pos++] = static_cast<uint16_t>(32 * w + __ffs(m) - 1);
      m &= m - 1u;
    }
  }
  if (!prop) {  // flash: the gather's per-tile factor exp2(m_t - m_c) (the weights hold count * l_t / n_t)
    for (int task = tid; task < G * ntl; task += kThreads) {
      const int h = task / ntl, lt = task % ntl;
      t_f[h * tpc + lt] = exp2f(t_m[h * tpc + lt] - s_mc[h]);
    }
  }
  __syncthreads();
  phase_mark(p, lid, kPhaseCompact);

  if (p.stop_after == 3) {  // diagnostics: everything but the value gather and the merge
    if (prop) prop_exit(p, true);
    return;
  }

  // ---- E2. gather on tensor cores (gather.cuh), then the warps' partials into red (the score array is free).
  // Blocks in flight per warp: 2 (3 measured no faster, call 23), 1 in the 3-CTA build.
  using Gather = MmaGather<D, T, kMinBlocks >= 3 ? 1 : 2>;
  Gather gat;
  {
    const typename Gather::Weights wts{list, sc, t_f, sst, tpc, __ffs(TR) - 1, R, G};
    uint4* stage = reinterpret_cast<uint4*>(smem + L.stage) + warp * (kGatherStageBytes<D> / 16);
    gat.run(static_cast<const T*>(p.v), rows, r0, wts, stage, warp, lane);
  }
  __syncthreads();  // everyone is done with the weights: reuse the score array for the warp partials
  float* red = smem;  // [kWarps][G][D]
  gat.store(red + warp * G * D, G, lane);
  __syncthreads();
  phase_mark(p, lid, kPhaseGather);

  // ---- F. publish the chunk's partial and merge.
  const int64_t part = static_cast<int64_t>(group) * C + chunk;
  for (int e = tid; e < G * D; e += kThreads) {
    float s = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) s += red[w * G * D + e];
    p.part_acc[part * G * D + e] = s;
  }
  if (tid < G) {
    p.part_ml[2 * (part * G + tid)] = prop ? 0.f : s_mc[tid];
    p.part_ml[2 * (part * G + tid) + 1] = prop ? 0.f : s_L[tid];
    p.part_cnt[part * kCntStride + tid] = s_cnt[tid];
  }
  if (tid == 0) p.part_cnt[part * kCntStride + kMaxGroup] = R;
  if (arrive_last(p, group, &s_flag)) {
    if (prop) {
      merge_chunks<D, T, MergeKind::plain_sum>(p, b, kvh, smem);
    } else {
      merge_chunks<D, T, MergeKind::softmax>(p, b, kvh, smem);
    }
    if (p.phase_clock != nullptr) {
      __syncthreads();
      phase_mark(p, lid, kPhaseMerged);
    }
  }
  phase_mark(p, lid, kPhaseEnd);
  if (prop) prop_exit(p, false);
}

}  // namespace santa::gpu::detail
