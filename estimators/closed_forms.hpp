// Closed-form mean squared error E||y_hat - y||^2 and bias of the estimators where they exist.
#pragma once

#include "estimators/tiles.hpp"
#include "estimators/types.hpp"

namespace santa {

// i.i.d. SANTA: tr(Sigma) / S.
double mse_iid(VecRef p, MatRef v, int64_t S);
// Stratified: (1/S^2) sum_m tr(Sigma_m), Sigma_m the covariance of v under stratum m's induced distribution.
double mse_strat(VecRef p, MatRef v, int64_t S);
// S2ANTA-flash with i.i.d. or stratified draws inside each tile: sum_t P_t^2 * mse_within(t, n_t).
// (No closed form for systematic within tile; throws for WithinTile::systematic.)
double mse_flash(VecRef p, MatRef v, int64_t S, int64_t tile, WithinTile within,
                 FlashBudgetRule rule = FlashBudgetRule::exact_total);
// The reference prop rule's exact bias vector sum_t (S_t/S - P_t) mu_t.
Vec prop_reference_bias(VecRef p, MatRef v, int64_t S, int64_t tile);

}  // namespace santa
