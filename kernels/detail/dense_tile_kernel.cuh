// Dense decode with the structure of cuDNN's SDPA decode kernel (benchmark variants 52-54; d = 128, contiguous or
// paged, any group size, sm_80+).
//
// cuDNN's kernel on the H200 (calls 41 and 53, results/gpu_kernels): 128-thread CTAs, one per (sequence, KV
// head) at B = 16, reading CTA-wide tiles of 128 keys of K and of V into shared memory with LDGSTS (cp.async,
// L1 bypassed), thread t's copies of a tile 2 KB apart, a block barrier per tile; it reads the cache at 99 % of
// the bulk-copy probe. Our cp.async kernel with per-warp rings (dense_async_kernel.cuh) makes L2 look up every
// sector twice. This kernel copies as cuDNN does (each warp-wide copy reads four 128-byte pieces of four rows;
// variant 56: two 256-byte rows, as v:33), and computes as the default kernel does: warp w takes the tile's
// 16-key steps 2w and 2w + 1, each with its own softmax state, which are the default kernel's warps 2w and
// 2w + 1 (same steps, same products in the same order, combined in the same order), so the output is bitwise
// the default kernel's at the same split (tests/kernels/dense_decode_test.cpp).
//
// Copy addresses: whole tiles of a contiguous cache from one pointer per tile; whole tiles of a paged cache with pages
// of >= 16 rows from one page number per 16-row group, loaded once per warp; partial tiles and smaller pages per copy.
//
// kStages tiles of K and V in a ring, kStages - 1 in flight while one is computed (variant 52: 2 stages, 128 KB;
// 53: 3 stages, 192 KB). kAlternate (variant 54): one K and one V buffer, cuDNN's 87 KB, where K of tile i + 1
// streams while tile i's P.V is computed and V of tile i + 1 while tile i + 1's scores are.
#pragma once

#include "kernels/detail/dense_async_kernel.cuh"

