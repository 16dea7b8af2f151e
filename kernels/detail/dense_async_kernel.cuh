// Dense decode, the per-KV-head kernel's split and arithmetic with its K/V stream through cp.async (benchmark
// variants 33-41; d = 128, contiguous or paged, any group size, sm_80+).
//
// Nsight Compute of cuDNN's SDPA decode at B = 16, 32k on the H200 (call 41, results/gpu_kernels/call41_h200):
// 128 CTAs (one per sequence and KV head, no split) of 4 warps read the same NHD cache at 96 % of peak DRAM with
// LDGSTS (cp.async, L1 bypassed) into shared memory, 128 keys per tile; our per-KV-head kernel, which loads
// into registers, reaches ~85 %. This kernel keeps everything of the default kernel (dense_kernel.cuh) except
// the loads: each warp streams its 16-key steps (the 8 warps of a CTA cover 128 consecutive keys, as cuDNN's
// tile) through a private ring of kAsyncStages steps of shared memory, kAsyncStages - 1 steps ahead, and reads
// its fragments from there. The ring is per warp, so no block barrier per step (variant 33; 34 adds one, so the
// CTA reads 128 consecutive keys at a time as cuDNN's does; 35 issues a step's V after the current step's
// scores, so K and V requests come apart; 36 = both; 37-41: diagnostics of its L2 traffic). Same steps, same products in
// the same order: bitwise the default kernel's output at the same split (tests/kernels/dense_decode_test.cpp).
// Variants 49 / 50: 33's copies with the L2 128-byte / 256-byte prefetch-size hint; 51: 49 in lock step (cuDNN's
// LDGSTS carry the 128-byte one). Variant 55: 33 with cuDNN's copy order (a warp-wide copy reads four 128-byte pieces
// of four rows instead of two 256-byte rows).
#pragma once

#include "kernels/detail/dense_kernel.cuh"

