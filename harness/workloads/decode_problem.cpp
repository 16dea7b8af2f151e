#include "harness/workloads/decode_problem.hpp"

#include <cmath>
#include <fmt/format.h>

#include "harness/workloads/head_problem.hpp"
#include "harness/workloads/qkv_file.hpp"
#include "harness/workloads/random.hpp"

namespace santa::harness::workloads {
namespace {

MatRM normal_matrix(const RngSite& site, int64_t rows, int64_t cols) {
  MatRM m(rows, cols);
  NormalStream s(site);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) m(i, j) = s.next();
  }
  return m;
}

}  // namespace

std::string DecodeSpec::key() const {
  return fmt::format("decode|{}|{}|{}|{}|{}|{}|{}|{}", dist.key(), n, H, H_kv, d, seed, instance, values);
}

std::size_t DecodeProblem::bytes() const {
  std::size_t n = static_cast<std::size_t>(q.size());
  for (const auto& m : k) n += static_cast<std::size_t>(m.size());
  for (const auto& m : v) n += static_cast<std::size_t>(m.size());
  return n * sizeof(double);
}

DecodeSpec decode_spec_from_point(const Point& point, uint64_t seed, uint32_t instance, bool values) {
  DecodeSpec s;
  s.dist = distribution_from_point(point);
  s.n = point.integer("n_k");
  s.H = point.integer("H");
  s.H_kv = point.integer("H_kv");
  s.d = point.integer("d");
  s.seed = seed;
  s.instance = instance;
  s.values = values;
  return s;
}

void check_decode_spec(const DecodeSpec& spec, WorkloadCache& cache) {
  if (spec.dist.name != "file") return;
  std::shared_ptr<const QkvData> f;
  try {
    f = cached_qkv_file(spec.dist.file, cache);
  } catch (const WorkloadError& e) {
    throw PointError("file", e.what());
  }
  const auto mismatch = [&](const char* name, int64_t have, int64_t want) {
    if (have != want)
      throw PointError(name, fmt::format("{} = {} but {} has {} = {}; allowed: {} = {}", name, have, spec.dist.file,
                                         name, want, name, want));
  };
  mismatch("H", spec.H, f->heads());
  mismatch("H_kv", spec.H_kv, f->kv_heads());
  mismatch("d", spec.d, f->dim());
  if (spec.n > f->keys())
    throw PointError("n_k", fmt::format("n_k = {} but {} holds {} keys; allowed: n_k <= {} (the first n_k keys are "
                                        "used)",
                                        spec.n, spec.dist.file, f->keys(), f->keys()));
}

DecodeProblem make_decode_problem(const DecodeSpec& spec, WorkloadCache& cache) {
  DecodeProblem out;
  const int64_t G = spec.H / spec.H_kv;
  if (spec.dist.name == "file") {
    check_decode_spec(spec, cache);
    const auto f = cached_qkv_file(spec.dist.file, cache);
    out.q = f->q;
    for (int64_t g = 0; g < spec.H_kv; ++g) {
      out.k.push_back(f->k[g].topRows(spec.n));
      if (spec.values) out.v.push_back(f->v[g].topRows(spec.n));
    }
    return out;
  }
  out.q.resize(spec.H, spec.d);
  for (int64_t h = 0; h < spec.H; ++h) {
    out.q.row(h) = normal_matrix(stream_site(spec.seed, spec.instance, Purpose::query, uint32_t(h)), 1, spec.d);
  }
  const double sqrt_d = std::sqrt(double(spec.d));
  for (int64_t g = 0; g < spec.H_kv; ++g) {
    MatRM k = normal_matrix(stream_site(spec.seed, spec.instance, Purpose::key, uint32_t(g)), spec.n, spec.d);
    const auto group = out.q.middleRows(g * G, G);
    if (spec.dist.name == "temperature") {
      for (int64_t j = 0; j < G; ++j) {
        const Vec s = k * group.row(j).transpose() / sqrt_d;
        const double beta = solve_inverse_temperature(
            s, spec.dist.temperature_target,
            spec.dist.temperature_target == TemperatureTarget::entropy ? spec.dist.target_entropy
                                                                       : spec.dist.target_max_prob);
        out.q.row(g * G + j) *= beta;
      }
    } else if (spec.dist.name != "gaussian") {
      MatRM L(spec.n, G);  // wanted logits, one column per head of the group
      for (int64_t j = 0; j < G; ++j) {
        const int64_t h = g * G + j;
        const Vec s = k * out.q.row(h).transpose() / sqrt_d;
        Vec l = shape_logits(spec.dist, s, spec.n, spec.seed, spec.instance, uint32_t(h));
        l.array() -= l.mean();  // softmax ignores a shift; centring keeps the planted keys small
        L.col(j) = l;
      }
      const MatRM Q = group;
      const MatRM coef = (Q * Q.transpose()).ldlt().solve(Q);  // (Q Q^T)^-1 Q, [G, d]
      k += (sqrt_d * L - k * Q.transpose()) * coef;
    }
    out.k.push_back(std::move(k));
    if (spec.values)
      out.v.push_back(normal_matrix(stream_site(spec.seed, spec.instance, Purpose::value, uint32_t(g)), spec.n, spec.d));
  }
  return out;
}

std::shared_ptr<const DecodeProblem> decode_problem(const DecodeSpec& spec, WorkloadCache& cache) {
  return cache.get<DecodeProblem>(
      spec.key(), [&] { return std::make_shared<const DecodeProblem>(make_decode_problem(spec, cache)); },
      [](const DecodeProblem& p) { return p.bytes(); });
}

}  // namespace santa::harness::workloads
