// Dense split-KV decode with the key/value stream on the tensor memory accelerator (benchmark variants 25 / 26;
// contiguous cache, sm_90).
//
// The default dense kernel (dense_kernel.cuh) keeps one 16-key step per warp in flight in registers and
// none while it computes; a 16-byte-load stream reads at most ~4.33 TB/s on an H200 against ~4.57 for the
// copy engine (kernels/NOTES.md, call 9). Here each warp owns a ring of kSlots slots of one step (16 rows of K
// and of V of its KV head, 2 x 16 x d x 2 bytes); lane 0 fills a slot with two TMA box copies (one instruction
// each, rows 2 KB apart gathered by the engine). Per step the warp waits for its slot, copies the fragments to
// registers, hands the slot back to the engine for step i + kSlots (an "empty" mbarrier per slot), then computes: kSlots steps stay in flight
// through the compute. Same CTA split, same steps per warp, same fragments and the same arithmetic in the same
// order as the default kernel, so the output is bitwise the default's (test).
#pragma once

#include "kernels/detail/dense_kernel.cuh"
#include "kernels/detail/tma.cuh"

namespace santa::gpu::detail {

template <int D, class T, int kSlots, int kMinBlocks>
__global__ void __launch_bounds__(kThreads, kMinBlocks)
    dense_tma_kernel(const __grid_constant__ KernelParams p, const __grid_constant__ TmaKv maps) {
  static_assert(kSlots >= 1 && kSlots <= 4, "slots per warp");
  extern __shared__ float4 tma_smem[];
  float* smem = reinterpret_cast<float*>(tma_smem);
  __shared__ int s_flag;
  __shared__ __align__(16) T s_q[kMaxGroup * kQRowStride<D>];
  __shared__ __align__(8) uint64_t s_full[kWarps * kSlots];
  __shared__ __align__(8) uint64_t s_empty[kWarps * kSlots];  // a slot's 32 lanes have read it
  constexpr int kBoxBytes = kTmaRows * D * static_cast<int>(sizeof(T));  // 16 rows of one KV head
  constexpr int kRowBytes = D * static_cast<int>(sizeof(T));
  const CtaCoord cta = cta_coord(static_cast<int>(blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z)),
                                 p.num_chunks, p.num_kv_heads, p.heads_inner);
  const int chunk = cta.chunk, kvh = cta.kvh, b = cta.b;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, c = lane & 3;
  const int G = p.group;
  const int n = min(max(p.seq_lens[b], 0), static_cast<int>(p.n_max));
  const int chunk_rows = chunk_rows_for(n, p.num_chunks, p.unit);
  const int r0 = chunk * chunk_rows;
  const int r1 = min(n, r0 + chunk_rows);
  // This warp's steps: rows r0 + 16 (warp + kWarps i), i < nw (the default kernel's assignment).
  const int first = r0 + kTmaRows * warp;
  const int nw = first < r1 ? (r1 - first + kTmaRows * kWarps - 1) / (kTmaRows * kWarps) : 0;
  const int seq_row = b * static_cast<int>(p.max_len);  // < 2^31: the host checks batch x max_len
  unsigned char* ring = tma_ring(tma_smem) + warp * kSlots * 2 * kBoxBytes;
  uint64_t* full = s_full + warp * kSlots;
  uint64_t* empty = s_empty + warp * kSlots;

  const auto issue = [&](int i) {  // lane 0: step i into slot i % kSlots
    const int s = i % kSlots, row0 = first + kTmaRows * kWarps * i;
    mbar_expect_tx(full + s, 2 * kBoxBytes);
    tma_load_rows(ring + s * 2 * kBoxBytes, &maps.k, kvh, seq_row + row0, full + s);
    tma_load_rows(ring + s * 2 * kBoxBytes + kBoxBytes, &maps.v, kvh, seq_row + row0, full + s);
  };
  if (lane == 0) {
    for (int s = 0; s < kSlots; ++s) {
      mbar_init(full + s);
      mbar_init(empty + s, 32);
    }
    mbar_init_fence();
    for (int i = 0; i < kSlots && i < nw; ++i) issue(i);
  }
  stage_q<D, T>(s_q, p, b, kvh);
  __syncthreads();  // also: every warp's barriers are initialised before any lane waits on them

  float m_run = -INFINITY, l_run = 0.f;
  float acc[D / 16][4];
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt) acc[mt][0] = acc[mt][1] = acc[mt][2] = acc[mt][3] = 0.f;

  for (int i = 0; i < nw; ++i) {
    const int s = i % kSlots, row0 = first + kTmaRows * kWarps * i;
    mbar_wait(full + s, static_cast<uint32_t>((i / kSlots) & 1));
    const unsigned char* kb = ring + s * 2 * kBoxBytes;
    KFrag<D> kf;
    VFrag<D> vf;
    load_k_smem<D>(kf, kb, kRowBytes, r1 - row0, g, c);
    load_v_smem<D>(vf, kb + kBoxBytes, kRowBytes, r1 - row0, g, c);
    // The slot goes back to the engine only after every lane's reads of it, through an arrive (release) that
    // lane 0 waits for (acquire) before the refill: a __syncwarp here gave wrong bits at d = 64 with one slot
    // (calls 33-34, only where slots are reused), most likely reads still pending when the copy landed.
    mbar_arrive(empty + s);
    if (lane == 0 && i + kSlots < nw) {
      mbar_wait(empty + s, static_cast<uint32_t>((i / kSlots) & 1));
      issue(i + kSlots);
    }
    // Lanes leave the barrier waits (and lane 0 the refill) at different times; mma.sync needs the whole
    // warp converged (call 35: wrong bits now and then, at d = 64 and 256, without this).
    __syncwarp();
    float sc[2][2];
    {
      QFrag<D> qf;
      load_q_smem<D, T>(qf, s_q, g, c);
      score_step<D, T>(qf, kf, sc);
    }
    softmax_pv_step<D, T>(sc, vf, row0, r1, p.scale_log2, G, g, c, m_run, l_run, acc);
  }
  __syncthreads();  // every ring read (and every copy, each waited for) is done: dense_finish reuses the memory
  dense_finish<D, T>(p, smem, &s_flag, acc, m_run, l_run, chunk, kvh, b);
}

}  // namespace santa::gpu::detail
