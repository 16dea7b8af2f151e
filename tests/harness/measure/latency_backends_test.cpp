// The latency backends' table: complete entries, the same names as the schema's `backend` choices, and the
// reasons a build or a shape cannot run a point (given before anything touches a GPU).
#include <gtest/gtest.h>

#include "harness/measure/latency_backends.hpp"
#include "harness/spec/schema.hpp"
#include "harness/spec/spec.hpp"

namespace santa::harness::measure {
namespace {

Point point_with(const std::string& params) {
  const auto s = spec::parse_spec("name: t\nkind: latency\nparameters:\n" + params, "t.yaml");
  return s.point(0);
}

std::optional<PointError> why_not(const std::string& params) {
  const Point p = point_with(params);
  return find_latency_backend(p.text("backend"))->why_not(p, latency_inputs_from_point(p, 0));
}

TEST(LatencyBackends, TableNamesTheSchemasBackends) {
  const spec::KindSchema* kind = spec::find_kind("latency");
  ASSERT_NE(kind, nullptr);
  EXPECT_EQ(kind->find("backend")->choices, latency_backend_names());
}

TEST(LatencyBackends, EntriesAreComplete) {
  for (const auto& b : latency_backends()) {
    SCOPED_TRACE(b.name);
    EXPECT_FALSE(b.description.empty());
    EXPECT_NE(b.why_not, nullptr);
    EXPECT_EQ(b.run_by_harness, b.prepare != nullptr);
    EXPECT_EQ(b.family == BackendFamily::sampled, b.scheme.has_value());
    EXPECT_EQ(b.run_by_harness, b.name.rfind("torch_", 0) != 0);  // torch rows come from the script
  }
  EXPECT_EQ(find_latency_backend("prop")->scheme, Scheme::global_systematic);
  EXPECT_EQ(find_latency_backend("prop_reference")->scheme, Scheme::prop_reference);
  EXPECT_EQ(find_latency_backend("prop_two_pass")->scheme, Scheme::global_systematic);
  EXPECT_EQ(find_latency_backend("flash")->scheme, Scheme::flash);
  EXPECT_EQ(find_latency_backend("nope"), nullptr);
  EXPECT_EQ(flashinfer_path_names(), (std::vector<std::string>{"cuda_core", "cuda_core_single", "tensor_core"}));
}

TEST(LatencyBackends, PaperShapeRunsEverywhere) {
  for (const char* b : {"dense", "flash", "prop", "prop_reference", "prop_two_pass"}) {
    EXPECT_FALSE(why_not(std::string("  backend: ") + b + "\n  n_k: 131072\n  batch: 16\n")) << b;
  }
  const auto fi = why_not("  backend: flashinfer\n");
  if (flashinfer_in_build()) {
    EXPECT_FALSE(fi) << fi->what();
  } else {
    ASSERT_TRUE(fi);
    EXPECT_EQ(fi->param, "backend");
    EXPECT_NE(std::string(fi->what()).find("scripts/fetch_flashinfer.sh"), std::string::npos);
  }
}

TEST(LatencyBackends, UnsupportedShapesNameTheParameter) {
  auto e = why_not("  backend: dense\n  H: 40\n  H_kv: 8\n");  // group size 5
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "H_kv");
  e = why_not("  backend: prop\n  d: 96\n");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "d");
  e = why_not("  backend: flash\n  tile: 48\n");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "tile");
  EXPECT_FALSE(why_not("  backend: dense\n  tile: 48\n"));  // dense has no tiles
  e = why_not("  backend: prop_two_pass\n  d: 64\n");  // the two-pass kernel serves d = 128 only
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "d");
  EXPECT_NE(std::string(e->what()).find("use backend prop"), std::string::npos) << e->what();
  e = why_not("  backend: prop\n  S: 33554432\n");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "S");
  if (flashinfer_in_build()) {
    e = why_not("  backend: flashinfer\n  d: 64\n");  // FlashInfer is instantiated for d = 128 only
    ASSERT_TRUE(e);
    EXPECT_EQ(e->param, "d");
    EXPECT_FALSE(why_not("  backend: flashinfer\n  H: 40\n  H_kv: 8\n"));  // the tensor-core path takes group 5
  }
}

TEST(LatencyBackends, TorchRowsComeFromTheScript) {
  for (const char* b : {"torch_cudnn", "torch_flash"}) {
    const auto e = why_not(std::string("  backend: ") + b + "\n");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->param, "backend");
    EXPECT_NE(std::string(e->what()).find("scripts/torch_sdpa_baseline.py"), std::string::npos);
  }
}

TEST(LatencyBackends, WorkspaceCoversTheLongestSequence) {
  LatencyInputsSpec in;
  in.shape = DecodeShape{16, 131072, 32, 8, 128, 2, false, 16};
  EXPECT_EQ(smallest_min_tile(in), 32);  // 4096 tiles of 32 keys
  in.shape.n_k = 262144;
  EXPECT_EQ(smallest_min_tile(in), 64);
  const auto l = workspace_limits(in, 64);
  EXPECT_EQ(l.max_batch, 16);
  EXPECT_EQ(l.num_heads, 32);
  EXPECT_EQ(l.num_kv_heads, 8);
  EXPECT_EQ(l.head_dim, 128);
  EXPECT_EQ(l.max_len, 262144);
  EXPECT_EQ(l.min_tile, 64);
  EXPECT_FALSE(l.score_prefix);  // the prefix buffer only for a backend that needs it
  EXPECT_TRUE(workspace_limits(in, 64, true).score_prefix);
  EXPECT_NO_THROW(gpu::check_limits(l));
  for (const LatencyBackend& b : latency_backends()) EXPECT_EQ(b.needs_score_prefix, b.name == "prop_two_pass") << b.name;
}

}  // namespace
}  // namespace santa::harness::measure