namespace santa::gpu::detail {

inline constexpr int kTileThreads = 128;  // 4 warps, as cuDNN's CTA
inline constexpr int kTileKeys = 16 * kWarps;  // 128: the default kernel's 8 warps' steps, 2 per warp here

template <int D, class T, int kStages, bool kAlternate>
__global__ void __launch_bounds__(kTileThreads, 1) dense_tile_kernel(const KernelParams p) {
  using R = AsyncRing<D, T>;  // the row swizzle of the cp.async kernel
  constexpr int kElemsPerUnit = 16 / static_cast<int>(sizeof(T));
  constexpr int kTileBytes = kTileKeys * D * static_cast<int>(sizeof(T));
  constexpr int kCopies = kTileKeys * R::kUnits / kTileThreads;
  static_assert(kCopies * kTileThreads == kTileKeys * R::kUnits, "a tile is a whole number of copies per thread");
  static_assert(R::kUnits == 16 && kCopies == 16, "cuDNN's copy order below is written for 256-byte rows");
  static_assert(!kAlternate || kStages == 1, "the alternating form has one K and one V buffer");
  extern __shared__ __align__(kSmemAlign) float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  // async_mode bit 7 (variant 57, diagnostic): the ring 16 bytes past the aligned start, where it lay before call 56.
  unsigned char* ring = reinterpret_cast<unsigned char*>(smem4) + ((p.async_mode & 128) != 0 ? 16 : 0);
  __shared__ int s_flag;
  __shared__ __align__(16) T s_q[kMaxGroup * kQRowStride<D>];
  const AsyncCta<D, T> cta = async_cta<D, T>(p);
  const int r0 = cta.r0, r1 = cta.r1;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, c = lane & 3;

  stage_q<D, T, kTileThreads>(s_q, p, cta.b, cta.kvh);
  __syncthreads();
  QFrag<D> qf;
  load_q_smem<D, T>(qf, s_q, g, c);

  const int tiles = r0 < r1 ? (r1 - r0 + kTileKeys - 1) / kTileKeys : 0;
  // Tile i of K (or V) into `buf`, then a commit group (empty past the last tile, so the waits count the same
  // for every tile). Rows past r1 are zero-filled, not read.
  // Copy k of thread t in cuDNN's order (async_mode bit 6, variants 52-54; call 53): 128-byte piece k % 2 of row
  // 16 (k / 2) + t / 8, unit t % 8 of it, so a warp-wide copy reads four 128-byte pieces of four rows, and thread t's
  // copies are 128 bytes apart in the row. Without the bit (variant 56): unit 128 k + t of the tile, two 256-byte
  // rows per warp-wide copy.
  const bool rows_of_256 = (p.async_mode & 64) == 0;
  // Whole tiles of a contiguous cache in cuDNN's order take the fast path (call 56: computing every copy's row
  // address made the copies 187 M of the kernel's 264 M instructions, cuDNN's whole kernel runs 74 M): thread t's
  // rows are t / 8 + 16 j, so its source is one pointer per tile plus j row strides of 16 rows plus 64 elements per
  // piece, and its destination one offset plus immediates (the swizzle depends on the row's low 3 bits, t / 8's).
  const bool fast = !rows_of_256 && p.page_table == nullptr;
  // Paged caches with pages of >= 16 rows: each 16-row group of a tile lies in one page (tiles start at multiples
  // of 64 keys), so the tile's 8 page numbers are loaded once per warp (lane j % 8 loads group j's, then shuffled)
  // instead of once per copy.
  const bool paged_fast = !rows_of_256 && p.page_table != nullptr && p.page_shift >= 4;
  const int t_row = threadIdx.x / 8, t_unit = threadIdx.x % 8;
  const int64_t stride16 = 16 * cta.rows.row_stride;
  const int64_t t_src = r0 < r1 && !paged_fast ? cta.rows(r0 + t_row) + kElemsPerUnit * t_unit : 0;  // tile 0's first copy
  const int t_dst = R::at(t_row, t_unit, -1);
  constexpr int kGroupBytes = 16 * D * static_cast<int>(sizeof(T));  // 16 rows
  // The paged fast path: element offsets of thread t's rows t / 8 + 16 j of the tile at row0 (K and V share them).
  const auto paged_offsets = [&](int row0, int64_t(&off)[kTileKeys / 16]) {
    const KvRows& rows = cta.rows;
    const int shift = rows.page_shift;
    const int lane_page = __ldg(rows.pages + ((row0 + 16 * (lane & 7)) >> shift));
#pragma unroll
    for (int j = 0; j < kTileKeys / 16; ++j) {
      const int64_t page = __shfl_sync(0xFFFFFFFFu, lane_page, j);
      const int64_t pos = (page << shift) + ((row0 + 16 * j + t_row) & ((1 << shift) - 1));
      off[j] = pos * rows.row_stride + rows.head_offset + kElemsPerUnit * t_unit;
    }
  };
  const auto copy_paged = [&](const T* base, unsigned char* buf, const int64_t(&off)[kTileKeys / 16]) {
#pragma unroll
    for (int j = 0; j < kTileKeys / 16; ++j)
#pragma unroll
      for (int h = 0; h < 2; ++h) cp_async_16(buf + t_dst + j * kGroupBytes + 128 * h, base + off[j] + 64 * h, true);
  };
  const auto issue = [&](int i, const T* base, unsigned char* buf) {
    if (i < tiles) {
      const int row0 = r0 + kTileKeys * i;
      if (fast && row0 + kTileKeys <= r1) {
        const T* src = base + t_src + static_cast<int64_t>(i) * (kTileKeys / 16) * stride16;
#pragma unroll
        for (int j = 0; j < kTileKeys / 16; ++j)
#pragma unroll
          for (int h = 0; h < 2; ++h) cp_async_16(buf + t_dst + j * kGroupBytes + 128 * h, src + j * stride16 + 64 * h, true);
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
          cp_async_16(buf + R::at(r, u, -1), base + (ok ? cta.rows(row0 + r) + kElemsPerUnit * u : 0), ok);
        }
      }
    }
    cp_async_commit();
  };
  // K and V of tile i, one commit group each (the paged fast path computes the rows' offsets once for both).
  const auto issue_kv = [&](int i, unsigned char* kbuf, unsigned char* vbuf) {
    const int row0 = r0 + kTileKeys * i;
    if (i < tiles && paged_fast && row0 + kTileKeys <= r1) {
      int64_t off[kTileKeys / 16];
      paged_offsets(row0, off);
      copy_paged(cta.k, kbuf, off);
      cp_async_commit();
      copy_paged(cta.v, vbuf, off);
      cp_async_commit();
    } else {
      issue(i, cta.k, kbuf);
      issue(i, cta.v, vbuf);
    }
  };

