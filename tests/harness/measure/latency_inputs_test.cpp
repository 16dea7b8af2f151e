// Host side of the latency inputs: which points share inputs, the seeded queries, and the planted needles
// (their logits, positions and the attention mass they really get).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "estimators/exact.hpp"
#include "harness/measure/latency_inputs.hpp"
#include "harness/spec/spec.hpp"
#include "harness/workloads/random.hpp"
#include "kernels/host_half.hpp"

namespace santa::harness::measure {
namespace {

spec::Spec latency_spec(const std::string& extra) {
  return spec::parse_spec("name: t\nkind: latency\nseed: 5\n" + extra, "t.yaml");
}

TEST(LatencyInputs, PointsShareInputsExactlyWhenOnlyTheBackendDiffers) {
  const auto s = latency_spec(
      "sweep:\n  grid:\n    cache: [contiguous, paged]\n    n_k: [4096, 8192]\n"
      "  zip:\n    backend: [dense, prop, flash]\n    S: [128, 256, 2048]\n");
  std::map<std::string, std::set<std::string>> backends_by_key;
  std::map<uint64_t, std::set<std::string>> layouts_by_seed;
  for (const auto& p : s.points()) {
    const LatencyInputsSpec in = latency_inputs_from_point(p, s.seed);
    backends_by_key[in.key()].insert(p.text("backend"));
    layouts_by_seed[in.value_seed].insert(p.text("cache"));
  }
  EXPECT_EQ(backends_by_key.size(), 4u);  // (cache, n_k) pairs
  for (const auto& [key, backends] : backends_by_key) EXPECT_EQ(backends.size(), 3u) << key;
  EXPECT_EQ(layouts_by_seed.size(), 2u);  // one value seed per n_k: the layout does not change the values
  for (const auto& [seed, layouts] : layouts_by_seed) EXPECT_EQ(layouts.size(), 2u);
  const Point p = s.point(0);
  EXPECT_NE(latency_inputs_from_point(p, 5).value_seed, latency_inputs_from_point(p, 6).value_seed);
}

TEST(LatencyInputs, AllocatedLengthFitsFlashInferPagesAndOurPages) {
  LatencyInputsSpec in;
  in.shape.n_k = 1000;
  EXPECT_EQ(in.max_len(), 1008);  // multiple of 16
  in.shape.paged = true;
  in.shape.page_size = 64;
  EXPECT_EQ(in.max_len(), 1024);
  in.shape.n_k = 131072;
  EXPECT_EQ(in.max_len(), 131072);
}

TEST(LatencyInputs, QueriesAreSeededGaussians) {
  const auto s = latency_spec("parameters:\n  batch: 2\n  n_k: 64\n");
  const LatencyInputsSpec in = latency_inputs_from_point(s.point(0), s.seed);
  const auto q = make_queries(in);
  ASSERT_EQ(q.size(), 2u * 32 * 128);
  EXPECT_EQ(q, make_queries(in));
  double sum = 0.0, sum2 = 0.0;
  for (uint16_t bits : q) {
    const double x = gpu::bf16_to_float(bits);
    sum += x;
    sum2 += x * x;
  }
  // 8192 N(0,1): mean SE 1/sqrt(8192) = 0.011, variance SE sqrt(2/8192) = 0.016; 5 SE each.
  EXPECT_NEAR(sum / q.size(), 0.0, 5 * 0.011);
  EXPECT_NEAR(sum2 / q.size(), 1.0, 5 * 0.016);
  LatencyInputsSpec other = in;
  other.value_seed ^= 1;
  EXPECT_NE(make_queries(other), q);
}

TEST(LatencyInputs, NeedleLogitGivesTheMass) {
  const double L = needle_logit(140.0, 128, 32768, 16, 0.9);
  const double needles = 16 * std::exp(L), background = (32768 - 16) * std::exp(140.0 / 256.0);
  EXPECT_NEAR(needles / (needles + background), 0.9, 1e-12);
  EXPECT_THROW(needle_logit(1.0, 128, 16, 16, 0.5), std::invalid_argument);
  EXPECT_THROW(needle_logit(1.0, 128, 100, 4, 1.0), std::invalid_argument);
}

TEST(LatencyInputs, PlantedKeyHitsEveryHeadsLogit) {
  workloads::NormalStream rng(RngSite{3, 0, 0, 0, 0});
  MatRM Q(4, 128);
  Vec r(128), L(4);
  for (Eigen::Index i = 0; i < Q.size(); ++i) Q.data()[i] = rng.next();
  for (Eigen::Index j = 0; j < 128; ++j) r[j] = rng.next();
  L << 9.0, 10.5, 11.0, 12.25;
  const double scale = 1.0 / std::sqrt(128.0);
  const Vec k = plant_key(Q, L, r, scale);
  EXPECT_LT((scale * Q * k - L).cwiseAbs().maxCoeff(), 1e-9);
  // The correction lies in the row space of Q (closest such key to r): its part orthogonal to Q's rows is 0.
  const Vec c = k - r;
  const Vec in_rows = Q.transpose() * (Q * Q.transpose()).ldlt().solve(Q * c);
  EXPECT_LT((c - in_rows).norm(), 1e-9 * c.norm());
  MatRM dependent = Q;
  dependent.row(3) = 2.0 * Q.row(0);
  EXPECT_THROW(plant_key(dependent, L, r, scale), std::invalid_argument);
}

// The needles of one (sequence, KV head) against a host-drawn N(0,1) background (the GPU draws its own, with
// the same law): every query head of the group gives the 16 needles 0.9 of its attention, within what the
// expected-background approximation allows. The background sum Z of n - 16 = 4080 log-normal terms
// exp(q.k/sqrt(d)) of log-variance sigma^2 = |q|^2/d (~1) has relative SD sqrt((e^{sigma^2} - 1) / 4080) (~0.02),
// so the mass m = A / (A + Z) has SE m (1 - m) times that (~0.002); we allow 5 SE per head, plus 0.005 for the
// bf16 rounding of the planted keys (logit error ~ 2^-9 |L| ~ 0.02, mass error m (1 - m) 0.02).
TEST(LatencyInputs, NeedlesHoldTheirMass) {
  const auto s = latency_spec("parameters:\n  batch: 2\n  n_k: 4096\n  distribution: needles\n  needle_count: 16\n"
                              "  needle_mass: 0.9\n");
  const LatencyInputsSpec in = latency_inputs_from_point(s.point(0), s.seed);
  const auto q = make_queries(in);
  const auto needles = make_needles(in, q);
  ASSERT_EQ(needles.size(), 2u * 8 * 16);
  EXPECT_EQ(needles.size(), make_needles(in, q).size());
  std::map<std::pair<int64_t, int64_t>, std::set<int64_t>> positions;
  for (const auto& n : needles) {
    EXPECT_TRUE(n.pos >= 0 && n.pos < 4096);
    positions[{n.b, n.kv_head}].insert(n.pos);
  }
  EXPECT_EQ(positions.size(), 16u);
  for (const auto& [where, pos] : positions) EXPECT_EQ(pos.size(), 16u);  // distinct

  const int64_t b = 1, kvh = 5, n = 4096, d = 128;
  workloads::NormalStream bg(RngSite{77, 0, 0, 0, 0});
  MatRM K(n, d);
  for (Eigen::Index i = 0; i < K.size(); ++i) K.data()[i] = gpu::bf16_to_float(gpu::float_to_bf16(float(bg.next())));
  std::vector<int64_t> pos;
  for (const auto& nr : needles) {
    if (nr.b != b || nr.kv_head != kvh) continue;
    for (int64_t j = 0; j < d; ++j) K(nr.pos, j) = gpu::bf16_to_float(nr.bits[static_cast<std::size_t>(j)]);
    pos.push_back(nr.pos);
  }
  for (int g = 0; g < 4; ++g) {
    Vec qh(d);
    for (int64_t j = 0; j < d; ++j) qh[j] = gpu::bf16_to_float(q[static_cast<std::size_t>((b * 32 + kvh * 4 + g) * d + j)]);
    const Vec p = softmax(attention_scores(qh, K, in.scale()));
    double mass = 0.0;
    for (int64_t i : pos) mass += p[i];
    const double se = 0.9 * 0.1 * std::sqrt(std::expm1(qh.squaredNorm() / double(d)) / double(n - 16));
    EXPECT_NEAR(mass, 0.9, 5 * se + 0.005) << "head " << g;
  }
}

TEST(LatencyInputs, GaussianHasNoNeedles) {
  const auto s = latency_spec("parameters:\n  n_k: 64\n");
  const LatencyInputsSpec in = latency_inputs_from_point(s.point(0), s.seed);
  EXPECT_TRUE(make_needles(in, make_queries(in)).empty());
}

}  // namespace
}  // namespace santa::harness::measure
