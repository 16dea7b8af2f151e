// `santa merge`: joins the files of one sweep run in shards (santa run --shard K/N) into one file.
#pragma once

#include <string>
#include <vector>

#include "harness/store/result_data.hpp"

namespace santa::harness::store {

// All inputs must come from the same spec (same spec_digest attribute) and column layout. Rows are joined
// by point index; a point present in several inputs must have the same parameter hash (the first copy is
// kept). The result's attributes are the first input's, with shard = "merged", merged_from, the earliest
// start_time, the latest end_time, and status "complete" only if every point of the sweep is present.
ResultData merge_results(const std::vector<ResultData>& inputs, const std::vector<std::string>& names);

}  // namespace santa::harness::store
