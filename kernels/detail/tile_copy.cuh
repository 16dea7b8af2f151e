// The CTA-wide 128-key tile copies of the tile kernels (dense_tile_kernel.cuh, score_prefix_kernel.cuh): 128
// threads copy one tile of K or V rows into a swizzled shared-memory buffer through cp.async, in cuDNN's order
// (call 53: each warp-wide copy reads four 128-byte pieces of four rows; thread t's copies are 128 bytes apart in
// the row), or two 256-byte rows per copy (async_mode bit 6 clear, variant 56).
//
// Copy addresses: whole tiles of a contiguous cache from one pointer per tile; whole tiles of a paged cache with pages
// of >= 16 rows from one page number per 16-row group, loaded once per warp; partial tiles and smaller pages per copy
// (call 56: computing every copy's row address made the copies 187 M of the kernel's 264 M instructions, cuDNN's
// whole kernel runs 74 M).
#pragma once

#include "kernels/detail/dense_async_kernel.cuh"

namespace santa::gpu::detail {

template <int D, class T>
struct TileCopy {
  using R = AsyncRing<D, T>;  // the row swizzle of the cp.async kernel
  static constexpr int kElemsPerUnit = 16 / static_cast<int>(sizeof(T));
  static constexpr int kTileBytes = kTileKeys * D * static_cast<int>(sizeof(T));
  static constexpr int kCopies = kTileKeys * R::kUnits / kTileThreads;
  static constexpr int kGroupBytes = 16 * D * static_cast<int>(sizeof(T));  // 16 rows
  static_assert(kCopies * kTileThreads == kTileKeys * R::kUnits, "a tile is a whole number of copies per thread");
  static_assert(R::kUnits == 16 && kCopies == 16, "cuDNN's copy order below is written for 256-byte rows");

  KvRows rows;
  int r0, r1, tiles;  // the CTA's keys [r0, r1) in tiles of kTileKeys from r0
  bool rows_of_256, fast, paged_fast;
  int t_row, t_unit, t_dst, lane;
  int64_t stride16, t_src;
  bool evict_first = false;  // contiguous whole-tile copies marked evict-first in L2 (prop_fused_kernel.cuh)

  // Tiles start at r0 + kTileKeys i; r0 must be a multiple of 16 (of 64 for the paged fast path's groups).
  __device__ __forceinline__ TileCopy(const KvRows& kv, int first, int end, int async_mode)
      : rows(kv), r0(first), r1(end), tiles(first < end ? (end - first + kTileKeys - 1) / kTileKeys : 0) {
    rows_of_256 = (async_mode & 64) == 0;
    fast = !rows_of_256 && rows.pages == nullptr;
    // Paged caches with pages of >= 16 rows: each 16-row group of a tile lies in one page, so the tile's 8 page
    // numbers are loaded once per warp (lane j % 8 loads group j's, then shuffled) instead of once per copy.
    paged_fast = !rows_of_256 && rows.pages != nullptr && rows.page_shift >= 4;
    t_row = threadIdx.x / 8;
    t_unit = threadIdx.x % 8;
    lane = threadIdx.x & 31;
    stride16 = 16 * rows.row_stride;
    t_src = r0 < r1 && !paged_fast ? rows(r0 + t_row) + kElemsPerUnit * t_unit : 0;  // tile 0's first copy
    t_dst = R::at(t_row, t_unit, -1);
  }

  // The paged fast path: element offsets of thread t's rows t / 8 + 16 j of the tile at row0 (K and V share them).
  __device__ __forceinline__ void paged_offsets(int row0, int64_t (&off)[kTileKeys / 16]) const {
    const int shift = rows.page_shift;
    const int lane_page = __ldg(rows.pages + ((row0 + 16 * (lane & 7)) >> shift));
#pragma unroll
    for (int j = 0; j < kTileKeys / 16; ++j) {
      const int64_t page = __shfl_sync(0xFFFFFFFFu, lane_page, j);
      const int64_t pos = (page << shift) + ((row0 + 16 * j + t_row) & ((1 << shift) - 1));
      off[j] = pos * rows.row_stride + rows.head_offset + kElemsPerUnit * t_unit;
    }
  }
  __device__ __forceinline__ void copy_paged(const T* base, unsigned char* buf,
                                             const int64_t (&off)[kTileKeys / 16]) const {
#pragma unroll
    for (int j = 0; j < kTileKeys / 16; ++j)
#pragma unroll
      for (int h = 0; h < 2; ++h) cp_async_16(buf + t_dst + j * kGroupBytes + 128 * h, base + off[j] + 64 * h, true);
  }

