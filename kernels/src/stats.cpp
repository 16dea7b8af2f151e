#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "kernels/timing.hpp"

namespace santa::gpu {

double median(std::vector<double> v) {
  if (v.empty()) throw std::invalid_argument("median: empty sample");
  const std::size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  if (v.size() % 2 == 1) return v[m];
  const double hi = v[m];
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m) - 1, v.end());
  return 0.5 * (v[m - 1] + hi);
}

double mean(const std::vector<double>& v) {
  if (v.empty()) throw std::invalid_argument("mean: empty sample");
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

}  // namespace santa::gpu
