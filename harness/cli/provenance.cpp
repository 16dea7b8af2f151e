#include "harness/cli/provenance.hpp"

#include <CLI/Version.hpp>
#include <Eigen/Core>
#include <fmt/format.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <thread>

#include "harness/build_info.hpp"
#include "harness/store/result_file.hpp"

namespace santa::harness::cli {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

}  // namespace

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Provenance collect_provenance() {
  Provenance p;
  p.git_dirty = build_info::git_dirty;
  p.git_commit = std::string(build_info::git_commit) + (p.git_dirty ? "-dirty" : "");
  p.build_type = build_info::build_type;
  p.cuda_build = build_info::cuda_build;
#if defined(__clang__)
  p.compiler = fmt::format("clang {}", __clang_version__);
#elif defined(__GNUC__)
  p.compiler = fmt::format("g++ {}", __VERSION__);
#else
  p.compiler = "unknown";
#endif
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) == 0) p.host = host;
  p.cpu = cpu_model();
  p.cpu_threads = std::thread::hardware_concurrency();
  p.gpu = gpu_description();
  p.libraries = fmt::format("Eigen {}.{}.{}, fmt {}.{}.{}, yaml-cpp {}, HDF5 {}, CLI11 {}", EIGEN_WORLD_VERSION,
                            EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION, FMT_VERSION / 10000, FMT_VERSION / 100 % 100,
                            FMT_VERSION % 100, build_info::yaml_cpp_version, store::hdf5_version(), CLI11_VERSION);
  return p;
}

}  // namespace santa::harness::cli
