// GPU timing per PROTOCOLS.md P1 and the memory-bandwidth ceilings of the GPU, in plain C++.
// Used by bench/kernels and by the harness's latency runner.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace santa::gpu {

// A device buffer larger than twice the L2 cache, overwritten to evict K/V from L2 before a timed call.
class L2Flusher {
 public:
  // bytes = 0: max(2 * L2 + 1 MiB, 512 MiB) (the paper used 512 MB).
  explicit L2Flusher(std::size_t bytes = 0);
  ~L2Flusher();
  L2Flusher(const L2Flusher&) = delete;
  L2Flusher& operator=(const L2Flusher&) = delete;
  void flush(void* stream = nullptr);  // enqueues a full overwrite on `stream`
  std::size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
  unsigned char value_ = 0;
};

struct TimingOptions {
  int warmup = 10;       // untimed calls first (each after a flush, like the timed ones)
  int iterations = 40;   // timed calls
  void* stream = nullptr;
  L2Flusher* flusher = nullptr;  // nullptr: a default-sized flusher is made for this measurement
};

// Times `launch` (which enqueues one whole backend call on options.stream): before every call the flusher
// overwrites its buffer outside the timed region; each timed call is bracketed by CUDA events.
// Returns every sample in microseconds, in call order. Throws std::runtime_error on CUDA errors.
std::vector<double> time_launch_us(const std::function<void()>& launch, const TimingOptions& options = {});

// One flush + one event-timed call (for loops that drive their own iterations, e.g. Google Benchmark).
double time_once_us(const std::function<void()>& launch, L2Flusher& flusher, void* stream = nullptr);

double median(std::vector<double> v);
double mean(const std::vector<double>& v);

// The GPU's measured memory ceilings: a streaming kernel of 16-byte loads over `bytes`, the same bytes read
// by the bulk copy engine (sm_90+), and a
// device-to-device copy of `bytes` (counted as bytes read + bytes written). Medians of `iterations`.
struct BandwidthCeiling {
  std::size_t bytes = 0;
  double read_tbps = 0.0;
  double bulk_read_tbps = 0.0;  // the bulk copy engine (sm_90+; 0 where there is none)
  double copy_tbps = 0.0;
  std::vector<double> read_us, bulk_read_us, copy_us;
  double ceiling_tbps() const { return read_tbps > bulk_read_tbps ? read_tbps : bulk_read_tbps; }
};
BandwidthCeiling measure_bandwidth(std::size_t bytes = std::size_t{1} << 31, int iterations = 20);

}  // namespace santa::gpu
