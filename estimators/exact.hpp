// Exact decode attention (the target every estimator is compared with). Double precision throughout.
#pragma once

#include "estimators/types.hpp"

namespace santa {

// Scores s_i = scale * q . k_i for one query head against one KV head's keys k [n, d].
Vec attention_scores(VecRef q, MatRef k, double scale);

// Max-subtracted softmax. Throws std::invalid_argument on an empty or non-finite input.
Vec softmax(VecRef scores);

// Checks that p is a probability vector (finite, >= 0, sums to 1 within `tol`); throws otherwise.
void validate_probabilities(VecRef p, double tol = 1e-9);

// Exact output of one head: p = softmax(s), y = sum p_i v_i, tr(Sigma) = sum p_i ||v_i||^2 - ||y||^2.
struct ExactHead {
  Vec p;
  Vec y;
  double trace_cov = 0.0;
};
ExactHead exact_from_probabilities(VecRef p, MatRef v);
ExactHead exact_from_scores(VecRef scores, MatRef v);

// Whole decode step with GQA: q [H, d], k and v one [n, d] matrix per KV head; query head h reads
// KV head h / (H / H_kv). Returns outputs [H, d]. Throws when H is not divisible by H_kv or shapes differ.
MatRM exact_decode(MatRef q, const std::vector<MatRM>& k, const std::vector<MatRM>& v, double scale);

// Estimate from a draw: sum_j weight[j] * v.row(row[j]).
Vec apply_draw(const RowDraw& draw, MatRef v);

}  // namespace santa
