// Input checks shared by the estimators. Each throws std::invalid_argument with a message of the form
// "<function>: <parameter> = <bad value>; <what is allowed>", so a caller sees what to fix.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "estimators/types.hpp"

namespace santa::check {

// Probability vectors may miss 1 by this much (float-derived or long sums); the samplers then normalise by
// the actual sum, so such a deviation never biases an estimate.
constexpr double kSumTolerance = 1e-6;
// Largest sample budget: counts are int32 and the samplers allocate O(S).
constexpr int64_t kMaxBudget = int64_t{1} << 30;

template <class... Parts>
[[noreturn]] void fail(std::string_view where, const Parts&... parts) {
  std::ostringstream msg;
  msg.precision(17);
  msg << where << ": ";
  (msg << ... << parts);
  throw std::invalid_argument(msg.str());
}

// 1 <= S <= kMaxBudget.
void budget(std::string_view where, int64_t S, std::string_view name = "S");
// tile >= 1, and the number of tiles fits the RNG site's tile field (below kHeadSiteTile).
void tile_size(std::string_view where, int64_t tile, int64_t n);
// n >= 1 ("empty context").
void nonempty(std::string_view where, int64_t n, std::string_view name);
// Two sizes that must agree, e.g. p.size() and v.rows().
void same_size(std::string_view where, int64_t a, std::string_view a_name, int64_t b, std::string_view b_name);
// Every entry finite.
void finite(std::string_view where, VecRef x, std::string_view name);
void finite_matrix(std::string_view where, MatRef x, std::string_view name);
// p non-empty, finite, >= 0 and summing to 1 within tol. Returns the sum, accumulated in index order
// (the order the samplers' running prefixes use, so their last prefix equals it exactly).
double probability_total(std::string_view where, VecRef p, double tol = kSumTolerance);

}  // namespace santa::check
