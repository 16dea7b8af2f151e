// Device discovery, buffers, the random fill, and the timing utilities (cold-L2 event timing, bandwidth
// probe). Without a GPU only the "no GPU" behaviour is checked.
#include <gtest/gtest.h>

#include <cmath>

#include "kernel_test_support.hpp"
#include "kernels/timing.hpp"

namespace santa::gpu::testing {
namespace {

TEST(Device, WithoutGpuEveryEntryPointSaysWhy) {
  if (gpu_available()) GTEST_SKIP() << "a GPU is present";
  EXPECT_THROW(device_info(), std::runtime_error);
  EXPECT_THROW(require_gpu(), std::runtime_error);
  EXPECT_THROW(DeviceBuffer(16), std::runtime_error);
}

TEST(Device, InfoIsPlausible) {
  SANTA_REQUIRE_GPU();
  const DeviceInfo info = device_info();
  EXPECT_FALSE(info.name.empty());
  EXPECT_GT(info.sm_count, 0);
  EXPECT_GT(info.l2_bytes, 0);
  EXPECT_GT(info.memory_bus_width_bits, 0);
  EXPECT_GT(info.driver_version, 0);
  EXPECT_GT(info.nominal_bandwidth_tbps(), 0.1);
}

TEST(Device, BufferRoundTripAndBounds) {
  SANTA_REQUIRE_GPU();
  std::vector<int32_t> host(1000);
  for (int i = 0; i < 1000; ++i) host[static_cast<size_t>(i)] = i * 7 - 3;
  DeviceBuffer b = to_device(host);
  EXPECT_EQ(b.download_vector<int32_t>(1000), host);
  EXPECT_THROW(b.upload(host.data(), 4004), std::out_of_range);
  int32_t x = 0;
  EXPECT_THROW(b.download(&x, 4, 3999), std::out_of_range);
  DeviceBuffer moved = std::move(b);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(moved.download_vector<int32_t>(1000), host);
}

// Mean and variance of 2^20 fill_normal draws: SE of the mean 1/1024, of the variance sqrt(2)/1024; 6 SE.
TEST(Device, FillNormalHasUnitMoments) {
  SANTA_REQUIRE_GPU();
  for (DType t : {DType::bf16, DType::fp16}) {
    const int n = 1 << 20;
    DeviceBuffer b(static_cast<size_t>(n) * 2);
    fill_normal(b.data(), n, t, 123);
    const auto bits = b.download_vector<uint16_t>(static_cast<size_t>(n));
    double s = 0.0, s2 = 0.0;
    for (auto h : bits) {
      const double x = half_bits_to_float(h, t);
      s += x;
      s2 += x * x;
    }
    const double mean = s / n, var = s2 / n - mean * mean;
    EXPECT_LT(std::fabs(mean), 6.0 / 1024) << to_string(t);
    EXPECT_LT(std::fabs(var - 1.0), 6.0 * std::sqrt(2.0) / 1024 + 2.0 / 256) << to_string(t);  // + 16-bit rounding
  }
}

TEST(Timing, ReturnsEverySampleAndMeasuresBandwidth) {
  SANTA_REQUIRE_GPU();
  DeviceBuffer a(64 << 20), b(64 << 20);
  L2Flusher flusher;
  EXPECT_GT(flusher.bytes(), 2 * static_cast<size_t>(device_info().l2_bytes));
  TimingOptions opt;
  opt.warmup = 2;
  opt.iterations = 5;
  opt.flusher = &flusher;
  const auto us = time_launch_us([&] { fill_normal(a.data(), 32 << 20, DType::bf16, 1); }, opt);
  ASSERT_EQ(us.size(), 5u);
  for (double t : us) EXPECT_GT(t, 0.0);
  EXPECT_GT(time_once_us([&] { fill_normal(b.data(), 1 << 20, DType::fp16, 2); }, flusher), 0.0);
  const BandwidthCeiling bw = measure_bandwidth(size_t{256} << 20, 3);
  EXPECT_GT(bw.read_tbps, 0.1);
  EXPECT_GT(bw.copy_tbps, 0.1);
  EXPECT_EQ(bw.read_us.size(), 3u);
}

}  // namespace
}  // namespace santa::gpu::testing
