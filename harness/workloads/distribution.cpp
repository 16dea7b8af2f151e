#include "harness/workloads/distribution.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>
#include <stdexcept>
#include <type_traits>

#include "harness/core/tile_spread_rule.hpp"
#include "harness/workloads/random.hpp"

namespace santa::harness::workloads {
namespace {

// Uniform integer in [0, n) (the bias of the float product is < 2^-53 * n, irrelevant here).
int64_t uniform_index(NormalStream& s, int64_t n) {
  return std::min<int64_t>(n - 1, static_cast<int64_t>(s.uniform() * double(n)));
}

// k distinct positions of [0, n) (partial Fisher-Yates over a lazily built permutation).
std::vector<int64_t> distinct_positions(NormalStream& s, int64_t n, int64_t k) {
  std::vector<int64_t> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  for (int64_t i = 0; i < k; ++i) std::swap(perm[i], perm[i + uniform_index(s, n - i)]);
  perm.resize(static_cast<std::size_t>(k));
  return perm;
}

Vec log_of(const Vec& weights) { return weights.array().log().matrix(); }

Vec sink_plus_local(const DistributionSpec& d, int64_t n, NormalStream& s) {
  Vec w(n);
  const int64_t tail_begin = d.sinks, tail_end = n - d.window;
  // Exponential weights (a flat Dirichlet) inside the sink and window groups, Pareto in the remainder.
  const auto fill = [&](int64_t b, int64_t e, double mass, bool pareto) {
    double total = 0.0;
    for (int64_t i = b; i < e; ++i) {
      const double u = 1.0 - s.uniform();
      w[i] = pareto ? std::pow(u, -1.0 / d.tail_alpha) : -std::log(u);
      total += w[i];
    }
    for (int64_t i = b; i < e; ++i) w[i] *= mass / total;
  };
  fill(0, tail_begin, d.sink_mass, false);
  fill(tail_end, n, d.local_mass, false);
  fill(tail_begin, tail_end, 1.0 - d.sink_mass - d.local_mass, true);
  return log_of(w);
}

Vec zipf(const DistributionSpec& d, int64_t n, NormalStream& s) {
  const std::vector<int64_t> perm = distinct_positions(s, n, n);
  Vec logits(n);
  for (int64_t r = 0; r < n; ++r) logits[perm[r]] = -d.zipf_exponent * std::log(double(r + 1));
  return logits;
}

Vec needles(const DistributionSpec& d, VecRef gaussian, int64_t n, NormalStream& s) {
  const std::vector<int64_t> pos = distinct_positions(s, n, d.needle_count);
  Vec logits = gaussian;
  std::vector<bool> is_needle(static_cast<std::size_t>(n), false);
  for (int64_t p : pos) is_needle[p] = true;
  const double m = logits.maxCoeff();
  double background = 0.0;  // sum of exp(s_i - m) over non-needle keys
  for (int64_t i = 0; i < n; ++i) {
    if (!is_needle[i]) background += std::exp(logits[i] - m);
  }
  // k e^L / (k e^L + background) = needle_mass
  const double L = m + std::log(d.needle_mass * background / (double(d.needle_count) * (1.0 - d.needle_mass)));
  for (int64_t p : pos) logits[p] = L;
  return logits;
}

Vec tile_spread(const DistributionSpec& d, int64_t n, NormalStream& s) {
  const int64_t t = d.spread_tile, tiles = (n + t - 1) / t, m = d.tiles_90;
  if (!tile_spread_feasible(n, t, m))
    throw std::invalid_argument(fmt::format("tile_spread: tiles_90 = {} is not feasible with n_k = {} and "
                                            "spread_tile = {}",
                                            m, n, t));
  const double hot = tile_spread_hot_mass(m);
  const std::vector<int64_t> hot_tiles = distinct_positions(s, tiles, m);
  std::vector<bool> is_hot(static_cast<std::size_t>(tiles), false);
  for (int64_t h : hot_tiles) is_hot[h] = true;
  Vec w(n);
  for (int64_t b = 0; b < tiles; ++b) {
    const int64_t begin = b * t, end = std::min(n, begin + t);
    double total = 0.0;
    // Log-normal weights inside a tile: the mass of the tile is fixed, its keys differ.
    for (int64_t i = begin; i < end; ++i) total += (w[i] = std::exp(s.next()));
    const double mass = is_hot[b] ? hot / double(m) : (1.0 - hot) / double(tiles - m);
    for (int64_t i = begin; i < end; ++i) w[i] *= mass / total;
  }
  return log_of(w);
}

// Kinds without a knob (coverage has only `distribution`) keep the default.
template <class T>
void read_if(const Point& p, const char* name, T& out) {
  if (!p.find(name)) return;
  if constexpr (std::is_same_v<T, std::string>) {
    out = p.text(name);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    out = p.integer(name);
  } else {
    out = p.real(name);
  }
}

}  // namespace

std::string DistributionSpec::key() const {
  if (name == "temperature")
    return temperature_target == TemperatureTarget::entropy ? fmt::format("temperature(entropy={:.17g})", target_entropy)
                                                            : fmt::format("temperature(max_prob={:.17g})", target_max_prob);
  if (name == "sink_plus_local")
    return fmt::format("sink_plus_local({},{},{:.17g},{:.17g},{:.17g})", sinks, window, sink_mass, local_mass,
                       tail_alpha);
  if (name == "zipf") return fmt::format("zipf({:.17g})", zipf_exponent);
  if (name == "needles") return fmt::format("needles({},{:.17g})", needle_count, needle_mass);
  if (name == "tile_spread") return fmt::format("tile_spread({},{})", tiles_90, spread_tile);
  if (name == "file") return fmt::format("file({})", file);
  return name;
}

bool DistributionSpec::uses_gaussian_scores() const {
  return name == "gaussian" || name == "temperature" || name == "needles";
}

DistributionSpec distribution_from_point(const Point& p) {
  DistributionSpec d;
  d.name = p.text("distribution");
  std::string target = "entropy";
  read_if(p, "temperature_target", target);
  d.temperature_target = target == "max_prob" ? TemperatureTarget::max_prob : TemperatureTarget::entropy;
  read_if(p, "target_entropy", d.target_entropy);
  read_if(p, "target_max_prob", d.target_max_prob);
  read_if(p, "sinks", d.sinks);
  read_if(p, "window", d.window);
  read_if(p, "sink_mass", d.sink_mass);
  read_if(p, "local_mass", d.local_mass);
  read_if(p, "tail_alpha", d.tail_alpha);
  read_if(p, "zipf_exponent", d.zipf_exponent);
  read_if(p, "needle_count", d.needle_count);
  read_if(p, "needle_mass", d.needle_mass);
  read_if(p, "tiles_90", d.tiles_90);
  read_if(p, "spread_tile", d.spread_tile);
  read_if(p, "file", d.file);
  return d;
}

Vec gaussian_scores(uint64_t seed, uint32_t instance, uint32_t head, int64_t n, int64_t d) {
  NormalStream qs(stream_site(seed, instance, Purpose::query, head));
  Vec q(d);
  for (int64_t j = 0; j < d; ++j) q[j] = qs.next();
  NormalStream ks(stream_site(seed, instance, Purpose::key, head));
  Vec s(n);
  const double scale = 1.0 / std::sqrt(double(d));
  for (int64_t i = 0; i < n; ++i) {
    double dot = 0.0;
    for (int64_t j = 0; j < d; ++j) dot += q[j] * ks.next();
    s[i] = dot * scale;
  }
  return s;
}

Vec shape_logits(const DistributionSpec& dist, VecRef gaussian, int64_t n, uint64_t seed, uint32_t instance,
                 uint32_t head) {
  NormalStream s(stream_site(seed, instance, Purpose::shape, head));
  if (dist.name == "gaussian") return gaussian;
  if (dist.name == "temperature") {
    const double beta = solve_inverse_temperature(
        gaussian, dist.temperature_target,
        dist.temperature_target == TemperatureTarget::entropy ? dist.target_entropy : dist.target_max_prob);
    return beta * gaussian;
  }
  if (dist.name == "sink_plus_local") return sink_plus_local(dist, n, s);
  if (dist.name == "zipf") return zipf(dist, n, s);
  if (dist.name == "needles") return needles(dist, gaussian, n, s);
  if (dist.name == "tile_spread") return tile_spread(dist, n, s);
  throw std::invalid_argument(fmt::format("unknown distribution '{}' for a generated workload", dist.name));
}

}  // namespace santa::harness::workloads
