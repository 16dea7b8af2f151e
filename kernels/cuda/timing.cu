// Cold-L2 event timing (PROTOCOLS.md P1) and the bandwidth ceilings (streaming 16-byte reads, D2D copy).
#include <cuda_runtime.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/detail/fragments.cuh"
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

// The same bytes read by the bulk copy engine (cp.async.bulk global -> shared, completing on an mbarrier;
// sm_90): one thread per CTA keeps kBulkStages copies of kBulkChunk bytes in flight and no thread issues a
// load. cuDNN's dense decode reads faster than the 16-byte-load probe on an H200 (KERNEL-NOTES.md), so the
// ceiling a kernel is held against is the better of the two.
constexpr int kBulkStages = 4;
constexpr int kBulkChunk = 16384;

__global__ void bulk_read_kernel(const char* __restrict__ src, std::size_t chunks, uint32_t* sink) {
  extern __shared__ __align__(128) unsigned char buf[];
  __shared__ __align__(8) uint64_t bar[kBulkStages];
  if (threadIdx.x != 0) return;  // one thread drives the copy engine
  for (int s = 0; s < kBulkStages; ++s) detail::mbar_init(&bar[s]);
  detail::mbar_init_fence();
  uint32_t x = 0;
  std::size_t k = 0;
  for (std::size_t c = blockIdx.x; c < chunks; c += gridDim.x, ++k) {
    const int s = static_cast<int>(k % kBulkStages);
    if (k >= kBulkStages) {  // the stage's previous copy must have landed before it is overwritten
      detail::mbar_wait(&bar[s], static_cast<uint32_t>((k / kBulkStages - 1) & 1));
      x ^= *reinterpret_cast<const uint32_t*>(buf + s * kBulkChunk + (k * 64) % kBulkChunk);
    }
    detail::mbar_expect_tx(&bar[s], kBulkChunk);
    detail::bulk_copy_g2s(buf + s * kBulkChunk, src + c * kBulkChunk, kBulkChunk, &bar[s]);
  }
  for (std::size_t j = k > kBulkStages ? k - kBulkStages : 0; j < k; ++j) {  // drain the copies in flight
    const int s = static_cast<int>(j % kBulkStages);
    detail::mbar_wait(&bar[s], static_cast<uint32_t>((j / kBulkStages) & 1));
    x ^= *reinterpret_cast<const uint32_t*>(buf + s * kBulkChunk);
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
    if (info.cc_major >= 9) {
      const int smem = kBulkStages * kBulkChunk;
      SANTA_CUDA(cudaFuncSetAttribute(bulk_read_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
      out.bulk_read_us = time_launch_us(
          [&] {
            bulk_read_kernel<<<info.sm_count * 2, 32, smem>>>(static_cast<const char*>(src), bytes / kBulkChunk,
                                                              static_cast<uint32_t*>(sink));
          },
          opt);
    }
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
  if (!out.bulk_read_us.empty()) {
    out.bulk_read_tbps = static_cast<double>(bytes / kBulkChunk * kBulkChunk) / (median(out.bulk_read_us) * 1e-6) / 1e12;
  }
  out.copy_tbps = 2.0 * static_cast<double>(bytes) / (median(out.copy_us) * 1e-6) / 1e12;
  return out;
}

}  // namespace santa::gpu
