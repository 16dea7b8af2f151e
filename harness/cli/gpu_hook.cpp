// HOOK(issue 4/5): GPU description for `santa info` and the result files. The kernels engineer connects
// this to the kernels API (device name, SM count, L2 size, driver, clocks) in CUDA builds.
#include "harness/cli/provenance.hpp"

namespace santa::harness::cli {

std::string gpu_description() { return "not available in this build"; }

}  // namespace santa::harness::cli
