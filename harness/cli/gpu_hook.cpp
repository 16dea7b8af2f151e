// GPU description for `santa info` and the `gpu` root attribute of every result file, from the kernels'
// device query (kernels/device.hpp: read-only facts, nothing is set).
#include <fmt/format.h>

#include "harness/cli/provenance.hpp"
#include "kernels/device.hpp"

namespace santa::harness::cli {

std::string gpu_description() {
  if (!gpu::gpu_available()) {
    try {
      gpu::require_gpu();  // says why: no CUDA in this build, or the CUDA error
    } catch (const std::exception& e) {
      return fmt::format("none usable ({})", e.what());
    }
    return "none usable";
  }
  try {
    const gpu::DeviceInfo i = gpu::device_info(0);
    return fmt::format("{} (sm_{}{}, {} SMs, L2 {} MiB, {:.1f} GiB, SM clock {} MHz, memory clock {} MHz, {}-bit bus, "
                       "nominal {:.2f} TB/s; driver API {}.{}, runtime {}.{})",
                       i.name, i.cc_major, i.cc_minor, i.sm_count, i.l2_bytes >> 20,
                       double(i.total_memory_bytes) / double(1 << 30), i.sm_clock_khz / 1000,
                       i.memory_clock_khz / 1000, i.memory_bus_width_bits, i.nominal_bandwidth_tbps(),
                       i.driver_version / 1000, i.driver_version % 1000 / 10, i.runtime_version / 1000,
                       i.runtime_version % 1000 / 10);
  } catch (const std::exception& e) {
    return fmt::format("query failed ({})", e.what());
  }
}

}  // namespace santa::harness::cli
