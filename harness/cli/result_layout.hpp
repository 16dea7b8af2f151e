// Bridges a spec and a runner to the store: the /points columns and the root attributes of a run's file.
#pragma once

#include <string>
#include <vector>

#include "harness/cli/provenance.hpp"
#include "harness/core/row.hpp"
#include "harness/spec/spec.hpp"
#include "harness/store/result_data.hpp"

namespace santa::harness::cli {

// Columns: every parameter of the kind (schema order, named as in the spec), then the runner's metrics, then
// wall_s. Text columns are as wide as the longest value in the whole sweep, so every shard agrees.
store::TableLayout make_layout(const spec::Spec& spec, const std::vector<MetricDef>& metrics);

struct RunIdentity {
  std::string shard;  // "all" or "K/N"
  int64_t points_in_run = 0;
  std::string command_line;
};

store::ResultData make_result_data(const spec::Spec& spec, const store::TableLayout& layout, const Provenance& prov,
                                   const RunIdentity& run);

}  // namespace santa::harness::cli
