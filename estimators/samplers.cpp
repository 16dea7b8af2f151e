#include "estimators/samplers.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "estimators/sampling_detail.hpp"
#include "estimators/validation.hpp"

namespace santa {
namespace detail {
namespace {

// Adds `c` draws of `row`; rows arrive in ascending order, so a repeat can only be the last entry.
void push_count(RowDraw& out, std::size_t from, int64_t row, int64_t c) {
  if (out.row.size() > from && out.row.back() == row) {
    out.count.back() += static_cast<int32_t>(c);
  } else {
    out.row.push_back(row);
    out.count.push_back(static_cast<int32_t>(c));
  }
}

// Inverse CDF of w / sum(w) at the non-decreasing unit targets u, in one pass over w and u: O(n + S).
// A target lands on the first row whose inclusive prefix exceeds u * total, so a zero-weight row is never
// chosen; a target that rounding pushes to or past the total goes to the last positive-weight row.
void append_inverse_cdf(VecRef w, const std::vector<double>& u, int64_t begin, RowDraw& out) {
  double total = 0.0;
  Eigen::Index last = -1;
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    total += w[i];
    if (w[i] > 0.0) last = i;
  }
  if (last < 0) throw std::logic_error("append_inverse_cdf: weights with zero sum reached the sampler");
  const std::size_t from = out.row.size();
  Eigen::Index i = 0;
  double cum = w[0];
  for (const double um : u) {
    const double target = um * total;
    while (cum <= target && i < last) cum += w[++i];
    push_count(out, from, begin + i, 1);
  }
  out.weight.resize(out.row.size(), 0.0);
}

}  // namespace

double ordered_sum(VecRef w) {
  double s = 0.0;
  for (Eigen::Index i = 0; i < w.size(); ++i) s += w[i];
  return s;
}

void append_iid(VecRef w, int64_t S, PhiloxStream& rng, int64_t begin, RowDraw& out) {
  // Exponential spacings: with E_1..E_{S+1} i.i.d. Exp(1) and G_m = E_1 + ... + E_m, the ratios
  // G_1/G_{S+1} < ... < G_S/G_{S+1} are distributed as the order statistics of S i.i.d. U(0,1).
  // Sorted without a sort, so the whole draw is O(n + S).
  std::vector<double> u(static_cast<std::size_t>(S));
  double g = 0.0;
  for (auto& x : u) {
    g -= std::log1p(-rng.next_double());  // next_double() < 1, so the log is finite
    x = g;
  }
  const double g_total = g - std::log1p(-rng.next_double());
  if (g_total > 0.0) {
    for (auto& x : u) x /= g_total;
  } else {
    std::fill(u.begin(), u.end(), 0.0);  // all S+1 uniforms were exactly 0 (probability 2^-53(S+1))
  }
  append_inverse_cdf(w, u, begin, out);
}

void append_strat(VecRef w, int64_t S, PhiloxStream& rng, int64_t begin, RowDraw& out) {
  std::vector<double> u(static_cast<std::size_t>(S));
  const double inv_S = 1.0 / static_cast<double>(S);
  for (int64_t m = 0; m < S; ++m) u[m] = (static_cast<double>(m) + rng.next_double()) * inv_S;
  append_inverse_cdf(w, u, begin, out);
}

void append_systematic(VecRef w, double scale, double offset, int64_t total_count, int64_t begin,
                       RowDraw& out) {
  Eigen::Index last = w.size() - 1;
  while (last >= 0 && !(w[last] > 0.0)) --last;
  const std::size_t from = out.row.size();
  if (last >= 0 && total_count > 0) {
    double prefix = 0.0;  // inclusive prefix of x = scale * w
    int64_t prev = 0;     // floor(a + exclusive prefix); floor(a + 0) = 0 since a is in [0, 1)
    for (Eigen::Index i = 0; i <= last; ++i) {
      if (!(w[i] > 0.0)) continue;  // zero weight, zero count
      prefix += scale * w[i];
      // The clamp keeps the running floor monotone and within the total under rounding; the last positive
      // row closes the slice so the counts sum to total_count exactly.
      // offset + prefix >= 0, so truncation is the floor (and compiles to one instruction).
      const int64_t f = i == last ? total_count
                                  : std::clamp(static_cast<int64_t>(offset + prefix), prev, total_count);
      if (f > prev) push_count(out, from, begin + i, f - prev);
      prev = f;
    }
  }
  out.weight.resize(out.row.size(), 0.0);
}

int64_t set_weights(RowDraw& out, std::size_t from, double coef) {
  int64_t total = 0;
  for (std::size_t j = from; j < out.row.size(); ++j) {
    out.weight[j] = coef * out.count[j];
    total += out.count[j];
  }
  return total;
}

}  // namespace detail

