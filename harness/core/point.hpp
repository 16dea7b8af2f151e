// One sweep point: every parameter of the experiment kind with its value and where that value came from.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "harness/core/value.hpp"

namespace santa::harness {

struct PointParam {
  std::string name;
  Value value;
  SourceMark mark;  // where the value was written in the spec (unknown for defaults)
};

struct Point {
  int64_t index = 0;               // position in the expanded sweep (0-based)
  std::vector<PointParam> params;  // every parameter of the kind, in schema order
  uint64_t hash = 0;               // param_hash(params): identifies the point across runs and shards

  const PointParam* find(std::string_view name) const;
  const PointParam& at(std::string_view name) const;  // throws std::out_of_range naming the parameter
  int64_t integer(std::string_view name) const;
  double real(std::string_view name) const;  // integers convert
  const std::string& text(std::string_view name) const;
  std::string describe() const;  // "S=64, scheme=iid, ..." for messages
};

uint64_t param_hash(const std::vector<PointParam>& params);

// A problem with one parameter of one point, found by a check (the CLI turns it into FILE:LINE:COL).
struct PointError : std::runtime_error {
  PointError(std::string param_name, const std::string& message)
      : std::runtime_error(message), param(std::move(param_name)) {}
  std::string param;
};

}  // namespace santa::harness
