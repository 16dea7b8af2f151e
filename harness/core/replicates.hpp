// How many independent repetitions a point gets: a fixed count, or adaptive until a target precision.
#pragma once

#include <cstdint>
#include <string>

namespace santa::harness {

struct ReplicatePolicy {
  int64_t min = 1;             // always run at least this many
  int64_t max = 1;             // never more
  double target_rel_se = 0.0;  // stop between min and max once the main metric's relative SE is <= this; 0: run max

  static ReplicatePolicy fixed(int64_t n) { return {n, n, 0.0}; }
  bool adaptive() const { return target_rel_se > 0.0 && max > min; }
  std::string describe() const;  // "200" or "{min: 64, max: 4096, rel_se: 0.005}"
};

}  // namespace santa::harness
