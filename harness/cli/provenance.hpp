// Where and with what a result was produced: build, machine and library versions (root attributes of
// every result file, and `santa info`).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace santa::harness::cli {

struct Provenance {
  std::string git_commit;  // "<sha>" or "<sha>-dirty" or "unknown"
  bool git_dirty = false;
  std::string build_type, compiler, host, cpu, gpu, libraries, cuda_build;
  unsigned cpu_threads = 0;
};

Provenance collect_provenance();
std::string utc_now();  // ISO-8601, e.g. 2026-11-28T09:12:33Z

// GPU hook. HOOK(issue 4/5): the kernels engineer replaces the body of gpu_description() (cli/gpu_hook.cpp)
// with a query of the device (name, SM count, L2, driver) when this build has CUDA kernels.
std::string gpu_description();

}  // namespace santa::harness::cli
