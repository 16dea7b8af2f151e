// Pass 2 of the two-pass S2ANTA-prop (benchmark variants 61 / 62 / 63; global-systematic budgets, d = 128): CTAs per
// (query head, sequence) (several where the heads alone would leave SMs idle: grid z, each a contiguous share of the
// sampled tiles, step 1 done by each) place the head's S samples from what pass 1 (score_prefix_kernel.cuh) wrote and gathers
// the sampled V rows. It touches only the tiles that hold a sample (at most S of them).
//  1. The head's tile masses in 64-bit fixed point from the tile statistics (the one-pass kernel's phase C: the same
//     max, the same integer prefix, the same boundaries B_t = S C_t and offset, so the same tiles are sampled).
//  2. The sampled tiles (floor(u + B0) != floor(u + B1)) in ascending order, in rounds of up to `stage` tiles:
//     their prefixes copied in (cp.async, one latency for the round), the one-pass kernel's tile_counts on each
//     (warp per tile): the same counts, bit for bit.
//     kSearch (variant 63) instead: a thread per sample of the round. Sample k (0-based) is the integer step k + 1
//     of the head's count axis; it lies in the sampled tile e with floor(u + B0_e) <= k < floor(u + B1_e) (a binary
//     search over the round's tiles), at the tile's smallest key i with floor(u + F_i) >= k + 1, F_i the one-pass
//     kernel's own expression (a binary search over the staged prefix). Where F is non-decreasing along the tile
//     this is the key whose count tile_counts raises for that step, so the counts are the same; the fp32 prefix
//     can dip by an ulp at a lane boundary of the one-pass scan, where tile_counts would give a key -1 and its
//     neighbour +1 and the search keeps the sample where the axis first reached it. 7 steps per sample instead of
//     a warp's pass over all 128 keys of every sampled tile (pass 2's instructions: call 72). Each sample's row is
//     added with weight 1 (a key drawn twice is added twice).
//  3. Each warp queues its tiles' sampled rows (ascending) and reads them 8 rows at a time (8 loads in flight per
//     lane), adding count x v in queue order; the 8 warps' sums are added in warp order. The order is fixed by the
//     inputs, so the output is bitwise reproducible; it is not the one-pass kernel's order (a different fp32 sum of
//     the same terms), and each head reads its own rows (the one-pass kernel reads a row once per KV head).
//     kSearch: each batch of up to kNT samples (ascending keys) is split into one contiguous share per warp.
// On sm_90 it is launched dependent on pass 1 (grid_dependency.cuh): everything before pdl_wait() overlaps pass 1's end.
#pragma once

#include <cub/block/block_scan.cuh>

#include "kernels/detail/grid_dependency.cuh"
#include "kernels/detail/sampling_kernel.cuh"

