// Causal-prefill inputs for the coverage kind (P4): Q of each query head and K of each KV head, [n, d],
// i.i.d. N(0, 1) and rounded to the storage precision the protocol names (fp16), held as float.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <string>

namespace santa::harness::workloads {

using MatRMf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

enum class Precision { fp32, fp16, bf16 };
Precision parse_precision(const std::string& name);  // "fp32", "fp16", "bf16"

// Query rows (purpose query, stream `head`) or key rows (purpose key, stream `head` = KV head).
MatRMf prefill_queries(uint64_t seed, uint32_t trial, uint32_t head, int64_t n, int64_t d, Precision precision);
MatRMf prefill_keys(uint64_t seed, uint32_t trial, uint32_t kv_head, int64_t n, int64_t d, Precision precision);

}  // namespace santa::harness::workloads
