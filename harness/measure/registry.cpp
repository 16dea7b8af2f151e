// The runner of each experiment kind (the kinds' parameters live in spec/schema.cpp).
#include <fmt/format.h>

#include "harness/measure/runner.hpp"
#include "harness/measure/runners.hpp"

namespace santa::harness::measure {

uint64_t point_seed(uint64_t spec_seed, const Point& point) {
  return fnv1a64(hex64(point.hash), fnv1a64(hex64(spec_seed)));
}

std::unique_ptr<Runner> make_runner(std::string_view kind) {
  if (kind == "variance") return make_variance_runner();
  if (kind == "fidelity") return make_fidelity_runner();
  if (kind == "bernoulli") return make_bernoulli_runner();
  if (kind == "coverage") return make_coverage_runner();
  if (kind == "latency") return make_latency_runner();
  throw std::invalid_argument(fmt::format("no runner for kind '{}'", kind));
}

}  // namespace santa::harness::measure
