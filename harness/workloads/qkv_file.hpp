// The `file` workload: q, K, V captured from a real model, in an HDF5 file with datasets
//   q [H, d], k [n_k, H_kv, d], v [n_k, H_kv, d]   (float32 or float64; H divisible by H_kv).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "estimators/types.hpp"

namespace santa::harness::workloads {

struct WorkloadError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct QkvData {
  MatRM q;               // [H, d]
  std::vector<MatRM> k;  // H_kv matrices [n_k, d]
  std::vector<MatRM> v;  // H_kv matrices [n_k, d]
  int64_t heads() const { return q.rows(); }
  int64_t kv_heads() const { return static_cast<int64_t>(k.size()); }
  int64_t keys() const { return k.empty() ? 0 : k.front().rows(); }
  int64_t dim() const { return q.cols(); }
};

// Reads and validates (datasets present, float types, ranks, consistent shapes, H % H_kv == 0, every value
// finite). Throws WorkloadError naming the file, the dataset and what is allowed.
QkvData load_qkv_file(const std::string& path);
// Writes the layout load_qkv_file reads (float64), e.g. to convert a capture.
void write_qkv_file(const std::string& path, const QkvData& data);

}  // namespace santa::harness::workloads
