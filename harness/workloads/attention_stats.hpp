// Summaries of a probability vector that say how spread the attention is.
#pragma once

#include <cstdint>

#include "estimators/types.hpp"

namespace santa::harness::workloads {

double entropy_nats(VecRef p);  // -sum p log p
double max_probability(VecRef p);
// Fewest tiles of `tile` consecutive keys whose masses add up to `fraction` of the total (heaviest first).
int64_t tiles_to_mass(VecRef p, int64_t tile, double fraction = 0.9);

}  // namespace santa::harness::workloads
