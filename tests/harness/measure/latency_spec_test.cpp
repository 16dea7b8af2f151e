// experiments/p1_latency.yaml and the santa command on latency specs: the paper's grid is in it, the torch
// rows fit its columns, validate and --dry-run work here, a spec santa cannot run is refused with a location,
// and without a GPU `santa run` refuses before writing anything.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <tuple>

#include "harness/spec/spec.hpp"
#include "harness/store/journal.hpp"
#include "kernels/device.hpp"
#include "../harness_test_support.hpp"

namespace santa::harness {
namespace {

namespace fs = std::filesystem;
using testing::run_santa;
using testing::TempDir;
using testing::write_text;

const std::string kP1 = (fs::path(__FILE__).parent_path() / "../../../experiments/p1_latency.yaml").lexically_normal();

TEST(LatencySpec, P1HoldsThePapersGridAndItsExtension) {
  const spec::Spec s = spec::load_spec(kP1);
  EXPECT_EQ(s.kind->name, "latency");
  EXPECT_EQ(s.point_count(), 2 * 3 * 6 * 11);
  std::set<std::tuple<std::string, std::string, int64_t, int64_t, int64_t>> have;  // dist, backend, S, batch, n_k
  std::size_t longest_backend = 0;
  for (const auto& p : s.points()) {
    have.insert({p.text("distribution"), p.text("backend"), p.integer("S"), p.integer("batch"), p.integer("n_k")});
    longest_backend = std::max(longest_backend, p.text("backend").size());
    EXPECT_EQ(p.integer("warmup"), 10);  // PROTOCOLS.md P1
    EXPECT_EQ(p.integer("iters"), 40);
    EXPECT_GE(p.real("l2_flush_mb"), 512.0);
    EXPECT_EQ(p.integer("H"), 32);
    EXPECT_EQ(p.integer("H_kv"), 8);
    EXPECT_EQ(p.integer("d"), 128);
    EXPECT_EQ(p.text("dtype"), "bf16");
    EXPECT_EQ(p.text("on_check_failure"), "record");  // one failing backend must not cost the device run
  }
  for (const std::string dist : {"gaussian", "needles"}) {
    for (int64_t batch : {1, 4, 16}) {
      for (int64_t n : {4096, 8192, 16384, 32768, 65536, 131072}) {
        for (int64_t S : {128, 256, 1024}) {
          EXPECT_TRUE(have.count({dist, "prop", S, batch, n})) << dist << " prop S=" << S << " " << batch << " " << n;
          EXPECT_TRUE(have.count({dist, "prop_reference", S, batch, n}));
        }
        for (int64_t S : {256, 1024, 2048}) EXPECT_TRUE(have.count({dist, "flash", S, batch, n}));
        EXPECT_TRUE(have.count({dist, "dense", 128, batch, n}));
        EXPECT_TRUE(have.count({dist, "flashinfer", 128, batch, n}));
      }
    }
  }
  // scripts/torch_sdpa_baseline.py --h5 writes backend = torch_cudnn into this fixed-width text column.
  EXPECT_GE(longest_backend, std::string("torch_cudnn").size());
}

TEST(LatencySpec, ValidateAndDryRunWorkWithoutAGpu) {
  TempDir dir;
  const auto v = run_santa({"validate", kP1}, dir, "validate");
#if defined(SANTA_HAVE_FLASHINFER)
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_NE(v.out.find("396 points"), std::string::npos) << v.out;
  const auto d = run_santa({"run", kP1, "--dry-run", "-o", dir.file("p1.h5")}, dir, "dry");
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_NE(d.out.find("396 of 396 points"), std::string::npos) << d.out;
  EXPECT_FALSE(fs::exists(dir.file("p1.h5")));
#else
  EXPECT_EQ(v.code, 2);  // this build has no FlashInfer: every flashinfer point is refused, with the fix
  EXPECT_NE(v.err.find("scripts/fetch_flashinfer.sh"), std::string::npos) << v.err;
#endif
}

TEST(LatencySpec, RefusesWhatSantaCannotRunWithALocation) {
  TempDir dir;
  write_text(dir.file("t.yaml"), "name: t\nkind: latency\nsweep:\n  grid:\n    backend: [dense, torch_cudnn]\n");
  const auto r = run_santa({"validate", dir.file("t.yaml")}, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("t.yaml:5:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("scripts/torch_sdpa_baseline.py"), std::string::npos) << r.err;

  write_text(dir.file("z.yaml"), "name: z\nkind: latency\nparameters:\n  distribution: zipf\n");
  const auto z = run_santa({"validate", dir.file("z.yaml")}, dir);
  EXPECT_EQ(z.code, 2);
  EXPECT_NE(z.err.find("z.yaml:4:17"), std::string::npos) << z.err;
  EXPECT_NE(z.err.find("allowed: one of: gaussian, needles"), std::string::npos) << z.err;
}

TEST(LatencySpec, RunWithoutGpuRefusesBeforeWriting) {
  if (gpu::gpu_available()) GTEST_SKIP() << "a GPU is here: santa would run the spec";
  TempDir dir;
  write_text(dir.file("l.yaml"), "name: l\nkind: latency\nsweep:\n  grid:\n    n_k: [4096, 8192]\n");
  const auto r = run_santa({"run", dir.file("l.yaml"), "-o", dir.file("l.h5")}, dir);
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find("kind latency needs a GPU"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was run"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.file("l.h5")));
  EXPECT_FALSE(fs::exists(store::journal_path(dir.file("l.h5"))));
}

}  // namespace
}  // namespace santa::harness
