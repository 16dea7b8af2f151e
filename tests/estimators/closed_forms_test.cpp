// Closed forms: checked against brute force on small cases and against Monte Carlo on the test distributions.
#include "estimators/closed_forms.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "estimators/exact.hpp"
#include "estimators/samplers.hpp"
#include "estimators/scheme.hpp"
#include "test_support.hpp"

namespace santa {
namespace {

using testing::Dist;
using testing::kAllDists;

// sum_m tr(Sigma_m) by brute force, O(n S): the overlap of row i's CDF interval with stratum m, directly.
double strat_mse_brute_force(const Vec& p, const MatRM& v, int64_t S) {
  const int64_t n = p.size();
  double sum = 0.0;
  for (int64_t m = 0; m < S; ++m) {
    const double lo = static_cast<double>(m) / S, hi = static_cast<double>(m + 1) / S;
    Vec q = Vec::Zero(n);
    double cum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      q[i] = std::max(0.0, std::min(cum + p[i], hi) - std::max(cum, lo)) * S;
      cum += p[i];
    }
    const Vec mean = v.transpose() * (q / q.sum());
    for (int64_t i = 0; i < n; ++i) sum += q[i] / q.sum() * (v.row(i).transpose() - mean).squaredNorm();
  }
  return sum / (static_cast<double>(S) * S);
}

TEST(MseIid, TraceOverS) {
  const Vec p = testing::make_distribution(Dist::zipf, 500, 1);
  const MatRM v = testing::gaussian_values(500, 16, 2);
  const Vec y = v.transpose() * p;
  double second_moment = 0.0;
  for (int i = 0; i < 500; ++i) second_moment += p[i] * v.row(i).squaredNorm();
  EXPECT_NEAR(mse_iid(p, v, 7), (second_moment - y.squaredNorm()) / 7.0, 1e-12);
}

TEST(MseStrat, MatchesBruteForceAndLimits) {
  for (const Dist dist : kAllDists) {
    const Vec p = testing::make_distribution(dist, 300, 3);
    const MatRM v = testing::gaussian_values(300, 8, 4);
    for (const int64_t S : {1, 2, 7, 64, 300, 1000}) {
      EXPECT_NEAR(mse_strat(p, v, S), strat_mse_brute_force(p, v, S), 1e-12) << testing::name(dist) << " S=" << S;
    }
    EXPECT_NEAR(mse_strat(p, v, 1), mse_iid(p, v, 1), 1e-12);  // one stratum is the whole distribution
  }
  // Uniform p with S = n: every stratum is exactly one row, no variance left.
  const Vec u = Vec::Constant(64, 1.0 / 64);
  EXPECT_NEAR(mse_strat(u, testing::gaussian_values(64, 8, 5), 64), 0.0, 1e-12);
}

TEST(MseStrat, NeverAboveIid) {
  for (const Dist dist : kAllDists) {
    const Vec p = testing::make_distribution(dist, 3000, 6);
    const MatRM v = testing::gaussian_values(3000, 32, 7);
    for (const int64_t S : {1, 8, 64, 512, 4096}) {
      const double strat = mse_strat(p, v, S), iid = mse_iid(p, v, S);
      EXPECT_LE(strat, iid * (1.0 + 1e-12)) << testing::name(dist) << " S=" << S;
      EXPECT_GE(strat, 0.0);
    }
  }
}

// Monte Carlo E||y_hat - y||^2 vs the closed form. e_r = ||y_hat_r - y||^2 over R = 3000 replicates; by the
// CLT the mean e_bar has standard error s_e / sqrt(R) (s_e the sample sd of e_r; e_r is bounded, so its
// variance is finite). Bound 5 SE; 8 comparisons per scheme pair in this suite, Bonferroni: false failure
// <= 8 * 5.7e-7. Sensitivity: s_e / e_bar is about sqrt(2 / d_eff) <= 1, so 5 SE is <= 9 % of the MSE here;
// a closed form off by the 1/S vs 1/S^2 factor or a missing stratum term is caught.
class MseMonteCarlo : public ::testing::TestWithParam<std::tuple<Scheme, Dist>> {};

TEST_P(MseMonteCarlo, MatchesClosedForm) {
  const auto [scheme, dist] = GetParam();
  constexpr int64_t n = 3000, d = 32, S = 64, R = 3000;
  const Vec p = testing::make_distribution(dist, n, 8);
  const MatRM v = testing::gaussian_values(n, d, 9);
  const Vec y = exact_from_probabilities(p, v).y;
  const testing::Replicates err = testing::replicate(R, [&](uint32_t r) {
    return (apply_draw(draw(scheme, p, S, 0, RngSite{.seed = 10, .step = r}), v) - y).squaredNorm();
  });
  const double closed = *closed_form_mse(scheme, p, v, S, 0);
  EXPECT_TRUE(testing::within_se(err, Vec::Constant(1, closed))) << to_string(scheme) << " closed form " << closed;
}

INSTANTIATE_TEST_SUITE_P(AllDistributions, MseMonteCarlo,
                         ::testing::Combine(::testing::Values(Scheme::iid, Scheme::strat),
                                            ::testing::ValuesIn(kAllDists)),
                         testing::SchemeDistName());

// One tile holding everything reduces flash to the plain sampler.
TEST(MseFlash, OneTileIsThePlainSampler) {
  const Vec p = testing::make_distribution(Dist::peaked, 700, 11);
  const MatRM v = testing::gaussian_values(700, 16, 12);
  EXPECT_NEAR(mse_flash(p, v, 50, 700, WithinTile::iid), mse_iid(p, v, 50), 1e-14);
  EXPECT_NEAR(mse_flash(p, v, 50, 1000, WithinTile::strat), mse_strat(p, v, 50), 1e-14);
}

// Flash MC vs mse_flash with i.i.d. and stratified draws inside tiles: same CLT bound as above, 4 cases.
TEST(MseFlash, MatchesMonteCarlo) {
  constexpr int64_t n = 2000, d = 32, tile = 128, S = 256, R = 3000;
  for (const Dist dist : {Dist::near_uniform, Dist::sink_plus_local}) {
    const Vec p = testing::make_distribution(dist, n, 13);
    const MatRM v = testing::block_values(n, d, 50, 14);
    const Vec y = exact_from_probabilities(p, v).y;
    for (const WithinTile w : {WithinTile::iid, WithinTile::strat}) {
      const testing::Replicates err = testing::replicate(R, [&](uint32_t r) {
        const RngSite site{.seed = 15, .step = r};
        return (apply_draw(sample_flash(p, S, tile, site, FlashBudgetRule::exact_total, w), v) - y).squaredNorm();
      });
      const double closed = mse_flash(p, v, S, tile, w);
      EXPECT_TRUE(testing::within_se(err, Vec::Constant(1, closed)))
          << testing::name(dist) << " within " << static_cast<int>(w) << " closed " << closed;
    }
  }
}

// The reference budgets rule changes n_t and so the closed form; check the budgets really enter it.
TEST(MseFlash, BudgetRuleEntersTheFormula) {
  const Vec p = Vec::Constant(32769, 1.0 / 32769);
  const MatRM v = testing::gaussian_values(32769, 4, 16);
  const double exact_total = mse_flash(p, v, 2048, 256, WithinTile::iid, FlashBudgetRule::exact_total);
  const double reference = mse_flash(p, v, 2048, 256, WithinTile::iid, FlashBudgetRule::reference);
  EXPECT_GT(reference, exact_total);  // 1935 samples instead of 2048
}

// Bias of the reference prop rule against an independent computation: systematic within a tile is unbiased
// for the tile's weights S_t p_i / P_t, so E y_hat = (1/S) sum_t S_t mu_t.
TEST(PropReferenceBias, EqualsTheExpectedReferenceOutputMinusY) {
  for (const Dist dist : kAllDists) {
    const Vec p = testing::make_distribution(dist, 4096, 17);
    const MatRM v = testing::block_values(4096, 16, 32, 18);
    const TileMasses tm = tile_masses(p, 32);
    for (const int64_t S : {128, 2048}) {
      const auto S_t = largest_remainder_budgets(tm.mass, S);
      Vec expected = Vec::Zero(16);
      for (int64_t t = 0; t < tm.count(); ++t) {
        if (tm.mass[t] == 0.0) continue;
        const auto len = tm.begin[t + 1] - tm.begin[t];
        expected += static_cast<double>(S_t[t]) / S * (v.middleRows(tm.begin[t], len).transpose() *
                                                        p.segment(tm.begin[t], len)) / tm.mass[t];
      }
      const Vec y = v.transpose() * p;
      EXPECT_LT((prop_reference_bias(p, v, S, 32) - (expected - y)).cwiseAbs().maxCoeff(), 1e-12);
    }
  }
  // With one tile the rounding is exact and there is no bias.
  const Vec p = testing::make_distribution(Dist::zipf, 100, 19);
  EXPECT_LT(prop_reference_bias(p, testing::gaussian_values(100, 4, 20), 7, 100).norm(), 1e-15);
}

TEST(ClosedFormsBadInput, BudgetShapesTilesAndValues) {
  const Vec p = Vec::Constant(10, 0.1);
  const MatRM v = MatRM::Ones(10, 3);
  SANTA_EXPECT_INVALID(mse_iid(p, v, 0), "S = 0");
  SANTA_EXPECT_INVALID(mse_strat(p, v, -1), "S = -1");
  SANTA_EXPECT_INVALID(mse_strat(p, MatRM::Ones(9, 3), 4), "v.rows()");
  SANTA_EXPECT_INVALID(mse_iid(p, MatRM::Ones(11, 3), 4), "v.rows()");
  SANTA_EXPECT_INVALID(mse_flash(p, v, 4, 0, WithinTile::iid), "tile = 0");
  SANTA_EXPECT_INVALID(mse_flash(p, v, 4, 5, WithinTile::systematic), "within");
  SANTA_EXPECT_INVALID(prop_reference_bias(p, v, 4, 0), "tile = 0");
  SANTA_EXPECT_INVALID(prop_reference_bias(Vec(p * 3.0), v, 4, 5), "sums to 3");
  MatRM bad = v;
  bad(4, 1) = INFINITY;
  SANTA_EXPECT_INVALID(mse_strat(p, bad, 4), "v(4, 1)");
  SANTA_EXPECT_INVALID(mse_iid(p, bad, 4), "v(4, 1)");
}

}  // namespace
}  // namespace santa
