// The variance runner's Monte Carlo agrees with the closed forms, sees the reference prop rule's bias and
// none in the unbiased schemes, and follows its replicate policy.
#include <gtest/gtest.h>

#include <cmath>

#include "measure_test_support.hpp"

namespace santa::harness::measure {
namespace {

using testing::Harness;
using testing::metric;

// Tolerances: the Monte Carlo MSE is a mean of R i.i.d. squared errors, so (mse - E)/mse_se is approximately
// N(0, 1); 5 SE keeps a two-sided false alarm below 6e-7 per check, under 1e-5 over the checks below
// (Bonferroni), while a wrong closed form or a biased sampler moves mse by many SE.
constexpr double kSe = 5.0;

TEST(VarianceRunner, MonteCarloMatchesClosedFormForIidAndStrat) {
  Harness h(R"(name: t
kind: variance
seed: 3
replicates: 4000
parameters: {n_k: 512, d: 8, distribution: zipf}
sweep:
  grid:
    scheme: [iid, strat]
    S: [1, 4, 16, 64]
)");
  for (int64_t i = 0; i < h.spec.point_count(); ++i) {
    const Row r = h.run(i);
    const double mse = metric(r, "mse"), se = metric(r, "mse_se"), cf = metric(r, "mse_closed_form");
    EXPECT_EQ(metric(r, "replicates"), 4000.0);
    ASSERT_TRUE(std::isfinite(cf));
    EXPECT_LT(std::abs(mse - cf), kSe * se) << h.spec.point(i).describe() << " mse " << mse << " closed " << cf;
  }
}

TEST(VarianceRunner, IidMseIsTraceOverS) {
  Harness h("name: t\nkind: variance\nparameters: {n_k: 300, d: 4, S: 10}\n");
  const Row r = h.run(0);
  EXPECT_NEAR(metric(r, "mse_closed_form"), metric(r, "trace_cov") / 10.0, 1e-12);
}

TEST(VarianceRunner, BiasOfReferencePropIsSeenAndUnbiasedSchemesShowNone) {
  // n = 4096 with 256-key tiles = 16 tiles and S = 4 < T: the largest-remainder rounding is biased.
  Harness h(R"(name: t
kind: variance
seed: 5
replicates: 3000
parameters: {n_k: 4096, d: 8, S: 4, distribution: zipf}
sweep:
  grid:
    scheme: [prop_reference, global_systematic, sys, flash, iid]
)");
  // ||e_bar - b|| is the norm of a mean of R errors: about bias_se * sqrt(chi2_d / d); 5 bias_se bounds it.
  const Row prop = h.run(0);
  const double theory = metric(prop, "bias_norm_theory"), se = metric(prop, "bias_se");
  ASSERT_GT(theory, 10.0 * se) << "the setting must make the bias detectable";
  EXPECT_LT(std::abs(metric(prop, "bias_norm") - theory), kSe * se);
  EXPECT_LE(metric(prop, "bias_ci95_lo"), theory * 1.2);
  EXPECT_GE(metric(prop, "bias_ci95_hi"), theory * 0.8);
  for (int64_t i = 1; i < 5; ++i) {
    const Row r = h.run(i);
    EXPECT_EQ(metric(r, "bias_norm_theory"), 0.0);
    EXPECT_LT(metric(r, "bias_norm"), kSe * metric(r, "bias_se")) << h.spec.point(i).describe();
    EXPECT_EQ(metric(r, "bias_ci95_lo"), 0.0) << h.spec.point(i).describe();
  }
}

TEST(VarianceRunner, TopkIsDeterministicAndItsErrorIsItsBias) {
  Harness h("name: t\nkind: variance\nparameters: {n_k: 256, d: 8, S: 16, scheme: topk, distribution: zipf}\n");
  const Row r = h.run(0);
  EXPECT_EQ(metric(r, "replicates"), 1.0);
  EXPECT_NEAR(metric(r, "mse"), std::pow(metric(r, "bias_norm"), 2), 1e-12);
  EXPECT_NEAR(metric(r, "bias_norm"), metric(r, "bias_norm_theory"), 1e-12);
  EXPECT_EQ(metric(r, "unique_rows"), 16.0);
}

TEST(VarianceRunner, AdaptiveReplicatesStopAtTargetOrMaxAndClosedFormsRunTheMinimum) {
  Harness h(R"(name: t
kind: variance
replicates: {min: 32, max: 5000, rel_se: 0.02}
parameters: {n_k: 1024, d: 16, S: 8}
sweep:
  grid:
    scheme: [sys, iid]
)");
  const Row sys = h.run(0), iid = h.run(1);
  const double r = metric(sys, "replicates");
  EXPECT_GE(r, 32.0);
  EXPECT_LT(r, 5000.0);
  EXPECT_LE(metric(sys, "mse_se") / metric(sys, "mse"), 0.02);
  EXPECT_EQ(metric(iid, "replicates"), 32.0);  // closed form exists
}

TEST(VarianceRunner, FlashReportsTheRealSampleCount) {
  // 4096 keys / 256 = 16 tiles; S = 4 still reads one row per tile.
  Harness h("name: t\nkind: variance\nreplicates: 3\nparameters: {n_k: 4096, d: 4, S: 4, scheme: flash}\n");
  EXPECT_EQ(metric(h.run(0), "samples_drawn"), 16.0);
}

TEST(VarianceRunner, SameResultInAnyOrderOrCache) {
  const std::string yaml = "name: t\nkind: variance\nreplicates: 50\nparameters: {n_k: 512, d: 4}\n"
                           "sweep:\n  grid:\n    S: [2, 8]\n";
  Harness a(yaml), b(yaml);
  const Row a1 = a.run(1), b0 = b.run(0), b1 = b.run(1);
  (void)b0;
  EXPECT_EQ(metric(a1, "mse"), metric(b1, "mse"));
  EXPECT_EQ(metric(a1, "bias_norm"), metric(b1, "bias_norm"));
}

TEST(VarianceRunner, CancelAbandonsThePoint) {
  Harness h("name: t\nkind: variance\nreplicates: 100000\nparameters: {n_k: 512, d: 4}\n");
  h.cancel = true;
  EXPECT_THROW(h.run(0), Cancelled);
}

TEST(FidelityRunner, ReportsMeasuredSpreadAndError) {
  Harness h(R"(name: t
kind: fidelity
replicates: 20
parameters: {n_k: 8192, d: 16, S: 512, scheme: flash}
sweep:
  grid:
    tiles_90: [1, 8]
    tile: [64, 256]
)");
  for (int64_t i = 0; i < 4; ++i) {
    const Point p = h.spec.point(i);
    const Row r = h.run(i);
    EXPECT_EQ(metric(r, "attn_tiles_90"), double(p.integer("tiles_90")));
    EXPECT_GT(metric(r, "rel_l2"), 0.0);
    EXPECT_LE(metric(r, "cosine"), 1.0);
    if (p.integer("tile") == 256) {
      EXPECT_EQ(metric(r, "attn_tiles_90_at_tile"), metric(r, "attn_tiles_90"));
    }
  }
}

}  // namespace
}  // namespace santa::harness::measure
