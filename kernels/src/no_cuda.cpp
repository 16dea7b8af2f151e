// Built only without CUDA: every GPU entry point validates its arguments like the CUDA build, then throws,
// so the harness links either way and gpu_available() answers false.
#include <stdexcept>

#include "kernels/decode.hpp"
#include "kernels/device.hpp"
#include "kernels/device_buffer.hpp"
#include "kernels/timing.hpp"

namespace santa::gpu {
namespace {
[[noreturn]] void no_cuda() { throw std::runtime_error("santa-bench was built without CUDA"); }
}  // namespace

bool gpu_available() { return false; }
void require_gpu() { no_cuda(); }
double DeviceInfo::nominal_bandwidth_tbps() const {
  return 2.0 * memory_clock_khz * 1e3 * (memory_bus_width_bits / 8.0) / 1e12;
}
DeviceInfo device_info(int) { no_cuda(); }

DeviceBuffer::DeviceBuffer(std::size_t bytes) : size_(bytes) {
  if (bytes > 0) no_cuda();
}
DeviceBuffer::~DeviceBuffer() = default;
DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), size_(o.size_) {
  o.ptr_ = nullptr;
  o.size_ = 0;
}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  ptr_ = o.ptr_;
  size_ = o.size_;
  o.ptr_ = nullptr;
  o.size_ = 0;
  return *this;
}
void DeviceBuffer::upload(const void*, std::size_t, std::size_t) { no_cuda(); }
void DeviceBuffer::download(void*, std::size_t, std::size_t) const { no_cuda(); }
void DeviceBuffer::fill_bytes(unsigned char) { no_cuda(); }
void fill_normal(void*, int64_t, DType, uint64_t, float, void*) { no_cuda(); }

DecodeWorkspace::DecodeWorkspace(const WorkspaceLimits& limits) : limits_(limits) {
  check_limits(limits);
  no_cuda();
}

void dense_decode(const DecodeProblem& problem, DecodeWorkspace& workspace, const LaunchOptions& launch) {
  check_problem(problem);
  check_launch(launch);
  check_fits(problem, workspace.limits());
  no_cuda();
}

void flash_decode(const DecodeProblem& problem, const FlashParams& params, const SamplingRng&,
                  DecodeWorkspace& workspace, const SamplingRecord&, const LaunchOptions& launch) {
  check_problem(problem);
  check_launch(launch);
  check_fits(problem, workspace.limits());
  check_flash_params(params, workspace.limits());
  no_cuda();
}

void prop_decode(const DecodeProblem& problem, const PropParams& params, const SamplingRng&,
                 DecodeWorkspace& workspace, const SamplingRecord&, const LaunchOptions& launch) {
  check_problem(problem);
  check_launch(launch);
  check_fits(problem, workspace.limits());
  check_prop_params(params, workspace.limits());
  no_cuda();
}

L2Flusher::L2Flusher(std::size_t) { no_cuda(); }
L2Flusher::~L2Flusher() = default;
void L2Flusher::flush(void*) { no_cuda(); }
std::vector<double> time_launch_us(const std::function<void()>&, const TimingOptions&) { no_cuda(); }
double time_once_us(const std::function<void()>&, L2Flusher&, void*) { no_cuda(); }
BandwidthCeiling measure_bandwidth(std::size_t, int) { no_cuda(); }

}  // namespace santa::gpu
