#include "estimators/tiles.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "estimators/sampling_detail.hpp"
#include "estimators/validation.hpp"

namespace santa {
namespace {

// Tile t covers keys [t * tile, min(n, (t + 1) * tile)). Its raw sum is accumulated in index order, the same
// order the within-tile samplers use for their running prefix.
struct TileSums {
  int64_t tile = 0;
  std::vector<int64_t> begin;  // size T + 1
  std::vector<double> sum;     // raw sum of p over the tile
  double total = 0.0;          // sum of p
  int64_t count() const { return static_cast<int64_t>(sum.size()); }
  int64_t length(int64_t t) const { return begin[t + 1] - begin[t]; }
};

TileSums tile_sums(VecRef p, int64_t tile, double total) {
  TileSums ts;
  ts.tile = tile;
  ts.total = total;
  const int64_t n = p.size();
  const int64_t T = (n + tile - 1) / tile;
  ts.begin.resize(static_cast<std::size_t>(T + 1));
  ts.sum.resize(static_cast<std::size_t>(T));
  for (int64_t t = 0; t < T; ++t) {
    ts.begin[t] = t * tile;
    ts.sum[t] = detail::ordered_sum(p.segment(t * tile, std::min(tile, n - t * tile)));
  }
  ts.begin[T] = n;
  return ts;
}

TileSums checked_tile_sums(std::string_view where, VecRef p, int64_t S, int64_t tile) {
  check::budget(where, S);
  const double total = check::probability_total(where, p);
  check::tile_size(where, tile, p.size());
  return tile_sums(p, tile, total);
}

RngSite tile_site(const RngSite& site, int64_t t) {
  RngSite s = site;
  s.tile = static_cast<uint32_t>(t);
  return s;
}

void check_tile_count(std::string_view where, int64_t S, int64_t tiles) {
  check::budget(where, S);
  if (tiles < 1) check::fail(where, "tiles = ", tiles, "; the number of tiles must be >= 1");
}

}  // namespace

TileMasses tile_masses(VecRef p, int64_t tile) {
  constexpr std::string_view where = "tile_masses";
  const double total = check::probability_total(where, p);
  check::tile_size(where, tile, p.size());
  const TileSums ts = tile_sums(p, tile, total);
  TileMasses tm;
  tm.tile = tile;
  tm.begin = ts.begin;
  tm.mass.resize(ts.count());
  for (int64_t t = 0; t < ts.count(); ++t) tm.mass[t] = ts.sum[t] / total;
  return tm;
}

std::vector<int64_t> flash_budgets(int64_t S, int64_t tiles) {
  check_tile_count("flash_budgets", S, tiles);
  const int64_t base = S / tiles, extra = S % tiles;
  std::vector<int64_t> b(static_cast<std::size_t>(tiles));
  for (int64_t t = 0; t < tiles; ++t) b[t] = std::max<int64_t>(1, base + (t < extra ? 1 : 0));
  return b;
}

std::vector<int64_t> flash_budgets_reference(int64_t S, int64_t tiles) {
  check_tile_count("flash_budgets_reference", S, tiles);
  return std::vector<int64_t>(static_cast<std::size_t>(tiles), std::max<int64_t>(1, S / tiles));
}

RowDraw sample_flash(VecRef p, int64_t S, int64_t tile, const RngSite& site, FlashBudgetRule rule,
                     WithinTile within) {
  constexpr std::string_view where = "sample_flash";
  const TileSums ts = checked_tile_sums(where, p, S, tile);
  if (rule != FlashBudgetRule::exact_total && rule != FlashBudgetRule::reference) {
    check::fail(where, "rule = ", static_cast<int>(rule), "; allowed: exact_total, reference");
  }
  if (within != WithinTile::systematic && within != WithinTile::iid && within != WithinTile::strat) {
    check::fail(where, "within = ", static_cast<int>(within), "; allowed: systematic, iid, strat");
  }
  const auto budgets =
      rule == FlashBudgetRule::exact_total ? flash_budgets(S, ts.count()) : flash_budgets_reference(S, ts.count());
  RowDraw out;
  for (int64_t t = 0; t < ts.count(); ++t) {
    const double sum_t = ts.sum[t];
    if (sum_t == 0.0) continue;  // P_t = 0: the tile's term P_t mu_t is 0, nothing to draw
    const VecRef w = p.segment(ts.begin[t], ts.length(t));
    const int64_t n_t = budgets[t];
    PhiloxStream rng(tile_site(site, t));
    const std::size_t from = out.row.size();
    switch (within) {
      case WithinTile::systematic:
        detail::append_systematic(w, static_cast<double>(n_t) / sum_t, rng.next_double(), n_t, ts.begin[t], out);
        break;
      case WithinTile::iid:
        detail::append_iid(w, n_t, rng, ts.begin[t], out);
        break;
      case WithinTile::strat:
        detail::append_strat(w, n_t, rng, ts.begin[t], out);
        break;
    }
    // y_hat = sum_t P_t (1/n_t) sum_i c_i v_i
    out.samples += detail::set_weights(out, from, (sum_t / ts.total) / static_cast<double>(n_t));
  }
  return out;
}

std::vector<int64_t> largest_remainder_budgets(VecRef mass, int64_t S) {
  constexpr std::string_view where = "largest_remainder_budgets";
  check::budget(where, S);
  const double total = check::probability_total(where, mass);
  const int64_t T = mass.size();
  std::vector<int64_t> b(static_cast<std::size_t>(T));
  std::vector<double> rem(static_cast<std::size_t>(T));
  int64_t assigned = 0;
  for (int64_t t = 0; t < T; ++t) {
    const double x = static_cast<double>(S) * (mass[t] / total);
    b[t] = static_cast<int64_t>(std::floor(x));
    rem[t] = x - static_cast<double>(b[t]);
    assigned += b[t];
  }
  // Rounding of S * m_t can leave the floors a hair off; clamp so the leftover is in [0, T].
  const int64_t left = std::clamp<int64_t>(S - assigned, 0, T);
  // Largest remainder first; ties to tiles with mass, then to the lower index (deterministic).
  std::vector<int64_t> order(static_cast<std::size_t>(T));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t c) {
    if (rem[a] != rem[c]) return rem[a] > rem[c];
    return (mass[a] > 0.0) > (mass[c] > 0.0);
  });
  for (int64_t j = 0; j < left; ++j) ++b[order[j]];
  if (std::accumulate(b.begin(), b.end(), int64_t{0}) != S) {
    throw std::logic_error("largest_remainder_budgets: budgets do not sum to S");
  }
  return b;
}

