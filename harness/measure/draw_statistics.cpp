#include "harness/measure/draw_statistics.hpp"

#include <algorithm>
#include <cmath>

#include "estimators/exact.hpp"
#include "harness/workloads/attention_stats.hpp"
#include "harness/measure/runner.hpp"

namespace santa::harness::measure {
namespace {

// Bias CI. With R replicates the mean error e_bar ~ N(b, C/R) (CLT), so
//   E||e_bar||^2 = ||b||^2 + tr(C)/R,   Var||e_bar||^2 = 2 tr(C^2)/R^2 + 4 b'Cb/R.
// u = ||e_bar||^2 - tr(C_hat)/R estimates ||b||^2 without the noise floor; u +- 1.96 SE(u) (b and C replaced by
// their estimates) is a 95% interval for ||b||^2, and its clamped square roots one for ||b||.
void bias_interval(const MatRM& errors, DrawStatistics& st) {
  const auto R = static_cast<double>(errors.rows());
  const Vec mean = errors.colwise().mean().transpose();
  st.bias_norm = mean.norm();
  if (errors.rows() < 2) {
    st.bias_se = st.bias_ci95_lo = st.bias_ci95_hi = std::nan("");
    return;
  }
  const MatRM centred = errors.rowwise() - mean.transpose();
  const MatRM cov = centred.transpose() * centred / (R - 1.0);
  const double tr = cov.trace(), tr2 = cov.squaredNorm();
  st.bias_se = std::sqrt(tr / R);
  const double u = mean.squaredNorm() - tr / R;
  const double se = std::sqrt(2.0 * tr2 / (R * R) + 4.0 * std::max(0.0, double(mean.transpose() * cov * mean)) / R);
  st.bias_ci95_lo = std::sqrt(std::max(0.0, u - 1.96 * se));
  st.bias_ci95_hi = std::sqrt(std::max(0.0, u + 1.96 * se));
}

}  // namespace

DrawStatistics measure_draws(santa::Scheme scheme, const workloads::HeadProblem& problem, int64_t S, int64_t tile,
                             uint64_t seed, const ReplicatePolicy& policy, const std::atomic<bool>& cancel) {
  DrawStatistics st;
  const bool random = santa::scheme_is_random(scheme);
  const int64_t max_r = random ? policy.max : 1, min_r = random ? std::min(policy.min, policy.max) : 1;
  const MatRM& v = *problem.v;
  const double y_norm = problem.y.norm();
  MatRM errors(std::max<int64_t>(min_r, 1), v.cols());
  int64_t next_check = min_r;
  for (int64_t r = 0; r < max_r; ++r) {
    if (r % 16 == 0 && cancel.load(std::memory_order_relaxed)) throw Cancelled();
    RngSite site;
    site.seed = seed;
    site.step = static_cast<uint32_t>(r);
    const santa::RowDraw draw = santa::draw(scheme, problem.p, S, tile, site);
    const Vec est = santa::apply_draw(draw, v);
    const Vec err = est - problem.y;
    if (r >= errors.rows()) errors.conservativeResize(std::min<int64_t>(max_r, 2 * errors.rows()), Eigen::NoChange);
    errors.row(r) = err.transpose();
    const double e2 = err.squaredNorm();
    st.sq_error.add(e2);
    st.rel_l2.add(std::sqrt(e2) / y_norm);
    const double en = est.norm();
    st.cosine.add(en > 0 ? est.dot(problem.y) / (en * y_norm) : 0.0);
    st.unique_rows.add(double(draw.unique_rows()));
    st.samples.add(double(draw.samples));
    st.replicates = r + 1;
    if (policy.adaptive() && st.replicates >= next_check) {
      const double m = st.sq_error.mean();
      const double rel_se = m > 0 ? st.sq_error.se() / m : 0.0;
      if (rel_se <= policy.target_rel_se) break;
      next_check = st.replicates + std::max<int64_t>(16, st.replicates / 8);
    }
  }
  bias_interval(errors.topRows(st.replicates), st);
  return st;
}

std::vector<MetricDef> draw_metric_defs() {
  return {
      {"replicates", "", "Monte Carlo replicates (independent draws) used"},
      {"mse", "", "E||y_hat - y||^2, Monte Carlo mean"},
      {"mse_se", "", "standard error of mse"},
      {"rel_l2", "", "mean ||y_hat - y|| / ||y||"},
      {"rel_l2_se", "", "standard error of rel_l2"},
      {"cosine", "", "mean cos(y_hat, y)"},
      {"cosine_se", "", "standard error of cosine"},
      {"unique_rows", "rows", "mean distinct V rows read"},
      {"samples_drawn", "samples", "mean real number of draws"},
      {"attn_entropy_nats", "nats", "entropy of the head's attention"},
      {"attn_max_prob", "", "largest attention probability"},
      {"attn_tiles_90", "tiles", "spread_tile-key tiles holding 90% of the mass (measured)"},
  };
}

void set_draw_metrics(Row& row, const DrawStatistics& st, const workloads::HeadProblem& problem, int64_t spread_tile) {
  row.set("replicates", double(st.replicates));
  row.set("mse", st.sq_error.mean());
  row.set("mse_se", st.sq_error.se());
  row.set("rel_l2", st.rel_l2.mean());
  row.set("rel_l2_se", st.rel_l2.se());
  row.set("cosine", st.cosine.mean());
  row.set("cosine_se", st.cosine.se());
  row.set("unique_rows", st.unique_rows.mean());
  row.set("samples_drawn", st.samples.mean());
  row.set("attn_entropy_nats", problem.entropy);
  row.set("attn_max_prob", problem.max_prob);
  row.set("attn_tiles_90", double(workloads::tiles_to_mass(problem.p, spread_tile)));
}

void HeadProblemRunner::check(const Point& point, RunContext& ctx) const {
  workloads::check_head_spec(workloads::head_spec_from_point(point, ctx.seed), ctx.cache);
}

HeadProblemRunner::Measured HeadProblemRunner::measure(const Point& point, RunContext& ctx,
                                                       bool (*closed_form_known)(santa::Scheme)) const {
  Measured m;
  m.problem = workloads::head_problem(workloads::head_spec_from_point(point, ctx.seed), ctx.cache);
  m.scheme = *santa::parse_scheme(point.text("scheme"));
  m.S = point.integer("S");
  m.tile = point.integer("tile");
  ReplicatePolicy policy = ctx.replicates;
  if (closed_form_known && closed_form_known(m.scheme) && policy.adaptive()) policy = ReplicatePolicy::fixed(policy.min);
  m.stats = measure_draws(m.scheme, *m.problem, m.S, m.tile, point_seed(ctx.seed, point), policy, ctx.cancel);
  return m;
}

}  // namespace santa::harness::measure
