// Tile variants: flash, the reference prop rule, global-systematic.
#include "estimators/tiles.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "estimators/closed_forms.hpp"
#include "estimators/exact.hpp"
#include "estimators/samplers.hpp"
#include "test_support.hpp"

namespace santa {
namespace {

using testing::Dist;
using testing::kAllDists;

int64_t sum_of(const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), int64_t{0}); }

std::vector<int64_t> dense_counts(const RowDraw& d, int64_t n) {
  std::vector<int64_t> c(static_cast<std::size_t>(n), 0);
  for (std::size_t j = 0; j < d.row.size(); ++j) c[d.row[j]] = d.count[j];
  return c;
}

TEST(TileMasses, RangesAndMassesIncludingAShortLastTile) {
  const Vec p = testing::make_distribution(Dist::zipf, 1000, 1);
  const TileMasses tm = tile_masses(p, 300);
  ASSERT_EQ(tm.count(), 4);
  EXPECT_EQ(tm.begin, (std::vector<int64_t>{0, 300, 600, 900, 1000}));
  for (int64_t t = 0; t < 4; ++t) EXPECT_NEAR(tm.mass[t], p.segment(tm.begin[t], tm.begin[t + 1] - tm.begin[t]).sum(), 1e-14);
  EXPECT_NEAR(tm.mass.sum(), 1.0, 1e-14);
}

TEST(FlashBudgets, ExactTotalIsMaxOfSAndTiles) {
  EXPECT_EQ(flash_budgets(2048, 128), std::vector<int64_t>(128, 16));
  EXPECT_EQ(sum_of(flash_budgets(2048, 129)), 2048);  // 15 per tile plus 113 tiles with one more
  const auto b = flash_budgets(2048, 129);
  EXPECT_EQ(b.front(), 16);
  EXPECT_EQ(b.back(), 15);
  EXPECT_EQ(sum_of(flash_budgets(100, 129)), 129);  // S < T: one each, the real total is T
  EXPECT_EQ(sum_of(flash_budgets(1, 1)), 1);
}

// SANTA.md: the reference kernel draws max(1, floor(S/T)) per tile, 1935 instead of 2048 at 32k+1 keys
// with 256-key tiles (T = ceil(32769/256) = 129, floor(2048/129) = 15, 15 * 129 = 1935).
TEST(FlashBudgets, ReferenceRuleGives1935At32kPlus1) {
  constexpr int64_t n = 32769, tile = 256, S = 2048;
  const int64_t T = (n + tile - 1) / tile;
  ASSERT_EQ(T, 129);
  EXPECT_EQ(sum_of(flash_budgets_reference(S, T)), 1935);
  const Vec p = Vec::Constant(n, 1.0 / n);
  const RngSite site{.seed = 3};
  EXPECT_EQ(sample_flash(p, S, tile, site, FlashBudgetRule::reference).samples, 1935);
  EXPECT_EQ(sample_flash(p, S, tile, site, FlashBudgetRule::exact_total).samples, 2048);
  EXPECT_EQ(sum_of(flash_budgets_reference(100, 129)), 129);
}

// Flash with budget n_t in tile t: every tile with mass draws exactly n_t; weights are P_t c_i / n_t.
TEST(SampleFlash, PerTileTotalsAndWeights) {
  const Vec p = testing::make_distribution(Dist::sink_plus_local, 2000, 2);
  const TileMasses tm = tile_masses(p, 64);
  const auto budgets = flash_budgets(500, tm.count());
  for (const WithinTile w : {WithinTile::systematic, WithinTile::iid, WithinTile::strat}) {
    const RowDraw d = sample_flash(p, 500, 64, RngSite{.seed = 4}, FlashBudgetRule::exact_total, w);
    EXPECT_EQ(d.samples, 500);
    std::vector<int64_t> per_tile(static_cast<std::size_t>(tm.count()), 0);
    for (std::size_t j = 0; j < d.row.size(); ++j) {
      const int64_t t = d.row[j] / 64;
      per_tile[t] += d.count[j];
      EXPECT_NEAR(d.weight[j], tm.mass[t] * d.count[j] / budgets[t], 1e-15);
    }
    EXPECT_EQ(per_tile, budgets);
  }
}

