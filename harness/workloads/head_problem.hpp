// The single-head problem of the variance and fidelity kinds: the probabilities p of one query head over
// n_k keys and the values V [n_k, d], with the exact output y and tr(Sigma) every estimate is compared with.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "estimators/types.hpp"
#include "harness/workloads/cache.hpp"
#include "harness/workloads/distribution.hpp"

namespace santa::harness::workloads {

struct HeadSpec {
  DistributionSpec dist;
  int64_t n = 0, d = 0, head = 0;
  uint64_t seed = 0;
  std::string key() const;
};

struct HeadProblem {
  Vec p;                           // softmax of the head's logits
  std::shared_ptr<const MatRM> v;  // [n, d]; shared between distributions with the same seed/head/n/d
  Vec y;                           // sum p_i v_i
  double trace_cov = 0.0;          // tr(Sigma) = sum p_i ||v_i||^2 - ||y||^2
  double entropy = 0.0;            // nats
  double max_prob = 0.0;
};

HeadSpec head_spec_from_point(const Point& point, uint64_t seed);  // n_k, d, head + distribution
// Throws PointError naming the parameter when the point cannot be built (file missing, head out of range...).
void check_head_spec(const HeadSpec& spec, WorkloadCache& cache);
std::shared_ptr<const HeadProblem> head_problem(const HeadSpec& spec, WorkloadCache& cache);

// The file workload through the cache (loaded and validated once per path).
std::shared_ptr<const struct QkvData> cached_qkv_file(const std::string& path, WorkloadCache& cache);

}  // namespace santa::harness::workloads
