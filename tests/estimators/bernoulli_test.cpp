// Bernoulli (ternary) qK^T: unbiasedness, error-vs-B slopes on the P3 setup, GQA mean group query, access.
#include "estimators/bernoulli.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "test_support.hpp"

namespace santa {
namespace {

struct Instance {
  Vec q;     // [d] ~ N(0, 1)
  MatRM k;   // [n, d] ~ N(0, 1) / sqrt(d)
  Vec exact; // q K^T
};

// PROTOCOLS.md P3: q ~ N(0, 1), K ~ N(0, 1)/sqrt(d), element-wise.
Instance p3_instance(int64_t n, int64_t d, uint32_t instance) {
  PhiloxStream rng(RngSite{.seed = 0xB3, .step = instance});
  Instance in;
  in.q = testing::normal_vector(d, rng);
  in.k = testing::normal_matrix(n, d, rng, 1.0 / std::sqrt(static_cast<double>(d)));
  in.exact = in.k * in.q;
  return in;
}

const char* name(BernoulliMode m) { return m == BernoulliMode::standard ? "standard" : "stratified"; }

// Replicate mean of the estimated scores vs q K^T: R = 3000, 5 SE per key, Bonferroni over n = 256 keys
// (false failure <= 1.5e-4; derivation in test_support.hpp). Also with a norm above max|q_i|.
TEST(BernoulliScores, UnbiasedInBothModes) {
  const Instance in = p3_instance(256, 128, 1);
  const double max_abs = in.q.cwiseAbs().maxCoeff();
  for (const BernoulliMode mode : {BernoulliMode::standard, BernoulliMode::stratified}) {
    for (const double norm : {0.0, 2.5 * max_abs}) {
      const testing::Replicates reps = testing::replicate(3000, [&](uint32_t r) {
        PhiloxStream rng(RngSite{.seed = 2, .step = r});
        return bernoulli_scores(sample_ternary(in.q, 4, mode, rng, norm), in.k);
      });
      EXPECT_TRUE(testing::within_se(reps, in.exact)) << name(mode) << " norm " << norm;
    }
  }
}

TEST(SampleTernary, CountsRespectTheModesLaw) {
  const Instance in = p3_instance(8, 128, 2);
  const double norm = in.q.cwiseAbs().maxCoeff();
  for (const int B : {1, 3, 64, 1000}) {
    PhiloxStream rng(RngSite{.seed = 3, .step = static_cast<uint32_t>(B)});
    const TernarySamples st = sample_ternary(in.q, B, BernoulliMode::stratified, rng);
    const TernarySamples sd = sample_ternary(in.q, B, BernoulliMode::standard, rng);
    EXPECT_EQ(st.norm, norm);
    for (Eigen::Index i = 0; i < in.q.size(); ++i) {
      const double x = B * std::abs(in.q[i]) / norm;
      // Stratified: floor(B r) or ceil(B r) ones, with the sign of q_i.
      EXPECT_TRUE(std::abs(st.sum[i]) == std::floor(x) || std::abs(st.sum[i]) == std::ceil(x)) << i;
      EXPECT_LE(std::abs(sd.sum[i]), B);
      for (const auto* s : {&st, &sd}) {
        if (s->sum[i] != 0) {
          EXPECT_EQ(s->sum[i] > 0, in.q[i] > 0);
        }
        EXPECT_EQ(s->accessed[i], s->sum[i] != 0);
      }
    }
  }
  // The largest feature has r = 1: always drawn, in every sample.
  Eigen::Index imax;
  in.q.cwiseAbs().maxCoeff(&imax);
  PhiloxStream rng(RngSite{.seed = 4});
  EXPECT_EQ(std::abs(sample_ternary(in.q, 17, BernoulliMode::standard, rng).sum[imax]), 17);
}

struct SlopeFit {
  double slope;
  std::vector<double> mean_error;
};

// Mean relative error ||p_hat - p|| / ||p|| over 50 P3 instances (d = 128, n = 1024) at B = 1, 2, ..., 4096,
// and the least-squares slope of log(mean error) vs log B.
SlopeFit p3_slope(BernoulliMode mode) {
  constexpr int kInstances = 50, kPowers = 13;
  std::vector<double> err(kPowers, 0.0);
  for (uint32_t inst = 0; inst < kInstances; ++inst) {
    const Instance in = p3_instance(1024, 128, 100 + inst);
    const double p_norm = in.exact.norm();
    for (int j = 0; j < kPowers; ++j) {
      PhiloxStream rng(RngSite{.seed = 5, .step = inst, .head = static_cast<uint32_t>(j)});
      const Vec est = bernoulli_scores(sample_ternary(in.q, 1 << j, mode, rng), in.k);
      err[j] += (est - in.exact).norm() / p_norm / kInstances;
    }
  }
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (int j = 0; j < kPowers; ++j) {
    const double x = j * std::log(2.0), y = std::log(err[j]);
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  return {(kPowers * sxy - sx * sy) / (kPowers * sxx - sx * sx), err};
}

// The targets: slope -0.5 +- 0.1 (standard) and -1.0 +- 0.1 (stratified). The +-0.1 band is far wider
// than the fit's own noise: each mean error averages 50 instances (relative SE of a point ~ 2 %, so the
// slope's SE over 13 points spread over 12 octaves is below 0.005).
TEST(BernoulliScores, StandardErrorFallsAsOneOverSqrtB) {
  const SlopeFit fit = p3_slope(BernoulliMode::standard);
  EXPECT_NEAR(fit.slope, -0.5, 0.1) << "mean errors from B=1: " << ::testing::PrintToString(fit.mean_error);
}

TEST(BernoulliScores, StratifiedErrorFallsAsOneOverB) {
  const SlopeFit fit = p3_slope(BernoulliMode::stratified);
  EXPECT_NEAR(fit.slope, -1.0, 0.1) << "mean errors from B=1: " << ::testing::PrintToString(fit.mean_error);
}

// Mean group query: every head's scores unbiased. G = 4 heads, n = 128 keys: 512 coordinates, R = 3000,
// 5 SE with Bonferroni over 512 (false failure <= 2.9e-4).
TEST(BernoulliGroupScores, UnbiasedForEveryHead) {
  constexpr int G = 4, d = 64, n = 128;
  PhiloxStream data(RngSite{.seed = 6});
  MatRM qg = testing::normal_matrix(G, d, data);
  qg(2, 5) = 0.0;  // a zero entry in one head, and a feature that is zero in every head
  qg.col(7).setZero();
  const MatRM k = testing::normal_matrix(n, d, data, 1.0 / std::sqrt(d));
  const MatRM exact = qg * k.transpose();
  const Eigen::Map<const Vec> exact_flat(exact.data(), exact.size());
  for (const BernoulliMode mode : {BernoulliMode::standard, BernoulliMode::stratified}) {
    testing::Replicates reps;
    for (uint32_t r = 0; r < 3000; ++r) {
      PhiloxStream rng(RngSite{.seed = 7, .step = r});
      const GroupScores gs = bernoulli_group_scores(qg, k, 4, mode, rng);
      ASSERT_EQ(gs.scores.rows(), G);
      ASSERT_EQ(gs.scores.cols(), n);
      EXPECT_FALSE(gs.accessed[7]);  // m_7 = 0: never fetched
      reps.add(Eigen::Map<const Vec>(gs.scores.data(), gs.scores.size()));
    }
    EXPECT_TRUE(testing::within_se(reps, exact_flat)) << name(mode);
  }
}

// Per-feature access probability of one head (or of the mean query m), r_i = |x_i| / max|x|: standard
// 1 - (1 - r)^B; stratified min(1, B r) (floor(B r) >= 1 forces a sample, else one with probability B r).
Vec access_probability(const Vec& x, int B, BernoulliMode mode) {
  const Vec r = x.cwiseAbs() / x.cwiseAbs().maxCoeff();
  Vec pi(r.size());
  for (Eigen::Index i = 0; i < r.size(); ++i) {
    pi[i] = mode == BernoulliMode::standard ? 1.0 - std::pow(1.0 - r[i], B) : std::min(1.0, B * r[i]);
  }
  return pi;
}

// Union over G independently sampled heads: a feature is missed only if every head misses it.
Vec union_access_probability(const MatRM& qg, int B, BernoulliMode mode) {
  Vec miss = Vec::Ones(qg.cols());
  for (Eigen::Index g = 0; g < qg.rows(); ++g) {
    miss = miss.cwiseProduct((Vec::Ones(qg.cols()) - access_probability(qg.row(g).transpose(), B, mode)));
  }
  return Vec::Ones(qg.cols()) - miss;
}

// Access fractions: in [0, 1]; replicate means (R = 100) agree with the expectations within 5 SE
// (3 kinds x 2 modes x 9 values of B = 54 comparisons, Bonferroni: false failure <= 3.1e-5); the expectations
// are non-decreasing in B, and so are the replicate means up to 5 SE of their difference.
// The SE here is the exact one, not the sample one: features are accessed independently (one draw per
// feature), so the accessed count is a sum of independent Bernoulli(pi_i) and the fraction has variance
// sum_i pi_i (1 - pi_i) / d^2. (The sample SE is 0 when a rare miss happens to not occur in R replicates.)
TEST(AccessFraction, InUnitIntervalMatchesExpectationAndGrowsWithB) {
  constexpr int G = 4, d = 128, R = 100;
  PhiloxStream data(RngSite{.seed = 8});
  const MatRM qg = testing::normal_matrix(G, d, data);
  const MatRM k = testing::normal_matrix(16, d, data);
  const Vec m = qg.cwiseAbs().colwise().mean().transpose();
  for (const BernoulliMode mode : {BernoulliMode::standard, BernoulliMode::stratified}) {
    Vec prev_expect = Vec::Zero(3), prev_mean = Vec::Zero(3), prev_se = Vec::Zero(3);
    for (int B = 1; B <= 256; B *= 2) {
      testing::Replicates reps;  // (head 0, group union, mean group query)
      for (uint32_t r = 0; r < R; ++r) {
        const RngSite site{.seed = 9, .step = r, .head = 1};
        PhiloxStream head0(RngSite{.seed = 9, .step = r, .head = 4});  // query head 0 of KV head 1 (G = 4)
        PhiloxStream group(RngSite{.seed = 10, .step = r});
        const Vec x = (Vec(3) << sample_ternary(qg.row(0).transpose(), B, mode, head0).access_fraction(),
                       group_union_access_fraction(qg, B, mode, site),
                       bernoulli_group_scores(qg, k, B, mode, group).access_fraction())
                          .finished();
        for (int j = 0; j < 3; ++j) {
          EXPECT_GE(x[j], 0.0);
          EXPECT_LE(x[j], 1.0);
        }
        reps.add(x);
      }
      const Vec pi[3] = {access_probability(qg.row(0).transpose(), B, mode), union_access_probability(qg, B, mode),
                         access_probability(m, B, mode)};
      Vec expect(3), se(3);
      for (int j = 0; j < 3; ++j) {
        expect[j] = pi[j].mean();
        se[j] = std::sqrt(pi[j].dot(Vec::Ones(d) - pi[j]) / R) / d;
      }
      EXPECT_TRUE(testing::within_se(reps.mean(), se, expect)) << name(mode) << " B=" << B;
      for (int j = 0; j < 3; ++j) {
        EXPECT_GE(expect[j], prev_expect[j]) << name(mode) << " B=" << B << " kind " << j;
        const double slack = testing::kZ * std::hypot(se[j], prev_se[j]);
        EXPECT_GE(reps.mean()[j], prev_mean[j] - slack) << name(mode) << " B=" << B << " kind " << j;
      }
      prev_expect = expect;
      prev_mean = reps.mean();
      prev_se = se;
    }
  }
}

// group_union_access_fraction draws head g from the site with head = site.head * G + g.
TEST(AccessFraction, GroupUnionUsesEachQueryHeadsOwnStream) {
  PhiloxStream data(RngSite{.seed = 11});
  const MatRM qg = testing::normal_matrix(4, 32, data);
  const RngSite site{.seed = 12, .step = 3, .head = 2};
  std::vector<bool> any(32, false);
  for (uint32_t g = 0; g < 4; ++g) {
    PhiloxStream rng(RngSite{.seed = 12, .step = 3, .head = 8 + g});
    const TernarySamples s = sample_ternary(qg.row(g).transpose(), 2, BernoulliMode::standard, rng);
    for (int i = 0; i < 32; ++i) any[i] = any[i] || s.accessed[i];
  }
  EXPECT_DOUBLE_EQ(group_union_access_fraction(qg, 2, BernoulliMode::standard, site),
                   static_cast<double>(std::count(any.begin(), any.end(), true)) / 32.0);
}

TEST(SampleTernary, ZeroQueryGivesZeroScores) {
  PhiloxStream rng(RngSite{});
  const TernarySamples s = sample_ternary(Vec::Zero(8), 4, BernoulliMode::standard, rng);
  EXPECT_EQ(s.access_fraction(), 0.0);
  EXPECT_EQ(bernoulli_scores(s, MatRM::Ones(3, 8)), Vec::Zero(3));
}

TEST(BernoulliBadInput, SamplesNormShapesAndValues) {
  const Vec q = (Vec(3) << 0.5, -1.0, 0.25).finished();
  PhiloxStream rng(RngSite{});
  SANTA_EXPECT_INVALID(sample_ternary(q, 0, BernoulliMode::standard, rng), "B = 0");
  SANTA_EXPECT_INVALID(sample_ternary(q, -4, BernoulliMode::stratified, rng), "B = -4");
  SANTA_EXPECT_INVALID(sample_ternary(q, 4, BernoulliMode::standard, rng, 0.5), "norm = 0.5");
  SANTA_EXPECT_INVALID(sample_ternary(q, 4, BernoulliMode::standard, rng, NAN), "norm");
  SANTA_EXPECT_INVALID(sample_ternary(Vec(0), 4, BernoulliMode::standard, rng), "empty");
  SANTA_EXPECT_INVALID(sample_ternary((Vec(2) << 1.0, NAN).finished(), 4, BernoulliMode::standard, rng), "q[1]");
  SANTA_EXPECT_INVALID(sample_ternary(q, 4, static_cast<BernoulliMode>(5), rng), "mode = 5");
  const TernarySamples s = sample_ternary(q, 4, BernoulliMode::standard, rng);
  SANTA_EXPECT_INVALID(bernoulli_scores(s, MatRM::Ones(5, 4)), "k.cols()");
  SANTA_EXPECT_INVALID(bernoulli_scores(s, MatRM::Ones(0, 3)), "empty");
  SANTA_EXPECT_INVALID(bernoulli_scores(TernarySamples{}, MatRM::Ones(5, 3)), "s.B = 0");
  const MatRM qg = MatRM::Ones(4, 3);
  SANTA_EXPECT_INVALID(bernoulli_group_scores(qg, MatRM::Ones(5, 4), 4, BernoulliMode::standard, rng), "k.cols()");
  SANTA_EXPECT_INVALID(bernoulli_group_scores(qg, MatRM::Ones(5, 3), 0, BernoulliMode::standard, rng), "B = 0");
  SANTA_EXPECT_INVALID(bernoulli_group_scores(MatRM(0, 3), MatRM::Ones(5, 3), 4, BernoulliMode::standard, rng),
                       "q_group");
  MatRM bad = qg;
  bad(1, 2) = INFINITY;
  SANTA_EXPECT_INVALID(bernoulli_group_scores(bad, MatRM::Ones(5, 3), 4, BernoulliMode::standard, rng),
                       "q_group(1, 2)");
  SANTA_EXPECT_INVALID(group_union_access_fraction(qg, 0, BernoulliMode::standard, RngSite{}), "B = 0");
  SANTA_EXPECT_INVALID(group_union_access_fraction(qg, 4, BernoulliMode::standard, RngSite{.head = 20000}),
                       "site.head = 20000");
}

}  // namespace
}  // namespace santa
