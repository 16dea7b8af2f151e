// What a runner produces and the store writes: one row of /points plus optional per-point arrays.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "harness/core/point.hpp"
#include "harness/core/value.hpp"

namespace santa::harness {

// A named n-dimensional array of doubles in row-major order (timing samples, curves, ...).
struct NamedArray {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<double> data;
};

struct Row {
  int64_t point = 0;        // Point::index
  uint64_t param_hash = 0;  // Point::hash
  std::vector<std::pair<std::string, Value>> values;  // parameters and metrics, named like the columns
  std::vector<NamedArray> arrays;

  void set(std::string name, Value v);  // adds or replaces
  const Value* find(std::string_view name) const;
};

// A row that already carries the point's identity and parameters; the runner adds its metrics.
Row row_for(const Point& point);

// A metric column a runner declares: the name carries the unit where there is one (mean_us), `unit` says it
// again for tools ("" for dimensionless).
struct MetricDef {
  std::string name;
  std::string unit;
  std::string description;
};

}  // namespace santa::harness
