// Timing statistics of the latency kind: the Student t quantile, mean / median / CI of a point's samples,
// and the coverage of the 95 % interval on samples with a known mean.
#include <gtest/gtest.h>

#include <cmath>

#include "harness/measure/latency_stats.hpp"
#include "harness/workloads/random.hpp"

namespace santa::harness::measure {
namespace {

TEST(LatencyStats, StudentTQuantileMatchesTables) {
  // Exact / tabulated for dof <= 6; the Cornish-Fisher expansion is claimed < 5e-5 off from dof 7 on.
  EXPECT_NEAR(student_t_975(1), 12.7062047, 1e-6);
  EXPECT_NEAR(student_t_975(2), 4.3026527, 1e-6);
  EXPECT_NEAR(student_t_975(3), 3.1824463, 1e-6);
  EXPECT_NEAR(student_t_975(4), 2.7764451, 1e-6);
  EXPECT_NEAR(student_t_975(5), 2.5705818, 1e-6);
  EXPECT_NEAR(student_t_975(6), 2.4469119, 1e-6);
  EXPECT_NEAR(student_t_975(7), 2.3646243, 5e-5);
  EXPECT_NEAR(student_t_975(9), 2.2621572, 5e-5);
  EXPECT_NEAR(student_t_975(39), 2.0226909, 5e-5);
  EXPECT_NEAR(student_t_975(100), 1.9839715, 5e-5);
  EXPECT_NEAR(student_t_975(1000000), 1.9599640, 1e-5);
  EXPECT_TRUE(std::isnan(student_t_975(0)));
}

TEST(LatencyStats, SummaryOfKnownSamples) {
  const TimingSummary s = summarize_timing({5.0, 1.0, 4.0, 2.0, 3.0});
  EXPECT_EQ(s.count, 5);
  EXPECT_DOUBLE_EQ(s.mean_us, 3.0);
  EXPECT_DOUBLE_EQ(s.median_us, 3.0);
  EXPECT_DOUBLE_EQ(s.min_us, 1.0);
  EXPECT_NEAR(s.std_us, std::sqrt(2.5), 1e-12);
  const double half = 2.7764451051977987 * std::sqrt(2.5) / std::sqrt(5.0);
  EXPECT_NEAR(s.ci95_lo_us, 3.0 - half, 1e-9);
  EXPECT_NEAR(s.ci95_hi_us, 3.0 + half, 1e-9);
  EXPECT_DOUBLE_EQ(summarize_timing({4.0, 1.0, 10.0, 2.0}).median_us, 3.0);  // even count: mean of the middle two
}

TEST(LatencyStats, OneSampleHasNoInterval) {
  const TimingSummary s = summarize_timing({7.5});
  EXPECT_DOUBLE_EQ(s.mean_us, 7.5);
  EXPECT_DOUBLE_EQ(s.median_us, 7.5);
  EXPECT_TRUE(std::isnan(s.std_us));
  EXPECT_TRUE(std::isnan(s.ci95_lo_us));
  EXPECT_TRUE(std::isnan(s.ci95_hi_us));
}

TEST(LatencyStats, RejectsBadSamples) {
  EXPECT_THROW(summarize_timing({}), std::invalid_argument);
  EXPECT_THROW(summarize_timing({1.0, -0.5}), std::invalid_argument);
  EXPECT_THROW(summarize_timing({1.0, std::nan("")}), std::invalid_argument);
  EXPECT_THROW(summarize_timing({INFINITY}), std::invalid_argument);
}

// 4000 sets of 40 N(20, 3^2) "latencies" (fixed seed): the interval covers 20 in a fraction c of them with
// E c = 0.95 and SE sqrt(0.95 * 0.05 / 4000) = 0.0034; we allow 5 SE. A z-interval or a wrong t would miss
// (t_39 vs z changes the coverage by ~0.5 %, less than 5 SE; dof 3 vs 39 by far more, so we also check a
// small-sample case: 4000 sets of 4 samples, where z instead of t_3 covers only ~0.88).
TEST(LatencyStats, IntervalCoversTheMean) {
  for (const int n : {40, 4}) {
    workloads::NormalStream rng(RngSite{2024, static_cast<uint32_t>(n), 0, 0, 0});
    int covered = 0;
    const int sets = 4000;
    for (int s = 0; s < sets; ++s) {
      std::vector<double> x(static_cast<std::size_t>(n));
      for (auto& v : x) v = 20.0 + 3.0 * rng.next();
      const TimingSummary t = summarize_timing(x);
      covered += t.ci95_lo_us <= 20.0 && 20.0 <= t.ci95_hi_us;
    }
    const double c = double(covered) / sets, se = std::sqrt(0.95 * 0.05 / sets);
    EXPECT_NEAR(c, 0.95, 5 * se) << n << " samples per set";
  }
}

}  // namespace
}  // namespace santa::harness::measure
