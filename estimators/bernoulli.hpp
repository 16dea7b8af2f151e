// Score-stage sparsification: Bernoulli (ternary) query sampling for qK^T (SANTA.md section 4).
#pragma once

#include "estimators/philox.hpp"
#include "estimators/types.hpp"

namespace santa {

enum class BernoulliMode { standard, stratified };

// B ternary samples of q / norm (norm >= max|q_i|; 0 means use max|q_i|) summarised per feature:
// sum over samples of q_hat^(b)_i in {-B..B}, and whether feature i was non-zero in any sample.
// Standard: B uniforms per feature. Stratified: the count of ones is floor(B r_i) + Bernoulli(frac(B r_i)),
// r_i = |q_i| / norm, which is exactly the law of B stratified uniforms (b + xi_b)/B < r_i (one uniform per
// feature suffices, see bernoulli.cpp).
struct TernarySamples {
  double norm = 0.0;
  int B = 0;
  Eigen::VectorXi sum;                 // [d]
  std::vector<bool> accessed;          // [d]
  double access_fraction() const;
};
TernarySamples sample_ternary(VecRef q, int B, BernoulliMode mode, PhiloxStream& rng, double norm = 0.0);

// Unbiased estimate of the raw scores q K^T (no 1/sqrt(d) scaling) from ternary samples: (norm/B) sum_b q_hat K^T.
Vec bernoulli_scores(const TernarySamples& s, MatRef k);

// GQA "mean group query": sample once from m = mean_g |q_g| (q_group [G, d]); each head's estimate is
// (m_hat ⊙ q_g / m) K^T, unbiased. Returns scores [G, n] and the shared access mask.
struct GroupScores {
  MatRM scores;               // [G, n]
  std::vector<bool> accessed; // [d], union that must be fetched for the group
  double access_fraction() const;
};
GroupScores bernoulli_group_scores(MatRef q_group, MatRef k, int B, BernoulliMode mode, PhiloxStream& rng);

// Access fraction when each of the G heads samples on its own: features non-zero in any head's samples.
// site.head names the KV head; query head g of the group draws from `site` with head = site.head * G + g
// (its own query-head index), so the per-head streams match sample_ternary on those sites.
double group_union_access_fraction(MatRef q_group, int B, BernoulliMode mode, const RngSite& site);

}  // namespace santa