// Each tile reads its own site (site.tile = t): changing only the RNG of tile 0's site changes only tile 0.
TEST(SampleFlash, UsesOneRngSitePerTile) {
  const Vec p = testing::make_distribution(Dist::near_uniform, 1024, 5);
  RowDraw a = sample_flash(p, 256, 256, RngSite{.seed = 6}, FlashBudgetRule::exact_total, WithinTile::iid);
  // The same draw, tile by tile, from sample_iid on each tile's own stream.
  for (int64_t t = 0; t < 4; ++t) {
    const Vec local = p.segment(t * 256, 256) / p.segment(t * 256, 256).sum();
    PhiloxStream rng(RngSite{.seed = 6, .tile = static_cast<uint32_t>(t)});
    const RowDraw lt = sample_iid(local, 64, rng);
    std::vector<int64_t> rows;
    std::vector<int32_t> counts;
    for (std::size_t j = 0; j < a.row.size(); ++j) {
      if (a.row[j] / 256 == t) {
        rows.push_back(a.row[j] - t * 256);
        counts.push_back(a.count[j]);
      }
    }
    EXPECT_EQ(rows, lt.row) << "tile " << t;
    EXPECT_EQ(counts, lt.count) << "tile " << t;
  }
}

class TileUnbiased : public ::testing::TestWithParam<std::tuple<int, Dist>> {};

const char* variant_name(int variant) {
  static const char* names[] = {"flash_sys", "flash_iid", "flash_refbudget_strat", "global_systematic"};
  return names[variant];
}

// R = 2000 replicates, 5 SE per coordinate, Bonferroni over d = 48 (false failure <= 2.7e-5 per case; see
// test_support.hpp). n = 4000 keys in 63 tiles of 64 (the last one short).
TEST_P(TileUnbiased, ReplicateMeanMatchesExactOutput) {
  const auto [variant, dist] = GetParam();
  constexpr int64_t n = 4000, d = 48, tile = 64, S = 256, R = 2000;
  const Vec p = testing::make_distribution(dist, n, 21);
  const MatRM v = testing::block_values(n, d, 64, 22);
  const Vec y = exact_from_probabilities(p, v).y;
  const testing::Replicates reps = testing::replicate(R, [&](uint32_t r) {
    const RngSite site{.seed = 23, .step = r};
    RowDraw dr;
    switch (variant) {
      case 0: dr = sample_flash(p, S, tile, site); break;
      case 1: dr = sample_flash(p, S, tile, site, FlashBudgetRule::exact_total, WithinTile::iid); break;
      case 2: dr = sample_flash(p, S, tile, site, FlashBudgetRule::reference, WithinTile::strat); break;
      default: dr = sample_global_systematic(p, S, tile, site); break;
    }
    return apply_draw(dr, v);
  });
  EXPECT_TRUE(testing::within_se(reps, y));
}

INSTANTIATE_TEST_SUITE_P(AllDistributions, TileUnbiased,
                         ::testing::Combine(::testing::Values(0, 1, 2, 3), ::testing::ValuesIn(kAllDists)),
                         [](const auto& info) {
                           return std::string(variant_name(std::get<0>(info.param))) + "_" +
                                  testing::name(std::get<1>(info.param));
                         });

// Global-systematic is the plain systematic grid cut at tile boundaries: exactly S draws, every count
// floor(S p_i) or ceil(S p_i), and the same counts as systematic_counts(S p, a, S) for the same offset a.
TEST(GlobalSystematic, SameGridAsPlainSystematic) {
  for (const Dist dist : kAllDists) {
    const Vec p = testing::make_distribution(dist, 3000, 31);
    for (const int64_t S : {1, 17, 128, 1024, 7000}) {
      for (const int64_t tile : {1, 64, 256, 3000}) {
        for (uint32_t step = 0; step < 5; ++step) {
          const double a = systematic_offset(RngSite{.seed = 32, .step = step});
          const RowDraw g = global_systematic_counts(p, S, tile, a);
          const RowDraw s = systematic_counts(static_cast<double>(S) * p, a, S);
          SCOPED_TRACE(std::string(testing::name(dist)) + " S=" + std::to_string(S) + " tile=" + std::to_string(tile));
          ASSERT_EQ(g.samples, S);
          EXPECT_EQ(g.row, s.row);
          EXPECT_EQ(g.count, s.count);
          const auto c = dense_counts(g, p.size());
          for (Eigen::Index i = 0; i < p.size(); ++i) {
            const double x = static_cast<double>(S) * p[i];
            ASSERT_TRUE(c[i] == std::floor(x) || c[i] == std::ceil(x)) << "row " << i;
          }
        }
      }
    }
  }
}

