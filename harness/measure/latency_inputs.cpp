#include "harness/measure/latency_inputs.hpp"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "harness/core/value.hpp"
#include "harness/workloads/random.hpp"
#include "kernels/host_half.hpp"

namespace santa::harness::measure {

using workloads::NormalStream;
using workloads::Purpose;
using workloads::stream_site;

int64_t LatencyInputsSpec::max_len() const {
  const int64_t align = shape.paged ? std::max(kCacheRowAlign, shape.page_size) : kCacheRowAlign;
  return (shape.n_k + align - 1) / align * align;
}

double LatencyInputsSpec::scale() const { return 1.0 / std::sqrt(double(shape.d)); }

std::string LatencyInputsSpec::key() const {
  return fmt::format("latency-inputs b={} n={} H={} Hkv={} d={} {} {} page={} {} seed={}", shape.batch, shape.n_k,
                     shape.H, shape.H_kv, shape.d, gpu::to_string(dtype), shape.paged ? "paged" : "contiguous",
                     shape.paged ? shape.page_size : 0, dist.key(), hex64(value_seed));
}

LatencyInputsSpec latency_inputs_from_point(const Point& point, uint64_t spec_seed) {
  LatencyInputsSpec s;
  s.shape.batch = point.integer("batch");
  s.shape.n_k = point.integer("n_k");
  s.shape.H = point.integer("H");
  s.shape.H_kv = point.integer("H_kv");
  s.shape.d = point.integer("d");
  s.shape.elem_bytes = 2;
  s.shape.paged = point.text("cache") == "paged";
  s.shape.page_size = point.integer("page_size");
  s.dtype = point.text("dtype") == "fp16" ? gpu::DType::fp16 : gpu::DType::bf16;
  s.dist = workloads::distribution_from_point(point);
  // The layout (cache, page_size) is left out on purpose: a paged and a contiguous run see the same values.
  const std::string values = fmt::format("b={} n={} H={} Hkv={} d={} {} {}", s.shape.batch, s.shape.n_k, s.shape.H,
                                         s.shape.H_kv, s.shape.d, gpu::to_string(s.dtype), s.dist.key());
  s.value_seed = fnv1a64(values, fnv1a64(hex64(spec_seed)));
  return s;
}

std::vector<uint16_t> make_queries(const LatencyInputsSpec& spec) {
  const auto& sh = spec.shape;
  std::vector<uint16_t> q(static_cast<std::size_t>(sh.batch * sh.H * sh.d));
  for (int64_t b = 0; b < sh.batch; ++b) {
    for (int64_t h = 0; h < sh.H; ++h) {
      NormalStream s(stream_site(spec.value_seed, static_cast<uint32_t>(b), Purpose::query, static_cast<uint32_t>(h)));
      uint16_t* row = q.data() + (b * sh.H + h) * sh.d;
      for (int64_t j = 0; j < sh.d; ++j) row[j] = gpu::float_to_half_bits(static_cast<float>(s.next()), spec.dtype);
    }
  }
  return q;
}

double needle_logit(double q_norm2, int64_t d, int64_t n, int64_t needles, double mass) {
  if (needles < 1 || needles >= n || !(mass > 0.0 && mass < 1.0))
    throw std::invalid_argument(fmt::format("needle_logit: needles = {}, n = {}, mass = {}; allowed: 1 <= needles < "
                                            "n and 0 < mass < 1",
                                            needles, n, mass));
  // needles e^L / (needles e^L + Z) = mass with Z = (n - needles) exp(|q|^2 / (2 d)).
  const double log_background = std::log(double(n - needles)) + q_norm2 / (2.0 * double(d));
  return log_background + std::log(mass / ((1.0 - mass) * double(needles)));
}

Vec plant_key(const MatRM& Q, const Vec& logits, const Vec& r, double scale) {
  if (Q.rows() != logits.size() || Q.cols() != r.size())
    throw std::invalid_argument(fmt::format("plant_key: Q is {}x{}, logits {}, r {}; need logits = rows, r = cols",
                                            Q.rows(), Q.cols(), logits.size(), r.size()));
  const Eigen::MatrixXd gram = Q * Q.transpose();
  const Eigen::FullPivLU<Eigen::MatrixXd> lu(gram);
  if (lu.rank() < gram.rows())
    throw std::invalid_argument(fmt::format("plant_key: the {} queries of the group are linearly dependent (rank {}); "
                                            "no key gives each its own logit",
                                            Q.rows(), lu.rank()));
  const Vec target = logits / scale - Q * r;
  return r + Q.transpose() * lu.solve(target);
}

std::vector<NeedleRow> make_needles(const LatencyInputsSpec& spec, const std::vector<uint16_t>& q_bits) {
  std::vector<NeedleRow> rows;
  if (spec.dist.name != "needles") return rows;
  const auto& sh = spec.shape;
  const int G = spec.group();
  const int64_t count = spec.dist.needle_count;
  if (count >= sh.n_k)
    throw std::invalid_argument(fmt::format("needles: needle_count = {} leaves no background keys with n_k = {}",
                                            count, sh.n_k));
  for (int64_t b = 0; b < sh.batch; ++b) {
    for (int64_t kvh = 0; kvh < sh.H_kv; ++kvh) {
      MatRM Q(G, sh.d);
      Vec logits(G);
      for (int g = 0; g < G; ++g) {
        const uint16_t* qrow = q_bits.data() + (b * sh.H + kvh * G + g) * sh.d;
        for (int64_t j = 0; j < sh.d; ++j) Q(g, j) = gpu::half_bits_to_float(qrow[j], spec.dtype);
        logits[g] = needle_logit(Q.row(g).squaredNorm(), sh.d, sh.n_k, count, spec.dist.needle_mass);
      }
      NormalStream pick(stream_site(spec.value_seed, static_cast<uint32_t>(b), Purpose::shape,
                                    static_cast<uint32_t>(kvh)));
      NormalStream noise(stream_site(spec.value_seed, static_cast<uint32_t>(b), Purpose::key,
                                     static_cast<uint32_t>(kvh)));
      std::set<int64_t> taken;
      while (static_cast<int64_t>(taken.size()) < count) {
        const auto pos = std::min(sh.n_k - 1, static_cast<int64_t>(pick.uniform() * double(sh.n_k)));
        if (!taken.insert(pos).second) continue;
        Vec r(sh.d);
        for (int64_t j = 0; j < sh.d; ++j) r[j] = noise.next();
        const Vec k = plant_key(Q, logits, r, spec.scale());
        NeedleRow row{b, pos, kvh, std::vector<uint16_t>(static_cast<std::size_t>(sh.d))};
        for (int64_t j = 0; j < sh.d; ++j) row.bits[j] = gpu::float_to_half_bits(static_cast<float>(k[j]), spec.dtype);
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

}  // namespace santa::harness::measure
