// Checks, before anything is written, that every point's workload can be built (the runner's check():
// files exist and fit the parameters). Problems come back as "FILE:LINE:COL: error: ..." at the value to fix.
#pragma once

#include <string>
#include <vector>

#include "harness/measure/runner.hpp"
#include "harness/spec/spec.hpp"

namespace santa::harness::cli {

std::vector<std::string> preflight(const spec::Spec& spec, const std::vector<Point>& points,
                                   const measure::Runner& runner, measure::RunContext& ctx);

}  // namespace santa::harness::cli