// The head offset comes from the site with tile = kHeadSiteTile, whatever site.tile the caller passed.
TEST(GlobalSystematic, OneOffsetPerHeadFromTheHeadSite) {
  const Vec p = testing::make_distribution(Dist::peaked, 2000, 33);
  const RngSite site{.seed = 34, .step = 5, .batch = 1, .head = 7, .tile = 12};
  RngSite head = site;
  head.tile = kHeadSiteTile;
  const RowDraw a = sample_global_systematic(p, 128, 64, site);
  const RowDraw b = global_systematic_counts(p, 128, 64, systematic_offset(head));
  EXPECT_EQ(a.row, b.row);
  EXPECT_EQ(a.count, b.count);
  RngSite other = site;
  other.tile = 0;
  EXPECT_EQ(sample_global_systematic(p, 128, 64, other).row, a.row);
  other.head = 8;
  EXPECT_NE(sample_global_systematic(p, 128, 64, other).row, a.row);
}

TEST(LargestRemainder, SumsToSAndFollowsTheRemainders) {
  // S P = (0.6, 1.4, 2.0): floors (0, 1, 2), one left over, to the largest remainder 0.6.
  EXPECT_EQ(largest_remainder_budgets((Vec(3) << 0.15, 0.35, 0.5).finished(), 4), (std::vector<int64_t>{1, 1, 2}));
  // Equal remainders: the lower index wins.
  EXPECT_EQ(largest_remainder_budgets((Vec(4) << 0.25, 0.25, 0.25, 0.25).finished(), 2),
            (std::vector<int64_t>{1, 1, 0, 0}));
  const Vec p = testing::make_distribution(Dist::zipf, 5000, 35);
  const TileMasses tm = tile_masses(p, 40);
  for (const int64_t S : {1, 100, 125, 128, 4096}) {
    const auto b = largest_remainder_budgets(tm.mass, S);
    EXPECT_EQ(sum_of(b), S);
    for (int64_t t = 0; t < tm.count(); ++t) EXPECT_LT(std::abs(b[t] - S * tm.mass[t]), 1.0);
  }
}

TEST(PropReference, DrawsExactlySWithTheRoundedBudgetsPerTile) {
  const Vec p = testing::make_distribution(Dist::sink_plus_local, 4096, 36);
  const TileMasses tm = tile_masses(p, 32);
  const auto budgets = largest_remainder_budgets(tm.mass, 128);
  const RowDraw d = sample_prop_reference(p, 128, 32, RngSite{.seed = 37});
  EXPECT_EQ(d.samples, 128);
  std::vector<int64_t> per_tile(static_cast<std::size_t>(tm.count()), 0);
  for (std::size_t j = 0; j < d.row.size(); ++j) {
    per_tile[d.row[j] / 32] += d.count[j];
    EXPECT_DOUBLE_EQ(d.weight[j], d.count[j] / 128.0);
  }
  EXPECT_EQ(per_tile, budgets);
}

