#include "estimators/validation.hpp"

#include <cmath>

#include "estimators/philox.hpp"

namespace santa::check {

void budget(std::string_view where, int64_t S, std::string_view name) {
  if (S < 1 || S > kMaxBudget) {
    fail(where, name, " = ", S, "; the sample budget must be in [1, ", kMaxBudget, "]");
  }
}

void tile_size(std::string_view where, int64_t tile, int64_t n) {
  if (tile < 1) fail(where, "tile = ", tile, "; the tile size must be >= 1 key");
  const int64_t tiles = (n + tile - 1) / tile;
  if (tiles >= static_cast<int64_t>(kHeadSiteTile)) {
    fail(where, "tile = ", tile, " gives ", tiles, " tiles for n = ", n, "; at most ",
         static_cast<int64_t>(kHeadSiteTile) - 1, " tiles fit the RNG site's tile field");
  }
}

void nonempty(std::string_view where, int64_t n, std::string_view name) {
  if (n < 1) fail(where, name, " is empty (", n, " entries); at least one key/entry is required");
}

void same_size(std::string_view where, int64_t a, std::string_view a_name, int64_t b, std::string_view b_name) {
  if (a != b) fail(where, a_name, " = ", a, " but ", b_name, " = ", b, "; they must be equal");
}

void finite(std::string_view where, VecRef x, std::string_view name) {
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) fail(where, name, "[", i, "] = ", x[i], "; every entry must be finite");
  }
}

void finite_matrix(std::string_view where, MatRef x, std::string_view name) {
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    for (Eigen::Index c = 0; c < x.cols(); ++c) {
      if (!std::isfinite(x(r, c))) {
        fail(where, name, "(", r, ", ", c, ") = ", x(r, c), "; every entry must be finite");
      }
    }
  }
}

double probability_total(std::string_view where, VecRef p, double tol) {
  nonempty(where, p.size(), "p (the context)");
  double total = 0.0;
  for (Eigen::Index i = 0; i < p.size(); ++i) {
    const double x = p[i];
    if (!std::isfinite(x) || x < 0.0) {
      fail(where, "p[", i, "] = ", x, "; probabilities must be finite and >= 0");
    }
    total += x;
  }
  if (!(std::abs(total - 1.0) <= tol)) {
    fail(where, "p sums to ", total, "; a probability vector must sum to 1 within ", tol);
  }
  return total;
}

}  // namespace santa::check