RowDraw sample_prop_reference(VecRef p, int64_t S, int64_t tile, const RngSite& site) {
  constexpr std::string_view where = "sample_prop_reference";
  const TileSums ts = checked_tile_sums(where, p, S, tile);
  Vec mass(ts.count());
  for (int64_t t = 0; t < ts.count(); ++t) mass[t] = ts.sum[t] / ts.total;
  const auto budgets = largest_remainder_budgets(mass, S);
  RowDraw out;
  for (int64_t t = 0; t < ts.count(); ++t) {
    const int64_t S_t = budgets[t];
    if (S_t == 0 || ts.sum[t] == 0.0) continue;
    // Systematic within the tile on the weights S_t p_i / P_t (they sum to S_t), offset from the tile's site.
    detail::append_systematic(p.segment(ts.begin[t], ts.length(t)), static_cast<double>(S_t) / ts.sum[t],
                              systematic_offset(tile_site(site, t)), S_t, ts.begin[t], out);
  }
  out.samples = detail::set_weights(out, 0, 1.0 / static_cast<double>(S));  // y_hat = (1/S) sum c_i v_i
  return out;
}

RowDraw global_systematic_counts(VecRef p, int64_t S, int64_t tile, double offset) {
  constexpr std::string_view where = "global_systematic_counts";
  const TileSums ts = checked_tile_sums(where, p, S, tile);
  if (!(offset >= 0.0 && offset < 1.0)) check::fail(where, "offset = ", offset, "; the offset must be in [0, 1)");
  int64_t last_tile = -1;
  for (int64_t t = 0; t < ts.count(); ++t) {
    if (ts.sum[t] > 0.0) last_tile = t;
  }
  const double Sd = static_cast<double>(S);
  RowDraw out;
  double C = 0.0;     // exclusive prefix of the tile masses P_t
  int64_t K = 0;      // grid points below a + S C (a running floor, as in the within-tile rule)
  for (int64_t t = 0; t <= last_tile; ++t) {
    if (ts.sum[t] == 0.0) continue;
    // What a kernel computes from the exclusive scan over tile masses: the tile's offset into the global grid.
    const double shifted = offset + Sd * C;
    const double a_t = shifted - std::floor(shifted);
    C += ts.sum[t] / ts.total;
    // The tile's share of the grid: floor(a + S C_{t+1}) - floor(a + S C_t), clamped so rounding cannot make
    // it negative; the last tile with mass closes the grid at S.
    const int64_t K_next =
        t == last_tile ? S : std::clamp(static_cast<int64_t>(std::floor(offset + Sd * C)), K, S);
    detail::append_systematic(p.segment(ts.begin[t], ts.length(t)), Sd / ts.total, a_t, K_next - K, ts.begin[t],
                              out);
    K = K_next;
  }
  out.samples = detail::set_weights(out, 0, 1.0 / Sd);
  if (out.samples != S) throw std::logic_error("global_systematic_counts: drew a total that differs from S");
  return out;
}

RowDraw sample_global_systematic(VecRef p, int64_t S, int64_t tile, const RngSite& site) {
  RngSite head = site;
  head.tile = kHeadSiteTile;  // one offset per (seed, step, batch, head), shared by all the head's tiles
  return global_systematic_counts(p, S, tile, systematic_offset(head));
}

}  // namespace santa
