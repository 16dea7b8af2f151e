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
#include <cstdlib>
#include <string>
#include <vector>

#include "kernel_test_support.hpp"

namespace santa::gpu::testing {
namespace {

struct StreamCase {
  Shape s;
  HostInputs in;
  DeviceInputs d;
  DecodeWorkspace ws;
  StreamCase(const Shape& shape, uint64_t seed, std::vector<int32_t> lens, int page = 0)
      : s(shape), in(random_inputs(s, seed, std::move(lens))), d(upload(in, page > 0, page > 0 ? page : 16)),
        ws(limits_for(s)) {}
};

struct RunResult {
  std::vector<uint16_t> out;
  std::vector<int32_t> samples, counts;
};

RunResult run(StreamCase& c, SamplingKind kind, int variant, int64_t S, int tile, int chunks, uint32_t step = 3) {
  const Shape& s = c.s;
  DeviceBuffer samples(sizeof(int32_t) * s.batch * s.heads);
  DeviceBuffer counts(sizeof(int32_t) * s.batch * s.heads * s.max_len);
  counts.fill_bytes(0xFF);  // every key's count must be written (zeros included)
  c.d.out.fill_bytes(0xFF);
  SamplingRecord rec;
  rec.samples_drawn = samples.as<int32_t>();
  rec.counts = counts.as<int32_t>();
  LaunchOptions lo;
  lo.variant = variant;
  lo.num_chunks = chunks;
  run_sampling_kernel(kind, c.d.problem, c.ws, S, tile, SamplingRng{91, step, nullptr}, rec, lo);
  RunResult r;
  r.out = c.d.out.download_vector<uint16_t>(static_cast<size_t>(s.batch) * s.heads * s.dim);
  r.samples = samples.download_vector<int32_t>(static_cast<size_t>(s.batch) * s.heads);
  r.counts = counts.download_vector<int32_t>(static_cast<size_t>(s.batch) * s.heads * s.max_len);
  return r;
}

// out against the default kernel's out, with the tolerance of the header comment.
void expect_output_near(const StreamCase& c, const RunResult& r, const RunResult& base, int tile,
                        const std::string& what) {
  const Shape& s = c.s;
  const double rnd = std::ldexp(1.0, s.dtype == DType::bf16 ? -8 : -11);
  int bad = 0;
  for (int b = 0; b < s.batch; ++b) {
    const int64_t T = (c.in.lens[b] + tile - 1) / tile;
    for (int h = 0; h < s.heads; ++h) {
      const int kvh = h / s.group();
      const size_t crow = (static_cast<size_t>(b) * s.heads + h) * s.max_len;
      const int64_t drawn = r.samples[static_cast<size_t>(b) * s.heads + h];
      for (int j = 0; j < s.dim; ++j) {
        double vmax = 0.0;
        for (int64_t i = 0; i < c.in.lens[b]; ++i) {
          if (r.counts[crow + i] != 0) {
            vmax = std::max(vmax, std::abs(static_cast<double>(half_bits_to_float(c.in.v[c.in.kv_index(b, i, kvh, j)], s.dtype))));
          }
        }
        const size_t o = (static_cast<size_t>(b) * s.heads + h) * s.dim + j;
        const double got = half_bits_to_float(r.out[o], s.dtype), ref = half_bits_to_float(base.out[o], s.dtype);
        const double e = static_cast<double>(drawn + 3 * T + 8) * std::ldexp(vmax, -22);
        const double tol = rnd * (std::abs(got) + std::abs(ref)) + std::ldexp(1.0, -24) + 2 * e;
        if (!(std::abs(got - ref) <= tol) && bad++ < 5) {
          ADD_FAILURE() << what << ": b " << b << " h " << h << " j " << j << " got " << got << " default " << ref
                        << " tol " << tol;
        }
      }
    }
  }
  EXPECT_EQ(bad, 0) << what;
}

void expect_like_default(StreamCase& c, SamplingKind kind, int64_t S, int tile, int chunks, const std::string& what) {
  RunResult base, r;
  try {  // a launch error names the case
    base = run(c, kind, 0, S, tile, 0);
    r = run(c, kind, 64, S, tile, chunks);
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": " << e.what();
    return;
  }
  EXPECT_EQ(r.counts, base.counts) << what;
  EXPECT_EQ(r.samples, base.samples) << what;
  expect_output_near(c, r, base, tile, what);
}

// The Llama group (G = 4, d = 128, bf16) on a contiguous cache and on pages of 16 (the tile copies' page fast path)
// and 4 (their per-copy path); sequence ends inside tiles; tiles of 32-512 keys (super tiles of 128 and of the
// tile); both budget rules; S below and above the tile count (at tile 512 and S = 2048 a head samples 26-59 rows per
// super tile: the gather's synchronous rounds after its first 8 rows).
TEST(FlashStream, SameCountsAsDefault) {
  SANTA_REQUIRE_GPU();
  const bool subset = std::getenv("SANTA_SANITIZER_SUBSET") != nullptr;
  Shape s;  // H = 8, H_kv = 2, d = 128, bf16
  s.batch = 2;
  s.max_len = 40000;
  const std::vector<int> pages = subset ? std::vector<int>{0, 4} : std::vector<int>{0, 16, 4};
  for (int page : pages) {
    StreamCase c(s, 31, {40000, 17777}, page);
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
  }
}

// Few tiles (T = 8 and 10 at tile 512), where the tolerance is tight; group sizes 1 and 8 (two heads per warp) and
// fp16.
TEST(FlashStream, FewTilesOtherGroupsAndFp16) {
  SANTA_REQUIRE_GPU();
  for (int which = 0; which < 4; ++which) {
    Shape s;
    s.batch = 3;
    s.max_len = 5000;
    if (which == 1) s.heads = 4, s.kv_heads = 4;   // G = 1
    if (which == 2) s.heads = 16, s.kv_heads = 2;  // G = 8
    if (which == 3) s.dtype = DType::fp16;
    StreamCase c(s, 40 + which, {5000, 4097, 129});
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
  const auto expect_error = [](auto&& call, const std::string& needle) {
    try {
      call();
      ADD_FAILURE() << "accepted; expected an error naming " << needle;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("variant 64"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  LaunchOptions lo;
  lo.variant = 64;
  Shape s;
  s.max_len = 2000;
  StreamCase c(s, 9, {2000});
  DeviceBuffer rows(sizeof(int32_t) * s.kv_heads);
  SamplingRecord rec;
  rec.distinct_rows = rows.as<int32_t>();
  expect_error([&] { run_sampling_kernel(SamplingKind::flash_exact, c.d.problem, c.ws, 64, 256, {}, rec, lo); },
               "distinct_rows");
  Shape s64 = s;
  s64.dim = 64;
  StreamCase c64(s64, 9, {2000});
  expect_error([&] { run_sampling_kernel(SamplingKind::flash_exact, c64.d.problem, c64.ws, 64, 256, {}, {}, lo); },
               "head_dim = 128");
}

}  // namespace
}  // namespace santa::gpu::testing
