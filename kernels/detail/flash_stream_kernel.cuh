// S2ANTA-flash in one key stream (benchmark variant 64; d = 128, sm_80+): the key stream of pass 1 of the two-pass
// prop (score_prefix_kernel.cuh: 128-thread CTAs, a cp.async ring of three 128-key K tiles, the CTA-wide-tile dense
// kernel's copies) with flash's per-tile work and the value gather inside it, so no CTA phase stops streaming K.
//
// Why (kernels/NOTES.md, calls 16-24 and 60-65): the one-pass sampling kernel holds a whole chunk's scores in shared
// memory, and its phases after the key stream (compaction, gather, merge) stream nothing: flash S = 2048 ran at
// 71 % of the bulk probe at B = 16, 32k. flash needs nothing from other tiles to sample a tile (fixed budgets), so
// here each super tile of U = max(128, tile) keys is finished as soon as its scores are complete:
//  - warp w owns query heads w and w + 4: for each of the super tile's sampling tiles it runs the one-pass kernel's
//    tile_prefix, flash budget (flash_budget) and tile_counts on the same scores (same mma products, same order),
//    so the counts are bitwise the default kernel's; the weights count * l_t / n_t replace the prefix;
//  - it folds the tiles' (m_t, l_t) into its heads' running max M and sum (flash attention's rescaling) and lists
//    the rows its heads sampled with their factors count * l_t / n_t * exp2(m_t - M) (up to 32 at a time);
//  - at every K tile it copies the next 8 listed rows into its own 2 KB stage (cp.async) and adds them one K tile
//    later, when the copies have had a tile's stream to land. 8 rows per 128 keys is what S = 2048 at 32k keys
//    draws per head; rows still listed when the next super tile is finished (shorter sequences, larger S) are
//    added then, in synchronous rounds of 8.
// A warp's rows, factors and statistics are its own, so the finish and the gather need no block barrier: two per K
// tile, as pass 1. The chunk's (M, L, acc) per head is the default kernel's partial (merge.cuh's softmax merge).
// Each lane holds 4 of the head's 128 output columns. One score buffer (the factors leave it at the finish) and q
// staged in the value stage keep tiles of 256 keys at two CTAs per SM (G <= 4).
#pragma once

#include "kernels/decode.hpp"
#include "kernels/detail/sampling_kernel.cuh"
#include "kernels/detail/tile_copy.cuh"

