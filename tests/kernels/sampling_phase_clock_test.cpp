// SamplingRecord::phase_clock (diagnostics): every CTA of a sampling call leaves one record whose phase marks
// are ordered in time, whose SM id is a real SM, and exactly one CTA per (sequence, KV head) records the merge;
// recording changes no output bit. Llama-like shape, random inputs, prop and flash, two splits.
#include <gtest/gtest.h>

#include "kernel_test_support.hpp"

namespace santa::gpu::testing {
namespace {

TEST(SamplingPhaseClock, RecordsOrderedPhasesAndChangesNoOutput) {
  SANTA_REQUIRE_GPU();
  LlamaCase c(2, 8192, 23, {8192, 5000});
  auto& [s, in, d, ws] = c;
  const int sm_count = device_info().sm_count;
  const size_t out_elems = static_cast<size_t>(s.batch) * s.heads * s.dim;
  for (SamplingKind kind : {SamplingKind::prop_global, SamplingKind::flash_exact}) {
    const int64_t S = is_flash(kind) ? 2048 : 128;
    const KernelFamily family = is_flash(kind) ? KernelFamily::flash : KernelFamily::prop;
    for (int chunks : {0, 4}) {
      LaunchOptions lo;
      lo.num_chunks = chunks;
      const std::string what = std::string(name(kind)) + " chunks " + std::to_string(chunks);
      run_sampling_kernel(kind, d.problem, ws, S, 256, SamplingRng{5, 1, nullptr}, {}, lo);
      const auto plain = d.out.download_vector<uint16_t>(out_elems);

      const int C = split_info(family, d.problem, 256, ws, lo).num_chunks;
      const int64_t ctas = static_cast<int64_t>(C) * s.kv_heads * s.batch;
      DeviceBuffer clocks(sizeof(int64_t) * ctas * kPhaseClockSlots);
      clocks.fill_bytes(0);
      SamplingRecord rec;
      rec.phase_clock = clocks.as<int64_t>();
      d.out.fill_bytes(0xFF);
      run_sampling_kernel(kind, d.problem, ws, S, 256, SamplingRng{5, 1, nullptr}, rec, lo);
      EXPECT_EQ(d.out.download_vector<uint16_t>(out_elems), plain) << what << ": recording changed the output";

      const auto r = clocks.download_vector<int64_t>(static_cast<size_t>(ctas * kPhaseClockSlots));
      std::vector<int> merged(static_cast<size_t>(s.batch) * s.kv_heads, 0);
      for (int64_t c = 0; c < ctas; ++c) {
        const int64_t* x = r.data() + c * kPhaseClockSlots;
        const std::string cta = what + " CTA " + std::to_string(c);
        // Every phase of a full call ran; the merge mark only where the CTA merged.
        for (int k : {kPhaseStart, kPhaseKeys, kPhaseStats, kPhaseBudgets,
                      kPhaseCounts, kPhaseCompact, kPhaseGather, kPhaseEnd}) {
          EXPECT_NE(x[k], 0) << cta << " phase " << k;
        }
        int64_t prev = x[kPhaseStart];
        for (int k = kPhaseKeys; k <= kPhaseEnd; ++k) {
          if (x[k] == 0) continue;
          EXPECT_GE(x[k], prev) << cta << " phase " << k << " ends before the one before it";
          prev = x[k];
        }
        EXPECT_GE(x[kPhaseSm], 0) << cta;
        EXPECT_LT(x[kPhaseSm], sm_count) << cta;
        EXPECT_GT(x[kPhaseGlobalStart], 0) << cta;
        EXPECT_GE(x[kPhaseGlobalEnd], x[kPhaseGlobalStart]) << cta;
        // Logical CTA ids: chunks of one (sequence, KV head) are consecutive (the default CTA order).
        if (x[kPhaseMerged] != 0) ++merged[static_cast<size_t>(c / C)];
      }
      for (size_t g = 0; g < merged.size(); ++g) EXPECT_EQ(merged[g], 1) << what << " group " << g;
    }
  }
}

}  // namespace
}  // namespace santa::gpu::testing
