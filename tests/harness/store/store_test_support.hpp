// A small result table for the store tests: one parameter of each type and two metrics.
#pragma once

#include <cmath>

#include "harness/store/result_data.hpp"

namespace santa::harness::store::testing {

inline ResultData sample_data(const std::string& digest = "d1") {
  ResultData d;
  d.set_attribute("spec_digest", digest);
  d.set_attribute("points_total", int64_t{4});
  d.set_attribute("shard", std::string("all"));
  d.set_attribute("scale", 0.25);
  d.set_attribute("spec_text", std::string("name: x\n  odd: \"quotes\" and \t tabs\n"));
  d.layout.columns = {
      {"scheme", ValueType::text, ColumnRole::parameter, "", "scheme name", 17},
      {"S", ValueType::integer, ColumnRole::parameter, "samples", "budget", 0},
      {"alpha", ValueType::real, ColumnRole::parameter, "", "a real parameter", 0},
      {"mse", ValueType::real, ColumnRole::metric, "", "error", 0},
      {"mean_us", ValueType::real, ColumnRole::metric, "us", "time", 0},
  };
  return d;
}

inline Row sample_row(int64_t point, const std::string& scheme = "global_systematic") {
  Row r;
  r.point = point;
  r.param_hash = 0x9000000000000000ull + static_cast<uint64_t>(point);  // above 2^63: exercises uint64
  r.values = {{"scheme", scheme},
              {"S", int64_t{1} << (point + 1)},
              {"alpha", 0.1 * double(point)},
              {"mse", point == 2 ? std::nan("") : 1.0 / 3.0 + double(point)},
              {"mean_us", -0.0 + 1e-300 * double(point)}};
  if (point % 2 == 1) {
    r.arrays.push_back(NamedArray{"samples_us", {3}, {1.5, 2.5, double(point)}});
    r.arrays.push_back(NamedArray{"grid", {2, 2}, {1, 2, 3, 4}});
    r.arrays.push_back(NamedArray{"scalar", {}, {42.0}});
  }
  return r;
}

}  // namespace santa::harness::store::testing
