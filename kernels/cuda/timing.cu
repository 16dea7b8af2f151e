// Cold-L2 event timing (PROTOCOLS.md P1) and the bandwidth ceilings (streaming 16-byte reads, D2D copy).
#include <cuda_runtime.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/device.hpp"
#include "kernels/timing.hpp"

namespace santa::gpu {
namespace {

// RAII pair of events.
struct EventPair {
  cudaEvent_t start = nullptr, stop = nullptr;
  EventPair() {
    SANTA_CUDA(cudaEventCreate(&start));
    SANTA_CUDA(cudaEventCreate(&stop));
  }
  ~EventPair() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
  double elapsed_us() const {
    float ms = 0.f;
    SANTA_CUDA(cudaEventElapsedTime(&ms, start, stop));
    return 1e3 * static_cast<double>(ms);
  }
};

// Reads every 16-byte word once; the xor is stored only if it hits an impossible value, so the loads stay.
__global__ void stream_read_kernel(const uint4* __restrict__ src, std::size_t words, uint32_t* sink) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  uint32_t x = 0;
  std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  for (; i + 3 * stride < words; i += 4 * stride) {
    uint4 a, b, c, d;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(a.x), "=r"(a.y), "=r"(a.z), "=r"(a.w) : "l"(src + i));
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(b.x), "=r"(b.y), "=r"(b.z), "=r"(b.w) : "l"(src + i + stride));
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(c.x), "=r"(c.y), "=r"(c.z), "=r"(c.w) : "l"(src + i + 2 * stride));
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(d.x), "=r"(d.y), "=r"(d.z), "=r"(d.w) : "l"(src + i + 3 * stride));
    x ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
  }
  for (; i < words; i += stride) {
    const uint4 a = src[i];
    x ^= a.x ^ a.y ^ a.z ^ a.w;
  }
  if (x == 0x9E3779B9u) *sink = x;
}

}  // namespace

L2Flusher::L2Flusher(std::size_t bytes) {
  if (bytes == 0) {
    const DeviceInfo info = device_info();
    bytes = std::max<std::size_t>(2 * static_cast<std::size_t>(info.l2_bytes) + (std::size_t{1} << 20),
                                  std::size_t{512} << 20);
  }
  bytes_ = bytes;
  SANTA_CUDA(cudaMalloc(&ptr_, bytes_));
}

L2Flusher::~L2Flusher() {
  if (ptr_ != nullptr) cudaFree(ptr_);
}

void L2Flusher::flush(void* stream) {
  ++value_;  // a different value each time, so nothing can treat the write as a no-op
  SANTA_CUDA(cudaMemsetAsync(ptr_, value_, bytes_, static_cast<cudaStream_t>(stream)));
}

double time_once_us(const std::function<void()>& launch, L2Flusher& flusher, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  EventPair ev;
  flusher.flush(stream);
  SANTA_CUDA(cudaEventRecord(ev.start, s));
  launch();
  SANTA_CUDA(cudaEventRecord(ev.stop, s));
  SANTA_CUDA(cudaEventSynchronize(ev.stop));
  SANTA_CUDA(cudaGetLastError());
  return ev.elapsed_us();
}

std::vector<double> time_launch_us(const std::function<void()>& launch, const TimingOptions& options) {
  if (options.warmup < 0 || options.iterations < 1) {
    throw std::invalid_argument("time_launch_us: warmup = " + std::to_string(options.warmup) + ", iterations = " +
                                std::to_string(options.iterations) + "; need warmup >= 0 and iterations >= 1");
  }
  std::unique_ptr<L2Flusher> own;
  L2Flusher* flusher = options.flusher;
  if (flusher == nullptr) {
    own = std::make_unique<L2Flusher>();
    flusher = own.get();
  }
  const auto s = static_cast<cudaStream_t>(options.stream);
  for (int i = 0; i < options.warmup; ++i) {
    flusher->flush(options.stream);
    launch();
  }
  SANTA_CUDA(cudaStreamSynchronize(s));
  std::vector<EventPair> events(static_cast<std::size_t>(options.iterations));
  for (auto& ev : events) {
    flusher->flush(options.stream);  // outside the timed region
    SANTA_CUDA(cudaEventRecord(ev.start, s));
    launch();
    SANTA_CUDA(cudaEventRecord(ev.stop, s));
  }
  SANTA_CUDA(cudaStreamSynchronize(s));
  SANTA_CUDA(cudaGetLastError());
  std::vector<double> us;
  us.reserve(events.size());
  for (const auto& ev : events) us.push_back(ev.elapsed_us());
  return us;
}

BandwidthCeiling measure_bandwidth(std::size_t bytes, int iterations) {
  if (bytes < (std::size_t{1} << 20) || iterations < 1) {
    throw std::invalid_argument("measure_bandwidth: bytes = " + std::to_string(bytes) + ", iterations = " +
                                std::to_string(iterations) + "; need bytes >= 1 MiB and iterations >= 1");
  }
  bytes &= ~std::size_t{15};
  const DeviceInfo info = device_info();
  void *src = nullptr, *dst = nullptr, *sink = nullptr;
  SANTA_CUDA(cudaMalloc(&src, bytes));
  SANTA_CUDA(cudaMalloc(&dst, bytes));
  SANTA_CUDA(cudaMalloc(&sink, 16));
  BandwidthCeiling out;
  out.bytes = bytes;
  try {
    SANTA_CUDA(cudaMemset(src, 1, bytes));
    L2Flusher flusher;
    TimingOptions opt;
    opt.warmup = 3;
    opt.iterations = iterations;
    opt.flusher = &flusher;
    const int blocks = info.sm_count * 8;
    out.read_us = time_launch_us(
        [&] {
          stream_read_kernel<<<blocks, 256>>>(static_cast<const uint4*>(src), bytes / 16, static_cast<uint32_t*>(sink));
        },
        opt);
    out.copy_us = time_launch_us([&] { SANTA_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice)); }, opt);
  } catch (...) {
    cudaFree(src);
    cudaFree(dst);
    cudaFree(sink);
    throw;
  }
  cudaFree(src);
  cudaFree(dst);
  cudaFree(sink);
  out.read_tbps = static_cast<double>(bytes) / (median(out.read_us) * 1e-6) / 1e12;
  out.copy_tbps = 2.0 * static_cast<double>(bytes) / (median(out.copy_us) * 1e-6) / 1e12;
  return out;
}

}  // namespace santa::gpu
