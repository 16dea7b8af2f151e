#include "harness/workloads/temperature.hpp"

#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

#include "estimators/exact.hpp"
#include "harness/workloads/attention_stats.hpp"

namespace santa::harness::workloads {

double solve_inverse_temperature(VecRef scores, TemperatureTarget target, double value) {
  const double n = double(scores.size());
  const bool entropy = target == TemperatureTarget::entropy;
  if (entropy ? !(value > 0.0 && value < std::log(n)) : !(value > 1.0 / n && value < 1.0))
    throw std::invalid_argument(fmt::format("temperature: target {} = {} is out of reach for n = {}",
                                            entropy ? "entropy" : "max_prob", value, scores.size()));
  if (scores.maxCoeff() == scores.minCoeff())
    throw std::invalid_argument("temperature: all scores are equal; no temperature changes their softmax");
  // g(beta) increases with beta in both cases.
  const auto g = [&](double beta) {
    const Vec p = santa::softmax(beta * scores);
    return entropy ? -entropy_nats(p) : max_probability(p);
  };
  const double goal = entropy ? -value : value;
  double lo = 0.0, hi = 1.0;
  while (g(hi) < goal) {
    lo = hi;
    hi *= 2.0;
    if (hi > 1e12) throw std::invalid_argument("temperature: target not reached for beta up to 1e12");
  }
  for (int it = 0; it < 200 && hi - lo > 1e-14 * hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    (g(mid) < goal ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace santa::harness::workloads
