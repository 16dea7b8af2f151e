// S2ANTA-flash in one key stream (LaunchOptions::variant 64, flash_stream_kernel.cuh) must draw exactly the default
// kernel's counts (the same scores, tile prefixes, budgets and per-key counts) and record the same samples per head.
// Its output sums the same terms in another order, so it is compared with the default kernel's output:
// both approximate X = sum_t a_t sum_{i in t} c_i v_i / sum_t b_t (b_t = l_t 2^m_t, a_t = b_t / n_t, the GPU's own
// fp32 tile statistics). Each kernel's fp32 value is within e of X: its numerator and denominator are recursive fp32
// sums of at most S + T terms (S samples drawn, T tiles: (S + T) 2^-24 of the sum of |terms|), and every term and the
// running rescale carry at most T + 6 roundings of products and exp2f (2 ulp each: 2^-22); the |terms| sum to at
// most max |v_i| over the sampled rows times the denominator (a tile's counts sum to n_t exactly, so
// sum_t a_t sum_i c_i = sum_t b_t). Hence e <= (S + 3 T + 8) 2^-22 max |v_i|. Each output then rounds to 16 bits
// (half an ulp: at most 2^-8 |x| in bf16, 2^-11 |x| in fp16, plus 2^-25 for fp16 subnormals), so
// |out - out_default| <= r (|out| + |out_default|) + 2^-24 + 2 e. Seeds fixed: a passing run stays passing. Cases
// with few tiles (T = 8-10) make the bound tight enough that one dropped or doubled row would fail it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernel_test_support.hpp"

namespace santa::gpu::testing {
namespace {

using StreamCase = VariantCase;
using RunResult = RecordedRun;

RunResult run(StreamCase& c, SamplingKind kind, int variant, int64_t S, int tile, int chunks, uint32_t step = 3) {
  return run_recorded(c, kind, variant, S, tile, chunks, 91, step);
}

// out against the default kernel's out, with the tolerance of the header comment.
void expect_output_near(const StreamCase& c, const RunResult& r, const RunResult& base, int tile,
                        const std::string& what) {
  const Shape& s = c.s;
  const double rnd = std::ldexp(1.0, s.dtype == DType::bf16 ? -8 : -11);
  expect_every_output(s, what, [&](int b, int h, int j) -> std::string {
    const int64_t T = (c.in.lens[b] + tile - 1) / tile;
    const int kvh = h / s.group();
    const size_t crow = (static_cast<size_t>(b) * s.heads + h) * s.max_len;
    const int64_t drawn = r.samples[static_cast<size_t>(b) * s.heads + h];
    double vmax = 0.0;  // over the rows the head sampled
    for (int64_t i = 0; i < c.in.lens[b]; ++i) {
      if (r.counts[crow + i] != 0) {
        vmax = std::max(vmax, std::abs(static_cast<double>(half_bits_to_float(c.in.v[c.in.kv_index(b, i, kvh, j)], s.dtype))));
      }
    }
    const size_t o = (static_cast<size_t>(b) * s.heads + h) * s.dim + j;
    const double got = half_bits_to_float(r.out[o], s.dtype), ref = half_bits_to_float(base.out[o], s.dtype);
    const double e = static_cast<double>(drawn + 3 * T + 8) * std::ldexp(vmax, -22);
    const double tol = rnd * (std::abs(got) + std::abs(ref)) + std::ldexp(1.0, -24) + 2 * e;
    if (std::abs(got - ref) <= tol) return "";
    return "got " + std::to_string(got) + " default " + std::to_string(ref) + " tol " + std::to_string(tol);
  });
}

void expect_like_default(StreamCase& c, SamplingKind kind, int64_t S, int tile, int chunks, const std::string& what) {
  RunResult base, r;
  if (same_draws_as_default(c, kind, 64, S, tile, chunks, 91, base, r, what)) expect_output_near(c, r, base, tile, what);
}

// The Llama group (G = 4, d = 128, bf16) on a contiguous cache and on pages of 16 (the tile copies' page fast path)
// and 4 (their per-copy path); sequence ends inside tiles; tiles of 32-512 keys (super tiles of 128 and of the
// tile); both budget rules; S below and above the tile count (at tile 512 and S = 2048 a head samples 26-59 rows per
// super tile: more than the 8 per K tile the queued gather takes, so the rest is added in synchronous rounds).
TEST(FlashStream, SameCountsAsDefault) {
  SANTA_REQUIRE_GPU();
  const bool subset = sanitizer_subset();
  for_each_long_case(false, [&](StreamCase& c, int page) {
    const std::vector<int> tiles = subset ? std::vector<int>{128} : std::vector<int>{32, 64, 128, 256, 512};
    for (int tile : tiles) {
      for (int64_t S : {int64_t{128}, int64_t{2048}}) {
        for (int chunks : {0, 3}) {
          for (SamplingKind kind : {SamplingKind::flash_exact, SamplingKind::flash_reference}) {
            if (subset && kind == SamplingKind::flash_reference) continue;
            expect_like_default(c, kind, S, tile, chunks,
                                std::string(name(kind)) + " page " + std::to_string(page) + " tile " +
                                    std::to_string(tile) + " S " + std::to_string(S) + " chunks " +
                                    std::to_string(chunks));
          }
        }
      }
    }
  });
}

// Few tiles (T = 8 and 10 at tile 512), where the tolerance is tight; group sizes 1 and 8 (two heads per warp) and
// fp16.
TEST(FlashStream, FewTilesOtherGroupsAndFp16) {
  SANTA_REQUIRE_GPU();
  for (int which = -1; which < 3; ++which) {  // G = 4, then G = 1, G = 8, fp16
    StreamCase c(variant_test_shape(which), 41 + which, {5000, 4097, 129});
    for (int tile : {64, 512}) {
      for (int64_t S : {int64_t{100}, int64_t{1000}}) {
        expect_like_default(c, SamplingKind::flash_exact, S, tile, 0,
                            "shape " + std::to_string(which) + " tile " + std::to_string(tile) + " S " +
                                std::to_string(S));
      }
    }
  }
}

// The same seed and step give the same bits; another step other counts (and the default's counts for it).
TEST(FlashStream, BitwiseReproducible) {
  SANTA_REQUIRE_GPU();
  Shape s;
  s.batch = 2;
  s.max_len = 9000;
  StreamCase c(s, 5, {9000, 6000});
  const RunResult a = run(c, SamplingKind::flash_exact, 64, 2048, 128, 0);
  const RunResult b = run(c, SamplingKind::flash_exact, 64, 2048, 128, 0);
  const RunResult other = run(c, SamplingKind::flash_exact, 64, 2048, 128, 0, 4);
  const RunResult other_default = run(c, SamplingKind::flash_exact, 0, 2048, 128, 0, 4);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.counts, b.counts);
  EXPECT_NE(a.counts, other.counts);
  EXPECT_EQ(other.counts, other_default.counts);
}

// What it does not serve is rejected before launch, naming the variant and what it needs.
TEST(FlashStream, RejectsWhatItDoesNotServe) {
  SANTA_REQUIRE_GPU();
  expect_rejects_rows_record_and_d64(SamplingKind::flash_exact, 64, false);
}

}  // namespace
}  // namespace santa::gpu::testing
