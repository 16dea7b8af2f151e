#include "harness/measure/latency_check.hpp"

#include <fmt/format.h>

#include <cmath>

#include "estimators/exact.hpp"
#include "harness/measure/latency_parallel.hpp"
#include "harness/measure/moments.hpp"
#include "kernels/host_half.hpp"

namespace santa::harness::measure {
namespace {

// Tolerance of an exact backend against the fp64 reference of the same rounded inputs: at most three
// roundings to the 16-bit type in series (softmax weights before the P.V product, split-KV partials, the
// output), each relative error uniform in [-u, u] (RMS u / sqrt(3)) and independent across elements, so the
// relative RMS error of a head is <= u; fp32 accumulation adds < 2^-16. 4u leaves four RMS for the worst head
// (the FlashInfer and torch checks use the same bound). A wrong head mapping, scale, length or pointer gives
// errors of order 1.
constexpr double kExactUnits = 4.0;
// Two exact outputs, each within 4u ||y|| of y: ||a - b|| <= 8u ||y|| <= 8u ||b|| / (1 - 4u) < 8.5u ||b||.
constexpr double kPairUnits = 8.5;
// Sampling: the z bound (see check_sampled).
constexpr double kZ = 6.0;

double round_to(double x, gpu::DType dtype) {
  return gpu::half_bits_to_float(gpu::float_to_half_bits(static_cast<float>(x), dtype), dtype);
}

Eigen::Map<const Vec> head_row(const std::vector<double>& out, int64_t b, int64_t h, int64_t H, int64_t d) {
  return Eigen::Map<const Vec>(out.data() + (b * H + h) * d, d);
}

void require_finite(const std::vector<double>& out, const std::string& what) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i]))
      throw CheckFailed(fmt::format("{}: output element {} is {} (a backend that did not write its output, or "
                                    "overflowed)",
                                    what, i, out[i]));
  }
}

void require_shape(const ReferenceSequence& ref, const std::vector<double>& out, const std::string& what) {
  if (out.empty() || out.size() % static_cast<std::size_t>(ref.H * ref.d) != 0 ||
      static_cast<int64_t>(out.size() / static_cast<std::size_t>(ref.H * ref.d)) <= ref.sequence)
    throw std::invalid_argument(fmt::format("{}: output has {} elements, not [batch > {}][H = {}][d = {}]", what,
                                            out.size(), ref.sequence, ref.H, ref.d));
}

}  // namespace

double unit_roundoff(gpu::DType dtype) { return dtype == gpu::DType::bf16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11); }

std::vector<double> decode_output(const std::vector<uint16_t>& bits, gpu::DType dtype) {
  std::vector<double> out(bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i) out[i] = gpu::half_bits_to_float(bits[i], dtype);
  return out;
}

double rel_l2(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size())
    throw std::invalid_argument(fmt::format("rel_l2: sizes {} and {} differ", a.size(), b.size()));
  double num = 0.0, den = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / den);
}

OutputCheck check_exact(const ReferenceSequence& ref, const std::vector<double>& out,
                        const std::vector<double>* dense, gpu::DType dtype, const std::string& what) {
  require_shape(ref, out, what);
  require_finite(out, what);
  const double u = unit_roundoff(dtype);
  OutputCheck c;
  c.max_rel_error = 0.0;
  double err2 = 0.0, norm2 = 0.0;
  for (int64_t h = 0; h < ref.H; ++h) {
    const auto o = head_row(out, ref.sequence, h, ref.H, ref.d);
    const Vec& y = ref.y[static_cast<std::size_t>(h)];
    const double e = (o - y).norm(), rel = e / y.norm();
    err2 += e * e;
    norm2 += y.squaredNorm();
    c.max_rel_error = std::max(c.max_rel_error, rel);
    if (!(rel <= kExactUnits * u))
      throw CheckFailed(fmt::format("{}: sequence {} head {}: relative L2 error {:.3e} against the fp64 reference "
                                    "exceeds {}u = {:.3e}",
                                    what, ref.sequence, h, rel, kExactUnits, kExactUnits * u));
  }
  c.rel_l2_vs_exact = std::sqrt(err2 / norm2);
  if (dense) {
    if (dense->size() != out.size())
      throw std::invalid_argument(fmt::format("{}: dense output has {} elements, this one {}", what, dense->size(),
                                              out.size()));
    const int64_t rows = static_cast<int64_t>(out.size()) / ref.d;  // (sequence, head) pairs
    for (int64_t row = 0; row < rows; ++row) {
      const Eigen::Map<const Vec> o(out.data() + row * ref.d, ref.d), r(dense->data() + row * ref.d, ref.d);
      const double rel = (o - r).norm() / r.norm();
      if (!(rel <= kPairUnits * u))
        throw CheckFailed(fmt::format("{}: sequence {} head {}: relative L2 distance {:.3e} to our dense kernel "
                                      "exceeds {}u = {:.3e}",
                                      what, row / ref.H, row % ref.H, rel, kPairUnits, kPairUnits * u));
    }
    c.rel_l2_vs_dense = rel_l2(out, *dense);
  }
  return c;
}

