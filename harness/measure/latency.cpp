// P1: GPU decode latency. This file holds the kind's metric columns; the timing runner (cold L2, CUDA events,
// bandwidth ceiling) comes with issue 5 and needs a CUDA build. Until then the runner reports why it cannot
// run, and `santa run` stops before writing anything.
#include <stdexcept>

#include "harness/measure/runners.hpp"

namespace santa::harness::measure {
namespace {

class LatencyRunner final : public Runner {
 public:
  std::vector<MetricDef> metrics() const override {
    return {
        {"mean_us", "us", "mean latency of one whole backend call"},
        {"median_us", "us", "median latency"},
        {"ci95_lo_us", "us", "95% CI of the mean, lower end"},
        {"ci95_hi_us", "us", "95% CI of the mean, upper end"},
        {"bytes_read", "B", "bytes the backend must read (K, distinct V rows, metadata)"},
        {"tbps", "TB/s", "bytes_read / mean time"},
        {"fraction_of_peak", "", "tbps / measured bandwidth ceiling of this GPU"},
    };
  }

  std::string unavailable_reason() const override {
#if defined(SANTA_HAVE_CUDA)
    return "kind latency: the GPU timing runner is not implemented yet (issue 5); nothing was run";
#else
    return "kind latency needs a GPU build: this santa was built without CUDA (configure with nvcc available and "
           "SANTA_ENABLE_CUDA=ON on a GPU machine); nothing was run";
#endif
  }

  Row run(const Point&, RunContext&) const override { throw std::logic_error(unavailable_reason()); }
};

}  // namespace

std::unique_ptr<Runner> make_latency_runner() { return std::make_unique<LatencyRunner>(); }

}  // namespace santa::harness::measure
