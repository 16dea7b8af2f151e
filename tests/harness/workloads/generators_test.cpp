// The P6 generators hit their targets: temperature (entropy / max probability), tile_spread (tiles holding
// 90% of the mass), zipf, needles and sink-plus-local masses; Gaussian draws have mean 0 and variance 1;
// every distribution the schema offers is generated.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "estimators/exact.hpp"
#include "harness/spec/schema.hpp"
#include "harness/workloads/attention_stats.hpp"
#include "harness/workloads/distribution.hpp"
#include "harness/workloads/head_problem.hpp"
#include "harness/workloads/random.hpp"
#include "harness/workloads/temperature.hpp"

namespace santa::harness::workloads {
namespace {

HeadSpec head(const std::string& dist, int64_t n, int64_t d = 8) {
  HeadSpec s;
  s.dist.name = dist;
  s.n = n;
  s.d = d;
  s.seed = 99;
  return s;
}

TEST(Temperature, HitsTargetEntropyAndMaxProbability) {
  const Vec s = gaussian_scores(5, 0, 0, 4096, 64);
  for (double h : {0.5, 2.0, 4.0, 7.5}) {  // ln 4096 = 8.32
    const double beta = solve_inverse_temperature(s, TemperatureTarget::entropy, h);
    EXPECT_NEAR(entropy_nats(santa::softmax(beta * s)), h, 1e-9) << h;
  }
  for (double m : {0.001, 0.05, 0.5, 0.95}) {
    const double beta = solve_inverse_temperature(s, TemperatureTarget::max_prob, m);
    EXPECT_NEAR(max_probability(santa::softmax(beta * s)), m, 1e-9) << m;
  }
  EXPECT_THROW(solve_inverse_temperature(s, TemperatureTarget::entropy, 8.4), std::invalid_argument);
  EXPECT_THROW(solve_inverse_temperature(s, TemperatureTarget::max_prob, 1.0 / 5000), std::invalid_argument);
  EXPECT_THROW(solve_inverse_temperature(Vec::Ones(8), TemperatureTarget::entropy, 1.0), std::invalid_argument);
}

TEST(Temperature, HeadProblemReachesTarget) {
  WorkloadCache cache;
  HeadSpec s = head("temperature", 8192);
  s.dist.target_entropy = 3.25;
  EXPECT_NEAR(head_problem(s, cache)->entropy, 3.25, 1e-9);
  s.dist.temperature_target = TemperatureTarget::max_prob;
  s.dist.target_max_prob = 0.3;
  EXPECT_NEAR(head_problem(s, cache)->max_prob, 0.3, 1e-9);
}

TEST(TileSpread, ExactlyTheRequestedTilesHold90Percent) {
  WorkloadCache cache;
  for (int64_t n : {32768, 32700}) {  // 32700: the last tile is short
    for (int64_t m : {1, 2, 3, 4, 5, 8, 9, 16, 40}) {
      HeadSpec s = head("tile_spread", n);
      s.dist.tiles_90 = m;
      const auto hp = head_problem(s, cache);
      EXPECT_EQ(tiles_to_mass(hp->p, 256), m) << "n=" << n << " m=" << m;
      EXPECT_NEAR(hp->p.sum(), 1.0, 1e-12);
    }
  }
  HeadSpec bad = head("tile_spread", 1024);
  bad.dist.tiles_90 = 4;
  EXPECT_THROW(head_problem(bad, cache), std::invalid_argument);
}

TEST(AttentionStats, TilesToMass) {
  Vec p(8);
  p << 0.5, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05;  // tiles of 2: 0.6, 0.2, 0.1, 0.1
  EXPECT_EQ(tiles_to_mass(p, 2, 0.9), 3);
  EXPECT_EQ(tiles_to_mass(p, 2, 0.6), 1);
  EXPECT_EQ(tiles_to_mass(p, 8, 0.9), 1);
  EXPECT_EQ(tiles_to_mass(p, 3, 0.9), 2);  // tiles 0.7, 0.2, 0.1 (short last tile)
  EXPECT_NEAR(entropy_nats(Vec::Constant(4, 0.25)), std::log(4.0), 1e-15);
}

TEST(Zipf, ProbabilitiesFollowThePowerLawOverAPermutation) {
  WorkloadCache cache;
  HeadSpec s = head("zipf", 5000);
  s.dist.zipf_exponent = 1.3;
  const auto hp = head_problem(s, cache);
  std::vector<double> sorted(hp->p.data(), hp->p.data() + hp->p.size());
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  for (int r : {1, 2, 10, 100, 4999}) EXPECT_NEAR(sorted[r] / sorted[0], std::pow(r + 1.0, -1.3), 1e-12) << r;
  // Positions are permuted: the largest is not simply at the start.
  Eigen::Index argmax = 0;
  hp->p.maxCoeff(&argmax);
  EXPECT_NE(argmax, 0);
}

TEST(Needles, NeedlesHoldTheirMass) {
  WorkloadCache cache;
  HeadSpec s = head("needles", 4096);
  s.dist.needle_count = 5;
  s.dist.needle_mass = 0.7;
  const auto hp = head_problem(s, cache);
  std::vector<double> sorted(hp->p.data(), hp->p.data() + hp->p.size());
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  EXPECT_NEAR(sorted[0] + sorted[1] + sorted[2] + sorted[3] + sorted[4], 0.7, 1e-12);
  EXPECT_NEAR(sorted[0], sorted[4], 1e-15);
}

TEST(SinkPlusLocal, GroupsHoldTheirMass) {
  WorkloadCache cache;
  HeadSpec s = head("sink_plus_local", 4096);
  const auto hp = head_problem(s, cache);  // defaults: 4 sinks 0.3, window 256 0.4
  EXPECT_NEAR(hp->p.head(4).sum(), 0.3, 1e-12);
  EXPECT_NEAR(hp->p.tail(256).sum(), 0.4, 1e-12);
  EXPECT_NEAR(hp->p.segment(4, 4096 - 260).sum(), 0.3, 1e-12);
}

TEST(NormalStream, MeanAndVarianceOfStandardNormals) {
  // N = 2^18 draws: SE(mean) = 1/sqrt(N) ~ 0.00195, SE(variance) = sqrt(2/N) ~ 0.00276; 5 SE bounds.
  NormalStream s(stream_site(3, 0, Purpose::value, 0));
  const int N = 1 << 18;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < N; ++i) {
    const double x = s.next();
    sum += x;
    sum2 += x * x;
  }
  const double mean = sum / N, var = sum2 / N - mean * mean;
  EXPECT_LT(std::abs(mean), 5.0 / std::sqrt(double(N)));
  EXPECT_LT(std::abs(var - 1.0), 5.0 * std::sqrt(2.0 / N));
}

TEST(Generators, SameSeedSameWorkloadAndShorterContextIsAPrefix) {
  WorkloadCache a, b;
  const auto x = head_problem(head("gaussian", 1000), a), y = head_problem(head("gaussian", 1000), b);
  EXPECT_EQ(x->p, y->p);
  EXPECT_EQ(*x->v, *y->v);
  const auto shorter = head_problem(head("gaussian", 600), b);
  EXPECT_EQ(*shorter->v, x->v->topRows(600));
  HeadSpec other = head("gaussian", 1000);
  other.seed = 100;
  EXPECT_NE(head_problem(other, b)->p, x->p);
}

TEST(Generators, EverySchemaDistributionIsGenerated) {
  WorkloadCache cache;
  for (const auto& name : spec::distribution_names()) {
    if (name == "file") continue;  // tested with files in qkv_file_test.cpp
    HeadSpec s = head(name, 4096);
    s.dist.target_entropy = 3.0;
    const auto hp = head_problem(s, cache);
    EXPECT_NEAR(hp->p.sum(), 1.0, 1e-9) << name;
    EXPECT_GT(hp->trace_cov, 0.0) << name;
  }
  EXPECT_THROW(head_problem(head("no_such_shape", 64), cache), std::invalid_argument);
}

}  // namespace
}  // namespace santa::harness::workloads
