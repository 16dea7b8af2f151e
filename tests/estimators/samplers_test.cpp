// Samplers over one probability vector: unbiasedness, the multinomial law, systematic counts, top-k.
#include "estimators/samplers.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "estimators/exact.hpp"
#include "estimators/scheme.hpp"
#include "test_support.hpp"

namespace santa {
namespace {

using testing::Dist;
using testing::kAllDists;

int64_t total_count(const RowDraw& d) {
  int64_t s = 0;
  for (const int32_t c : d.count) s += c;
  return s;
}

// Structural invariants every sampler's output must satisfy.
void expect_well_formed(const RowDraw& d, int64_t n, int64_t S) {
  ASSERT_EQ(d.row.size(), d.count.size());
  ASSERT_EQ(d.row.size(), d.weight.size());
  EXPECT_EQ(total_count(d), S);
  EXPECT_EQ(d.samples, S);
  for (std::size_t j = 0; j < d.row.size(); ++j) {
    EXPECT_GE(d.row[j], 0);
    EXPECT_LT(d.row[j], n);
    if (j > 0) {
      EXPECT_LT(d.row[j - 1], d.row[j]) << "rows must be distinct and ascending";
    }
    EXPECT_GT(d.count[j], 0);
    EXPECT_DOUBLE_EQ(d.weight[j], static_cast<double>(d.count[j]) / static_cast<double>(S));
  }
}

class SamplerUnbiased : public ::testing::TestWithParam<std::tuple<Scheme, Dist>> {};

// Mean of R = 2000 replicate estimates vs the exact output y, per coordinate within 5 SE (test_support.hpp
// gives the derivation; Bonferroni over d = 32 coordinates: false-failure chance <= 1.8e-5 per case).
TEST_P(SamplerUnbiased, ReplicateMeanMatchesExactOutput) {
  const auto [scheme, dist] = GetParam();
  constexpr int64_t n = 3000, d = 32, S = 64, R = 2000;
  const Vec p = testing::make_distribution(dist, n, 11);
  const MatRM v = testing::gaussian_values(n, d, 12);
  const ExactHead exact = exact_from_probabilities(p, v);
  const testing::Replicates reps = testing::replicate(R, [&](uint32_t r) {
    return apply_draw(draw(scheme, p, S, 0, RngSite{.seed = 0x5A17A, .step = r}), v);
  });
  EXPECT_TRUE(testing::within_se(reps, exact.y)) << to_string(scheme) << " on " << testing::name(dist);
}

INSTANTIATE_TEST_SUITE_P(AllDistributions, SamplerUnbiased,
                         ::testing::Combine(::testing::Values(Scheme::iid, Scheme::strat, Scheme::sys),
                                            ::testing::ValuesIn(kAllDists)),
                         testing::SchemeDistName());

// Pearson chi-square of pooled i.i.d. counts over 8 categories against Categorical(p): 2000 draws of S = 16
// are 32000 independent categorical draws if sample_iid is right. Bound: the chi-square(7) quantile at
// 1 - 5.7e-7 (the same 5-sigma level), 38.0 (Wilson-Hilferty: 7 (1 - 2/63 + 5 sqrt(2/63))^3 = 38.3).
TEST(SampleIid, PooledCountsFollowTheMultinomialLaw) {
  const Vec p = (Vec(8) << 0.30, 0.20, 0.15, 0.12, 0.10, 0.08, 0.04, 0.01).finished();
  Vec counts = Vec::Zero(8);
  constexpr int R = 2000, S = 16;
  for (int r = 0; r < R; ++r) {
    PhiloxStream rng(RngSite{.seed = 77, .step = static_cast<uint32_t>(r)});
    const RowDraw d = sample_iid(p, S, rng);
    for (std::size_t j = 0; j < d.row.size(); ++j) counts[d.row[j]] += d.count[j];
  }
  const Vec expected = p * static_cast<double>(R * S);
  const double chi2 = ((counts - expected).array().square() / expected.array()).sum();
  EXPECT_LT(chi2, 38.0);
}

// A strictly ordered sample: the chi-square test above pools counts, so also check that the within-draw
// order statistics are right: for S = 2 the two draws are independent, so P(both in row 0) = p0^2.
TEST(SampleIid, TwoDrawsAreIndependent) {
  const Vec p = (Vec(2) << 0.3, 0.7).finished();
  constexpr int R = 20000;
  int both0 = 0;
  for (int r = 0; r < R; ++r) {
    PhiloxStream rng(RngSite{.seed = 78, .step = static_cast<uint32_t>(r)});
    const RowDraw d = sample_iid(p, 2, rng);
    both0 += (d.row.size() == 1 && d.row[0] == 0) ? 1 : 0;
  }
  // Binomial(R, 0.09): SE = sqrt(0.09 * 0.91 / R) = 0.00202; 5 SE.
  EXPECT_NEAR(static_cast<double>(both0) / R, 0.09, 5 * std::sqrt(0.09 * 0.91 / R));
}

TEST(Samplers, OutputIsWellFormedAndSumsToS) {
  for (const Dist dist : kAllDists) {
    const Vec p = testing::make_distribution(dist, 2500, 3);
    for (const int64_t S : {1, 7, 64, 1000, 6000}) {  // S > n exercises counts above 1
      for (const Scheme s : {Scheme::iid, Scheme::strat, Scheme::sys}) {
        SCOPED_TRACE(std::string(to_string(s)) + " " + testing::name(dist) + " S=" + std::to_string(S));
        expect_well_formed(draw(s, p, S, 0, RngSite{.seed = 9, .step = static_cast<uint32_t>(S)}), p.size(), S);
      }
    }
  }
}

TEST(Samplers, NeverDrawARowWithZeroProbability) {
  Vec p = Vec::Zero(40);
  p[0] = 0.0;  // leading, interior and trailing zeros
  p[5] = 0.5;
  p[6] = 0.25;
  p[20] = 0.25;
  for (uint32_t step = 0; step < 500; ++step) {
    for (const Scheme s : {Scheme::iid, Scheme::strat, Scheme::sys}) {
      const RowDraw d = draw(s, p, 33, 0, RngSite{.seed = 4, .step = step});
      for (const int64_t r : d.row) ASSERT_GT(p[r], 0.0) << to_string(s) << " drew row " << r;
    }
  }
}

TEST(Samplers, SameSiteSameDrawNewStepNewDraw) {
  const Vec p = testing::make_distribution(Dist::near_uniform, 1000, 5);
  for (const Scheme s : {Scheme::iid, Scheme::strat, Scheme::sys}) {
    const RngSite a{.seed = 1, .step = 2, .batch = 3, .head = 4};
    RngSite b = a;
    b.step = 3;
    const RowDraw x = draw(s, p, 100, 0, a), y = draw(s, p, 100, 0, a), z = draw(s, p, 100, 0, b);
    EXPECT_EQ(x.row, y.row);
    EXPECT_EQ(x.count, y.count);
    EXPECT_NE(x.row, z.row) << to_string(s);
  }
}

// Systematic: every count is floor(S p_i) or ceil(S p_i), over many offsets, distributions and budgets.
TEST(SampleSys, CountsAreFloorOrCeilOfSp) {
  for (const Dist dist : kAllDists) {
    const Vec p = testing::make_distribution(dist, 2000, 21);
    for (const int64_t S : {1, 3, 128, 2000, 5555}) {
      for (uint32_t step = 0; step < 20; ++step) {
        PhiloxStream rng(RngSite{.seed = 22, .step = step});
        const RowDraw d = sample_sys(p, S, rng);
        ASSERT_EQ(total_count(d), S);
        std::vector<int64_t> c(static_cast<std::size_t>(p.size()), 0);
        for (std::size_t j = 0; j < d.row.size(); ++j) c[d.row[j]] = d.count[j];
        for (Eigen::Index i = 0; i < p.size(); ++i) {
          const double x = static_cast<double>(S) * p[i];
          ASSERT_TRUE(c[i] == static_cast<int64_t>(std::floor(x)) || c[i] == static_cast<int64_t>(std::ceil(x)))
              << testing::name(dist) << " S=" << S << " row " << i << ": count " << c[i] << ", S p = " << x;
        }
      }
    }
  }
}

// sample_sys reads its offset as the stream's first double, i.e. systematic_offset(site): the same rule as
// systematic_counts with that offset, which is what the kernels compute.
TEST(SampleSys, EqualsSystematicCountsWithTheSiteOffset) {
  const Vec p = testing::make_distribution(Dist::zipf, 1500, 31);
  const RngSite site{.seed = 32, .step = 1, .head = 2};
  PhiloxStream rng(site);
  const RowDraw a = sample_sys(p, 256, rng);
  const RowDraw b = systematic_counts(256.0 * p, systematic_offset(site), 256);
  EXPECT_EQ(a.row, b.row);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.weight, b.weight);
}

TEST(SystematicCounts, KnownSmallCase) {
  // x = (0.5, 1.5, 1.0), offset 0.6: floor(0.6 + P) at P = 0, 0.5, 2.0, 3.0 is 0, 1, 2, 3 -> counts 1, 1, 1.
  const RowDraw d = systematic_counts((Vec(3) << 0.5, 1.5, 1.0).finished(), 0.6, 3);
  EXPECT_EQ(d.row, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(d.count, (std::vector<int32_t>{1, 1, 1}));
  // offset 0.4: floor(0.4 + P) = 0, 0, 2, 3 -> counts 0, 2, 1.
  const RowDraw e = systematic_counts((Vec(3) << 0.5, 1.5, 1.0).finished(), 0.4, 3);
  EXPECT_EQ(e.row, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(e.count, (std::vector<int32_t>{2, 1}));
  // A non-integer total: floor(0.9 + 2.5) = 3 points.
  EXPECT_EQ(systematic_counts((Vec(2) << 1.25, 1.25).finished(), 0.9, 3).samples, 3);
}

// Sums that round to just below or above S must still give exactly S (the clamp-and-close rule).
TEST(SystematicCounts, RoundingOfThePrefixNeverChangesTheTotal) {
  Vec p = Vec::Constant(3, 1.0 / 3.0);  // S p_i = S/3 is inexact in binary
  for (const int64_t S : {1, 2, 3, 10, 1000, 999999}) {
    for (const double a : {0.0, 1e-300, 0.5, 1.0 - 1e-16}) {
      const RowDraw d = systematic_counts(static_cast<double>(S) * p, a, S);
      EXPECT_EQ(total_count(d), S) << "S=" << S << " a=" << a;
    }
  }
  // Ten times 0.1 sums to 0.9999999999999999 in double: floor(0 + prefix) never reaches 1 by itself.
  const RowDraw tenth = systematic_counts(Vec::Constant(10, 0.1), 0.0, 1);
  EXPECT_EQ(total_count(tenth), 1);
  EXPECT_EQ(tenth.row, std::vector<int64_t>{9});
}

TEST(SelectTopk, DeterministicRenormalisedLargest) {
  const Vec p = testing::make_distribution(Dist::zipf, 1000, 41);
  const RowDraw d = select_topk(p, 50);
  const RowDraw again = select_topk(p, 50);
  EXPECT_EQ(d.row, again.row);
  EXPECT_EQ(d.weight, again.weight);
  ASSERT_EQ(d.row.size(), 50u);
  EXPECT_EQ(d.samples, 50);
  double wsum = 0.0, kept = 0.0, smallest_kept = 1.0;
  for (std::size_t j = 0; j < d.row.size(); ++j) {
    if (j > 0) {
      EXPECT_LT(d.row[j - 1], d.row[j]);
    }
    EXPECT_EQ(d.count[j], 1);
    wsum += d.weight[j];
    kept += p[d.row[j]];
    smallest_kept = std::min(smallest_kept, p[d.row[j]]);
  }
  EXPECT_NEAR(wsum, 1.0, 1e-12);
  for (std::size_t j = 0; j < d.row.size(); ++j) EXPECT_NEAR(d.weight[j], p[d.row[j]] / kept, 1e-15);
  // Every row left out has probability <= the smallest kept one.
  std::vector<bool> in(1000, false);
  for (const int64_t r : d.row) in[r] = true;
  for (int i = 0; i < 1000; ++i) {
    if (!in[i]) {
      EXPECT_LE(p[i], smallest_kept);
    }
  }
}

TEST(SelectTopk, TiesGoToTheLowerIndexAndSBeyondSupportKeepsAll) {
  const Vec p = (Vec(5) << 0.2, 0.3, 0.2, 0.3, 0.0).finished();
  const RowDraw d = select_topk(p, 3);
  EXPECT_EQ(d.row, (std::vector<int64_t>{0, 1, 3}));
  const RowDraw all = select_topk(p, 10);  // zero-probability rows are never selected
  EXPECT_EQ(all.row, (std::vector<int64_t>{0, 1, 2, 3}));
  const Vec y = apply_draw(all, MatRM::Identity(5, 5));
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(y[i], p[i], 1e-15);
}

TEST(SamplersBadInput, BudgetEmptyNonFiniteNegativeAndUnnormalised) {
  const Vec p = Vec::Constant(4, 0.25);
  PhiloxStream rng(RngSite{});
  SANTA_EXPECT_INVALID(sample_iid(p, 0, rng), "S = 0");
  SANTA_EXPECT_INVALID(sample_strat(p, -3, rng), "S = -3");
  SANTA_EXPECT_INVALID(sample_sys(p, 0, rng), "S = 0");
  SANTA_EXPECT_INVALID(select_topk(p, 0), "S = 0");
  SANTA_EXPECT_INVALID(sample_iid(Vec(0), 4, rng), "empty");
  Vec bad = p;
  bad[2] = std::nan("");
  SANTA_EXPECT_INVALID(sample_iid(bad, 4, rng), "p[2]");
  bad[2] = INFINITY;
  SANTA_EXPECT_INVALID(sample_strat(bad, 4, rng), "p[2]");
  bad = p;
  bad[1] = -0.25;
  bad[2] = 0.75;
  SANTA_EXPECT_INVALID(sample_sys(bad, 4, rng), "p[1]");
  SANTA_EXPECT_INVALID(sample_iid(Vec(p * 2.0), 4, rng), "sums to 2");
  SANTA_EXPECT_INVALID(select_topk(Vec(p * 0.5), 4), "sums to 0.5");
}

TEST(SamplersBadInput, SystematicCountsOffsetWeightsAndTotal) {
  const Vec w = (Vec(3) << 1.0, 1.0, 2.0).finished();
  SANTA_EXPECT_INVALID(systematic_counts(w, 1.0, 4), "offset = 1");
  SANTA_EXPECT_INVALID(systematic_counts(w, -0.1, 4), "offset = -0.1");
  SANTA_EXPECT_INVALID(systematic_counts(w, 0.5, 7), "expected_total = 7");
  SANTA_EXPECT_INVALID(systematic_counts((Vec(2) << 1.0, -1.0).finished(), 0.5, 0), "weights_times_S[1]");
  SANTA_EXPECT_INVALID(systematic_counts(Vec(0), 0.5, 0), "empty");
}

}  // namespace
}  // namespace santa
