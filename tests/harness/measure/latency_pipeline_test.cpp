// The P1 pipeline without a GPU: a result file with the latency kind's real layout (columns, root attributes,
// per-point arrays) as santa writes it, the torch script's --h5 append into it, and scripts/plot_latency.py on
// the result. Checks that the rows the script appends fit the columns, carry the same param_hash the harness
// computes for their parameters, and that the plot script reads both. Times are synthetic: no number here is a
// measurement. Skipped when python3 with h5py and numpy is missing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "harness/cli/result_layout.hpp"
#include "harness/measure/runner.hpp"
#include "harness/spec/spec.hpp"
#include "harness/store/result_file.hpp"
#include "../harness_test_support.hpp"

namespace santa::harness {
namespace {

namespace fs = std::filesystem;
const fs::path kRoot = (fs::path(__FILE__).parent_path() / "../../..").lexically_normal();

bool python_has_h5py() { return std::system("python3 -c 'import h5py, numpy' > /dev/null 2>&1") == 0; }

// A latency file for a small grid, metrics filled with a simple model (dense ~ bytes / 3 TB/s, sampling half).
std::string write_fake_result(const testing::TempDir& dir) {
  const spec::Spec s = spec::parse_spec(R"(name: p
kind: latency
seed: 1
sweep:
  grid:
    batch: [1, 4]
    n_k: [4096, 32768, 131072]
  zip:
    backend: [dense, flashinfer, prop, prop_reference, flash]
    S: [128, 128, 128, 1024, 2048]
)",
                                        "p.yaml");
  auto runner = measure::make_runner("latency");
  const auto layout = cli::make_layout(s, runner->metrics());
  store::ResultData data = cli::make_result_data(s, layout, cli::Provenance{}, cli::RunIdentity{"all", 30, "test"});
  data.set_attribute("peak_read_tbps", 3.0);
  data.set_attribute("gpu_name", std::string("synthetic"));
  for (const Point& p : s.points()) {
    Row row = row_for(p);
    for (const auto& m : runner->metrics()) row.set(m.name, std::nan(""));
    const double bytes = 4.0 * p.integer("batch") * p.integer("n_k") * 8 * 128;
    const bool exact = p.text("backend") == "dense" || p.text("backend") == "flashinfer";
    const double t = (exact ? bytes : 0.5 * bytes) / 3e12 * 1e6 + (exact ? 10.0 : 20.0);
    // One backend whose output failed its check (on_check_failure = record): no time.
    const bool failed = p.text("backend") == "prop" && p.integer("batch") == 4 && p.integer("n_k") == 131072;
    for (const char* m : {"mean_us", "median_us", "ci95_lo_us", "ci95_hi_us", "min_us"})
      row.set(m, failed ? std::nan("") : t);
    row.set("check_failed", failed ? 1.0 : 0.0);
    row.set("bytes_read", bytes);
    row.set("tbps", bytes / t / 1e6);
    row.set("wall_s", 0.1);
    row.arrays.push_back(NamedArray{"samples_us", {3}, {t, t, t}});
    data.upsert(data.conform(row));
  }
  const std::string path = dir.file("p.h5");
  store::write_result_file(path, data);
  return path;
}

TEST(LatencyPipeline, TorchRowsAppendAndPlotReadsThem) {
  if (!python_has_h5py()) GTEST_SKIP() << "python3 with h5py and numpy is not here";
  testing::TempDir dir;
  const std::string h5 = write_fake_result(dir);
  // The script's own append path, with points it would have measured (torch itself is not needed for it).
  testing::write_text(dir.file("append.py"), R"(import os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import torch_sdpa_baseline as tsb
pts = []
for name in ("torch_cudnn", "torch_flash"):
    for b in (1, 4):
        for n in (4096, 32768, 131072):
            t = 4.0 * b * n * 8 * 128 / 3.2e12 * 1e6 + 9.0
            pts.append(tsb.Point(name, b, n, 32, 8, 128, "bf16", "nhd", 10, 40, 512.0, 0, 1e-3, [t, t * 1.01, t * 0.99]))
tsb.append_to_h5(sys.argv[2], pts, {}, "peak_read_tbps")
)");
  const std::string script = (kRoot / "scripts/torch_sdpa_baseline.py").string();
  ASSERT_EQ(std::system(("python3 " + dir.file("append.py") + " " + script + " " + h5 + " > " + dir.file("append.log") +
                         " 2>&1")
                            .c_str()),
            0)
      << testing::read_text(dir.file("append.log"));

  const store::ResultData back = store::read_result_file(h5);
  ASSERT_EQ(back.rows.size(), 30u + 12u);
  const int backend_col = back.layout.find("backend");
  int torch_rows = 0;
  for (const Row& row : back.rows) {
    // The harness's hash of the row's parameters equals the one stored (the script computes it itself).
    std::vector<PointParam> params;
    for (std::size_t c = 0; c < back.layout.columns.size(); ++c) {
      if (back.layout.columns[c].role == store::ColumnRole::parameter)
        params.push_back(PointParam{back.layout.columns[c].name, row.values[c].second, {}});
    }
    EXPECT_EQ(param_hash(params), row.param_hash) << display(row.values[backend_col].second);
    if (std::get<std::string>(row.values[backend_col].second).rfind("torch_", 0) == 0) {
      ++torch_rows;
      EXPECT_NEAR(std::get<double>(*row.find("fraction_of_peak")), std::get<double>(*row.find("tbps")) / 3.0, 1e-12);
      EXPECT_DOUBLE_EQ(std::get<double>(*row.find("timed_calls")), 3.0);
      EXPECT_EQ(std::get<std::string>(*row.find("distribution")), "gaussian");
    }
  }
  EXPECT_EQ(torch_rows, 12);

  const std::string plot = (kRoot / "scripts/plot_latency.py").string();
  ASSERT_EQ(std::system(("python3 " + plot + " " + h5 + " --no-plots --out " + dir.path().string() + " > " +
                         dir.file("plot.log") + " 2>&1")
                            .c_str()),
            0)
      << testing::read_text(dir.file("plot.log"));
  const std::string md = testing::read_text(dir.file("speedup.md"));
  // torch rows are 3.2 TB/s + 9 us against ours at 3 TB/s + 10 us: torch SDPA is the best dense backend.
  EXPECT_NE(md.find("| 131072 | torch SDPA cuDNN |"), std::string::npos) << md;
  EXPECT_NE(md.find("Crossover n_k"), std::string::npos) << md;
  EXPECT_NE(md.find("Against FlashInfer, batch 1, n_k = 32768"), std::string::npos) << md;
  // The failed row has no speedup (the first sampling column of batch 4, n_k 131072) and is named in a warning.
  EXPECT_NE(md.find("| 131072 | torch SDPA cuDNN | 680.1 | - |"), std::string::npos) << md;
  EXPECT_NE(testing::read_text(dir.file("plot.log")).find("prop S=128 gaussian batch 4 n_k 131072: 1 path(s) failed"),
            std::string::npos);
}

}  // namespace
}  // namespace santa::harness
