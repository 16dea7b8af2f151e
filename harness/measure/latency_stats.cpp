#include "harness/measure/latency_stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "harness/measure/moments.hpp"

namespace santa::harness::measure {

double student_t_975(int64_t dof) {
  if (dof < 1) return std::nan("");
  // dof 1: tan(pi (0.975 - 1/2)); dof 2: (2p - 1) / sqrt(2 p (1 - p)); dof 3 to 6: standard tables (the
  // expansion below is 4e-3 off at dof 3 and 1.1e-4 at dof 6, < 5e-5 from dof 7 on).
  static constexpr double kSmall[] = {12.706204736174698, 4.302652729749464, 3.182446305284263,
                                      2.776445105197793,  2.570581835636314, 2.446911851144969};
  if (dof <= 6) return kSmall[dof - 1];
  const double z = 1.959963984540054;  // normal 97.5 % quantile
  const double g1 = (z * z * z + z) / 4.0;
  const double g2 = (5 * std::pow(z, 5) + 16 * std::pow(z, 3) + 3 * z) / 96.0;
  const double g3 = (3 * std::pow(z, 7) + 19 * std::pow(z, 5) + 17 * std::pow(z, 3) - 15 * z) / 384.0;
  const double g4 =
      (79 * std::pow(z, 9) + 776 * std::pow(z, 7) + 1482 * std::pow(z, 5) - 1920 * std::pow(z, 3) - 945 * z) /
      92160.0;
  const double v = static_cast<double>(dof);
  return z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v);
}

TimingSummary summarize_timing(const std::vector<double>& samples_us) {
  if (samples_us.empty()) throw std::invalid_argument("summarize_timing: no samples");
  Moments m;
  for (std::size_t i = 0; i < samples_us.size(); ++i) {
    const double x = samples_us[i];
    if (!std::isfinite(x) || x < 0.0)
      throw std::invalid_argument(
          fmt::format("summarize_timing: sample {} is {} us; allowed: a finite time >= 0", i, x));
    m.add(x);
  }
  std::vector<double> sorted = samples_us;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  TimingSummary s;
  s.count = static_cast<int64_t>(n);
  s.mean_us = m.mean();
  s.median_us = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  s.min_us = sorted.front();
  if (n > 1) {
    s.std_us = std::sqrt(m.variance());
    const double half = student_t_975(s.count - 1) * s.std_us / std::sqrt(static_cast<double>(n));
    s.ci95_lo_us = s.mean_us - half;
    s.ci95_hi_us = s.mean_us + half;
  } else {
    s.std_us = s.ci95_lo_us = s.ci95_hi_us = std::nan("");
  }
  return s;
}

}  // namespace santa::harness::measure