namespace santa::gpu::detail {

// kNT threads, kMinBlocks CTAs per SM by registers: 256 x 2 (variant 61) or 128 x 4 (variant 62: twice the CTAs in
// flight, so that a batch's heads fit one wave; 128 registers either way); kSearch 256 x 4 (variant 63: 63 registers).
// One CTA's share (part `part` of `parts`) of query head h of sequence b; every thread of the CTA calls it.
// head_prefix: where pass 1 put the head's prefixes (tile t at head_prefix + t * tile). wait_inputs(): called by every
// thread before the first read of what pass 1 wrote (pdl_wait here; prop_fused_kernel.cuh waits for the head's stream
// items). kFused: the statistics were written in the same launch, so they are read through L2 (__ldcg), not the
// read-only path.
template <int D, class T, int kNT, bool kSearch, bool kFused, class WaitInputs>
__device__ __forceinline__ void prop_sampled_head(const KernelParams& p, int h, int b, int part, int parts,
                                                  const float* head_prefix, WaitInputs wait_inputs) {
  constexpr int kNW = kNT / 32;
  static_assert(D == 128, "a lane holds 4 values of a row (8 bytes of 16-bit elements)");
  static_assert(kNT >= D && kNT % 32 == 0, "a thread per output dimension");
  using ScanU = cub::BlockScan<unsigned long long, kNT>;
  using ScanI = cub::BlockScan<int, kNT>;
  __shared__ union {
    typename ScanU::TempStorage u;
    typename ScanI::TempStorage i;
  } scan;
  __shared__ float s_max[kNW];
  __shared__ double s_u;
  __shared__ float s_one;
  __shared__ int s_tot, s_last;
  extern __shared__ __align__(kSmemAlign) float4 smem4[];
  unsigned char* base = reinterpret_cast<unsigned char*>(smem4);
  const int TR = p.tile, words = TR / 32, per = TR / 32;
  const PropSampledSmem L = prop_sampled_smem(TR, p.sampled_entries, p.sampled_stage, D, kNW);
  double* e_b0 = reinterpret_cast<double*>(base + L.b0);
  double* e_b1 = reinterpret_cast<double*>(base + L.b1);
  double* e_il = reinterpret_cast<double*>(base + L.inv_l);
  int* e_last = reinterpret_cast<int*>(base + L.last);
  int* e_t = reinterpret_cast<int*>(base + L.t);
  float* stage = reinterpret_cast<float*>(base + L.stage);
  uint32_t* mask = reinterpret_cast<uint32_t*>(base + L.mask);
  int* q_row = reinterpret_cast<int*>(base + L.queue_rows);
  float* q_w = reinterpret_cast<float*>(base + L.queue_w);
  float* red = reinterpret_cast<float*>(base + L.red);

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int kvh = h / p.group;
  const int n = min(max(p.seq_lens[b], 0), static_cast<int>(p.n_max));
  const int ntiles = (n + TR - 1) / TR;
  const int64_t hrow = static_cast<int64_t>(b) * p.num_heads + h;
  const float2* hs = reinterpret_cast<const float2*>(p.tile_stats) + hrow * p.max_tiles;
  const double Sd = static_cast<double>(p.samples);
  int32_t* counts = p.counts_out == nullptr ? nullptr : p.counts_out + hrow * p.n_max;
  if (tid == 0) {
    s_tot = 0;
    s_one = 1.f;
    const santa::RngSite site{p.seed, sampling_step(p), static_cast<uint32_t>(b), static_cast<uint32_t>(h),
                              santa::kHeadSiteTile};
    s_u = santa::systematic_offset(site);
  }
  wait_inputs();  // pass 1's statistics and prefixes: everything below reads them

  // ---- 1. masses and boundaries. Thread tid takes the contiguous tiles [ta, tb). The statistics come from the previous
  // launch and are read three times here: through L1 (__ldg), unless written in this launch (kFused).
  const auto stat = [&](int t) { return kFused ? __ldcg(hs + t) : __ldg(hs + t); };
  const int ipt = (ntiles + kNT - 1) / kNT;
  const int ta = min(ntiles, tid * ipt), tb = min(ntiles, ta + ipt);
  float mx = -INFINITY;
  for (int t = ta; t < tb; ++t) mx = fmaxf(mx, stat(t).x);
  mx = warp_max(mx);
  if (lane == 0) s_max[warp] = mx;
  __syncthreads();
  float mstar = s_max[0];
#pragma unroll
  for (int w = 1; w < kNW; ++w) mstar = fmaxf(mstar, s_max[w]);  // a max: exact in any order
  const auto mass = [&](int t) {
    const float2 v = stat(t);
    return v.y > 0.f ? fixed_mass(v.x, v.y, mstar) : 0ull;
  };
  unsigned long long lsum = 0;
  for (int t = ta; t < tb; ++t) lsum += mass(t);
  unsigned long long first = 0, Z = 0;
  ScanU(scan.u).ExclusiveSum(lsum, first, Z);  // integers: the one-pass kernel's prefix, whatever the grouping
  __syncthreads();
  const double Zd = static_cast<double>(Z), u = s_u;
  // Tile t's count axis [B0, B1] (the one-pass kernel's phase C) from its exclusive prefix a and its mass w.
  const auto boundaries = [&](int t, unsigned long long a, unsigned long long w, double& B0, double& B1) {
    B0 = fmin(Sd * (static_cast<double>(a) / Zd), Sd);
    B1 = t == ntiles - 1 ? Sd : fmin(Sd * (static_cast<double>(a + w) / Zd), Sd);
    return floor(u + B0) != floor(u + B1);  // the axis holds an integer step: the tile has samples
  };
  int mine = 0;
  {
    unsigned long long a = first;
    for (int t = ta; t < tb; ++t) {
      const unsigned long long w = mass(t);
      double B0, B1;
      mine += boundaries(t, a, w, B0, B1) ? 1 : 0;
      a += w;
    }
  }
  int pos = 0, sampled = 0;
  ScanI(scan.i).ExclusiveSum(mine, pos, sampled);  // sampled <= min(tiles, S) = p.sampled_entries
  {
    unsigned long long a = first;
    for (int t = ta; t < tb; ++t) {
      const unsigned long long w = mass(t);
      double B0, B1;
      if (boundaries(t, a, w, B0, B1)) {
        if (pos < p.sampled_entries) {
          e_t[pos] = t;
          e_b0[pos] = B0;
          e_b1[pos] = B1;
          if constexpr (kSearch) {
            e_il[pos] = 1.0 / static_cast<double>(stat(t).y);  // tile_counts' inv_l
            e_last[pos] = __ldcg(p.tile_last + hrow * p.max_tiles + t);
          }
          ++pos;
        }
      } else if (counts != nullptr && t % parts == part) {
        // The record's zeros of a tile without samples, written by one CTA of the head (tile_counts writes every count
        // of the sampled tiles, in whichever CTA owns them).
        for (int i = t * TR; i < min(n, (t + 1) * TR); ++i) counts[i] = 0;
      }
      a += w;
    }
  }
  sampled = min(sampled, p.sampled_entries);
  __syncthreads();

  // ---- 2 and 3: this CTA's part of the sampled tiles (contiguous, so rows stay ascending), in rounds of
  // p.sampled_stage tiles.
  const int e_begin = static_cast<int>(static_cast<int64_t>(sampled) * part / parts);
  const int e_end = static_cast<int>(static_cast<int64_t>(sampled) * (part + 1) / parts);
  const KvRows rows = kv_rows<D>(p, b, kvh);
  const T* vp = static_cast<const T*>(p.v);
  float acc[4] = {0.f, 0.f, 0.f, 0.f};  // dims 4 lane .. 4 lane + 3
  int* my_rows = q_row + warp * (TR + 8);
  float* my_w = q_w + warp * (TR + 8);
  int q_head = 0, q_end = 0;  // this warp's queue [q_head, q_end) (warp-uniform)
  // The next k <= 8 queued rows: all loads first, then the products in queue order.
  // (weights nullptr: 1 per row, the search path's one row per sample.)
  const auto drain_rows = [&](const int* q_rows, const float* q_w8, int k) {
    uint2 v[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      if (j < k) v[j] = __ldg(reinterpret_cast<const uint2*>(vp + rows(q_rows[q_head + j]) + 4 * lane));
    }
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      if (j < k) {
        const float w = q_w8 == nullptr ? 1.f : q_w8[q_head + j];
        acc[0] += w * Half<T>::lo(v[j].x);
        acc[1] += w * Half<T>::hi(v[j].x);
        acc[2] += w * Half<T>::lo(v[j].y);
        acc[3] += w * Half<T>::hi(v[j].y);
      }
    }
    q_head += k;
  };
  const auto drain = [&](int k) { drain_rows(my_rows, my_w, k); };
  // The round's prefixes copied in (cp.async, one latency for the round).
  const auto stage_round = [&](int round0, int m) {
    const float* pre = head_prefix;
    for (int x = tid; x < m * (TR / 4); x += kNT) {
      const int e = x / (TR / 4), q4 = x % (TR / 4);
      cp_async_16(stage + e * TR + 4 * q4, pre + static_cast<int64_t>(e_t[round0 + e]) * TR + 4 * q4, true);
    }
    cp_async_commit();
  };
  int samples_here = 0;  // the search path's count of this CTA's samples (the counting path adds them in s_tot)
  if constexpr (kSearch) {
    const auto fl0 = [&](int e) { return static_cast<int>(floor(u + e_b0[e])); };
    const auto fl1 = [&](int e) { return static_cast<int>(floor(u + e_b1[e])); };
    samples_here = e_end > e_begin ? fl1(e_end - 1) - fl0(e_begin) : 0;
    for (int round0 = e_begin; round0 < e_end; round0 += p.sampled_stage) {
      const int m = min(p.sampled_stage, e_end - round0);
      stage_round(round0, m);
      if (counts != nullptr) {  // the record: the round's tiles zeroed, then one increment per sample (integers)
        for (int x = tid; x < m * TR; x += kNT) {
          const int i = e_t[round0 + x / TR] * TR + x % TR;
          if (i < n) counts[i] = 0;
        }
      }
      cp_async_wait<0>();
      __syncthreads();
      const int k0 = fl0(round0), k1 = fl1(round0 + m - 1);  // the round's samples [k0, k1), ascending keys
      for (int kb = k0; kb < k1; kb += kNT) {
        const int k = kb + tid;
        if (k < k1) {
          int lo = round0, hi = round0 + m - 1;  // the last tile of the round whose axis starts at or before k
          while (lo < hi) {
            const int mid = (lo + hi + 1) >> 1;
            if (fl0(mid) <= k) {
              lo = mid;
            } else {
              hi = mid - 1;
            }
          }
          const double B0 = e_b0[lo], B1 = e_b1[lo], il = e_il[lo], j = static_cast<double>(k + 1);
          const int last = e_last[lo];
          const float* col = stage + (lo - round0) * TR;
          int a = 0, c = TR - 1;  // the smallest key with floor(u + F) >= k + 1 (F at the tile's last key: B1)
          while (a < c) {
            const int mid = (a + c) >> 1;
            const double F = mid >= last ? B1 : fmin(B0 + (B1 - B0) * (static_cast<double>(col[mid]) * il), B1);
            if (floor(u + F) >= j) {
              c = mid;
            } else {
              a = mid + 1;
            }
          }
          const int row = e_t[lo] * TR + a;
          q_row[tid] = row;
          if (counts != nullptr) atomicAdd(counts + row, 1);
        }
        __syncthreads();
        // Warp w adds the rows of its contiguous share of the batch's samples, 8 at a time, each with weight 1 (every
        // warp takes a share: fewer dependent rounds of row loads per warp than whole 32-sample slices).
        const int cnt = min(kNT, k1 - kb), share = (cnt + kNW - 1) / kNW;
        q_head = min(cnt, warp * share);
        const int w_end = min(cnt, q_head + share);
        while (q_head < w_end) drain_rows(q_row, nullptr, min(8, w_end - q_head));
        __syncthreads();  // q_row is rewritten by the next batch
      }
    }
  }
  for (int round0 = e_begin; !kSearch && round0 < e_end; round0 += p.sampled_stage) {
    const int m = min(p.sampled_stage, e_end - round0);
    stage_round(round0, m);
    for (int x = tid; x < m * words; x += kNT) mask[x] = 0u;
    cp_async_wait<0>();
    __syncthreads();
    for (int e = warp; e < m; e += kNW) {
      const int t = e_t[round0 + e];
      const int64_t at = hrow * p.max_tiles + t;
      with_per<TileCountsOps<1>::template Fn>(per, stage + e * TR, TR, 1, lane, e_b0 + round0 + e, e_b1 + round0 + e,
                                              &s_u, &s_one, p.tile_last + at, p.tile_stats + 2 * at + 1, 0,
                                              counts == nullptr ? nullptr : counts + static_cast<int64_t>(t) * TR,
                                              int64_t{0}, n - t * TR, mask + e * words, &s_tot);
    }
    __syncthreads();
    for (int e = warp; e < m; e += kNW) {  // queue the tile's sampled rows (ascending), drain by 8
      const int t = e_t[round0 + e];
      uint32_t bits = lane < words ? mask[e * words + lane] : 0u;
      const int pc = __popc(bits);
      int incl = pc;
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const int y = __shfl_up_sync(0xFFFFFFFFu, incl, o);
        if (lane >= o) incl += y;
      }
      int at = q_end + incl - pc;
      while (bits != 0u) {
        const int key = 32 * lane + __ffs(bits) - 1;
        bits &= bits - 1u;
        my_rows[at] = t * TR + key;
        my_w[at] = stage[e * TR + key];
        ++at;
      }
      q_end += __shfl_sync(0xFFFFFFFFu, incl, 31);
      __syncwarp();
      while (q_end - q_head >= 8) drain(8);
      const int rest = q_end - q_head;  // < 8: moved to the queue's front
      int r = 0;
      float w = 0.f;
      if (lane < rest) r = my_rows[q_head + lane], w = my_w[q_head + lane];
      __syncwarp();
      if (lane < rest) my_rows[lane] = r, my_w[lane] = w;
      __syncwarp();
      q_head = 0;
      q_end = rest;
    }
    __syncthreads();  // the next round overwrites the stage and the mask
  }
  if (!kSearch && q_end > q_head) drain(q_end - q_head);

  // The warps' sums in warp order; with several parts, each writes its sum and the last to arrive adds them in part
  // order (a fixed order: bitwise reproducible), scaled by 1 / S (the one-pass merge's plain sum).
