// GPU realisations of S2ANTA: the key axis is cut into tiles of `tile` keys (the last may be short).
#pragma once

#include "estimators/philox.hpp"
#include "estimators/types.hpp"

namespace santa {

// Per-tile view of p: mass P_t and the tile's key range.
struct TileMasses {
  int64_t tile = 0;
  std::vector<int64_t> begin;  // first key of each tile; size T + 1 (last = n)
  Vec mass;                    // P_t, sums to 1
  int64_t count() const { return static_cast<int64_t>(mass.size()); }
};
TileMasses tile_masses(VecRef p, int64_t tile);

// Per-tile budget of S2ANTA-flash: floor(S/T) with the remainder spread over the first tiles, but at
// least 1 per tile (so the estimator stays unbiased): the real total is max(S, T).
std::vector<int64_t> flash_budgets(int64_t S, int64_t tiles);
// The reference kernel's rule max(1, floor(S/T)) per tile (its real total is not S); for comparison.
std::vector<int64_t> flash_budgets_reference(int64_t S, int64_t tiles);

enum class FlashBudgetRule { exact_total, reference };
enum class WithinTile { systematic, iid, strat };

// S2ANTA-flash: y_hat = sum_t P_t (1/n_t) sum_{i in t} c_i v_i, counts drawn within each tile from the
// tile-local weights p_i / P_t. One RNG site per tile (site.tile = t).
RowDraw sample_flash(VecRef p, int64_t S, int64_t tile, const RngSite& site,
                     FlashBudgetRule rule = FlashBudgetRule::exact_total,
                     WithinTile within = WithinTile::systematic);

// Reference S2ANTA-prop: S_t = largest-remainder rounding of S P_t, systematic within tile,
// y_hat = (1/S) sum c_i v_i. Biased by sum_t (S_t/S - P_t) mu_t.
RowDraw sample_prop_reference(VecRef p, int64_t S, int64_t tile, const RngSite& site);
std::vector<int64_t> largest_remainder_budgets(VecRef mass, int64_t S);

// Global-systematic (this project's exact prop): one offset a per head, read from the site with
// tile = kHeadSiteTile (0xFFFFFFFF; the caller's site.tile is ignored) via systematic_offset. Tile t, holding
// the slice [C_t, C_t + P_t) of the global CDF (C_t the exclusive scan of the tile masses), runs the
// systematic rule on the weights S p_i with offset a_t = frac(a + S C_t): the same grid as sample_sys with
// offset a over the whole vector, cut at the tile boundaries. (With offset a the rule counts the grid points
// (k - a)/S, k integer; SANTA.md's U in [0, 1/S) is (1 - a)/S.) Exactly S samples, unbiased, proportional.
RowDraw sample_global_systematic(VecRef p, int64_t S, int64_t tile, const RngSite& site);
// The same with the head offset given, in [0, 1); counts equal systematic_counts(S p, offset, S) up to
// floating-point rounding at grid points that fall within ~1e-15 of a prefix boundary.
RowDraw global_systematic_counts(VecRef p, int64_t S, int64_t tile, double offset);

}  // namespace santa
