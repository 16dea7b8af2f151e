// The value gather of the sampling kernel on tensor cores (v9): out[h] += sum_e w[h][e] V[row_e] over the
// chunk's sampled rows (the compacted list), 8 rows per k-step of mma.sync m16n8k8:
//   A = V^T of 8 rows (16 head-dim elements x 8 rows; ldmatrix.trans from a per-warp staging tile),
//   B = the weights (8 rows x 8 heads; heads >= G are zero), C = 16 head-dim elements x 8 heads in fp32.
// Each fp32 weight enters as a pair hi + lo of the cache's 16-bit type (two products, ~16 mantissa bits; prop's
// integer counts are exact in hi). A warp takes blocks of 8 list entries (warp, warp + kWarps, ...); a lane
// loads 16-byte chunks of the block's rows (two blocks in flight), stores them to the staging tile with the
// chunk index XOR-swizzled by the row (conflict-free ldmatrix), then multiplies. Replaces 32 fp32 FMAs, 8
// conversions and 4 weight loads per row and 16 bytes on CUDA cores (call 21: the gather was 28 % of flash's
// warp-stall samples and 45.5 M of its 179 M instructions).
#pragma once

#include "kernels/detail/fragments.cuh"

namespace santa::gpu::detail {

// Staging bytes per warp: 8 rows of D 16-bit elements.
template <int D>
inline constexpr int kGatherStageBytes = 8 * D * 2;

// kInFlight: blocks of 8 rows per warp in flight (registers: kInFlight x D / 64 x 4 per lane).
template <int D, class T, int kInFlight>
struct MmaGather {
  static constexpr int kChunks = D / 8;              // 16-byte chunks per row
  static constexpr int kRowsPerPass = 32 / kChunks;  // rows one warp-wide load covers
  static constexpr int kPerLane = 8 / kRowsPerPass;  // chunks a lane loads per block of 8 rows
  static constexpr int kMT = D / 16;                 // m-tiles of 16 head-dim elements

  float acc[kMT][4];  // lane (g, c): dims 16 mt + g (+ 8 for [2], [3]), heads 2c, 2c + 1

  // The weight of list entry e for head h: the count weight times the tile factor (flash: exp2(m_t - m_c); prop 1).
  struct Weights {
    const uint16_t* list;
    const float* sc;
    const float* t_f;
    int sst, tpc, tshift, R, G;
    __device__ __forceinline__ float operator()(int h, int e) const {
      if (h >= G || e >= R) return 0.f;
      const int r = list[e];
      return sc[h * sst + r] * t_f[h * tpc + (r >> tshift)];
    }
  };

  __device__ __forceinline__ void run(const T* vp, const KvRows& rows, int r0, const Weights& w, uint4* stage,
                                      int warp, int lane) {
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int j = 0; j < 4; ++j) acc[mt][j] = 0.f;
    const int q = lane % kChunks, rsub = lane / kChunks;
    auto load = [&](uint4 (&v)[kPerLane], int blk) {
#pragma unroll
      for (int i = 0; i < kPerLane; ++i) {
        const int e = 8 * blk + rsub + kRowsPerPass * i;
        v[i] = e < w.R ? ld_gather(vp + rows(r0 + w.list[e]) + 8 * q) : make_uint4(0, 0, 0, 0);
      }
    };
    auto process = [&](const uint4 (&v)[kPerLane], int blk) {
      __syncwarp();  // the previous block's ldmatrix reads are done
#pragma unroll
      for (int i = 0; i < kPerLane; ++i) {
        const int r = rsub + kRowsPerPass * i;
        stage[r * kChunks + (q ^ (r & 7))] = v[i];
      }
      __syncwarp();
      const int g = lane >> 2, c = lane & 3;
      const float w0 = w(g, 8 * blk + 2 * c), w1 = w(g, 8 * blk + 2 * c + 1);
      const uint32_t bhi = Half<T>::pack(w0, w1);
      const uint32_t blo = Half<T>::pack(w0 - Half<T>::lo(bhi), w1 - Half<T>::hi(bhi));
      const int rr = lane & 7, j = lane >> 3;
#pragma unroll
      for (int mt = 0; mt < kMT; mt += 2) {
        uint32_t a[4];
        ldmatrix_x4_trans(a, stage + rr * kChunks + ((2 * mt + j) ^ rr));
        Half<T>::mma_k8(acc[mt], a[0], a[1], bhi);
        Half<T>::mma_k8(acc[mt], a[0], a[1], blo);
        Half<T>::mma_k8(acc[mt + 1], a[2], a[3], bhi);
        Half<T>::mma_k8(acc[mt + 1], a[2], a[3], blo);
      }
    };
    const int nb = (w.R + 7) / 8;
    uint4 v[kInFlight][kPerLane];
#pragma unroll
    for (int i = 0; i < kInFlight; ++i)
      if (warp + i * kWarps < nb) load(v[i], warp + i * kWarps);
    for (int blk = warp; blk < nb; blk += kInFlight * kWarps) {
#pragma unroll
      for (int i = 0; i < kInFlight; ++i) {
        const int b = blk + i * kWarps;
        if (b < nb) {
          process(v[i], b);
          if (b + kInFlight * kWarps < nb) load(v[i], b + kInFlight * kWarps);
        }
      }
    }
  }

  // This warp's partial sums into red[h][D] (h < G).
  __device__ __forceinline__ void store(float* red, int G, int lane) const {
    const int g = lane >> 2, c = lane & 3;
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int h = 2 * c + (j & 1), dim = 16 * mt + g + 8 * (j >> 1);
        if (h < G) red[h * D + dim] = acc[mt][j];
      }
    }
  }
};

}  // namespace santa::gpu::detail
