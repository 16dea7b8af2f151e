// The latency runner on a real GPU (skipped without one): every backend of the table runs on small inputs,
// passes its output check and gives a full row; the needles made on the GPU hold their mass.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

#include "harness/measure/gpu_workload.hpp"
#include "harness/measure/latency_backends.hpp"
#include "harness/measure/latency_reference.hpp"
#include "harness/measure/runner.hpp"
#include "harness/spec/spec.hpp"
#include "kernels/device.hpp"
#include "kernels/host_half.hpp"

namespace santa::harness::measure {
namespace {

const Value* find(const Row& row, const std::string& name) {
  const Value* v = row.find(name);
  if (!v) ADD_FAILURE() << "row has no " << name;
  return v;
}
double real(const Row& row, const std::string& name) {
  const Value* v = find(row, name);
  return v && std::holds_alternative<double>(*v) ? std::get<double>(*v) : std::nan("");
}

TEST(LatencyGpu, EveryBackendRunsChecked) {
  if (!gpu::gpu_available()) GTEST_SKIP() << "no GPU here";
  const auto s = spec::parse_spec(R"(name: g
kind: latency
seed: 3
parameters:
  batch: 2
  n_k: 4096
  warmup: 2
  iters: 5
  needle_count: 8
  needle_mass: 0.8
sweep:
  grid:
    distribution: [gaussian, needles]
  zip:
    backend: [dense, flashinfer, prop, prop_reference, flash, prop_two_pass]
    S: [128, 128, 256, 256, 1024, 256]
)",
                                  "g.yaml");
  auto runner = make_runner("latency");
  ASSERT_EQ(runner->unavailable_reason(), "");
  const auto points = s.points();
  runner->plan(points);
  workloads::WorkloadCache cache;
  std::atomic<bool> cancel{false};
  RunContext ctx{cache, cancel, s.seed, s.replicates};
  const auto attrs = runner->begin_run(ctx);
  double peak = 0.0;
  for (const auto& [name, value] : attrs) {
    if (name == "peak_read_tbps") peak = std::get<double>(value);
  }
  EXPECT_GT(peak, 0.1);
  for (const auto& p : points) {
    SCOPED_TRACE(p.describe());
    if (p.text("backend") == "flashinfer" && !flashinfer_in_build()) continue;
    runner->check(p, ctx);
    const Row row = runner->run(p, ctx);
    ASSERT_EQ(row.arrays.empty(), false);
    EXPECT_EQ(row.arrays[0].name, "samples_us");
    EXPECT_EQ(row.arrays[0].data.size(), 5u);
    EXPECT_GT(real(row, "median_us"), 0.0);
    EXPECT_LE(real(row, "ci95_lo_us"), real(row, "mean_us"));
    EXPECT_GT(real(row, "bytes_k"), 0.0);
    EXPECT_NEAR(real(row, "fraction_of_peak"), real(row, "tbps") / peak, 1e-12);
    const auto* backend = find_latency_backend(p.text("backend"));
    if (backend->family == BackendFamily::sampled) {
      EXPECT_LE(std::abs(real(row, "check_z")), 6.0);
      EXPECT_GT(real(row, "samples_drawn"), 0.0);
      EXPECT_LT(real(row, "distinct_v_fraction"), 1.0);
    } else {
      EXPECT_LE(real(row, "max_rel_error"), 4.0 / 256);
      EXPECT_DOUBLE_EQ(real(row, "bytes_v"), real(row, "bytes_k"));
    }
    if (p.text("backend") == "prop" || p.text("backend") == "prop_two_pass") {
      EXPECT_DOUBLE_EQ(real(row, "samples_per_head"), 256.0);  // exactly S
    }
    if (p.text("backend") == "flashinfer") {
      EXPECT_FALSE(std::isnan(real(row, "fi_cuda_core_median_us")));
    }
  }
}

// The GPU draws the background keys, the host plants the needles: every head of the last sequence gives its
// 8 needles 0.8 of its attention within 5 SE of the expected-background approximation + rounding (derivation
// in latency_inputs_test.cpp, NeedlesHoldTheirMass).
TEST(LatencyGpu, NeedlesOnTheGpuHoldTheirMass) {
  if (!gpu::gpu_available()) GTEST_SKIP() << "no GPU here";
  const auto s = spec::parse_spec("name: n\nkind: latency\nparameters:\n  batch: 2\n  n_k: 4096\n"
                                  "  distribution: needles\n  needle_count: 8\n  needle_mass: 0.8\n",
                                  "n.yaml");
  const GpuInputs in(latency_inputs_from_point(s.point(0), s.seed));
  const auto& sh = in.spec().shape;
  std::vector<uint16_t> k, v;
  in.download_sequence(1, k, v);
  const auto& q = in.queries();
  const std::vector<uint16_t> q1(q.begin() + sh.H * sh.d, q.begin() + 2 * sh.H * sh.d);
  const ReferenceSequence ref = build_reference(1, q1, k, v, sh.n_k, sh.H, sh.H_kv, sh.d, in.spec().dtype,
                                                in.spec().scale());
  for (int64_t h = 0; h < sh.H; ++h) {
    double mass = 0.0;
    for (const auto& n : in.needles()) {
      if (n.b == 1 && n.kv_head == h / in.spec().group()) mass += ref.p[static_cast<std::size_t>(h)][n.pos];
    }
    double q2 = 0.0;
    for (int64_t j = 0; j < sh.d; ++j) {
      const double x = gpu::bf16_to_float(q1[static_cast<std::size_t>(h * sh.d + j)]);
      q2 += x * x;
    }
    const double se = 0.8 * 0.2 * std::sqrt(std::expm1(q2 / double(sh.d)) / double(sh.n_k - 8));
    EXPECT_NEAR(mass, 0.8, 5 * se + 0.01) << "head " << h;
  }
}

}  // namespace
}  // namespace santa::harness::measure
