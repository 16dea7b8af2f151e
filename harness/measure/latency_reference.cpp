#include "harness/measure/latency_reference.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "estimators/exact.hpp"
#include "harness/measure/latency_parallel.hpp"
#include "kernels/host_half.hpp"

namespace santa::harness::measure {

ReferenceSequence build_reference(int64_t sequence, const std::vector<uint16_t>& q, const std::vector<uint16_t>& k,
                                  const std::vector<uint16_t>& v, int64_t n, int64_t H, int64_t H_kv, int64_t d,
                                  gpu::DType dtype, double scale) {
  if (n < 1 || d < 1 || H_kv < 1 || H % H_kv != 0)
    throw std::invalid_argument(fmt::format("build_reference: n = {}, H = {}, H_kv = {}, d = {}; need n, d >= 1 and "
                                            "H a multiple of H_kv",
                                            n, H, H_kv, d));
  const auto kv_elems = static_cast<std::size_t>(n * H_kv * d);
  if (q.size() != static_cast<std::size_t>(H * d) || k.size() != kv_elems || v.size() != kv_elems)
    throw std::invalid_argument(fmt::format("build_reference: q has {} elements (need H * d = {}), k {} and v {} "
                                            "(need n * H_kv * d = {})",
                                            q.size(), H * d, k.size(), v.size(), kv_elems));
  ReferenceSequence ref;
  ref.sequence = sequence;
  ref.n = n;
  ref.H = H;
  ref.H_kv = H_kv;
  ref.d = d;
  ref.p.resize(static_cast<std::size_t>(H));
  ref.y.resize(static_cast<std::size_t>(H));
  ref.v.resize(static_cast<std::size_t>(H_kv));
  const int64_t G = H / H_kv;
  // Every 16-bit pattern's value, so that converting 2 x 134M elements (n_k = 131072) costs one load each.
  std::vector<double> value_of(65536);
  for (uint32_t bits = 0; bits < 65536; ++bits) value_of[bits] = gpu::half_bits_to_float(static_cast<uint16_t>(bits), dtype);

  // One task per KV head: its G query heads' scores in one product K Q_g^T, so K is streamed once per group.
  parallel_for(H_kv, [&](int64_t kvh) {
    const auto to_matrix = [&](const std::vector<uint16_t>& src) {
      MatRM m(n, d);
      for (int64_t r = 0; r < n; ++r) {
        const uint16_t* row = src.data() + (r * H_kv + kvh) * d;
        for (int64_t j = 0; j < d; ++j) m(r, j) = value_of[row[j]];
      }
      return m;
    };
    MatRM qg(G, d);
    for (int64_t g = 0; g < G; ++g)
      for (int64_t j = 0; j < d; ++j) qg(g, j) = value_of[q[static_cast<std::size_t>((kvh * G + g) * d + j)]];
    const Eigen::MatrixXd scores = scale * (to_matrix(k) * qg.transpose());  // [n, G]
    Eigen::MatrixXd p(n, G);
    for (int64_t g = 0; g < G; ++g) p.col(g) = softmax(scores.col(g));
    MatRM vmat = to_matrix(v);
    const Eigen::MatrixXd y = vmat.transpose() * p;  // [d, G]
    for (int64_t g = 0; g < G; ++g) {
      ref.p[static_cast<std::size_t>(kvh * G + g)] = p.col(g);
      ref.y[static_cast<std::size_t>(kvh * G + g)] = y.col(g);
    }
    ref.v[static_cast<std::size_t>(kvh)] = std::move(vmat);
  });

  for (const Vec& p : ref.p) {
    double entropy = 0.0;
    for (Eigen::Index i = 0; i < p.size(); ++i) {
      if (p[i] > 0.0) entropy -= p[i] * std::log(p[i]);
    }
    ref.entropy_nats += entropy / double(H);
    ref.max_prob += p.maxCoeff() / double(H);
  }
  return ref;
}

}  // namespace santa::harness::measure
