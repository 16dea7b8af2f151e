#include "harness/core/replicates.hpp"

#include <fmt/format.h>

namespace santa::harness {

std::string ReplicatePolicy::describe() const {
  if (!adaptive()) return fmt::format("{}", max);
  return fmt::format("{{min: {}, max: {}, rel_se: {}}}", min, max, target_rel_se);
}

}  // namespace santa::harness
