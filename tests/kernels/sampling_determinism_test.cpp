// Same seed + step => bitwise identical outputs (no float atomics in the result path); a new step draws new
// samples; the step can come from device memory (step_ptr), also inside a replayed CUDA graph; a paged cache
// gives the same bits as the contiguous one; one workspace serves calls of different batch sizes.
#include <gtest/gtest.h>

#if defined(SANTA_HAVE_CUDA_KERNELS)
#include <cuda_runtime_api.h>
#endif

#include "kernel_test_support.hpp"

namespace santa::gpu::testing {
namespace {

using Run = void (*)(DeviceInputs&, DecodeWorkspace&, const SamplingRng&);
void run_prop(DeviceInputs& d, DecodeWorkspace& ws, const SamplingRng& rng) {
  prop_decode(d.problem, PropParams{}, rng, ws);
}
void run_flash(DeviceInputs& d, DecodeWorkspace& ws, const SamplingRng& rng) {
  flash_decode(d.problem, FlashParams{}, rng, ws);
}

void check_deterministic(Run run) {
  SANTA_REQUIRE_GPU();
  const Shape s = llama_shape(2, 8192);
  const HostInputs in = random_inputs(s, 11, {8192, 6001});
  DeviceInputs a = upload(in), pg = upload(in, true, 16);
  DecodeWorkspace ws(limits_for(s));
  const size_t n = in.q.size();
  run(a, ws, SamplingRng{5, 7, nullptr});
  const auto first = a.out.download_vector<uint16_t>(n);
  for (int rep = 0; rep < 3; ++rep) {
    a.out.fill_bytes(0xFF);
    run(a, ws, SamplingRng{5, 7, nullptr});
    EXPECT_EQ(a.out.download_vector<uint16_t>(n), first) << "repeat " << rep << " differs bitwise";
  }
  run(pg, ws, SamplingRng{5, 7, nullptr});
  EXPECT_EQ(pg.out.download_vector<uint16_t>(n), first) << "paged differs from contiguous";
  run(a, ws, SamplingRng{5, 8, nullptr});
  EXPECT_NE(a.out.download_vector<uint16_t>(n), first) << "a new step must draw new samples";
  const DeviceBuffer step = to_device(std::vector<uint32_t>{7u});
  a.out.fill_bytes(0xFF);
  run(a, ws, SamplingRng{5, 0, step.as<uint32_t>()});
  EXPECT_EQ(a.out.download_vector<uint16_t>(n), first) << "step read from device memory";
}

TEST(SamplingDeterminism, PropBitwiseReproducible) { check_deterministic(run_prop); }
TEST(SamplingDeterminism, FlashBitwiseReproducible) { check_deterministic(run_flash); }

TEST(SamplingDeterminism, OneWorkspaceServesDifferentBatches) {
  SANTA_REQUIRE_GPU();
  Shape s = llama_shape(2, 8192);
  s.batch = 3;
  const HostInputs big = random_inputs(s, 12);
  Shape s1 = s;
  s1.batch = 1;
  HostInputs small = big;
  small.shape = s1;
  small.q.resize(static_cast<size_t>(s.heads) * s.dim);
  small.k.resize(static_cast<size_t>(s.max_len) * s.kv_heads * s.dim);
  small.v.resize(small.k.size());
  small.lens.resize(1);
  DeviceInputs db = upload(big), ds = upload(small);
  DecodeWorkspace ws(limits_for(s));
  DecodeWorkspace fresh(limits_for(s1));
  std::vector<uint16_t> big_first;
  for (int rep = 0; rep < 2; ++rep) {
    prop_decode(db.problem, PropParams{}, SamplingRng{1, 2, nullptr}, ws);
    if (rep == 0) big_first = db.out.download_vector<uint16_t>(big.q.size());
    dense_decode(db.problem, ws);
    prop_decode(ds.problem, PropParams{}, SamplingRng{1, 2, nullptr}, ws);
  }
  const auto shared = ds.out.download_vector<uint16_t>(small.q.size());
  prop_decode(ds.problem, PropParams{}, SamplingRng{1, 2, nullptr}, fresh);
  EXPECT_EQ(ds.out.download_vector<uint16_t>(small.q.size()), shared) << "batch-1 call: shared vs fresh workspace";
  // And the batch-3 call still gives its own bits after the smaller and the dense calls reused the workspace.
  prop_decode(db.problem, PropParams{}, SamplingRng{1, 2, nullptr}, ws);
  EXPECT_EQ(db.out.download_vector<uint16_t>(big.q.size()), big_first) << "batch-3 call after reuse";
}

#if defined(SANTA_HAVE_CUDA_KERNELS)
TEST(SamplingDeterminism, CudaGraphReplayReadsTheStepFromDeviceMemory) {
  SANTA_REQUIRE_GPU();
  LlamaCase c(2, 8192, 13, {8192, 4000});
  auto& [s, in, d, ws] = c;
  const size_t n = in.q.size();
  std::vector<std::vector<uint16_t>> direct;
  for (uint32_t step : {3u, 4u}) {
    prop_decode(d.problem, PropParams{}, SamplingRng{9, step, nullptr}, ws);
    direct.push_back(d.out.download_vector<uint16_t>(n));
  }
  DeviceBuffer step(sizeof(uint32_t));
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  cudaGraph_t graph;
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  LaunchOptions lo;
  lo.stream = stream;
  prop_decode(d.problem, PropParams{}, SamplingRng{9, 0, step.as<uint32_t>()}, ws, {}, lo);
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  cudaGraphExec_t exec;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  for (int i = 0; i < 2; ++i) {
    const uint32_t value = 3u + static_cast<uint32_t>(i);
    step.upload(&value, sizeof(value));
    d.out.fill_bytes(0xFF);
    ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    EXPECT_EQ(d.out.download_vector<uint16_t>(n), direct[static_cast<size_t>(i)]) << "replay at step " << value;
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}
#endif

}  // namespace
}  // namespace santa::gpu::testing
