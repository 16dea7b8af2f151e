// Scale scores by an inverse temperature beta so that softmax(beta * s) reaches a target entropy or
// largest probability. Both are monotone in beta >= 0 (dH/dbeta = -beta Var_p(s) <= 0; the top
// probability only grows), so bisection finds the unique beta.
#pragma once

#include "estimators/types.hpp"

namespace santa::harness::workloads {

enum class TemperatureTarget { entropy, max_prob };

// Throws std::invalid_argument when the target is out of reach (entropy >= ln n or <= 0, max_prob <= 1/n or
// >= 1, or all scores equal).
double solve_inverse_temperature(VecRef scores, TemperatureTarget target, double value);

}  // namespace santa::harness::workloads
