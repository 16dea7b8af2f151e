// The inputs of one latency point, apart from the backend: the decode shape, the KV-cache layout and the
// attention distribution (PROTOCOLS.md P1 and P6). Every backend (and every S) at the same (batch, n_k,
// distribution, ...) reads the very same q, K, V, so the key below leaves the backend and its knobs out.
//
// K and V are i.i.d. N(0, 1) drawn on the GPU (kernels' fill_normal, Philox): 2 x 4 GiB at batch 16 and
// n_k = 131072 would take minutes on the host. q is drawn on the host (it is small) so that the host knows it
// exactly. `needles` then overwrites needle_count keys per (sequence, KV head), at seeded random positions,
// with keys planted so that every query head of the group gives them the logit that makes them hold
// needle_mass together (the meaning of `needles` in workloads/distribution.hpp): k = r + Q^T (Q Q^T)^-1
// (L / scale - Q r), Q the group's G queries, r a fresh Gaussian row, L the wanted logits. The background
// mass is its expectation (n - needle_count) exp(|q|^2 / (2 d)) (E exp(q.k / sqrt(d)) for k ~ N(0, I)); the
// realised mass differs by O(1 / sqrt(n)) (2 % at n = 4096) and the reference check reports it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "estimators/types.hpp"
#include "harness/core/point.hpp"
#include "harness/measure/latency_bytes.hpp"
#include "harness/workloads/distribution.hpp"
#include "kernels/decode_types.hpp"

namespace santa::harness::measure {

// FlashInfer reads a contiguous cache in place as 16-token pages, so the allocated length is n_k rounded up.
inline constexpr int64_t kCacheRowAlign = 16;

struct LatencyInputsSpec {
  DecodeShape shape;
  gpu::DType dtype = gpu::DType::bf16;
  workloads::DistributionSpec dist;  // gaussian or needles
  uint64_t value_seed = 0;           // seeds q, K, V and the needles; independent of the cache layout

  int64_t max_len() const;  // allocated keys per sequence (contiguous) or pages * page_size (paged)
  int group() const { return static_cast<int>(shape.H / shape.H_kv); }
  double scale() const;      // 1 / sqrt(d)
  std::string key() const;   // equal keys: equal inputs in equal memory layout
};

// Shape, layout, distribution and value seed of a latency point (the spec's seed mixed with everything that
// changes the values, so two points share inputs exactly when they should).
LatencyInputsSpec latency_inputs_from_point(const Point& point, uint64_t spec_seed);

// q [batch][H][d] as 16-bit patterns of the dtype: N(0, 1) from the query streams (workloads/random.hpp).
std::vector<uint16_t> make_queries(const LatencyInputsSpec& spec);

// Logit that gives `needles` keys `mass` of the attention together against n - needles background keys
// whose expected exp(logit) is exp(q_norm2 / (2 d)).
double needle_logit(double q_norm2, int64_t d, int64_t n, int64_t needles, double mass);

// The key whose logits scale * Q k equal `logits` (one per row of Q, the group's queries [G, d]), closest to
// the Gaussian row r. Throws std::invalid_argument when Q's rows are linearly dependent.
Vec plant_key(const MatRM& Q, const Vec& logits, const Vec& r, double scale);

// One planted key row of the cache: sequence b, position, KV head, d elements as 16-bit patterns.
struct NeedleRow {
  int64_t b = 0, pos = 0, kv_head = 0;
  std::vector<uint16_t> bits;
};
// The needle rows of every (sequence, KV head) for `needles` inputs (empty for other distributions);
// positions distinct within a (sequence, KV head), uniform in [0, n_k).
std::vector<NeedleRow> make_needles(const LatencyInputsSpec& spec, const std::vector<uint16_t>& q_bits);

}  // namespace santa::harness::measure