// The reference prop rule's bias, detected. n = 4096 keys in T = 128 tiles of 32, S = 128 = T: the regime
// where rounding S P_t to integers matters most. Values share a per-tile mean, so mu_t differ across tiles.
// R = 4000 replicates. Checks (per coordinate, d = 32, Bonferroni as in test_support.hpp):
//  - the prop mean is far from y: the largest |mean - y| / SE exceeds 20 (a 20-sigma event under
//    unbiasedness has probability ~1e-88), and the chi-square statistic sum_j ((mean_j - y_j)/SE_j)^2 exceeds
//    the chi-square(32) 5-sigma quantile, 32 (1 - 2/288 + 5 sqrt(2/288))^3 = 105;
//  - the prop mean agrees with y + prop_reference_bias within 5 SE: the closed-form bias is the whole story;
//  - global-systematic, same setup and the same R, agrees with y within 5 SE.
TEST(PropReference, BiasIsDetectedAndMatchesTheClosedFormWhileGlobalSystematicHasNone) {
  constexpr int64_t n = 4096, d = 32, tile = 32, S = 128, R = 4000;
  const Vec p = testing::make_distribution(Dist::sink_plus_local, n, 41);
  const MatRM v = testing::block_values(n, d, tile, 42);
  const Vec y = exact_from_probabilities(p, v).y;
  const Vec bias = prop_reference_bias(p, v, S, tile);
  testing::Replicates prop, global;
  for (int64_t r = 0; r < R; ++r) {
    const RngSite site{.seed = 43, .step = static_cast<uint32_t>(r)};
    prop.add(apply_draw(sample_prop_reference(p, S, tile, site), v));
    global.add(apply_draw(sample_global_systematic(p, S, tile, site), v));
  }
  const Vec t = (prop.mean() - y).cwiseQuotient(prop.se());
  EXPECT_GT(t.cwiseAbs().maxCoeff(), 20.0) << "bias norm " << bias.norm();
  EXPECT_GT(t.squaredNorm(), 105.0);
  EXPECT_TRUE(testing::within_se(prop, y + bias));
  EXPECT_TRUE(testing::within_se(global, y));
  // The same replicate means also reject the unbiased hypothesis for prop (the check has power).
  EXPECT_FALSE(testing::within_se(prop, y));
}

TEST(TilesBadInput, TileBudgetAndProbabilities) {
  const Vec p = Vec::Constant(100, 0.01);
  const RngSite site{};
  SANTA_EXPECT_INVALID(tile_masses(p, 0), "tile = 0");
  SANTA_EXPECT_INVALID(sample_flash(p, 64, 0, site), "tile = 0");
  SANTA_EXPECT_INVALID(sample_flash(p, 0, 16, site), "S = 0");
  SANTA_EXPECT_INVALID(sample_prop_reference(p, 64, -1, site), "tile = -1");
  SANTA_EXPECT_INVALID(sample_prop_reference(p, 0, 16, site), "S = 0");
  SANTA_EXPECT_INVALID(sample_global_systematic(p, 64, 0, site), "tile = 0");
  SANTA_EXPECT_INVALID(sample_global_systematic(p, 0, 16, site), "S = 0");
  SANTA_EXPECT_INVALID(sample_global_systematic(Vec(0), 8, 16, site), "empty");
  SANTA_EXPECT_INVALID(global_systematic_counts(p, 64, 16, 1.5), "offset = 1.5");
  SANTA_EXPECT_INVALID(sample_flash(Vec(p * 1.1), 64, 16, site), "sums to");
  SANTA_EXPECT_INVALID(flash_budgets(64, 0), "tiles = 0");
  SANTA_EXPECT_INVALID(flash_budgets(0, 4), "S = 0");
  SANTA_EXPECT_INVALID(flash_budgets_reference(64, -2), "tiles = -2");
  SANTA_EXPECT_INVALID(largest_remainder_budgets((Vec(2) << 0.5, 0.6).finished(), 4), "sums to");
  SANTA_EXPECT_INVALID(largest_remainder_budgets(p, 0), "S = 0");
  Vec nan = p;
  nan[3] = std::nan("");
  SANTA_EXPECT_INVALID(sample_flash(nan, 64, 16, site), "p[3]");
  SANTA_EXPECT_INVALID(sample_flash(p, 64, 16, site, static_cast<FlashBudgetRule>(7)), "rule = 7");
  SANTA_EXPECT_INVALID(sample_flash(p, 64, 16, site, FlashBudgetRule::exact_total, static_cast<WithinTile>(9)),
                       "within = 9");
}

}  // namespace
}  // namespace santa
