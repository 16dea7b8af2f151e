// Bernoulli runner: error falls like 1/sqrt(B) (standard) and clearly faster (stratified); access fractions
// are ordered. Coverage: uniform causal attention matches the closed form; a budget answered from a larger
// pass equals its own pass; GQA unions cover more. Latency: refuses to run without a GPU build.
#include <gtest/gtest.h>

#include <cmath>

#include "harness/measure/cover_levels.hpp"
#include "harness/measure/moments.hpp"
#include "measure_test_support.hpp"

namespace santa::harness::measure {
namespace {

using testing::Harness;
using testing::metric;

double ratio_se(double a, double sa, double b, double sb) { return (b / a) * std::hypot(sa / a, sb / b); }

TEST(BernoulliRunner, ErrorScalingAndAccessFractions) {
  Harness h(R"(name: t
kind: bernoulli
seed: 4
replicates: 100
parameters: {n_k: 256, d: 64, H: 8, H_kv: 2}
sweep:
  grid:
    mode: [standard, stratified]
    B: [16, 64]
)");
  const Row s16 = h.run(0), s64 = h.run(1), t16 = h.run(2), t64 = h.run(3);
  // Standard: per-feature counts are Binomial(B, r), so the error's covariance scales as 1/B and its norm as
  // 1/sqrt(B): the ratio of mean errors at 4x the samples is 1/2 (up to O(1/B) skew). 5 SE of the ratio
  // (delta method over the two independent means).
  const double rs = metric(s64, "rel_err") / metric(s16, "rel_err");
  const double rs_se = ratio_se(metric(s16, "rel_err"), metric(s16, "rel_err_se"), metric(s64, "rel_err"),
                                metric(s64, "rel_err_se"));
  EXPECT_LT(std::abs(rs - 0.5), 5.0 * rs_se + 0.02) << rs;
  // Stratified: counts are floor(B r) or ceil(B r), the per-feature SD is <= norm / (2B): about 1/B, so the
  // ratio is near 1/4, far below the standard mode's 1/2.
  const double rt = metric(t64, "rel_err") / metric(t16, "rel_err");
  const double rt_se = ratio_se(metric(t16, "rel_err"), metric(t16, "rel_err_se"), metric(t64, "rel_err"),
                                metric(t64, "rel_err_se"));
  EXPECT_LT(rt + 5.0 * rt_se, 0.4) << rt;
  EXPECT_LT(metric(t64, "rel_err"), metric(s64, "rel_err"));
  for (const Row* r : {&s16, &s64, &t16, &t64}) {
    EXPECT_EQ(metric(*r, "instances"), 100.0);
    // The group union contains each of its heads' samples (the same draws), so it is at least their mean.
    EXPECT_LE(metric(*r, "access_head"), metric(*r, "access_group_union"));
    EXPECT_LE(metric(*r, "access_group_union"), 1.0);
    EXPECT_GT(metric(*r, "access_group_mean_query"), 0.0);
    EXPECT_TRUE(std::isfinite(metric(*r, "rel_err_group")));
  }
  EXPECT_LE(metric(s16, "access_head"), metric(s64, "access_head"));
}

TEST(CoverLevels, UniformCausalAttentionMatchesClosedForm) {
  // K = 0 makes every row attend uniformly over keys 0..i. Then key j is missed by row i >= j with
  // probability (i/(i+1))^S, and by all rows with prod = (j/n)^S: E[coverage] = 1 - mean_j (j/n)^S.
  // Mean over 200 independent trials vs that value, within 5 standard errors of the trial mean.
  const int64_t n = 200, d = 4;
  const workloads::MatRMf Q = workloads::MatRMf::Random(n, d), K = workloads::MatRMf::Zero(n, d);
  std::atomic<bool> never{false};
  for (int64_t S : {1, 3, 8}) {
    Moments cov;
    for (uint32_t t = 0; t < 200; ++t) {
      std::vector<uint16_t> level;
      causal_cover_levels(Q, K, 8, RngSite{77, t, 0, 0, 0}, level, never);
      int64_t c = 0;
      for (auto l : level) c += l <= S ? 1 : 0;
      cov.add(double(c) / double(n));
    }
    double missed = 0.0;
    for (int64_t j = 0; j < n; ++j) missed += std::pow(double(j) / double(n), double(S));
    const double expected = 1.0 - missed / double(n);
    EXPECT_LT(std::abs(cov.mean() - expected), 5.0 * cov.se()) << "S=" << S << " got " << cov.mean();
  }
}

TEST(CoverageRunner, BudgetsFromOneLargePassEqualTheirOwnPass) {
  const std::string common = "kind: coverage\nseed: 2\nreplicates: 2\nparameters: {n_k: 300, d: 16, H: 4, H_kv: 2}\n";
  Harness wide("name: a\n" + common + "sweep:\n  grid:\n    S: [16, 4, 1]\n");
  Harness narrow("name: a\n" + common + "sweep:\n  grid:\n    S: [4]\n");
  const Row w16 = wide.run(0), w4 = wide.run(1), w1 = wide.run(2), n4 = narrow.run(0);
  EXPECT_EQ(metric(w4, "coverage_pct"), metric(n4, "coverage_pct"));
  EXPECT_EQ(metric(w4, "coverage_group_pct"), metric(n4, "coverage_group_pct"));
  EXPECT_LT(metric(w1, "coverage_pct"), metric(w4, "coverage_pct"));
  EXPECT_LT(metric(w4, "coverage_pct"), metric(w16, "coverage_pct"));
  EXPECT_GT(metric(w4, "coverage_group_pct"), metric(w4, "coverage_pct"));
  // Gaussian scores are not uniform: fewer distinct rows than the uniform closed form.
  EXPECT_LT(metric(w4, "coverage_pct"), metric(w4, "uniform_pct"));
  EXPECT_EQ(metric(w4, "trials"), 2.0);
}

TEST(LatencyRunner, DeclaresItsColumnsAndRefusesWithoutGpu) {
  auto r = make_runner("latency");
  std::vector<std::string> names;
  for (const auto& m : r->metrics()) names.push_back(m.name);
  for (const char* want : {"mean_us", "median_us", "ci95_lo_us", "ci95_hi_us", "bytes_read", "tbps",
                           "fraction_of_peak"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  EXPECT_FALSE(r->unavailable_reason().empty());
  EXPECT_THROW(make_runner("nope"), std::invalid_argument);
}

}  // namespace
}  // namespace santa::harness::measure
