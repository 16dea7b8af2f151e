#include "estimators/closed_forms.hpp"

#include <algorithm>
#include <cmath>

#include "estimators/exact.hpp"
#include "estimators/sampling_detail.hpp"
#include "estimators/validation.hpp"

namespace santa {
namespace {

// Part of a distribution: row `row` carries `width` of it (widths need not sum to 1).
struct Piece {
  Eigen::Index row;
  double width;
};

// tr Cov(v) under the distribution proportional to the pieces' widths, in two passes (mean, then spread)
// so a small covariance is not lost to cancellation.
double trace_cov(const std::vector<Piece>& pieces, MatRef v) {
  double W = 0.0;
  Vec mean = Vec::Zero(v.cols());
  for (const Piece& pc : pieces) {
    W += pc.width;
    mean.noalias() += pc.width * v.row(pc.row).transpose();
  }
  if (!(W > 0.0)) return 0.0;
  mean /= W;
  double tr = 0.0;
  for (const Piece& pc : pieces) tr += pc.width * (v.row(pc.row).transpose() - mean).squaredNorm();
  return tr / W;
}

// sum_m tr(Sigma_m) over the S strata of w / sum(w). Scaled by S/sum(w), the CDF runs over [0, S) and
// stratum m is [m, m+1); row i occupies [X_{i-1}, X_i) and gives stratum m the piece of that interval
// inside [m, m+1). Stratum m's induced distribution is those pieces (total width 1), i.e. p_i's overlap
// with [m/S, (m+1)/S) scaled by S. One walk over rows and strata: O((n + S) d).
double strata_trace_sum(VecRef w, MatRef v, int64_t S) {
  const double total = detail::ordered_sum(w);
  Eigen::Index last = -1;
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    if (w[i] > 0.0) last = i;
  }
  const double scale = static_cast<double>(S) / total;
  std::vector<Piece> pieces;
  double sum = 0.0;
  int64_t m = 0;     // current stratum
  double X = 0.0;    // scaled inclusive prefix
  for (Eigen::Index i = 0; i <= last; ++i) {
    if (!(w[i] > 0.0)) continue;
    double lo = X;
    X = i == last ? static_cast<double>(S) : X + scale * w[i];  // rounding must not lose the end of [0, S)
    const double hi = X;
    // Close every stratum this row runs past; the last stratum takes whatever rounding leaves.
    while (m < S - 1 && hi > static_cast<double>(m + 1)) {
      const double ub = static_cast<double>(m + 1);
      if (ub > lo) pieces.push_back({i, ub - lo});
      lo = std::max(lo, ub);
      sum += trace_cov(pieces, v);
      pieces.clear();
      ++m;
    }
    if (hi > lo) pieces.push_back({i, hi - lo});
  }
  return sum + trace_cov(pieces, v);
}

// Checks shared by the closed forms: S, p, the shapes of p and v, and finite values. Returns sum(p).
double checked_total(std::string_view where, VecRef p, MatRef v, int64_t S) {
  check::budget(where, S);
  const double total = check::probability_total(where, p);
  check::same_size(where, p.size(), "p.size() (keys)", v.rows(), "v.rows()");
  check::nonempty(where, v.cols(), "v's columns (head dim)");
  check::finite_matrix(where, v, "v");
  return total;
}

}  // namespace

double mse_iid(VecRef p, MatRef v, int64_t S) {
  check::budget("mse_iid", S);
  return exact_from_probabilities(p, v).trace_cov / static_cast<double>(S);
}

double mse_strat(VecRef p, MatRef v, int64_t S) {
  checked_total("mse_strat", p, v, S);
  const double Sd = static_cast<double>(S);
  return strata_trace_sum(p, v, S) / (Sd * Sd);
}

double mse_flash(VecRef p, MatRef v, int64_t S, int64_t tile, WithinTile within, FlashBudgetRule rule) {
  constexpr std::string_view where = "mse_flash";
  checked_total(where, p, v, S);
  if (within != WithinTile::iid && within != WithinTile::strat) {
    check::fail(where, "within = ", static_cast<int>(within),
                "; a closed form exists only for i.i.d. or stratified draws inside the tiles (iid, strat)");
  }
  if (rule != FlashBudgetRule::exact_total && rule != FlashBudgetRule::reference) {
    check::fail(where, "rule = ", static_cast<int>(rule), "; allowed: exact_total, reference");
  }
  const TileMasses tm = tile_masses(p, tile);
  const auto budgets =
      rule == FlashBudgetRule::exact_total ? flash_budgets(S, tm.count()) : flash_budgets_reference(S, tm.count());
  // Tiles draw independently, so E||y_hat - y||^2 = sum_t P_t^2 E||mu_hat_t - mu_t||^2.
  double mse = 0.0;
  std::vector<Piece> pieces;
  for (int64_t t = 0; t < tm.count(); ++t) {
    const double P = tm.mass[t];
    if (P == 0.0) continue;
    const int64_t b = tm.begin[t], len = tm.begin[t + 1] - b;
    const double n_t = static_cast<double>(budgets[t]);
    double within_mse = 0.0;
    if (within == WithinTile::iid) {
      pieces.clear();
      for (int64_t i = 0; i < len; ++i) pieces.push_back({i, p[b + i]});
      within_mse = trace_cov(pieces, v.middleRows(b, len)) / n_t;
    } else {
      within_mse = strata_trace_sum(p.segment(b, len), v.middleRows(b, len), budgets[t]) / (n_t * n_t);
    }
    mse += P * P * within_mse;
  }
  return mse;
}

Vec prop_reference_bias(VecRef p, MatRef v, int64_t S, int64_t tile) {
  checked_total("prop_reference_bias", p, v, S);
  const TileMasses tm = tile_masses(p, tile);
  const auto budgets = largest_remainder_budgets(tm.mass, S);
  Vec bias = Vec::Zero(v.cols());
  for (int64_t t = 0; t < tm.count(); ++t) {
    const int64_t b = tm.begin[t], len = tm.begin[t + 1] - b;
    const double seg_sum = detail::ordered_sum(p.segment(b, len));
    if (seg_sum == 0.0) continue;  // P_t = 0 and S_t = 0: no term
    const Vec mu = v.middleRows(b, len).transpose() * (p.segment(b, len) / seg_sum);
    bias.noalias() += (static_cast<double>(budgets[t]) / static_cast<double>(S) - tm.mass[t]) * mu;
  }
  return bias;
}

}  // namespace santa
