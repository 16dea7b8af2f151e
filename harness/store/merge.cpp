#include "harness/store/merge.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace santa::harness::store {

ResultData merge_results(const std::vector<ResultData>& inputs, const std::vector<std::string>& names) {
  if (inputs.empty()) throw StoreError("merge: no input files");
  const ResultData& first = inputs.front();
  const std::string digest = first.text_attribute("spec_digest");
  ResultData out;
  out.attributes = first.attributes;
  out.layout = first.layout;
  std::string merged_from, start = first.text_attribute("start_time"), end = first.text_attribute("end_time");
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const ResultData& in = inputs[i];
    if (in.text_attribute("spec_digest") != digest)
      throw StoreError(fmt::format("merge: {} comes from a different spec than {} (spec_digest {} vs {}); "
                                   "allowed: shards of one spec",
                                   names[i], names[0], in.text_attribute("spec_digest"), digest));
    if (in.layout.signature() != first.layout.signature())
      throw StoreError(fmt::format("merge: {} has different /points columns than {}", names[i], names[0]));
    merged_from += fmt::format("{}{} (shard {}, {} rows, status {})", merged_from.empty() ? "" : "; ", names[i],
                               in.text_attribute("shard"), in.rows.size(), in.text_attribute("status"));
    // ISO-8601 UTC strings order like times.
    if (!in.text_attribute("start_time").empty()) start = std::min(start, in.text_attribute("start_time"));
    end = std::max(end, in.text_attribute("end_time"));
    for (const Row& row : in.rows) {
      auto it = std::lower_bound(out.rows.begin(), out.rows.end(), row.point,
                                 [](const Row& r, int64_t p) { return r.point < p; });
      if (it != out.rows.end() && it->point == row.point) {
        if (it->param_hash != row.param_hash)
          throw StoreError(fmt::format("merge: point {} has different parameters in {} than in an earlier input",
                                       row.point, names[i]));
        continue;
      }
      out.rows.insert(it, row);
    }
  }
  const Value* total = first.attribute("points_total");
  const bool complete = total && std::holds_alternative<int64_t>(*total) &&
                        std::get<int64_t>(*total) == static_cast<int64_t>(out.rows.size());
  out.set_attribute("shard", std::string("merged"));
  out.set_attribute("merged_from", merged_from);
  out.set_attribute("start_time", start);
  out.set_attribute("end_time", end);
  out.set_attribute("points_in_run", static_cast<int64_t>(out.rows.size()));
  out.set_attribute("status", std::string(complete ? "complete" : "incomplete"));
  return out;
}

}  // namespace santa::harness::store