#pragma unroll
  for (int e = 0; e < 4; ++e) red[warp * D + 4 * lane + e] = acc[e];
  __syncthreads();
  float total = 0.f;
  if (tid < D) {
#pragma unroll
    for (int w = 0; w < kNW; ++w) total += red[w * D + tid];
  }
  int samples = kSearch ? samples_here : s_tot;
  if (parts > 1) {
    if (tid < D) p.part_acc[(hrow * parts + part) * D + tid] = total;
    if (tid == 0) p.part_cnt[hrow * parts + part] = samples;
    __threadfence();
    __syncthreads();
    if (tid == 0) s_last = atomicAdd(p.head_counters + hrow, 1u) == static_cast<uint32_t>(parts - 1) ? 1 : 0;
    __syncthreads();
    if (s_last == 0) return;
    __threadfence();
    total = 0.f;
    samples = 0;
    for (int q = 0; q < parts; ++q) {
      if (tid < D) total += __ldcg(p.part_acc + (hrow * parts + q) * D + tid);
      samples += __ldcg(p.part_cnt + hrow * parts + q);
    }
    if (tid == 0) p.head_counters[hrow] = 0u;  // every part has arrived: ready for the next call
  }
  if (tid < D) {
    const float den = static_cast<float>(p.samples);
    const float inv = den > 0.f ? 1.f / den : 0.f;
    static_cast<T*>(p.out)[hrow * D + tid] = Half<T>::from_float(total * inv);
  }
  if (tid == 0 && p.samples_out != nullptr) p.samples_out[hrow] = samples;
}

template <int D, class T, int kNT, int kMinBlocks, bool kSearch>
__global__ void __launch_bounds__(kNT, kMinBlocks) prop_sampled_kernel(const KernelParams p) {
  const int h = blockIdx.x, b = blockIdx.y;
  const float* head_prefix = p.prefix + (static_cast<int64_t>(b) * p.num_heads + h) * p.prefix_stride;
  prop_sampled_head<D, T, kNT, kSearch, false>(p, h, b, blockIdx.z, gridDim.z, head_prefix, [] { pdl_wait(); });
}

}  // namespace santa::gpu::detail
