// Pass 1 of the two-pass S2ANTA-prop (benchmark variant 61; d = 128, sm_80+): the key stream alone, with the
// structure of the CTA-wide-tile dense kernel (dense_tile_kernel.cuh, which reads the cache at 98-99 % of the bulk
// probe), writing what pass 2 (prop_sampled_kernel.cuh) needs to place the samples without reading K again.
//
// Why (kernels/NOTES.md, calls 16-24 and 60-65): in the one-pass kernel a CTA streams its chunk's keys and then runs
// the budget, count, gather and merge phases, during which its half of the SM streams nothing; the key stream and
// those phases cannot overlap inside one CTA of that kernel. Here the stream is all a CTA does. Per (sequence, head,
// sampling tile) it writes the tile's fp32 running prefix of exp2(s - m_t) (4 bytes per key and head: 6 % of K's
// bytes at d = 128, G = 4), the tile max m_t, sum l_t and last key with positive weight, computed by the one-pass
// kernel's own tile_prefix on the same scores (same mma products, same order), so every value is bitwise the one
// that kernel holds in shared memory after its phase B.
//
// One CTA of 128 threads per (chunk, KV head, sequence) (or, in the persistent prop_fused_kernel.cuh, per stream item), chunks of whole super tiles of U = max(128, tile) keys; a
// ring of kStages 128-key K tiles (32 KB each at d = 128, bf16), kStages - 1 in flight. Warp w computes the scores of
// the tile's 16-key steps 2w and 2w + 1 into a score buffer of one super tile (two, alternating); when a super tile
// is complete, warp w takes (head, sampling tile) tasks w, w + 4, ...: the tile's prefix in place, then written out.
#pragma once

#include "kernels/detail/grid_dependency.cuh"
#include "kernels/detail/sampling_kernel.cuh"
#include "kernels/detail/tile_copy.cuh"

namespace santa::gpu::detail {

// The key stream of one CTA (keys [cta.r0, cta.r1) of one KV head; the CTA's 128 threads all call it). `ring` is the
// dynamic shared memory (kStages K tiles, then two score buffers), `s_q` the query rows' stage. prefix_at(h, t): where
// tile t of the KV head's query head h puts its prefix. before_write(): called by every thread once, after the barrier
// that completes the first super tile and before the first prefix is written (the persistent kernel,
// prop_fused_kernel.cuh, waits there until its prefix slot is free). k_evict_first / prefix_evict_last: the K copies
// and the prefix stores with those L2 eviction policies.
template <int D, class T, int kStages, class PrefixAt, class BeforeWrite>
__device__ __forceinline__ void score_prefix_stream(const KernelParams& p, const AsyncCta<D, T>& cta, unsigned char* ring,
                                                    T* s_q, bool k_evict_first, bool prefix_evict_last,
                                                    PrefixAt prefix_at,
                                                    BeforeWrite before_write) {
  using Copy = TileCopy<D, T>;
  constexpr int kTileBytes = Copy::kTileBytes;
  static_assert(kStages >= 2, "one tile in flight at least");
  const int r0 = cta.r0, r1 = cta.r1, b = cta.b, kvh = cta.kvh;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, c = lane & 3;
  const int G = p.group, TR = p.tile, U = score_prefix_super(TR), sst = score_prefix_stride(TR);
  float* sbuf = reinterpret_cast<float*>(ring + kStages * kTileBytes);  // [2][G][sst] after the K ring

  stage_q<D, T, kTileThreads>(s_q, p, b, kvh);
  __syncthreads();
  QFrag<D> qf;
  load_q_smem<D, T>(qf, s_q, g, c);

  Copy copy(cta.rows, r0, r1, p.async_mode);
  copy.evict_first = k_evict_first;
  const int tiles = copy.tiles;
  const int per = TR / 32;
  const int64_t head0 = static_cast<int64_t>(b) * p.num_heads + kvh * G;  // the KV head's first query head
  bool first_write = true;
  // (head, sampling tile) tasks of the super tile starting at row s0: tile_prefix on its scores, then the prefix out.
  const auto finish_super = [&](float* buf, int s0) {
    const int nst = (min(U, r1 - s0) + TR - 1) / TR;  // sampling tiles of this super tile with keys
    for (int task = warp; task < G * nst; task += kTileThreads / 32) {
      const int h = task / nst, lt = task % nst;
      const int t = (s0 + lt * TR) / TR;  // the tile's index in the sequence
      const int64_t at = (head0 + h) * p.max_tiles + t;
      float* col = buf + h * sst + lt * TR;
      with_per<TilePrefixOps<1>::template Fn>(per, col, sst, 1, lane, p.tile_stats + 2 * at, p.tile_stats + 2 * at + 1,
                                              p.tile_last + at, 0);
      __syncwarp();
      float4* dst = reinterpret_cast<float4*>(prefix_at(h, t));
      if ((p.async_mode & kPrefixNone) == 0) {
        const float4* src = reinterpret_cast<const float4*>(col);
        if (prefix_evict_last) {
          const uint64_t policy = l2_evict_last_policy();
          for (int e = lane; e < TR / 4; e += 32) st_global_policy(dst + e, src[e], policy);
        } else {
          for (int e = lane; e < TR / 4; e += 32) dst[e] = src[e];
        }
      }
    }
  };

  for (int i = 0; i < kStages - 1; ++i) copy.issue(i, cta.k, ring + i * kTileBytes);
  for (int i = 0; i < tiles; ++i) {
    cp_async_wait<kStages - 2>();  // tile i's group is complete; the newer ones may stream
    __syncthreads();               // every thread's copies of tile i are visible, and every warp is done with tile i - 1
    copy.issue(i + kStages - 1, cta.k, ring + ((i + kStages - 1) % kStages) * kTileBytes);
    const unsigned char* kb = ring + (i % kStages) * kTileBytes;
    const int row_in = kTileKeys * i;      // the tile's first key, from r0
    const int super = row_in / U;          // its super tile (chunks start at multiples of U)
    float* buf = sbuf + (super & 1) * G * sst;
    Copy::store_scores(qf, kb, buf, sst, U, G, p.scale_log2, r0, r1, row_in, i == tiles - 1, warp, g, c);
    const int next = row_in + kTileKeys;
    if (next % U == 0 || i == tiles - 1) {  // the super tile is complete
      __syncthreads();
      if (first_write) {
        before_write();
        first_write = false;
      }
      finish_super(buf, r0 + super * U);
    }
  }
  cp_async_wait<0>();
}

template <int D, class T, int kStages>
__global__ void __launch_bounds__(kTileThreads, 1) score_prefix_kernel(const KernelParams p) {
  extern __shared__ __align__(kSmemAlign) float4 smem4[];
  __shared__ __align__(16) T s_q[kMaxGroup * kQRowStride<D>];
  pdl_launch_dependents();  // pass 2 may be scheduled once every CTA of this grid has started (it waits for the end)
  const AsyncCta<D, T> cta = async_cta<D, T>(p);  // chunks of p.unit = U keys
  const int64_t head0 = static_cast<int64_t>(cta.b) * p.num_heads + cta.kvh * p.group;
  score_prefix_stream<D, T, kStages>(
      p, cta, reinterpret_cast<unsigned char*>(smem4), s_q, false, false,
      [&](int h, int t) {
        int64_t off = (head0 + h) * p.prefix_stride + static_cast<int64_t>(t) * p.tile;
        if ((p.async_mode & kPrefixRing) != 0) off &= kPrefixRingFloats - 1;  // diagnostics (variants 68, 69), see plan.hpp
        return p.prefix + off;
      },
      [] {});
}

}  // namespace santa::gpu::detail
