// Building blocks shared by samplers.cpp and tiles.cpp (not part of the public API).
//
// Each append_* draws counts from a slice w of non-negative weights (not necessarily normalised, positive
// sum) and appends (begin + i, count_i) to `out` in ascending row order with weight left 0; the caller sets
// the weights with set_weights. Inputs are assumed validated. Every running prefix is a double accumulated
// in index order, the same order as the slice total, so the last prefix equals the total exactly.
#pragma once

#include "estimators/philox.hpp"
#include "estimators/types.hpp"

namespace santa::detail {

// Sum in index order (Eigen's sum() reorders, which would break the "last prefix == total" guarantee).
double ordered_sum(VecRef w);

// S i.i.d. draws from w / sum(w): S sorted uniforms from exponential spacings, one merge against the CDF.
void append_iid(VecRef w, int64_t S, PhiloxStream& rng, int64_t begin, RowDraw& out);
// One uniform per stratum [m/S, (m+1)/S) of the CDF of w / sum(w), one merge.
void append_strat(VecRef w, int64_t S, PhiloxStream& rng, int64_t begin, RowDraw& out);
// Systematic counts c_i = floor(a + P_i + x_i) - floor(a + P_i), x_i = scale * w_i, P_i the exclusive prefix
// of x. The counts sum to floor(a + sum x) in exact arithmetic; `total_count` is that number, and floating
// point rounding at the end of the slice is absorbed so the counts sum to it exactly (clamped running floor,
// the last positive-weight row takes what is left).
void append_systematic(VecRef w, double scale, double offset, int64_t total_count, int64_t begin, RowDraw& out);

// weight = count * coef for the entries appended since `from`; returns the sum of their counts.
int64_t set_weights(RowDraw& out, std::size_t from, double coef);

}  // namespace santa::detail
