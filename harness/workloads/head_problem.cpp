#include "harness/workloads/head_problem.hpp"

#include <cmath>
#include <fmt/format.h>

#include "estimators/exact.hpp"
#include "harness/workloads/attention_stats.hpp"
#include "harness/workloads/qkv_file.hpp"
#include "harness/workloads/random.hpp"

namespace santa::harness::workloads {
namespace {

std::shared_ptr<const MatRM> cached_values(uint64_t seed, uint32_t head, int64_t n, int64_t d, WorkloadCache& cache) {
  return cache.get<MatRM>(
      fmt::format("V|{}|{}|{}|{}", seed, head, n, d),
      [&] {
        auto v = std::make_shared<MatRM>(n, d);
        NormalStream s(stream_site(seed, 0, Purpose::value, head));
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t j = 0; j < d; ++j) (*v)(i, j) = s.next();
        }
        return std::shared_ptr<const MatRM>(std::move(v));
      },
      [](const MatRM& m) { return static_cast<std::size_t>(m.size()) * sizeof(double); });
}

std::shared_ptr<const Vec> cached_gaussian(uint64_t seed, uint32_t head, int64_t n, int64_t d, WorkloadCache& cache) {
  return cache.get<Vec>(
      fmt::format("gauss|{}|{}|{}|{}", seed, head, n, d),
      [&] { return std::make_shared<const Vec>(gaussian_scores(seed, 0, head, n, d)); },
      [](const Vec& v) { return static_cast<std::size_t>(v.size()) * sizeof(double); });
}

}  // namespace

std::string HeadSpec::key() const { return fmt::format("head|{}|{}|{}|{}|{}", dist.key(), n, d, head, seed); }

HeadSpec head_spec_from_point(const Point& point, uint64_t seed) {
  HeadSpec s;
  s.dist = distribution_from_point(point);
  s.n = point.integer("n_k");
  s.d = point.integer("d");
  s.head = point.integer("head");
  s.seed = seed;
  return s;
}

std::shared_ptr<const QkvData> cached_qkv_file(const std::string& path, WorkloadCache& cache) {
  return cache.get<QkvData>(
      "qkv|" + path, [&] { return std::make_shared<const QkvData>(load_qkv_file(path)); },
      [](const QkvData& f) {
        std::size_t n = static_cast<std::size_t>(f.q.size());
        for (const auto& m : f.k) n += static_cast<std::size_t>(m.size());
        for (const auto& m : f.v) n += static_cast<std::size_t>(m.size());
        return n * sizeof(double);
      });
}

void check_head_spec(const HeadSpec& spec, WorkloadCache& cache) {
  if (spec.dist.name != "file") {
    if (spec.head > 65535) throw PointError("head", fmt::format("head = {}; allowed: 0..65535", spec.head));
    return;
  }
  std::shared_ptr<const QkvData> f;
  try {
    f = cached_qkv_file(spec.dist.file, cache);
  } catch (const WorkloadError& e) {
    throw PointError("file", e.what());
  }
  if (spec.head >= f->heads())
    throw PointError("head", fmt::format("head = {} but {} has H = {} query heads; allowed: 0 <= head < {}",
                                         spec.head, spec.dist.file, f->heads(), f->heads()));
  if (spec.d != f->dim())
    throw PointError("d", fmt::format("d = {} but {} has head dimension {}; allowed: d = {}", spec.d, spec.dist.file,
                                      f->dim(), f->dim()));
  if (spec.n > f->keys())
    throw PointError("n_k", fmt::format("n_k = {} but {} holds {} keys; allowed: n_k <= {} (the first n_k keys are "
                                        "used)",
                                        spec.n, spec.dist.file, f->keys(), f->keys()));
}

std::shared_ptr<const HeadProblem> head_problem(const HeadSpec& spec, WorkloadCache& cache) {
  return cache.get<HeadProblem>(
      spec.key(),
      [&] {
        auto hp = std::make_shared<HeadProblem>();
        Vec logits;
        if (spec.dist.name == "file") {
          check_head_spec(spec, cache);
          const auto f = cached_qkv_file(spec.dist.file, cache);
          const int64_t g = spec.head / (f->heads() / f->kv_heads());
          logits = f->k[g].topRows(spec.n) * f->q.row(spec.head).transpose() / std::sqrt(double(spec.d));
          hp->v = std::make_shared<const MatRM>(f->v[g].topRows(spec.n));
        } else {
          const auto head = static_cast<uint32_t>(spec.head);
          std::shared_ptr<const Vec> gauss;
          if (spec.dist.uses_gaussian_scores()) gauss = cached_gaussian(spec.seed, head, spec.n, spec.d, cache);
          logits = shape_logits(spec.dist, gauss ? VecRef(*gauss) : VecRef(Vec()), spec.n, spec.seed, 0, head);
          hp->v = cached_values(spec.seed, head, spec.n, spec.d, cache);
        }
        const santa::ExactHead exact = santa::exact_from_scores(logits, *hp->v);
        hp->p = exact.p;
        hp->y = exact.y;
        hp->trace_cov = exact.trace_cov;
        hp->entropy = entropy_nats(hp->p);
        hp->max_prob = max_probability(hp->p);
        return std::shared_ptr<const HeadProblem>(std::move(hp));
      },
      // Generated V is accounted under its own key; a file's V slice belongs to this entry.
      [&spec](const HeadProblem& h) {
        const auto own_v = spec.dist.name == "file" ? h.v->size() : 0;
        return static_cast<std::size_t>(h.p.size() + h.y.size() + own_v) * sizeof(double);
      });
}

}  // namespace santa::harness::workloads
