// A validated experiment spec: what to run (kind, fixed parameters, sweep axes) and how (seed, replicates,
// output). load_spec() checks everything before anything runs and reports every problem as
// "FILE:LINE:COL: error: ..." naming the offending value and what is allowed.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/core/point.hpp"
#include "harness/core/replicates.hpp"
#include "harness/spec/schema.hpp"

namespace santa::harness::spec {

struct SpecError : std::runtime_error {
  explicit SpecError(std::vector<std::string> errs);
  std::vector<std::string> errors;  // one "FILE:LINE:COL: error: ..." per problem
};

// One sweep axis: a grid axis has one parameter; a zip group has several that move together.
struct Axis {
  std::vector<std::string> names;
  std::vector<std::vector<PointParam>> values;  // values[i][j] is parameter names[j] in step i
};

struct Spec {
  std::string path;  // as given (used in messages)
  std::string text;  // the file's bytes (stored with the results)
  std::string name;
  std::string description;
  const KindSchema* kind = nullptr;
  uint64_t seed = 0;
  ReplicatePolicy replicates;
  std::string output;             // default results/<name>.h5
  std::vector<PointParam> fixed;  // parameters that are not swept: written ones (with marks) and defaults
  std::vector<Axis> axes;         // in the order written; the last varies fastest

  int64_t point_count() const;
  Point point(int64_t index) const;  // parameters in schema order
  std::vector<Point> points() const;
  // Identity of the sweep (kind, name, seed, replicates, every point): resume and merge refuse files whose
  // digest differs. Description, output path and formatting do not count.
  uint64_t digest() const;
  std::vector<std::string> swept_names() const;
  std::string describe_parameters() const;  // "name = value (origin)" per fixed parameter
  std::string describe_sweep() const;       // one line per axis with its values
};

Spec load_spec(const std::string& path);
Spec parse_spec(const std::string& text, const std::string& display_path);

// "FILE:LINE:COL: error: message" (or "FILE: error: message" without a line).
std::string located(const SourceMark& mark, const std::string& message);

}  // namespace santa::harness::spec