// The statistic. For head h of the reference sequence let e_h = ||y_hat_h - y_h||^2 (the kernel's one draw)
// and E = sum_h e_h. If the kernel draws from the scheme, E has mean mu = sum_h MSE_h and variance
// sigma^2 = sum_h Var(e_h) (the heads use independent random streams). R Monte Carlo draws of the CPU
// estimator (estimators/, the same scheme) per head give mu_hat = sum_h mean_h and sigma_hat^2 = sum_h var_h;
// mu_hat has variance sigma^2 / R, so E - mu_hat has variance sigma^2 (1 + 1/R) and
// z = (E - mu_hat) / (sigma_hat sqrt(1 + 1/R)) is close to N(0, 1) (a sum over H independent heads). The Monte
// Carlo estimates are rounded to the output type like the kernel's, so mu includes the rounding error. We
// require |z| <= 6, plus an allowance for the kernel's fp32 value rounding to a neighbouring 16-bit number
// where our fp64 one does not: ||round(y_hat) - y_hat|| <= u ||y_hat|| moves e_h by at most
// 2u ||y_hat_h|| sqrt(e_h) + u^2 ||y_hat_h||^2. P(|N(0,1)| > 6) = 2e-9 per check (a few hundred per run); without
// the normal approximation Chebyshev still bounds it by 1/36. Measured on CPU draws (H = 32, d = 128, 200-1000
// checks per case, near-uniform to max p = 0.6): z has SD 0.9-1.1 and |z| stayed below 4.5.
// What fails: an unwritten or rescaled output, draws not following p (wrong head or KV-head mapping, wrong
// lengths, stale K), wrong totals. At near-uniform attention (gaussian, long context) the sampling error
// dwarfs ||y||, so a swapped sequence can only be seen through the exact backends and the needles inputs.
OutputCheck check_sampled(const ReferenceSequence& ref, const std::vector<double>& out,
                          const std::vector<double>* dense, const std::vector<int32_t>& samples_drawn,
                          gpu::DType dtype, const SampledCheckSpec& spec, const std::string& what) {
  require_shape(ref, out, what);
  require_finite(out, what);
  if (spec.replicates < 2)
    throw std::invalid_argument(fmt::format("{}: {} Monte Carlo replicates; need at least 2", what, spec.replicates));
  const double u = unit_roundoff(dtype);
  const auto H = static_cast<std::size_t>(ref.H);
  std::vector<Moments> mc(H);
  std::vector<int64_t> real_total(H, 0);
  parallel_for(ref.H, [&](int64_t h) {
    const auto hs = static_cast<std::size_t>(h);
    const MatRM& v = ref.values_of_head(h);
    for (int r = 0; r < spec.replicates; ++r) {
      const RngSite site{spec.seed, static_cast<uint32_t>(r), static_cast<uint32_t>(ref.sequence & 0xFFFF),
                         static_cast<uint32_t>(h), 0};
      const RowDraw draw = santa::draw(spec.scheme, ref.p[hs], spec.S, spec.tile, site);
      // Rounded to the output type as the kernel's output is, so that mu includes the rounding error (it
      // dominates where the sampling error is tiny: peaked attention, large S).
      const Vec estimate = santa::apply_draw(draw, v).unaryExpr([&](double x) { return round_to(x, dtype); });
      mc[hs].add((estimate - ref.y[hs]).squaredNorm());
      real_total[hs] = draw.samples;
    }
  });
  // Every sequence has n_k keys, so every head of every sequence draws the same real total.
  for (std::size_t i = 0; i < samples_drawn.size(); ++i) {
    if (samples_drawn[i] != real_total[0])
      throw CheckFailed(fmt::format("{}: sequence {} head {} drew {} samples; the scheme draws {} (S = {}, tile = {}, "
                                    "n_k = {})",
                                    what, i / H, i % H, samples_drawn[i], real_total[0], spec.S, spec.tile, ref.n));
  }
  double E = 0.0, mu = 0.0, var = 0.0, slack = 0.0, norm2 = 0.0;
  for (std::size_t h = 0; h < H; ++h) {
    const auto o = head_row(out, ref.sequence, static_cast<int64_t>(h), ref.H, ref.d);
    const double e = (o - ref.y[h]).squaredNorm(), on = o.norm();
    E += e;
    mu += mc[h].mean();
    var += mc[h].variance();
    slack += 2.0 * u * on * std::sqrt(e) + u * u * on * on;
    norm2 += ref.y[h].squaredNorm();
  }
  const double sd = std::sqrt(var * (1.0 + 1.0 / spec.replicates));
  OutputCheck c;
  c.rel_l2_vs_exact = std::sqrt(E / norm2);
  c.expected_rel_l2 = std::sqrt(mu / norm2);
  c.z = sd > 0.0 ? (E - mu) / sd : (E == mu ? 0.0 : std::copysign(INFINITY, E - mu));
  if (dense) c.rel_l2_vs_dense = rel_l2(out, *dense);
  // 1e-9 mu: the schemes whose error has no spread here (every key drawn by a deterministic rule).
  if (!(std::abs(E - mu) <= kZ * sd + slack + 1e-9 * mu))
    throw CheckFailed(fmt::format("{}: sequence {}: summed squared error {:.6g} over {} heads, the scheme's Monte Carlo "
                                  "expects {:.6g} +- {:.3g} (z = {:.2f}; allowed |z| <= {} plus output rounding {:.3g})",
                                  what, ref.sequence, E, H, mu, sd, c.z, kZ, slack));
  return c;
}

}  // namespace santa::harness::measure