namespace santa::gpu::detail {

template <int D, class T>
struct AsyncRing : SwizzledRows<D, T> {
  using SwizzledRows<D, T>::kUnits;
  static constexpr int kStepBytes = 16 * D * static_cast<int>(sizeof(T));  // 16 rows (K, then V)
  static constexpr int kSlotBytes = 2 * kStepBytes;
  static constexpr int kWarpBytes = kAsyncStages * kSlotBytes;
};

// A per-KV-head CTA of the cp.async kernels: its (chunk, KV head, sequence), keys [r0, r1), K / V row addressing.
template <int D, class T>
struct AsyncCta : DenseCta {
  KvRows rows;
  const T* k;
  const T* v;
};
template <int D, class T>
__device__ __forceinline__ AsyncCta<D, T> async_cta(const KernelParams& p) {
  const DenseCta cta = dense_cta(p);
  return {cta, kv_rows<D>(p, cta.b, cta.kvh), static_cast<const T*>(p.k), static_cast<const T*>(p.v)};
}

template <int D, class T>
__global__ void __launch_bounds__(kThreads, 1) dense_async_kernel(const KernelParams p) {
  using R = AsyncRing<D, T>;
  constexpr int kElemsPerUnit = 16 / static_cast<int>(sizeof(T));
  extern __shared__ __align__(kSmemAlign) float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  __shared__ int s_flag;
  __shared__ __align__(16) T s_q[kMaxGroup * kQRowStride<D>];
  const AsyncCta<D, T> cta = async_cta<D, T>(p);
  const int r0 = cta.r0, r1 = cta.r1;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, c = lane & 3;
  const KvRows& rows = cta.rows;
  const T *kp = cta.k, *vp = cta.v;
  unsigned char* ring = reinterpret_cast<unsigned char*>(smem4) + warp * R::kWarpBytes;

  stage_q<D, T>(s_q, p, cta.b, cta.kvh);
  __syncthreads();
  QFrag<D> qf;
  load_q_smem<D, T>(qf, s_q, g, c);

  // This warp's steps: rows [row0, row0 + 16) with row0 = r0 + 16 warp + 128 i, as the default kernel's loop.
  const int first = r0 + 16 * warp;
  const int steps = first < r1 ? (r1 - first + 16 * kWarps - 1) / (16 * kWarps) : 0;
  // Step i into slot i % kAsyncStages: lane l copies units 32k + l of the 16 rows of K (or of V): half a row per
  // 16 lanes, two 256-byte pieces per instruction at d = 128. Rows past r1 are zero-filled, not read.
  // Diagnostics (async_mode bits 2 and 3): rows not swizzled; the copy without its zero-fill operand.
  const int swz_mask = (p.async_mode & 4) != 0 ? 0 : -1;
  const bool zfill = (p.async_mode & 8) == 0;
  const int l2_prefetch = (p.async_mode & 16) != 0 ? 128 : (p.async_mode & 32) != 0 ? 256 : 0;
  const bool pieces_of_128 = (p.async_mode & 64) != 0;
  static_assert(R::kUnits == 16, "the 128-byte order is written for 256-byte rows");
  const auto issue = [&](int i, const T* base, int offset) {
    if (i < steps) {
      const int row0 = first + 16 * kWarps * i;
      unsigned char* slot = ring + (i % kAsyncStages) * R::kSlotBytes + offset;
#pragma unroll
      for (int k = 0; k < 16 * R::kUnits / 32; ++k) {
        const int idx = 32 * k + lane;
        // async_mode bit 6 (variant 55): cuDNN's order, 128-byte piece k % 2 of row 4 (k / 2) + lane / 8.
        const int r = pieces_of_128 ? 4 * (k / 2) + lane / 8 : idx / R::kUnits;
        const int u = pieces_of_128 ? 8 * (k % 2) + lane % 8 : idx % R::kUnits;
        const bool ok = row0 + r < r1;
        if (zfill) {
          cp_async_16_prefetch(slot + R::at(r, u, swz_mask), base + (ok ? rows(row0 + r) + kElemsPerUnit * u : 0), ok,
                               l2_prefetch);
        } else {  // diagnostic: the plain form; rows past r1 copy row r0 (their scores are masked, P = 0)
          cp_async_16_plain(slot + R::at(r, u, swz_mask), base + rows(ok ? row0 + r : r0) + kElemsPerUnit * u);
        }
      }
    }
  };
  // One commit group per step (K and V), empty past the last step, so the waits count the same for every step.
  // Steps in flight ahead of the one computed: kAsyncStages - 1, or 1 on request (LaunchOptions::prefetch_steps).
  const bool one_ahead = p.prefetch == 1;
  const int ahead = one_ahead ? 1 : kAsyncStages - 1;
  const bool lockstep = (p.async_mode & 1) != 0, late_v = (p.async_mode & 2) != 0;
  for (int i = 0; i < ahead; ++i) {
    issue(i, kp, 0);
    issue(i, vp, R::kStepBytes);
    cp_async_commit();
  }
  // Lock step: every warp runs warp 0's step count (the most), so the block barrier is reached by all.
  const int loop_steps = lockstep ? (r0 < r1 ? (r1 - r0 + 16 * kWarps - 1) / (16 * kWarps) : 0) : steps;

  float m_run = -INFINITY, l_run = 0.f;
  float acc[D / 16][4];
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt) acc[mt][0] = acc[mt][1] = acc[mt][2] = acc[mt][3] = 0.f;
  for (int i = 0; i < loop_steps; ++i) {
    // Every lane (lock step: every warp) has read the slot that step i + ahead refills (it held step
    // i + ahead - kAsyncStages < i).
    if (lockstep) {
      __syncthreads();
    } else {
      __syncwarp();
    }
    issue(i + ahead, kp, 0);
    if (!late_v) {
      issue(i + ahead, vp, R::kStepBytes);
      cp_async_commit();
    }
    // Step i's group is complete once at most `pending` newer groups are outstanding (late V: step i + ahead's
    // group is not committed yet).
    const int pending = ahead - (late_v ? 1 : 0);
    if (pending == 2) {
      cp_async_wait<2>();
    } else if (pending == 1) {
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncwarp();  // every lane's copies of step i are complete and visible to the warp (each warp reads its own ring)
    const bool active = i < steps;
    const unsigned char* kb = ring + (i % kAsyncStages) * R::kSlotBytes;
    const unsigned char* vb = kb + R::kStepBytes;
    float s[2][2];
    if (active) {
      KFrag<D> kf;
#pragma unroll
      for (int nt = 0; nt < 2; ++nt)
#pragma unroll
        for (int j = 0; j < D / 32; ++j) kf.r[nt][j] = *reinterpret_cast<const uint4*>(kb + R::at(8 * nt + g, c + 4 * j, swz_mask));
      score_step<D, T>(qf, kf, s);
    }
    if (late_v) {
      issue(i + ahead, vp, R::kStepBytes);
      cp_async_commit();
    }
    if (active) {
      VFrag<D> vf;
#pragma unroll
      for (int ri = 0; ri < 4; ++ri) {
        const int r = 2 * c + (ri & 1) + 8 * (ri >> 1);
#pragma unroll
        for (int u = 0; u < D / 64; ++u) vf.r[ri][u] = *reinterpret_cast<const uint4*>(vb + R::at(r, g + 8 * u, swz_mask));
      }
      softmax_pv_step<D, T>(s, vf, first + 16 * kWarps * i, r1, p.scale_log2, p.group, g, c, m_run, l_run, acc);
    }
  }
  cp_async_wait<0>();
  __syncthreads();  // the combine's scratch is the ring: every warp is done with its stream
  combine_warps_and_merge<D, T>(p, cta.b, cta.kvh, cta.chunk, m_run, l_run, acc, smem, &s_flag);
}

}  // namespace santa::gpu::detail
