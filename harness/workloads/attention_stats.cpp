#include "harness/workloads/attention_stats.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

namespace santa::harness::workloads {

double entropy_nats(VecRef p) {
  double h = 0.0;
  for (Eigen::Index i = 0; i < p.size(); ++i) {
    if (p[i] > 0.0) h -= p[i] * std::log(p[i]);
  }
  return h;
}

double max_probability(VecRef p) { return p.size() ? p.maxCoeff() : 0.0; }

int64_t tiles_to_mass(VecRef p, int64_t tile, double fraction) {
  const int64_t n = p.size();
  std::vector<double> mass;
  double total = 0.0;
  for (int64_t b = 0; b < n; b += tile) {
    const int64_t len = std::min(tile, n - b);
    mass.push_back(p.segment(b, len).sum());
    total += mass.back();
  }
  std::sort(mass.begin(), mass.end(), std::greater<>());
  // A relative slack of 1e-12 keeps a tile set holding exactly 90% (up to rounding) at its count.
  const double goal = fraction * total * (1.0 - 1e-12);
  double acc = 0.0;
  for (std::size_t i = 0; i < mass.size(); ++i) {
    acc += mass[i];
    if (acc >= goal) return static_cast<int64_t>(i + 1);
  }
  return static_cast<int64_t>(mass.size());
}

}  // namespace santa::harness::workloads
