// The HDF5 result file.
//
// Layout (h5py / pandas readable):
//   /            root attributes: spec text, provenance, seeds, times, status (ResultData::attributes)
//   /points      chunked, extendable 1-D compound dataset, one row per point, sorted by `point`:
//                point (int64), param_hash (uint64), then the parameters named as in the spec, then the
//                metrics (units in the name or in /columns). Text is fixed-length, null-padded.
//   /columns     one row per column of /points after the first two: name, role, type, unit, description
//   /arrays/<row>/<name>   per-point float64 arrays, keyed by the row's index in /points
//
// Every write produces a complete file under a temporary name and renames it over the target, so the
// target is always a whole, readable file, whatever happens to the writing process.
#pragma once

#include <string>

#include "harness/store/result_data.hpp"

namespace santa::harness::store {

void write_result_file(const std::string& path, const ResultData& data);
ResultData read_result_file(const std::string& path);  // throws StoreError naming the file and the problem

// HDF5 and library versions ("1.10.8") for provenance.
std::string hdf5_version();

}  // namespace santa::harness::store
