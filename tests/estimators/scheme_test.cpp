// Scheme names and the one dispatch the harness and benchmarks use.
#include "estimators/scheme.hpp"

#include <gtest/gtest.h>

#include "estimators/closed_forms.hpp"
#include "estimators/samplers.hpp"
#include "estimators/tiles.hpp"
#include "test_support.hpp"

namespace santa {
namespace {

constexpr Scheme kAll[] = {Scheme::iid,   Scheme::strat,          Scheme::sys, Scheme::flash,
                           Scheme::prop_reference, Scheme::global_systematic, Scheme::topk};

TEST(Scheme, NamesRoundTripAndUnknownNamesAreRejected) {
  for (const Scheme s : kAll) {
    const auto parsed = parse_scheme(to_string(s));
    ASSERT_TRUE(parsed.has_value()) << to_string(s);
    EXPECT_EQ(*parsed, s);
    EXPECT_NE(scheme_names().find(to_string(s)), std::string::npos);
  }
  EXPECT_EQ(scheme_names(), "iid, strat, sys, flash, prop_reference, global_systematic, topk");
  EXPECT_FALSE(parse_scheme("IID").has_value());
  EXPECT_FALSE(parse_scheme("").has_value());
  EXPECT_FALSE(parse_scheme("prop").has_value());
}

TEST(Scheme, Properties) {
  for (const Scheme s : kAll) {
    EXPECT_EQ(scheme_uses_tiles(s),
              s == Scheme::flash || s == Scheme::prop_reference || s == Scheme::global_systematic);
    EXPECT_EQ(scheme_is_random(s), s != Scheme::topk);
  }
}

void expect_same(const RowDraw& a, const RowDraw& b) {
  EXPECT_EQ(a.row, b.row);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.weight, b.weight);
  EXPECT_EQ(a.samples, b.samples);
}

TEST(Draw, DispatchesToTheSamplerWithTheCallersSite) {
  const Vec p = testing::make_distribution(testing::Dist::sink_plus_local, 3000, 1);
  const RngSite site{.seed = 2, .step = 3, .batch = 4, .head = 5};
  const auto stream = [&] { return PhiloxStream(site); };
  PhiloxStream a = stream(), b = stream(), c = stream();
  expect_same(draw(Scheme::iid, p, 100, 0, site), sample_iid(p, 100, a));
  expect_same(draw(Scheme::strat, p, 100, 0, site), sample_strat(p, 100, b));
  expect_same(draw(Scheme::sys, p, 100, 0, site), sample_sys(p, 100, c));
  expect_same(draw(Scheme::flash, p, 100, 64, site), sample_flash(p, 100, 64, site));
  expect_same(draw(Scheme::prop_reference, p, 100, 64, site), sample_prop_reference(p, 100, 64, site));
  expect_same(draw(Scheme::global_systematic, p, 100, 64, site), sample_global_systematic(p, 100, 64, site));
  expect_same(draw(Scheme::topk, p, 100, 0, site), select_topk(p, 100));
}

TEST(Draw, TileIsIgnoredByNonTileSchemesAndCheckedByTileSchemes) {
  const Vec p = Vec::Constant(50, 0.02);
  EXPECT_NO_THROW(draw(Scheme::iid, p, 8, 0, RngSite{}));
  EXPECT_NO_THROW(draw(Scheme::topk, p, 8, -1, RngSite{}));
  for (const Scheme s : {Scheme::flash, Scheme::prop_reference, Scheme::global_systematic}) {
    SANTA_EXPECT_INVALID(draw(s, p, 8, 0, RngSite{}), "tile = 0");
  }
  for (const Scheme s : kAll) SANTA_EXPECT_INVALID(draw(s, p, 0, 16, RngSite{}), "S = 0");
  SANTA_EXPECT_INVALID(draw(static_cast<Scheme>(42), p, 8, 16, RngSite{}), "scheme = 42");
}

TEST(ClosedFormMse, OnlyIidAndStrat) {
  const Vec p = testing::make_distribution(testing::Dist::zipf, 500, 6);
  const MatRM v = testing::gaussian_values(500, 8, 7);
  EXPECT_EQ(closed_form_mse(Scheme::iid, p, v, 32, 0), mse_iid(p, v, 32));
  EXPECT_EQ(closed_form_mse(Scheme::strat, p, v, 32, 0), mse_strat(p, v, 32));
  for (const Scheme s : {Scheme::sys, Scheme::flash, Scheme::prop_reference, Scheme::global_systematic, Scheme::topk}) {
    EXPECT_FALSE(closed_form_mse(s, p, v, 32, 16).has_value()) << to_string(s);
  }
}

}  // namespace
}  // namespace santa