namespace {

// Checks S and p, lets `append` draw the counts (it gets sum(p)), then sets weight = count / S and checks
// that the counts sum to S.
template <class Append>
RowDraw sample_checked(std::string_view where, VecRef p, int64_t S, Append&& append) {
  check::budget(where, S);
  const double total = check::probability_total(where, p);
  RowDraw out;
  append(total, out);
  out.samples = detail::set_weights(out, 0, 1.0 / static_cast<double>(S));
  if (out.samples != S) throw std::logic_error(std::string(where) + ": drew a total that differs from S");
  return out;
}

}  // namespace

RowDraw sample_iid(VecRef p, int64_t S, PhiloxStream& rng) {
  return sample_checked("sample_iid", p, S, [&](double, RowDraw& out) { detail::append_iid(p, S, rng, 0, out); });
}

RowDraw sample_strat(VecRef p, int64_t S, PhiloxStream& rng) {
  return sample_checked("sample_strat", p, S,
                        [&](double, RowDraw& out) { detail::append_strat(p, S, rng, 0, out); });
}

RowDraw sample_sys(VecRef p, int64_t S, PhiloxStream& rng) {
  return sample_checked("sample_sys", p, S, [&](double total, RowDraw& out) {
    detail::append_systematic(p, static_cast<double>(S) / total, rng.next_double(), S, 0, out);
  });
}

RowDraw systematic_counts(VecRef weights_times_S, double offset, int64_t expected_total) {
  constexpr std::string_view where = "systematic_counts";
  const VecRef& w = weights_times_S;
  check::nonempty(where, w.size(), "weights_times_S");
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i]) || w[i] < 0.0) {
      check::fail(where, "weights_times_S[", i, "] = ", w[i], "; weights must be finite and >= 0");
    }
  }
  if (!(offset >= 0.0 && offset < 1.0)) check::fail(where, "offset = ", offset, "; the offset must be in [0, 1)");
  const double total = detail::ordered_sum(w);
  // The counts sum to floor(offset + sum w) exactly; allow the caller's integer to sit on either side of a
  // floor boundary that rounding of the sum may have crossed.
  const double slack = 1e-9 * std::max(1.0, total);
  const auto lo = static_cast<int64_t>(std::floor(offset + total - slack));
  const auto hi = static_cast<int64_t>(std::floor(offset + total + slack));
  if (expected_total < lo || expected_total > hi) {
    check::fail(where, "expected_total = ", expected_total, "; the counts of these weights sum to floor(offset + ",
                total, ") = ", static_cast<int64_t>(std::floor(offset + total)));
  }
  RowDraw out;
  detail::append_systematic(w, 1.0, offset, expected_total, 0, out);
  if (expected_total > 0) out.samples = detail::set_weights(out, 0, 1.0 / static_cast<double>(expected_total));
  return out;
}

RowDraw select_topk(VecRef p, int64_t S) {
  check::budget("select_topk", S);
  check::probability_total("select_topk", p);
  // Only rows with positive probability can be selected; ties go to the lower index, so the choice is a
  // pure function of p.
  std::vector<int64_t> idx;
  idx.reserve(static_cast<std::size_t>(p.size()));
  for (Eigen::Index i = 0; i < p.size(); ++i) {
    if (p[i] > 0.0) idx.push_back(i);
  }
  const auto k = static_cast<std::ptrdiff_t>(std::min<int64_t>(S, static_cast<int64_t>(idx.size())));
  const auto larger = [&](int64_t a, int64_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); };
  std::nth_element(idx.begin(), idx.begin() + (k - 1), idx.end(), larger);
  idx.resize(static_cast<std::size_t>(k));
  std::sort(idx.begin(), idx.end());
  double kept = 0.0;
  for (const int64_t i : idx) kept += p[i];
  RowDraw out;
  out.row = idx;
  out.count.assign(idx.size(), 1);
  out.weight.reserve(idx.size());
  for (const int64_t i : idx) out.weight.push_back(p[i] / kept);
  out.samples = k;
  return out;
}

}  // namespace santa
