// Statistical tests of the sampling kernels on Gaussian inputs, where the kernels' fp32 running prefix
// can differ from the CPU's fp64 one by rounding (so counts may rarely differ): over R replicate decode steps,
// the mean output must match the exact output (global-systematic prop, flash: unbiased) or the exact
// output plus the CPU's closed-form bias (largest-remainder prop), within kZ standard errors plus the 16-bit
// output rounding (kernel_test_support.hpp derives the tolerance); and the kernel's squared error must match
// the CPU sampler's with the same seeds (a paired test, below).
#include <gtest/gtest.h>

#include <cmath>

#include "estimators/closed_forms.hpp"
#include "estimators/exact.hpp"
#include "estimators/tiles.hpp"
#include "kernel_test_support.hpp"

namespace santa::gpu::testing {
namespace {

struct Setup {
  Shape s;
  HostInputs in;
  std::vector<Vec> p;  // per head
  std::vector<Vec> y;  // exact output per head
  MatRM V;
};

Setup make_setup(uint64_t seed) {
  Setup st;
  st.s.batch = 1;
  st.s.heads = 4;
  st.s.kv_heads = 1;
  st.s.dim = 64;
  st.s.max_len = 2048;
  st.in = random_inputs(st.s, seed, {2048});
  // Sharpen attention (q scaled by 3) so the tiles' masses differ and the largest-remainder bias is large.
  for (auto& x : st.in.q) x = float_to_half_bits(3.0f * half_bits_to_float(x, st.s.dtype), st.s.dtype);
  const MatRM q = st.in.q_matrix(0), K = st.in.k_matrix(0, 0);
  st.V = st.in.v_matrix(0, 0);
  for (int h = 0; h < st.s.heads; ++h) {
    st.p.push_back(softmax(attention_scores(q.row(h).transpose(), K, 1.0 / std::sqrt(64.0))));
    st.y.push_back(st.V.transpose() * st.p.back());
  }
  return st;
}

void check_kind(SamplingKind kind, int64_t S, int tile) {
  SANTA_REQUIRE_GPU();
  const Setup st = make_setup(2024);
  const Shape& s = st.s;
  DeviceInputs d = upload(st.in);
  DecodeWorkspace ws(limits_for(s));
  constexpr int R = 400;
  const int m = s.heads * s.dim;
  std::vector<double> sum(m, 0.0), sumsq(m, 0.0), maxabs(m, 0.0);
  std::vector<double> diff(R, 0.0), bound(R, 0.0);
  for (int r = 0; r < R; ++r) {
    const SamplingRng rng{31337, static_cast<uint32_t>(r), nullptr};
    run_sampling_kernel(kind, d.problem, ws, S, tile, rng);
    const auto out = download_out(d, s);
    for (int h = 0; h < s.heads; ++h) {
      const Vec cpu = apply_draw(cpu_draw(kind, st.p[h], S, tile, RngSite{rng.seed, rng.step, 0, static_cast<uint32_t>(h), 0}), st.V);
      double e_gpu = 0.0, e_cpu = 0.0, norm_hat = 0.0;
      for (int j = 0; j < s.dim; ++j) {
        const double o = out[static_cast<size_t>(h) * s.dim + j];
        ASSERT_TRUE(std::isfinite(o));
        const int i = h * s.dim + j;
        sum[i] += o;
        sumsq[i] += o * o;
        maxabs[i] = std::max(maxabs[i], std::fabs(o));
        e_gpu += (o - st.y[h][j]) * (o - st.y[h][j]);
        e_cpu += (cpu[j] - st.y[h][j]) * (cpu[j] - st.y[h][j]);
        norm_hat += cpu[j] * cpu[j];
      }
      // Same counts => e_gpu - e_cpu = 2 <y_hat - y, delta> + |delta|^2 with |delta| <= eps |y_hat| from the
      // 16-bit output (eps = 2^-8 allows bf16's 2^-9 plus fp32 accumulation).
      const double eps = std::sqrt(norm_hat) / 256.0;
      diff[r] += e_gpu - e_cpu;
      bound[r] += 2.0 * std::sqrt(e_cpu) * eps + eps * eps;
    }
  }
  // 1) Mean output vs its target, per coordinate.
  std::vector<Vec> target = st.y;
  if (kind == SamplingKind::prop_largest_remainder) {
    for (int h = 0; h < s.heads; ++h) target[h] += prop_reference_bias(st.p[h], st.V, S, tile);
  }
  int failures = 0;
  for (int h = 0; h < s.heads; ++h) {
    for (int j = 0; j < s.dim; ++j) {
      const int i = h * s.dim + j;
      const double mean = sum[i] / R;
      const double var = std::max(0.0, (sumsq[i] - R * mean * mean) / (R - 1));
      const double tol = kZ * std::sqrt(var / R) + maxabs[i] / 256.0;
      if (std::fabs(mean - target[h][j]) > tol && ++failures <= 5) {
        ADD_FAILURE() << "head " << h << " coord " << j << ": mean " << mean << " target " << target[h][j]
                      << " tol " << tol;
      }
    }
  }
  EXPECT_EQ(failures, 0);
  // 2) Paired squared error vs the CPU sampler: mean(e_gpu - e_cpu) within the mean rounding bound plus kZ SE.
  double md = 0.0, mb = 0.0;
  for (int r = 0; r < R; ++r) {
    md += diff[r] / R;
    mb += bound[r] / R;
  }
  double vd = 0.0;
  for (int r = 0; r < R; ++r) vd += (diff[r] - md) * (diff[r] - md) / (R - 1);
  EXPECT_LE(std::fabs(md), mb + kZ * std::sqrt(vd / R)) << "kernel MSE differs from the CPU sampler's";
}

TEST(SamplingStatistics, GlobalSystematicPropIsUnbiasedAndMatchesCpuError) {
  check_kind(SamplingKind::prop_global, 32, 64);
}
TEST(SamplingStatistics, FlashIsUnbiasedAndMatchesCpuError) {
  check_kind(SamplingKind::flash_exact, 64, 64);
}
TEST(SamplingStatistics, LargestRemainderPropHasTheReferenceBias) {
  check_kind(SamplingKind::prop_largest_remainder, 32, 64);
}

}  // namespace
}  // namespace santa::gpu::testing
