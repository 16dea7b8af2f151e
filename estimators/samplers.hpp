// Samplers over one probability vector. Each returns per-row counts (sum = S) with weight = count / S,
// in O(n + S) time. Randomness comes from a PhiloxStream so runs are reproducible from a seed.
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
// Same rule with a given offset in [0,1) (the tile kernels and global-systematic reuse it).
RowDraw systematic_counts(VecRef weights_times_S, double offset, int64_t expected_total);
// Biased selection baseline: the S largest probabilities renormalised (count 1 each, weight p_i / sum).
RowDraw select_topk(VecRef p, int64_t S);

}  // namespace santa
