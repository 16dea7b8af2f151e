// Factories of the runners, one per kind (registry.cpp maps kind names to them).
#pragma once

#include <memory>

#include "harness/measure/runner.hpp"

namespace santa::harness::measure {

std::unique_ptr<Runner> make_variance_runner();   // variance.cpp  (P2)
std::unique_ptr<Runner> make_fidelity_runner();   // fidelity.cpp  (P5)
std::unique_ptr<Runner> make_bernoulli_runner();  // bernoulli.cpp (P3)
std::unique_ptr<Runner> make_coverage_runner();   // coverage.cpp  (P4)
std::unique_ptr<Runner> make_latency_runner();    // latency.cpp   (P1, GPU; issue 5)

}  // namespace santa::harness::measure
