// The output checks of the latency runner, on the CPU: an exact output passes and corrupted ones fail; a
// sampling "kernel" that draws from its scheme passes and one that draws too few samples, writes nothing or
// reports wrong totals fails.
#include <gtest/gtest.h>

#include <cmath>

#include "estimators/exact.hpp"
#include "harness/measure/latency_check.hpp"
#include "harness/measure/latency_reference.hpp"
#include "harness/workloads/random.hpp"
#include "kernels/host_half.hpp"

namespace santa::harness::measure {
namespace {

constexpr int64_t kN = 2048, kH = 32, kHkv = 8, kD = 64, kBatch = 2;
const double kScale = 1.0 / std::sqrt(double(kD));

std::vector<uint16_t> normals(std::size_t count, uint64_t seed, double sd = 1.0) {
  workloads::NormalStream rng(RngSite{seed, 0, 0, 0, 0});
  std::vector<uint16_t> out(count);
  for (auto& x : out) x = gpu::float_to_bf16(static_cast<float>(sd * rng.next()));
  return out;
}

// The reference of sequence 1 of a batch of 2; q_sd = 3 makes the attention peaked.
ReferenceSequence make_ref(double q_sd) {
  const auto q = normals(kH * kD, 1, q_sd), k = normals(kN * kHkv * kD, 2), v = normals(kN * kHkv * kD, 3);
  return build_reference(1, q, k, v, kN, kH, kHkv, kD, gpu::DType::bf16, kScale);
}

double bf16_round(double x) { return gpu::bf16_to_float(gpu::float_to_bf16(static_cast<float>(x))); }

// A whole output [2][H][d] whose sequence 1 holds `heads[h]` (bf16-rounded) and sequence 0 a copy of it.
std::vector<double> output_of(const std::vector<Vec>& heads) {
  std::vector<double> out(kBatch * kH * kD);
  for (int64_t b = 0; b < kBatch; ++b)
    for (int64_t h = 0; h < kH; ++h)
      for (int64_t j = 0; j < kD; ++j) out[(b * kH + h) * kD + j] = bf16_round(heads[h][j]);
  return out;
}

TEST(LatencyCheck, ReferenceIsExactAttention) {
  const ReferenceSequence ref = make_ref(1.0);
  ASSERT_EQ(ref.p.size(), size_t(kH));
  EXPECT_EQ(ref.group(), 4);
  for (const Vec& p : ref.p) EXPECT_NEAR(p.sum(), 1.0, 1e-12);
  // y = sum_i p_i v_i of head 5's KV head (5 / 4 = 1).
  EXPECT_LT((ref.y[5] - ref.v[1].transpose() * ref.p[5]).norm(), 1e-12);
  EXPECT_GT(ref.entropy_nats, 0.0);
  EXPECT_LT(ref.entropy_nats, std::log(double(kN)));
  EXPECT_GT(ref.max_prob, 1.0 / kN);
}

TEST(LatencyCheck, ExactOutputPassesAndCorruptionsFail) {
  const ReferenceSequence ref = make_ref(1.0);
  const auto out = output_of(ref.y);
  const double u = unit_roundoff(gpu::DType::bf16);
  const OutputCheck c = check_exact(ref, out, &out, gpu::DType::bf16, "t");
  EXPECT_LE(c.max_rel_error, u);  // only the output rounding (<= 2^-9 per element)
  EXPECT_DOUBLE_EQ(c.rel_l2_vs_dense, 0.0);
  EXPECT_LE(c.rel_l2_vs_exact, u);

  auto swapped = ref.y;
  std::swap(swapped[4], swapped[9]);  // a wrong head mapping
  EXPECT_THROW(check_exact(ref, output_of(swapped), nullptr, gpu::DType::bf16, "t"), CheckFailed);
  auto scaled = ref.y;
  for (auto& y : scaled) y *= 1.05;  // a wrong normalisation: 5% > 4u = 1.6%
  EXPECT_THROW(check_exact(ref, output_of(scaled), nullptr, gpu::DType::bf16, "t"), CheckFailed);
  auto nan_out = out;
  nan_out[17] = std::nan("");
  EXPECT_THROW(check_exact(ref, nan_out, nullptr, gpu::DType::bf16, "t"), CheckFailed);
  // Sequence 0 is not in the reference: only the comparison with the dense output sees it.
  auto seq0 = out;
  for (int64_t j = 0; j < kD; ++j) seq0[3 * kD + j] *= 1.1;
  EXPECT_NO_THROW(check_exact(ref, seq0, nullptr, gpu::DType::bf16, "t"));
  EXPECT_THROW(check_exact(ref, seq0, &out, gpu::DType::bf16, "t"), CheckFailed);
  EXPECT_THROW(check_exact(ref, std::vector<double>(kH * kD), nullptr, gpu::DType::bf16, "t"),
               std::invalid_argument);  // batch 1 cannot hold sequence 1
}

struct SampledCase {
  Scheme scheme;
  int64_t S;
  double q_sd;
};

class LatencyCheckSampled : public ::testing::TestWithParam<SampledCase> {};

// What a correct kernel does: one draw of the scheme per head, with its own random stream.
std::vector<Vec> one_draw(const ReferenceSequence& ref, const SampledCase& c, uint64_t seed, int64_t S,
                          int64_t* total) {
  std::vector<Vec> heads;
  for (int64_t h = 0; h < kH; ++h) {
    const RowDraw d = santa::draw(c.scheme, ref.p[h], S, 256, RngSite{seed, 0, 1, static_cast<uint32_t>(h), 0});
    heads.push_back(apply_draw(d, ref.values_of_head(h)));
    *total = d.samples;
  }
  return heads;
}

// Five "kernels" with independent seeds all pass: |z| <= 6 has probability ~2e-9 of failing each (derivation in
// latency_check.cpp). Drawing S / 16 samples instead (error ~16x larger in mean square), writing zeros, or
// reporting a wrong total fails.
TEST_P(LatencyCheckSampled, SchemeDrawsPassCorruptionsFail) {
  const SampledCase c = GetParam();
  const ReferenceSequence ref = make_ref(c.q_sd);
  SampledCheckSpec spec;
  spec.scheme = c.scheme;
  spec.S = c.S;
  spec.seed = 4242;
  int64_t total = 0;
  for (uint64_t seed = 100; seed < 105; ++seed) {
    const auto out = output_of(one_draw(ref, c, seed, c.S, &total));
    const std::vector<int32_t> drawn(kBatch * kH, static_cast<int32_t>(total));
    const OutputCheck r = check_sampled(ref, out, nullptr, drawn, gpu::DType::bf16, spec, "t");
    EXPECT_LE(std::abs(r.z), 6.0);
    EXPECT_GT(r.expected_rel_l2, 0.0);
    EXPECT_TRUE(std::isnan(r.rel_l2_vs_dense));
  }
  const auto good = output_of(one_draw(ref, c, 7, c.S, &total));
  std::vector<int32_t> drawn(kBatch * kH, static_cast<int32_t>(total));
  EXPECT_NO_THROW(check_sampled(ref, good, &good, drawn, gpu::DType::bf16, spec, "t"));

  int64_t few_total = 0;
  const auto few = output_of(one_draw(ref, c, 7, c.S / 16, &few_total));
  EXPECT_THROW(check_sampled(ref, few, nullptr, {}, gpu::DType::bf16, spec, "t"), CheckFailed);
  EXPECT_THROW(check_sampled(ref, std::vector<double>(kBatch * kH * kD, 0.0), nullptr, {}, gpu::DType::bf16, spec, "t"),
               CheckFailed);
  drawn[kH + 3] -= 1;
  EXPECT_THROW(check_sampled(ref, good, nullptr, drawn, gpu::DType::bf16, spec, "t"), CheckFailed);
  drawn[kH + 3] = -1;  // an unwritten record (poisoned to -1)
  EXPECT_THROW(check_sampled(ref, good, nullptr, drawn, gpu::DType::bf16, spec, "t"), CheckFailed);
}

INSTANTIATE_TEST_SUITE_P(Schemes, LatencyCheckSampled,
                         ::testing::Values(SampledCase{Scheme::global_systematic, 128, 1.0},
                                           SampledCase{Scheme::global_systematic, 1024, 3.0},
                                           SampledCase{Scheme::prop_reference, 256, 1.0},
                                           SampledCase{Scheme::prop_reference, 1024, 3.0},
                                           SampledCase{Scheme::flash, 256, 1.0},
                                           SampledCase{Scheme::flash, 2048, 3.0}),
                         [](const ::testing::TestParamInfo<SampledCase>& info) {
                           return std::string(to_string(info.param.scheme)) + "_S" + std::to_string(info.param.S) +
                                  (info.param.q_sd > 1.0 ? "_peaked" : "_flat");
                         });

}  // namespace
}  // namespace santa::harness::measure