  // Tile i of K (or V) into `buf`, then a commit group (empty past the last tile, so the waits count the same
  // for every tile). Rows past r1 are zero-filled, not read.
  __device__ __forceinline__ void issue(int i, const T* base, unsigned char* buf) const {
    if (i < tiles) {
      const int row0 = r0 + kTileKeys * i;
      if (fast && row0 + kTileKeys <= r1) {
        const T* src = base + t_src + static_cast<int64_t>(i) * (kTileKeys / 16) * stride16;
        if (evict_first) {
          // The policy is made here, next to its copies: held in a register across the kernel (call 90), a copy
          // with it raised an illegal-instruction error.
          const uint64_t policy = l2_evict_first_policy();
#pragma unroll
          for (int j = 0; j < kTileKeys / 16; ++j)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              cp_async_16_policy(buf + t_dst + j * kGroupBytes + 128 * h, src + j * stride16 + 64 * h, policy);
            }
        } else {
#pragma unroll
          for (int j = 0; j < kTileKeys / 16; ++j)
#pragma unroll
            for (int h = 0; h < 2; ++h) cp_async_16(buf + t_dst + j * kGroupBytes + 128 * h, src + j * stride16 + 64 * h, true);
        }
      } else if (paged_fast && row0 + kTileKeys <= r1) {
        int64_t off[kTileKeys / 16];
        paged_offsets(row0, off);
        copy_paged(base, buf, off);
      } else {
#pragma unroll
        for (int k = 0; k < kCopies; ++k) {
          const int idx = kTileThreads * k + threadIdx.x;
          const int r = rows_of_256 ? idx / R::kUnits : 16 * (k / 2) + t_row;
          const int u = rows_of_256 ? idx % R::kUnits : 8 * (k % 2) + t_unit;
          const bool ok = row0 + r < r1;
          cp_async_16(buf + R::at(r, u, -1), base + (ok ? rows(row0 + r) + kElemsPerUnit * u : 0), ok);
        }
      }
    }
    cp_async_commit();
  }

  // K and V of tile i, one commit group each (the paged fast path computes the rows' offsets once for both).
  __device__ __forceinline__ void issue_kv(int i, const T* k, const T* v, unsigned char* kbuf,
                                           unsigned char* vbuf) const {
    const int row0 = r0 + kTileKeys * i;
    if (i < tiles && paged_fast && row0 + kTileKeys <= r1) {
      int64_t off[kTileKeys / 16];
      paged_offsets(row0, off);
      copy_paged(k, kbuf, off);
      cp_async_commit();
      copy_paged(v, vbuf, off);
      cp_async_commit();
    } else {
      issue(i, k, kbuf);
      issue(i, v, vbuf);
    }
  }

  // Warp `warp`'s 16-key step j (rows 16 (2 warp + j) ...) of a K tile in `kb`: the scores of its G heads.
  __device__ __forceinline__ static void scores(const QFrag<D>& qf, const unsigned char* kb, int warp, int j, int g,
                                                int c, float (&s)[2][2]) {
    KFrag<D> kf;
    const int base = 16 * (2 * warp + j);
#pragma unroll
    for (int nt = 0; nt < 2; ++nt)
#pragma unroll
      for (int jj = 0; jj < D / 32; ++jj) {
        kf.r[nt][jj] = *reinterpret_cast<const uint4*>(kb + R::at(base + 8 * nt + g, c + 4 * jj, -1));
      }
    score_step<D, T>(qf, kf, s);
  }

  // The key streams of the sampling tile kernels (score_prefix_kernel.cuh, flash_stream_kernel.cuh): warp `warp`'s
  // two steps of the K tile in `kb` whose first key is r0 + row_in, scaled into the log2 domain, into a super-tile
  // score buffer `buf` ([G][sst], super tiles of U keys). Keys at or past r1 are -inf (the one-pass kernel's
  // store()); when the tile is the chunk's last and the chunk ends inside the super tile, so is the rest of it.
  __device__ __forceinline__ static void store_scores(const QFrag<D>& qf, const unsigned char* kb, float* buf,
                                                      int sst, int U, int G, float scale_log2, int r0, int r1,
                                                      int row_in, bool last_tile, int warp, int g, int c) {
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const int step0 = r0 + row_in + 16 * (2 * warp + j);
      float s[2][2] = {{0.f, 0.f}, {0.f, 0.f}};
      if (step0 < r1) scores(qf, kb, warp, j, g, c, s);
      if (g < G) {
#pragma unroll
        for (int nt = 0; nt < 2; ++nt) {
          const int key = step0 + 8 * nt + 2 * c;
          float2 v;
          v.x = key < r1 ? s[nt][0] * scale_log2 : -INFINITY;
          v.y = key + 1 < r1 ? s[nt][1] * scale_log2 : -INFINITY;
          *reinterpret_cast<float2*>(buf + g * sst + row_in % U + 16 * (2 * warp + j) + 8 * nt + 2 * c) = v;
        }
      }
    }
    const int next = row_in + kTileKeys, rest = U - next % U;
    if (last_tile && next % U != 0) {
      for (int e = threadIdx.x; e < G * rest; e += kTileThreads) buf[(e / rest) * sst + next % U + e % rest] = -INFINITY;
    }
  }
};

}  // namespace santa::gpu::detail
