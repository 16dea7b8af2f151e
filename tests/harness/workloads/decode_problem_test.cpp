// The full decode problem: Gaussian head 0 equals the single-head problem; planted distributions give every
// head of a GQA group exactly its generated attention; temperature scales each query to its target.
#include <gtest/gtest.h>

#include <cmath>

#include "estimators/exact.hpp"
#include "harness/workloads/attention_stats.hpp"
#include "harness/workloads/decode_problem.hpp"
#include "harness/workloads/head_problem.hpp"

namespace santa::harness::workloads {
namespace {

DecodeSpec decode(const std::string& dist, int64_t n, int64_t H, int64_t H_kv, int64_t d) {
  DecodeSpec s;
  s.dist.name = dist;
  s.n = n;
  s.H = H;
  s.H_kv = H_kv;
  s.d = d;
  s.seed = 41;
  return s;
}

Vec head_probs(const DecodeProblem& p, int64_t h, int64_t G) {
  const Vec s = p.k[h / G] * p.q.row(h).transpose() / std::sqrt(double(p.q.cols()));
  return santa::softmax(s);
}

TEST(DecodeProblem, GaussianHeadEqualsHeadProblem) {
  WorkloadCache cache;
  const DecodeProblem dp = make_decode_problem(decode("gaussian", 777, 1, 1, 16), cache);
  HeadSpec hs;
  hs.dist.name = "gaussian";
  hs.n = 777;
  hs.d = 16;
  hs.seed = 41;
  const auto hp = head_problem(hs, cache);
  EXPECT_LT((head_probs(dp, 0, 1) - hp->p).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_EQ(dp.v[0], *hp->v);
}

TEST(DecodeProblem, PlantedDistributionsReachEveryHeadOfAGroup) {
  WorkloadCache cache;
  for (const std::string dist : {"zipf", "sink_plus_local", "tile_spread"}) {
    const int64_t H = 8, H_kv = 2, G = 4, n = 2048;
    DecodeSpec ds = decode(dist, n, H, H_kv, 16);
    ds.dist.tiles_90 = 3;
    const DecodeProblem dp = make_decode_problem(ds, cache);
    for (int64_t h = 0; h < H; ++h) {
      HeadSpec hs;
      hs.dist = ds.dist;
      hs.n = n;
      hs.d = 16;
      hs.head = h;
      hs.seed = 41;
      // The head problem of head h draws the same shape stream, so its p is the target.
      const Vec want = head_problem(hs, cache)->p;
      EXPECT_LT((head_probs(dp, h, G) - want).cwiseAbs().maxCoeff(), 1e-9) << dist << " head " << h;
    }
    if (dist == "tile_spread") {
      EXPECT_EQ(tiles_to_mass(head_probs(dp, 5, G), 256), 3);
    }
  }
}

TEST(DecodeProblem, NeedlesHoldTheirMassInEveryHead) {
  WorkloadCache cache;
  DecodeSpec ds = decode("needles", 1024, 4, 1, 32);
  ds.dist.needle_count = 3;
  ds.dist.needle_mass = 0.6;
  const DecodeProblem dp = make_decode_problem(ds, cache);
  for (int64_t h = 0; h < 4; ++h) {
    Vec p = head_probs(dp, h, 4);
    std::sort(p.data(), p.data() + p.size(), std::greater<>());
    EXPECT_NEAR(p.head(3).sum(), 0.6, 1e-9) << h;
  }
}

TEST(DecodeProblem, TemperatureScalesEachQueryToItsTarget) {
  WorkloadCache cache;
  DecodeSpec ds = decode("temperature", 4096, 4, 2, 32);
  ds.dist.target_entropy = 2.5;
  const DecodeProblem dp = make_decode_problem(ds, cache);
  for (int64_t h = 0; h < 4; ++h) EXPECT_NEAR(entropy_nats(head_probs(dp, h, 2)), 2.5, 1e-8) << h;
}

TEST(DecodeProblem, InstancesDifferAndValuesAreOptional) {
  WorkloadCache cache;
  DecodeSpec a = decode("gaussian", 64, 2, 1, 8);
  DecodeSpec b = a;
  b.instance = 1;
  b.values = false;
  const auto pa = decode_problem(a, cache), pb = decode_problem(b, cache);
  EXPECT_NE(pa->q, pb->q);
  EXPECT_TRUE(pb->v.empty());
  EXPECT_EQ(pa->k.size(), 1u);
  EXPECT_EQ(decode_problem(a, cache).get(), pa.get());  // cached
}

}  // namespace
}  // namespace santa::harness::workloads