  float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f};
  float acc[2][D / 16][4];
#pragma unroll
  for (int j = 0; j < 2; ++j)
#pragma unroll
    for (int mt = 0; mt < D / 16; ++mt) acc[j][mt][0] = acc[j][mt][1] = acc[j][mt][2] = acc[j][mt][3] = 0.f;
  // Step j of this warp in tile i: the tile's rows 16 (2 warp + j) ...; skipped at or past r1, as the default
  // kernel's warp 2 warp + j skips it.
  const auto step_row = [&](int i, int j) { return r0 + kTileKeys * i + 16 * (2 * warp + j); };
  const auto scores = [&](const unsigned char* kb, int j, float (&s)[2][2]) {
    KFrag<D> kf;
    const int base = 16 * (2 * warp + j);
#pragma unroll
    for (int nt = 0; nt < 2; ++nt)
#pragma unroll
      for (int jj = 0; jj < D / 32; ++jj) {
        kf.r[nt][jj] = *reinterpret_cast<const uint4*>(kb + R::at(base + 8 * nt + g, c + 4 * jj, -1));
      }
    score_step<D, T>(qf, kf, s);
  };
  const auto pv = [&](const unsigned char* vb, int j, int row0, float (&s)[2][2]) {
    VFrag<D> vf;
    const int base = 16 * (2 * warp + j);
#pragma unroll
    for (int ri = 0; ri < 4; ++ri) {
      const int r = base + 2 * c + (ri & 1) + 8 * (ri >> 1);
#pragma unroll
      for (int u = 0; u < D / 64; ++u) vf.r[ri][u] = *reinterpret_cast<const uint4*>(vb + R::at(r, g + 8 * u, -1));
    }
    softmax_pv_step<D, T>(s, vf, row0, r1, p.scale_log2, p.group, g, c, m_run[j], l_run[j], acc[j]);
  };

  if constexpr (kAlternate) {
    unsigned char* kbuf = ring;
    unsigned char* vbuf = ring + kTileBytes;
    issue(0, cta.k, kbuf);
    issue(0, cta.v, vbuf);
    for (int i = 0; i < tiles; ++i) {
      cp_async_wait<1>();  // K of tile i (V of tile i may still stream)
      __syncthreads();
      float s[2][2][2];
#pragma unroll
      for (int j = 0; j < 2; ++j)
        if (step_row(i, j) < r1) scores(kbuf, j, s[j]);
      __syncthreads();  // every warp has read K of tile i
      issue(i + 1, cta.k, kbuf);
      cp_async_wait<1>();  // V of tile i
      __syncthreads();
#pragma unroll
      for (int j = 0; j < 2; ++j)
        if (step_row(i, j) < r1) pv(vbuf, j, step_row(i, j), s[j]);
      __syncthreads();  // every warp has read V of tile i
      issue(i + 1, cta.v, vbuf);
    }
  } else {
    constexpr int kStageBytes = 2 * kTileBytes;
    for (int i = 0; i < kStages - 1; ++i) issue_kv(i, ring + i * kStageBytes, ring + i * kStageBytes + kTileBytes);
    for (int i = 0; i < tiles; ++i) {
      // The slot of tile i + kStages - 1 held tile i - 1, which every warp finished before the barrier that
      // ended iteration i - 1.
      unsigned char* next = ring + ((i + kStages - 1) % kStages) * kStageBytes;
      issue_kv(i + kStages - 1, next, next + kTileBytes);
      cp_async_wait<2 * (kStages - 1)>();  // tile i's two groups are complete; the newer ones may stream
      __syncthreads();                      // every thread's copies of tile i are visible
      const unsigned char* kb = ring + (i % kStages) * kStageBytes;
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const int row0 = step_row(i, j);
        if (row0 < r1) {
          float s[2][2];
          scores(kb, j, s);
          pv(kb + kTileBytes, j, row0, s);
        }
      }
      __syncthreads();
    }
  }
  cp_async_wait<0>();
  __syncthreads();  // the combine's scratch is the ring
#pragma unroll
  for (int j = 0; j < 2; ++j) publish_warp_state<D>(2 * warp + j, p.group, m_run[j], l_run[j], acc[j], smem);
  combine_slots_and_merge<D, T, kTileThreads>(p, cta.b, cta.kvh, cta.chunk, smem, &s_flag);
}

}  // namespace santa::gpu::detail
