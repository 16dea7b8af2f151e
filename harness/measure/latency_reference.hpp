// The fp64 reference of one sequence of a latency point: every query head's attention p, exact output y and
// the values V, computed on the CPU from the same 16-bit inputs the GPU reads. Every backend's output is
// checked against it (latency_check.hpp) before the backend is timed.
#pragma once

#include <cstdint>
#include <vector>

#include "estimators/types.hpp"
#include "kernels/decode_types.hpp"

namespace santa::harness::measure {

struct ReferenceSequence {
  int64_t sequence = 0;  // which sequence of the batch
  int64_t n = 0, H = 0, H_kv = 0, d = 0;
  std::vector<Vec> p;    // [H] attention of each query head over n keys
  std::vector<Vec> y;    // [H] exact outputs
  std::vector<MatRM> v;  // [H_kv] values [n, d]
  double entropy_nats = 0.0;  // mean over the heads
  double max_prob = 0.0;      // mean over the heads of the largest probability

  int64_t group() const { return H / H_kv; }
  const MatRM& values_of_head(int64_t h) const { return v[static_cast<std::size_t>(h / group())]; }
};

// From 16-bit patterns: q [H][d] of the sequence, k and v [n][H_kv][d]. Query head h reads KV head h / (H / H_kv)
// with softmax scale `scale`. One task per KV head on all cores. Throws std::invalid_argument on bad shapes.
ReferenceSequence build_reference(int64_t sequence, const std::vector<uint16_t>& q, const std::vector<uint16_t>& k,
                                  const std::vector<uint16_t>& v, int64_t n, int64_t H, int64_t H_kv, int64_t d,
                                  gpu::DType dtype, double scale);

}  // namespace santa::harness::measure
