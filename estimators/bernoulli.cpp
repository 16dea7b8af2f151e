#include "estimators/bernoulli.hpp"

#include <algorithm>
#include <cmath>

#include "estimators/validation.hpp"

namespace santa {
namespace {

double fraction_true(const std::vector<bool>& mask) {
  if (mask.empty()) return 0.0;
  return static_cast<double>(std::count(mask.begin(), mask.end(), true)) / static_cast<double>(mask.size());
}

void check_B_mode(std::string_view where, int B, BernoulliMode mode) {
  if (B < 1) check::fail(where, "B = ", B, "; the number of Bernoulli samples must be >= 1");
  if (mode != BernoulliMode::standard && mode != BernoulliMode::stratified) {
    check::fail(where, "mode = ", static_cast<int>(mode), "; allowed: standard, stratified");
  }
}

void check_group(std::string_view where, MatRef q_group) {
  check::nonempty(where, q_group.rows(), "q_group (heads of the group)");
  check::nonempty(where, q_group.cols(), "q_group's columns (head dim)");
  check::finite_matrix(where, q_group, "q_group");
}

}  // namespace

double TernarySamples::access_fraction() const { return fraction_true(accessed); }
double GroupScores::access_fraction() const { return fraction_true(accessed); }

TernarySamples sample_ternary(VecRef q, int B, BernoulliMode mode, PhiloxStream& rng, double norm) {
  constexpr std::string_view where = "sample_ternary";
  check_B_mode(where, B, mode);
  check::nonempty(where, q.size(), "q");
  check::finite(where, q, "q");
  const double max_abs = q.cwiseAbs().maxCoeff();
  if (norm == 0.0) {
    norm = max_abs;
  } else if (!(std::isfinite(norm) && norm >= max_abs)) {
    check::fail(where, "norm = ", norm, "; it must be 0 (use max|q_i| = ", max_abs,
                ") or a finite value >= max|q_i|, so every |q_i| / norm is a probability");
  }
  TernarySamples s;
  s.norm = norm;
  s.B = B;
  s.sum = Eigen::VectorXi::Zero(q.size());
  s.accessed.assign(static_cast<std::size_t>(q.size()), false);
  if (norm == 0.0) return s;  // q = 0: every sample is 0 and so is the estimate
  for (Eigen::Index i = 0; i < q.size(); ++i) {
    const double r = std::min(1.0, std::abs(q[i]) / norm);
    int ones = 0;
    if (mode == BernoulliMode::standard) {
      for (int b = 0; b < B; ++b) ones += rng.next_double() < r ? 1 : 0;
    } else {
      // Stratified: sample b is 1 when (b + xi_b)/B < r. Strata b < floor(B r) always give 1, strata above it
      // never do, and stratum floor(B r) gives 1 when xi < frac(B r); so one uniform per feature draws the
      // count floor(B r) + Bernoulli(frac(B r)), the same law as B uniforms.
      const double x = static_cast<double>(B) * r;
      const double whole = std::floor(x);
      ones = static_cast<int>(whole);
      if (ones < B && rng.next_double() < x - whole) ++ones;
    }
    s.sum[i] = q[i] < 0.0 ? -ones : ones;
    s.accessed[static_cast<std::size_t>(i)] = ones > 0;
  }
  return s;
}

Vec bernoulli_scores(const TernarySamples& s, MatRef k) {
  constexpr std::string_view where = "bernoulli_scores";
  if (s.B < 1) check::fail(where, "s.B = ", s.B, "; the samples must come from sample_ternary (B >= 1)");
  check::nonempty(where, k.rows(), "k (the context)");
  check::same_size(where, s.sum.size(), "s.sum.size() (head dim)", k.cols(), "k.cols()");
  // The CPU reference multiplies by the integer sums; a kernel would add/subtract only accessed columns.
  return (s.norm / static_cast<double>(s.B)) * (k * s.sum.cast<double>());
}

GroupScores bernoulli_group_scores(MatRef q_group, MatRef k, int B, BernoulliMode mode, PhiloxStream& rng) {
  constexpr std::string_view where = "bernoulli_group_scores";
  check_B_mode(where, B, mode);
  check_group(where, q_group);
  check::nonempty(where, k.rows(), "k (the context)");
  check::same_size(where, q_group.cols(), "q_group.cols() (head dim)", k.cols(), "k.cols()");
  const Vec m = q_group.cwiseAbs().colwise().mean().transpose();
  const TernarySamples s = sample_ternary(m, B, mode, rng);
  // m_hat_i = norm * count_i / B estimates m_i without bias, so m_hat_i q_gi / m_i estimates q_gi.
  MatRM coef = MatRM::Zero(q_group.rows(), q_group.cols());
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    if (m[i] == 0.0) continue;  // every head has q_gi = 0 there
    const double m_hat = s.norm * s.sum[i] / static_cast<double>(B);
    coef.col(i) = (m_hat / m[i]) * q_group.col(i);
  }
  GroupScores out;
  out.scores = coef * k.transpose();
  out.accessed = s.accessed;
  return out;
}

double group_union_access_fraction(MatRef q_group, int B, BernoulliMode mode, const RngSite& site) {
  constexpr std::string_view where = "group_union_access_fraction";
  check_B_mode(where, B, mode);
  check_group(where, q_group);
  const auto G = static_cast<uint64_t>(q_group.rows());
  if ((static_cast<uint64_t>(site.head) + 1) * G > 65536) {
    check::fail(where, "site.head = ", site.head, " with G = ", G,
                " heads; query head indices site.head * G + g must stay below 65536");
  }
  std::vector<bool> any(static_cast<std::size_t>(q_group.cols()), false);
  for (uint64_t g = 0; g < G; ++g) {
    RngSite hs = site;  // query head g of KV head site.head: the stream its own head index names
    hs.head = static_cast<uint32_t>(site.head * G + g);
    PhiloxStream rng(hs);
    const TernarySamples s = sample_ternary(q_group.row(static_cast<Eigen::Index>(g)).transpose(), B, mode, rng);
    for (std::size_t i = 0; i < any.size(); ++i) any[i] = any[i] || s.accessed[i];
  }
  return fraction_true(any);
}

}  // namespace santa