namespace santa::gpu::detail {

inline constexpr int kFlashHeadsPerWarp = kMaxGroup / (kTileThreads / 32);  // 2
inline constexpr int kFlashListRows = 32;
// One warp's heads: the super tile's tile statistics (sampling tiles of >= 32 keys: at most 4 per 128 keys), the
// scratch of one (head, tile) task, the rows each head sampled (a super tile has at most kMaxTile rows), and the list
// of sampled rows waiting for the gather (sequence row, factor, which of the warp's heads).
struct FlashWarpState {
  float m[kFlashHeadsPerWarp][kTileKeys / 32], l[kFlashHeadsPerWarp][kTileKeys / 32];
  double b0, b1, u;
  float f;
  int last;
  uint32_t mask[kFlashHeadsPerWarp][kMaxTile / 32];
  int row[kFlashListRows];
  float fac[kFlashListRows];
  uint8_t head[kFlashListRows];
};

// kHeads: query heads per warp (1 for G <= 4, 2 for G = 8), so that the accumulators are indexed at compile time.
template <int D, class T, int kHeads>
__global__ void __launch_bounds__(kTileThreads, 1) flash_stream_kernel(const KernelParams p) {
  using Copy = TileCopy<D, T>;
  constexpr int kStages = 3;  // the wait counts below are written for this ring
  constexpr int kTileBytes = Copy::kTileBytes;
  constexpr int kRowBytes = D * static_cast<int>(sizeof(T));
  constexpr int kUnitsPerRow = kRowBytes / 16;
  constexpr int kWarpsHere = kTileThreads / 32, kHeadsPerWarp = kHeads;
  static_assert(kHeads >= 1 && kHeads <= kFlashHeadsPerWarp, "at most 8 query heads per KV head");
  static_assert(D == 4 * 32, "a lane holds 4 output columns");
  static_assert(kMaxGroup * kQRowStride<D> * sizeof(T) <= kWarpsHere * kFlashWarpRows * kRowBytes,
                "q is staged in the value stage");
  extern __shared__ __align__(kSmemAlign) float4 smem4[];
  unsigned char* ring = reinterpret_cast<unsigned char*>(smem4);
  __shared__ FlashWarpState s_w[kWarpsHere];
  __shared__ int s_cnt[kMaxGroup];
  __shared__ int s_flag;

  const AsyncCta<D, T> cta = async_cta<D, T>(p);
  const int r0 = cta.r0, r1 = cta.r1, b = cta.b, kvh = cta.kvh;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, c = lane & 3;
  const int G = p.group, TR = p.tile, U = score_prefix_super(TR), sst = score_prefix_stride(TR);
  const int n = min(max(p.seq_lens[b], 0), static_cast<int>(p.n_max));
  const int ntiles = (n + TR - 1) / TR;
  const int per = TR / 32;
  const int words = U / 32;
  const int ltr = __ffs(TR) - 1;  // tiles are powers of two: row / TR = row >> ltr
  float* sbuf = reinterpret_cast<float*>(ring + kStages * kTileBytes);  // [G][sst] after the K ring
  unsigned char* stages = reinterpret_cast<unsigned char*>(sbuf + G * sst);
  unsigned char* stage = stages + warp * kFlashWarpRows * kRowBytes;
  FlashWarpState& ws = s_w[warp];
  const uint32_t step = sampling_step(p);
  const int64_t flash_base = ntiles > 0 ? p.samples / ntiles : 0, flash_extra = ntiles > 0 ? p.samples % ntiles : 0;

  {
    T* s_q = reinterpret_cast<T*>(stages);  // dead once every warp holds its fragments (before the first copy)
    stage_q<D, T, kTileThreads>(s_q, p, b, kvh);
    if (tid < kMaxGroup) s_cnt[tid] = 0;
    __syncthreads();
  }
  QFrag<D> qf;
  load_q_smem<D, T>(qf, reinterpret_cast<const T*>(stages), g, c);

  // This warp's heads: warp + 4 j, j < nh.
  const int nh = warp < G ? (G - warp + kWarpsHere - 1) / kWarpsHere : 0;
  float M[kHeadsPerWarp], L[kHeadsPerWarp], acc[kHeadsPerWarp][4];
#pragma unroll
  for (int j = 0; j < kHeadsPerWarp; ++j) {
    M[j] = -INFINITY, L[j] = 0.f;
    acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.f;
  }
  int q_head = 0, q_len = 0, in_flight = 0;  // the list's next entry, its length, entries in the stage

  // Copies of the next kFlashWarpRows listed rows into the stage, one commit group (empty when none).
  const auto issue_batch = [&]() {
    in_flight = min(kFlashWarpRows, q_len - q_head);
#pragma unroll
    for (int k = 0; k < kFlashWarpRows * kUnitsPerRow / 32; ++k) {
      const int idx = 32 * k + lane, e = idx / kUnitsPerRow, u = idx % kUnitsPerRow;
      if (e < in_flight) {
        cp_async_16(stage + e * kRowBytes + 16 * u, cta.v + cta.rows(ws.row[q_head + e]) + 8 * u, true);
      }
    }
    cp_async_commit();
  };
  // Adds the staged rows (landed, and visible to the warp) to the accumulators of their heads.
  const auto add_batch = [&]() {
    for (int e = 0; e < in_flight; ++e) {
      const int j = kHeads == 1 ? 0 : ws.head[q_head + e];
      const float fac = ws.fac[q_head + e];
      const uint2 raw = *reinterpret_cast<const uint2*>(stage + e * kRowBytes + 8 * lane);
      const float v0 = Half<T>::lo(raw.x), v1 = Half<T>::hi(raw.x), v2 = Half<T>::lo(raw.y), v3 = Half<T>::hi(raw.y);
#pragma unroll
      for (int jj = 0; jj < kHeadsPerWarp; ++jj) {
        if (kHeads == 1 || jj == j) {
          acc[jj][0] += fac * v0;
          acc[jj][1] += fac * v1;
          acc[jj][2] += fac * v2;
          acc[jj][3] += fac * v3;
        }
      }
    }
    q_head += in_flight;
    in_flight = 0;
    __syncwarp();  // the stage and the list entries may be reused
  };
  // Everything still listed, in synchronous rounds.
  const auto drain = [&]() {
    while (q_head < q_len) {
      issue_batch();
      cp_async_wait<0>();
      __syncwarp();
      add_batch();
    }
  };
  // This warp's heads of the completed super tile at s0 (scores in sbuf): statistics, budgets and counts per sampling
  // tile, the running max and sum, then the list of sampled rows (more than kFlashListRows: the rest added here).
  const auto finish_super = [&](int s0) {
    const int nst = (min(U, r1 - s0) + TR - 1) >> ltr;
    int rows_before[kHeadsPerWarp + 1] = {};  // list entries of the warp's heads before head j
#pragma unroll
    for (int j = 0; j < kHeadsPerWarp; ++j) {
      rows_before[j + 1] = rows_before[j];
      if (j >= nh) continue;
      const int h = warp + kWarpsHere * j, hg = kvh * G + h;
      if (lane < words) ws.mask[j][lane] = 0u;
      __syncwarp();
      float mmax = -INFINITY;
      for (int lt = 0; lt < nst; ++lt) {
        const int t = (s0 >> ltr) + lt;
        float* col = sbuf + h * sst + lt * TR;
        with_per<TilePrefixOps<1>::template Fn>(per, col, sst, 1, lane, &ws.m[j][lt], &ws.l[j][lt], &ws.last, 0);
        __syncwarp();
        if (lane == 0) {
          const FlashBudget fb = flash_budget(p, flash_base, flash_extra, step, b, hg, t, ws.l[j][lt]);
          ws.b0 = 0.0, ws.b1 = fb.b1, ws.u = fb.u, ws.f = fb.f;
        }
        __syncwarp();
        const int64_t grow0 = static_cast<int64_t>(t) * TR;
        int32_t* counts_row =
            p.counts_out == nullptr ? nullptr
                                    : p.counts_out + (static_cast<int64_t>(b) * p.num_heads + hg) * p.n_max + grow0;
        with_per<TileCountsOps<1>::template Fn>(per, col, sst, 1, lane, &ws.b0, &ws.b1, &ws.u, &ws.f, &ws.last,
                                                &ws.l[j][lt], 0, counts_row, p.n_max, static_cast<int>(n - grow0),
                                                ws.mask[j] + lt * (TR / 32), s_cnt + h);
        __syncwarp();
        mmax = fmaxf(mmax, ws.m[j][lt]);
      }
      const float newM = fmaxf(M[j], mmax);
      if (newM != -INFINITY) {
        const float scale = exp2f(M[j] - newM);  // 0 while M is -inf (acc and L are 0 then)
        float add = 0.f;
        for (int lt = 0; lt < nst; ++lt) add += exp2f(ws.m[j][lt] - newM) * ws.l[j][lt];
        L[j] = L[j] * scale + add;
        M[j] = newM;
        acc[j][0] *= scale, acc[j][1] *= scale, acc[j][2] *= scale, acc[j][3] *= scale;
      }
      rows_before[j + 1] += warp_sum(lane < words ? __popc(ws.mask[j][lane]) : 0);
    }
    // List entry e (heads in order, rows ascending), in rounds of kFlashListRows: word by word, lane l places row
    // 32 w + l where the bits below it put it.
    const int total = rows_before[kHeadsPerWarp];
    const uint32_t below = (1u << lane) - 1u;
    for (int base = 0; base < total; base += kFlashListRows) {
      q_head = 0;
      q_len = min(kFlashListRows, total - base);
#pragma unroll
      for (int j = 0; j < kHeadsPerWarp; ++j) {
        if (j >= nh) continue;
        const int h = warp + kWarpsHere * j;
        int pos = rows_before[j] - base;
        for (int w = 0; w < words && pos < kFlashListRows; ++w) {
          const uint32_t m = ws.mask[j][w];
          const int at = pos + __popc(m & below);
          if (((m >> lane) & 1u) != 0u && at >= 0 && at < kFlashListRows) {
            const int row = 32 * w + lane;
            ws.row[at] = s0 + row;
            ws.fac[at] = sbuf[h * sst + row] * exp2f(ws.m[j][row >> ltr] - M[j]);
            ws.head[at] = static_cast<uint8_t>(j);
          }
          pos += __popc(m);
        }
      }
      __syncwarp();
      if (base + kFlashListRows < total) drain();  // the weights are overwritten by the next super tile's scores
    }
  };

  const Copy copy(cta.rows, r0, r1, p.async_mode);
  const int tiles = copy.tiles;
  // Commit groups per thread: K_0, (empty), K_1, (empty), then per tile i: K_{i+2}, V_i (the next listed rows, or
  // empty), plus the synchronous rounds' groups (which only make later waits stricter). Tile i's K then has at least
  // three newer groups at the top of iteration i.
  copy.issue(0, cta.k, ring);
  cp_async_commit();
  copy.issue(1, cta.k, ring + kTileBytes);
  cp_async_commit();
  for (int i = 0; i < tiles; ++i) {
    cp_async_wait<3>();  // K_i
    __syncthreads();     // every thread's copies of K_i are visible, every warp is done with K_{i-1}'s slot
    copy.issue(i + kStages - 1, cta.k, ring + ((i + kStages - 1) % kStages) * kTileBytes);
    const unsigned char* kb = ring + (i % kStages) * kTileBytes;
    const int row_in = kTileKeys * i;
    Copy::store_scores(qf, kb, sbuf, sst, U, G, p.scale_log2, r0, r1, row_in, i == tiles - 1, warp, g, c);
    const int next = row_in + kTileKeys;
    __syncthreads();  // the super tile's scores so far are complete
    if (in_flight > 0) {  // the rows copied at the end of the previous tile: all but K_{i+2} has landed
      cp_async_wait<1>();
      __syncwarp();
      add_batch();
    }
    if (next % U == 0 || i == tiles - 1) {
      drain();  // what the previous super tile's list still holds (its factors use the running max before this one)
      finish_super(r0 + (row_in / U) * U);
    }
    issue_batch();  // V_i
  }
  cp_async_wait<0>();
  __syncwarp();
  if (in_flight > 0) add_batch();
  drain();
  __syncthreads();  // the ring is the merge's scratch from here

  // The chunk's partial: per head (M, L) and acc = sum of count * l_t / n_t * exp2(m_t - M) v (the default kernel's).
  const int group = b * p.num_kv_heads + kvh;
  const int64_t part = static_cast<int64_t>(group) * p.num_chunks + cta.chunk;
#pragma unroll
  for (int j = 0; j < kHeadsPerWarp; ++j) {
    if (j >= nh) continue;
    const int h = warp + kWarpsHere * j;
    reinterpret_cast<float4*>(p.part_acc + (part * G + h) * D)[lane] = make_float4(acc[j][0], acc[j][1], acc[j][2], acc[j][3]);
    if (lane == 0) {
      p.part_ml[2 * (part * G + h)] = M[j];
      p.part_ml[2 * (part * G + h) + 1] = L[j];
      p.part_cnt[part * kCntStride + h] = s_cnt[h];
    }
  }
  if (tid == 0) p.part_cnt[part * kCntStride + kMaxGroup] = 0;  // distinct rows are not recorded by this kernel
  if (arrive_last(p, group, &s_flag)) {
    merge_chunks<D, T, MergeKind::softmax, kTileThreads>(p, b, kvh, reinterpret_cast<float*>(smem4));
  }
}

}  // namespace santa::gpu::detail
