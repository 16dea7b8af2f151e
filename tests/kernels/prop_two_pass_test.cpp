// The two-pass S2ANTA-prop (LaunchOptions::variants 61-63 and 65: score_prefix_kernel.cuh, then prop_sampled_kernel.cuh)
// and the persistent one (70-72: the same two stages as work items of one grid, prop_fused_kernel.cuh)
// must draw exactly the default kernel's counts (pass 1 computes the same scores and tile prefixes, pass 2 the same
// boundaries and the same per-key counts), record the same samples per head, and write
// out = sum_i c_i v_i / S with only the rounding of its own fp32 sum and of the 16-bit output. It sums in another
// order than the default kernel, so its output is compared with the fp64 sum over its own (checked) counts:
// |out - ref| <= r |ref| + 2^-25 (round to nearest: half an ulp is at most 2^-8 |x| in bf16 (8 significant bits)
// and 2^-11 |x| in fp16, whose subnormals are 2^-24 apart) + (k + 2) 2^-23 sum_i |c_i v_i| / S (a recursive fp32 sum of k terms is off by at most
// (k - 1) u sum |terms|, u = 2^-24, plus the roundings of 1 / S and of the product; doubled for the wrap into
// 16 bits). Seeds fixed: a passing run stays passing.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernel_test_support.hpp"

