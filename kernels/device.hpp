// Which GPU is there, in plain C++ (no CUDA types): used by `santa info`, stored with every GPU result.
#pragma once

#include <cstdint>
#include <string>

namespace santa::gpu {

// True when the library was built with CUDA and at least one device is usable. Never throws.
bool gpu_available();

// Read-only facts about one device (nothing is ever set).
struct DeviceInfo {
  int device = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  int64_t l2_bytes = 0;
  int64_t total_memory_bytes = 0;
  int64_t shared_memory_per_sm_bytes = 0;
  int sm_clock_khz = 0;           // peak SM clock reported by the driver
  int memory_clock_khz = 0;       // peak memory clock reported by the driver
  int memory_bus_width_bits = 0;
  int driver_version = 0;         // e.g. 13000 for CUDA 13.0 (cudaDriverGetVersion)
  int runtime_version = 0;        // cudaRuntimeGetVersion
  // 2 * memory clock * bus width / 8: the datasheet-style peak, for reference only (measure the real one
  // with measure_bandwidth in kernels/timing.hpp).
  double nominal_bandwidth_tbps() const;
};

// Throws std::runtime_error when no GPU is available (message says why) or the build has no CUDA.
DeviceInfo device_info(int device = 0);

// Throws std::runtime_error("santa-bench was built without CUDA") or a message naming the CUDA error when
// no GPU can be used; tests call gpu_available() first and skip instead.
void require_gpu();

}  // namespace santa::gpu
