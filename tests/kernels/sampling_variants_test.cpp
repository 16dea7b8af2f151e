// The sampling kernel's launch variants (LaunchOptions::variant 1: built for 3 CTAs/SM with a single-buffered
// key stream; 2 / 3: one head / several heads per warp task after the key stream, where the default picks by
// the task count; 4: KV heads first in the CTA order; 16: tile statistics and flash's counts after the key stream
// instead of inside it; 43: key loads without the L2 prefetch-size hint; 58-60: the fused key stream through a
// cp.async ring of 4-8 half steps per warp) compute the same thing as the default kernel in the same
// order: every count, every record and every output bit must match it. Llama-like shape (d = 128,
// bf16, G = 4: the only shape the variants exist for), random inputs, several splits, all four budget rules.
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "kernel_test_support.hpp"

namespace santa::gpu::testing {
namespace {

struct Result {
  std::vector<uint16_t> out;
  std::vector<int32_t> samples, rows, counts;
};

Result run_variant(SamplingKind kind, DeviceInputs& d, DecodeWorkspace& ws, const Shape& s, int64_t S, int chunks,
                   int variant) {
  DeviceBuffer samples(sizeof(int32_t) * s.batch * s.heads), rows(sizeof(int32_t) * s.batch * s.kv_heads);
  DeviceBuffer counts(sizeof(int32_t) * s.batch * s.heads * s.max_len);
  counts.fill_bytes(0);
  d.out.fill_bytes(0xFF);
  SamplingRecord rec{samples.as<int32_t>(), rows.as<int32_t>(), counts.as<int32_t>()};
  LaunchOptions lo;
  lo.num_chunks = chunks;
  lo.variant = variant;
  run_sampling_kernel(kind, d.problem, ws, S, 256, SamplingRng{21, 3, nullptr}, rec, lo);
  Result r;
  r.out = d.out.download_vector<uint16_t>(static_cast<size_t>(s.batch) * s.heads * s.dim);
  r.samples = samples.download_vector<int32_t>(static_cast<size_t>(s.batch) * s.heads);
  r.rows = rows.download_vector<int32_t>(static_cast<size_t>(s.batch) * s.kv_heads);
  r.counts = counts.download_vector<int32_t>(static_cast<size_t>(s.batch) * s.heads * s.max_len);
  return r;
}

// Every count, record and output bit of a variant's call equals the default's.
void expect_same(const Result& r, const Result& base, const std::string& what) {
  EXPECT_EQ(r.counts, base.counts) << what;
  EXPECT_EQ(r.samples, base.samples) << what;
  EXPECT_EQ(r.rows, base.rows) << what;
  EXPECT_EQ(r.out, base.out) << what;
}

TEST(SamplingVariants, BitwiseEqualToDefault) {
  SANTA_REQUIRE_GPU();
  LlamaCase c(3, 12288, 17, {12288, 7001, 3000});
  auto& [s, in, d, ws] = c;
  const SamplingKind kinds[] = {SamplingKind::prop_global, SamplingKind::prop_largest_remainder,
                                SamplingKind::flash_exact, SamplingKind::flash_reference};
  for (SamplingKind kind : kinds) {
    const int64_t S = is_flash(kind) ? 2048 : 128;
    for (int chunks : {0, 3, 6, 24}) {  // 24: few tasks per warp (the one-head build by default)
      const Result base = run_variant(kind, d, ws, s, S, chunks, 0);
      for (int variant : {1, 2, 3, 4, 16, 43}) {
        const Result r = run_variant(kind, d, ws, s, S, chunks, variant);
        expect_same(r, base, std::string(name(kind)) + " chunks " + std::to_string(chunks) + " variant " +
                                 std::to_string(variant));
      }
    }
  }
}

// The key-ring variants read the cache through their own copy paths (one row address per 8-row half step where it
// is contiguous: a contiguous cache, pages of >= 8 rows; per-row addresses with pages of 4 and at a chunk's ragged
// end), so they run on both layouts and both page regimes.
TEST(SamplingVariants, KeyRingBitwiseEqualToDefault) {
  SANTA_REQUIRE_GPU();
  LlamaCase c(3, 12288, 23, {12288, 7001, 3000});
  auto& [s, in, contiguous, ws] = c;
  // Under compute-sanitizer, SANTA_SANITIZER_SUBSET=1 keeps one rule per family, 6 chunks, variant 58 and the
  // contiguous cache and pages of 4 (both copy paths): 8 launches.
  const bool subset = std::getenv("SANTA_SANITIZER_SUBSET") != nullptr;
  const std::vector<SamplingKind> kinds =
      subset ? std::vector<SamplingKind>{SamplingKind::prop_global, SamplingKind::flash_exact}
             : std::vector<SamplingKind>{SamplingKind::prop_global, SamplingKind::prop_largest_remainder,
                                         SamplingKind::flash_exact, SamplingKind::flash_reference};
  const std::vector<int> pages = subset ? std::vector<int>{0, 4} : std::vector<int>{0, 16, 4};
  const std::vector<int> splits = subset ? std::vector<int>{6} : std::vector<int>{0, 3, 6, 24};
  const std::vector<int> variants = subset ? std::vector<int>{58} : std::vector<int>{58, 59, 60};
  for (int page : pages) {
    DeviceInputs paged = page > 0 ? upload(in, true, page) : DeviceInputs{};
    DeviceInputs& d = page > 0 ? paged : contiguous;
    for (SamplingKind kind : kinds) {
      const int64_t S = is_flash(kind) ? 2048 : 128;
      for (int chunks : splits) {  // 24: two tiles per chunk, where the stream is not fused (no ring)
        const Result base = run_variant(kind, d, ws, s, S, chunks, 0);
        for (int variant : variants) {
          if (variant == 60 && chunks == 3) {  // 4096 keys per CTA + a 128 KB ring: past the shared-memory cap
            EXPECT_THROW(run_variant(kind, d, ws, s, S, chunks, variant), std::invalid_argument);
            continue;
          }
          const Result r = run_variant(kind, d, ws, s, S, chunks, variant);
          expect_same(r, base, std::string(name(kind)) + " page " + std::to_string(page) + " chunks " +
                                   std::to_string(chunks) + " variant " + std::to_string(variant));
        }
      }
    }
  }
}

// The key ring exists for d = 128, bf16, G <= 4 only: other shapes get an error naming the variant and what it needs,
// before any launch.
TEST(SamplingVariants, KeyRingRejectsOtherShapes) {
  SANTA_REQUIRE_GPU();
  for (int which = 0; which < 3; ++which) {
    Shape s;  // d = 128, bf16, G = 4
    if (which == 0) s.dim = 64;
    if (which == 1) s.dtype = DType::fp16;
    if (which == 2) s.heads = 8 * s.kv_heads;  // G = 8
    const HostInputs in = random_inputs(s, 5);
    DeviceInputs d = upload(in, false);
    DecodeWorkspace ws(limits_for(s));
    LaunchOptions lo;
    lo.variant = 58;
    for (SamplingKind kind : {SamplingKind::prop_global, SamplingKind::flash_exact}) {
      try {
        run_sampling_kernel(kind, d.problem, ws, 64, 256, SamplingRng{1, 0, nullptr}, {}, lo);
        ADD_FAILURE() << name(kind) << " accepted variant 58 for shape " << which;
      } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("variant 58"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("head_dim = 128, bf16"), std::string::npos) << e.what();
      }
    }
  }
}

}  // namespace
}  // namespace santa::gpu::testing