namespace santa::gpu::testing {
namespace {

struct TwoPassCase : VariantCase {
  TwoPassCase(const Shape& shape, uint64_t seed, std::vector<int32_t> lens, int page = 0)
      : VariantCase(shape, seed, std::move(lens), page, true) {}
};
using PassResult = RecordedRun;

PassResult run(VariantCase& c, int variant, int64_t S, int tile, int chunks, uint32_t step = 3) {
  return run_recorded(c, SamplingKind::prop_global, variant, S, tile, chunks, 77, step);
}

// out against the fp64 sum over the run's own counts, with the tolerance of the header comment.
void expect_output_of_counts(const VariantCase& c, const PassResult& r, int64_t S, const std::string& what) {
  const Shape& s = c.s;
  expect_every_output(s, what, [&](int b, int h, int j) -> std::string {
    const int kvh = h / s.group();
    const size_t crow = (static_cast<size_t>(b) * s.heads + h) * s.max_len;
    double ref = 0.0, mag = 0.0;
    int terms = 0;
    for (int64_t i = 0; i < c.in.lens[b]; ++i) {
      const int32_t cnt = r.counts[crow + i];
      if (cnt == 0) continue;
      const double v = half_bits_to_float(c.in.v[c.in.kv_index(b, i, kvh, j)], s.dtype);
      ref += cnt * v;
      mag += std::abs(cnt * v);
      terms += std::abs(cnt);  // fp32 additions: a row per sample at most (v:63 adds a twice-drawn row twice)
    }
    ref /= static_cast<double>(S);
    mag /= static_cast<double>(S);
    const double got = half_bits_to_float(r.out[(static_cast<size_t>(b) * s.heads + h) * s.dim + j], s.dtype);
    const double tol = std::ldexp(std::abs(ref), s.dtype == DType::bf16 ? -8 : -11) + std::ldexp(1.0, -25) +
                       (terms + 2) * std::ldexp(mag, -23);
    if (std::abs(got - ref) <= tol) return "";
    return "got " + std::to_string(got) + " ref " + std::to_string(ref) + " tol " + std::to_string(tol);
  });
}

void expect_like_default(VariantCase& c, int variant, int64_t S, int tile, int chunks, const std::string& what) {
  PassResult base, r;
  if (!same_draws_as_default(c, SamplingKind::prop_global, variant, S, tile, chunks, 77, base, r, what)) return;
  for (int32_t x : r.samples) EXPECT_EQ(x, S) << what;  // global systematic: exactly S per head
  expect_output_of_counts(c, r, S, what);
}

// The Llama group (G = 4, d = 128, bf16) on a contiguous cache and on pages of 16 (pass 1's page fast path) and 4
// (its per-copy path); sequence ends inside tiles; tiles of 32-512 keys (super tiles of 128 and of the tile);
// S below and above the tile count (several pass-2 rounds at 40000 keys and tile 256: 157 tiles, 64 per round).
TEST(PropTwoPass, SameCountsAsDefault) {
  SANTA_REQUIRE_GPU();
  const bool subset = sanitizer_subset();
  for_each_long_case(true, [&](VariantCase& c, int page) {
    const std::vector<int> tiles = subset ? std::vector<int>{256} : std::vector<int>{32, 64, 256, 512};
    for (int tile : tiles) {
      for (int64_t S : {int64_t{128}, int64_t{2048}}) {
        for (int chunks : {0, 3}) {
          const std::string what = "page " + std::to_string(page) + " tile " + std::to_string(tile) + " S " +
                                   std::to_string(S) + " chunks " + std::to_string(chunks);
          expect_like_default(c, 61, S, tile, chunks, what + " variant 61");
          if (chunks == 0) expect_like_default(c, 62, S, tile, chunks, what + " variant 62");
          expect_like_default(c, 63, S, tile, chunks, what + " variant 63");
          if (chunks == 0) expect_like_default(c, 65, S, tile, chunks, what + " variant 65");
          expect_like_default(c, 70, S, tile, chunks, what + " variant 70");
          if (chunks == 0 && !subset) expect_like_default(c, 71, S, tile, chunks, what + " variant 71");
          if (chunks == 0 && !subset) expect_like_default(c, 72, S, tile, chunks, what + " variant 72");
        }
      }
    }
  });
}

// Group sizes 1 and 8 and fp16.
TEST(PropTwoPass, OtherGroupsAndFp16) {
  SANTA_REQUIRE_GPU();
  for (int which = 0; which < 3; ++which) {  // G = 1, G = 8, fp16
    TwoPassCase c(variant_test_shape(which), 40 + which, {5000, 4097, 129});
    for (int tile : {64, 256}) {
      expect_like_default(c, 61, 300, tile, 0, "shape " + std::to_string(which) + " tile " + std::to_string(tile));
      expect_like_default(c, 63, 300, tile, 0, "shape " + std::to_string(which) + " tile " + std::to_string(tile) + " v:63");
      expect_like_default(c, 65, 300, tile, 0, "shape " + std::to_string(which) + " tile " + std::to_string(tile) + " v:65");
      expect_like_default(c, 70, 300, tile, 0, "shape " + std::to_string(which) + " tile " + std::to_string(tile) + " v:70");
    }
  }
}

// Pass 2 runs one CTA per head once the batch's heads fill 2 CTAs per SM (320 heads here; the small cases above split
// each head over several CTAs and merge their partials).
TEST(PropTwoPass, OneCtaPerHeadAtLargeBatch) {
  SANTA_REQUIRE_GPU();
  Shape s;
  s.batch = 40;
  s.max_len = 700;
  TwoPassCase c(s, 12, {});
  expect_like_default(c, 61, 100, 64, 0, "batch 40");
  expect_like_default(c, 62, 100, 64, 0, "batch 40 variant 62");  // 4 CTAs per SM: 2 per head here
  expect_like_default(c, 63, 100, 64, 0, "batch 40 variant 63");  // 4 CTAs per SM: 1 per head here
  expect_like_default(c, 70, 100, 64, 0, "batch 40 variant 70");
}

// The persistent prop with more KV heads (80) than its prefix ring holds: with 32 stream items of 128 keys and 4 sample
// items per KV head, the lag is 1.5 grids of tickets / 36 + 1 (12 KV heads on 132 SMs) and the ring 2 x lag, so
// stream items wait for their ring slot's previous KV head to be sampled; sequence lengths from 1 to 4096 keys.
TEST(PropTwoPass, PersistentRingReuse) {
  SANTA_REQUIRE_GPU();
  Shape s;
  s.batch = 40;
  s.max_len = 4096;
  std::vector<int32_t> lens;
  for (int b = 0; b < s.batch; ++b) lens.push_back(b == 0 ? 1 : 4096 - 97 * b);
  TwoPassCase c(s, 14, lens);
  expect_like_default(c, 70, 100, 64, 32, "batch 40 variant 70 chunks 32");
  expect_like_default(c, 70, 300, 128, 0, "batch 40 variant 70");
}

// The same seed and step give the same bits; another step other counts.
TEST(PropTwoPass, BitwiseReproducible) {
  SANTA_REQUIRE_GPU();
  Shape s;
  s.batch = 2;
  s.max_len = 9000;
  TwoPassCase c(s, 5, {9000, 6000});
  const PassResult a = run(c, 61, 512, 256, 0), b = run(c, 61, 512, 256, 0), other = run(c, 61, 512, 256, 0, 4);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.counts, b.counts);
  EXPECT_NE(a.counts, other.counts);
  const PassResult c62 = run(c, 62, 512, 256, 0), d62 = run(c, 62, 512, 256, 0);
  EXPECT_EQ(c62.out, d62.out);
  EXPECT_EQ(c62.counts, a.counts);  // the same counts; the sum is split differently, so not the same bits
  const PassResult c63 = run(c, 63, 512, 256, 0), d63 = run(c, 63, 512, 256, 0), o63 = run(c, 63, 512, 256, 0, 4);
  EXPECT_EQ(c63.out, d63.out);
  EXPECT_EQ(c63.counts, a.counts);
  EXPECT_EQ(o63.counts, other.counts);
  // The persistent prop, twice on the same workspace (its counters reset themselves), and another step.
  const PassResult c70 = run(c, 70, 512, 256, 0), d70 = run(c, 70, 512, 256, 0), o70 = run(c, 70, 512, 256, 0, 4);
  EXPECT_EQ(c70.out, d70.out);
  EXPECT_EQ(c70.counts, a.counts);
  EXPECT_EQ(o70.counts, other.counts);
}

// What it does not serve is rejected before launch, naming the variant and what it needs.
TEST(PropTwoPass, RejectsWhatItDoesNotServe) {
  SANTA_REQUIRE_GPU();
  expect_rejects_rows_record_and_d64(SamplingKind::prop_global, 61, true);
  expect_rejects_rows_record_and_d64(SamplingKind::prop_global, 70, true);
  LaunchOptions lo;
  lo.variant = 61;
  Shape s;
  s.max_len = 2000;
  TwoPassCase c(s, 9, {2000});
  expect_variant_rejects(
      [&] { run_sampling_kernel(SamplingKind::prop_largest_remainder, c.d.problem, c.ws, 64, 256, {}, {}, lo); },
      "variant 61", "global_systematic");
  DecodeWorkspace plain(limits_for(s));
  expect_variant_rejects(
      [&] { run_sampling_kernel(SamplingKind::prop_global, c.d.problem, plain, 64, 256, {}, {}, lo); }, "variant 61",
      "score_prefix");
  lo.variant = 70;
  expect_variant_rejects(
      [&] { run_sampling_kernel(SamplingKind::prop_largest_remainder, c.d.problem, c.ws, 64, 256, {}, {}, lo); },
      "variant 70", "global_systematic");
  expect_variant_rejects(
      [&] { run_sampling_kernel(SamplingKind::prop_global, c.d.problem, plain, 64, 256, {}, {}, lo); }, "variant 70",
      "score_prefix");
}

}  // namespace
}  // namespace santa::gpu::testing
