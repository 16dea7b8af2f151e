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
// kStages tiles of K and V in a ring, kStages - 1 in flight while one is computed (variant 52: 2 stages, 128 KB;
// 53: 3 stages, 192 KB). kAlternate (variant 54): one K and one V buffer, cuDNN's 87 KB, where K of tile i + 1
// streams while tile i's P.V is computed and V of tile i + 1 while tile i + 1's scores are.
#pragma once

#include "kernels/detail/tile_copy.cuh"

namespace santa::gpu::detail {

template <int D, class T, int kStages, bool kAlternate>
__global__ void __launch_bounds__(kTileThreads, 1) dense_tile_kernel(const KernelParams p) {
  using Copy = TileCopy<D, T>;
  using R = typename Copy::R;
  constexpr int kTileBytes = Copy::kTileBytes;
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

  const Copy copy(cta.rows, r0, r1, p.async_mode);
  const int tiles = copy.tiles;
  const auto issue = [&](int i, const T* base, unsigned char* buf) { copy.issue(i, base, buf); };
  const auto issue_kv = [&](int i, unsigned char* kbuf, unsigned char* vbuf) { copy.issue_kv(i, cta.k, cta.v, kbuf, vbuf); };

  float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f};
  float acc[2][D / 16][4];
#pragma unroll
  for (int j = 0; j < 2; ++j)
#pragma unroll
    for (int mt = 0; mt < D / 16; ++mt) acc[j][mt][0] = acc[j][mt][1] = acc[j][mt][2] = acc[j][mt][3] = 0.f;
  // Step j of this warp in tile i: the tile's rows 16 (2 warp + j) ...; skipped at or past r1, as the default
  // kernel's warp 2 warp + j skips it.
  const auto step_row = [&](int i, int j) { return r0 + kTileKeys * i + 16 * (2 * warp + j); };
  const auto scores = [&](const unsigned char* kb, int j, float (&sc)[2][2]) { Copy::scores(qf, kb, warp, j, g, c, sc); };
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
