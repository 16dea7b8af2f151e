// The per-kind parameter table: the ONE place where an experiment kind's parameters are declared
// (name, type, default, allowed values) together with the rules that relate several of them.
// Adding a kind = one KindSchema entry in schema.cpp + its runner in harness/measure.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/core/point.hpp"
#include "harness/core/replicates.hpp"
#include "harness/core/value.hpp"

namespace santa::harness::spec {

enum class ParamType { integer, real, text, choice };

struct Bound {
  double value = 0.0;
  bool open = false;  // open: the bound itself is not allowed
};

struct ParamDef {
  std::string name;
  ParamType type = ParamType::integer;
  Value default_value;
  std::vector<std::string> choices;  // ParamType::choice
  std::optional<Bound> min, max;     // integer / real
  std::string unit;                  // "" for dimensionless
  std::string description;

  ValueType value_type() const;  // choice and text are stored as text
  std::string allowed() const;   // "an integer >= 1", "one of: iid, strat, ...", for error messages
  // Range or choice violation of an already-typed value, e.g. "S = 0 is out of range"; nullopt when fine.
  std::optional<std::string> violation(const Value& v) const;
};

// A rule over several parameters of one point. It returns the parameter to blame and why, or nullopt.
using CrossCheck = std::function<std::optional<PointError>(const Point&)>;

struct KindSchema {
  std::string name;
  std::string description;
  std::vector<ParamDef> params;
  std::vector<CrossCheck> checks;
  std::string replicates_meaning;  // "" when the kind takes no `replicates`
  ReplicatePolicy default_replicates;

  const ParamDef* find(std::string_view param) const;
  std::vector<std::string> param_names() const;
};

const std::vector<KindSchema>& kind_schemas();
const KindSchema* find_kind(std::string_view name);
std::vector<std::string> kind_names();

// Distribution names the workload generators accept (harness/workloads parses the same names).
const std::vector<std::string>& distribution_names();

}  // namespace santa::harness::spec
