// The tile_spread generator's construction rule, shared by the spec check (is a point feasible?) and the
// generator (harness/workloads) so the two cannot disagree.
//
// m "hot" tiles share the hot mass h equally, the other T - m tiles share 1 - h equally. Exactly m tiles are
// needed for 90% of the mass iff h >= 0.9, (m - 1) h / m < 0.9, and every cold tile is lighter than a hot one:
// (1 - h) / (T - m) < h / m. h is the midpoint of the interval the first two conditions allow.
#pragma once

#include <algorithm>
#include <cstdint>

namespace santa::harness {

inline double tile_spread_hot_mass(int64_t m) {
  if (m <= 1) return 0.95;
  const double upper = std::min(1.0, 0.9 * double(m) / double(m - 1));
  return 0.5 * (0.9 + upper);
}

inline bool tile_spread_feasible(int64_t n, int64_t tile, int64_t m) {
  const int64_t tiles = (n + tile - 1) / tile;
  if (m < 1 || m >= tiles) return false;
  const double h = tile_spread_hot_mass(m);
  return (1.0 - h) / double(tiles - m) < h / double(m);
}

}  // namespace santa::harness
