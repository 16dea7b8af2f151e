// Samplers over one probability vector. Each returns per-row counts (sum = S) with weight = count / S,
// in O(n + S) time. Randomness comes from a PhiloxStream so runs are reproducible from a seed.
// p must be finite, >= 0 and sum to 1 within 1e-6 (check::kSumTolerance); the samplers draw from p / sum(p).
// Bad input (S < 1, empty or invalid p) throws std::invalid_argument naming the parameter.
#pragma once

#include "estimators/philox.hpp"
#include "estimators/types.hpp"

namespace santa {

// SANTA: S independent draws from Categorical(p) (inverse CDF over sorted uniforms).
RowDraw sample_iid(VecRef p, int64_t S, PhiloxStream& rng);
// S2ANTA-strat: one uniform per stratum [m/S, (m+1)/S), inverse CDF.
RowDraw sample_strat(VecRef p, int64_t S, PhiloxStream& rng);
// S2ANTA-sys: one offset U in [0,1); counts c_i = floor(U + P_i + S p_i) - floor(U + P_i), P_i the
// exclusive prefix of S p. Every count is floor(S p_i) or ceil(S p_i).
RowDraw sample_sys(VecRef p, int64_t S, PhiloxStream& rng);
// The offset is the stream's first double, i.e. systematic_offset(site) for a stream opened on `site`.
// Same rule with a given offset in [0,1) (the tile kernels and global-systematic reuse it). The counts sum to
// expected_total = floor(offset + sum of weights) (checked up to rounding of the sum, which the rule absorbs so
// the total is exact); weight = count / expected_total.
RowDraw systematic_counts(VecRef weights_times_S, double offset, int64_t expected_total);
// Biased selection baseline: the S largest probabilities renormalised (count 1 each, weight p_i / sum).
// Ties go to the lower index; zero-probability rows are never selected, so fewer than S rows come back when
// p has fewer than S positive entries (samples = rows returned).
RowDraw select_topk(VecRef p, int64_t S);

}  // namespace santa
