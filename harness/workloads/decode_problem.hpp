// The full decode problem of the bernoulli and latency kinds: q [H, d] and one K and V [n_k, d] per KV
// head (query head h reads KV head h / (H / H_kv)).
//
// gaussian: q, K, V i.i.d. N(0, 1). temperature: each query is scaled by the inverse temperature its own
// scores need. Other generated shapes are planted: the G = H / H_kv queries of a group fix G linear
// constraints per key, so k_i = r_i + (sqrt(d) L_i - r_i Q^T)(Q Q^T)^-1 Q (r_i Gaussian, L_i the wanted
// logits of the G heads) gives every head exactly its generated logits. file: the user's q, K, V.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "estimators/types.hpp"
#include "harness/workloads/cache.hpp"
#include "harness/workloads/distribution.hpp"

namespace santa::harness::workloads {

struct DecodeSpec {
  DistributionSpec dist;
  int64_t n = 0, H = 1, H_kv = 1, d = 0;
  uint64_t seed = 0;
  uint32_t instance = 0;
  bool values = true;  // false: leave v empty (kinds that only score)
  std::string key() const;
};

struct DecodeProblem {
  MatRM q;               // [H, d]
  std::vector<MatRM> k;  // H_kv x [n, d]
  std::vector<MatRM> v;  // H_kv x [n, d], or empty when DecodeSpec::values is false
  std::size_t bytes() const;
};

DecodeSpec decode_spec_from_point(const Point& point, uint64_t seed, uint32_t instance, bool values);
void check_decode_spec(const DecodeSpec& spec, WorkloadCache& cache);  // throws PointError
DecodeProblem make_decode_problem(const DecodeSpec& spec, WorkloadCache& cache);
std::shared_ptr<const DecodeProblem> decode_problem(const DecodeSpec& spec, WorkloadCache& cache);

}  // namespace santa::harness::workloads
