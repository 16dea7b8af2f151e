// Value ranges inside sweep axes: {pow2: [a, b]} -> 2^a .. 2^b, {linear: [start, stop, step]} -> start,
// start + step, ... up to stop (inclusive).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "harness/core/value.hpp"
#include "harness/spec/schema.hpp"

namespace santa::harness::spec {

struct RangeResult {
  std::vector<Value> values;
  std::string error;  // "" on success, else the message (without location)
};

// `node` is the range map; values are typed for `def` (integers stay integers).
RangeResult expand_range(const YAML::Node& node, const ParamDef& def);

}  // namespace santa::harness::spec
