// P2: estimator variance vs S. Per point (scheme, S, distribution, n_k, ...): Monte Carlo MSE beside the
// closed form where one exists, the bias with its CI and the theoretical bias, relative L2 error, cosine,
// distinct rows and real sample count. The log-log slope per scheme is fitted by scripts/plot_results.py.
#include <cmath>

#include "estimators/closed_forms.hpp"
#include "estimators/exact.hpp"
#include "estimators/samplers.hpp"
#include "harness/measure/draw_statistics.hpp"
#include "harness/measure/runners.hpp"

namespace santa::harness::measure {
namespace {

// What theory says the bias norm is: 0 for the unbiased schemes, the reference prop rule's exact bias
// vector, top-k's deterministic error.
double theoretical_bias(santa::Scheme scheme, const workloads::HeadProblem& hp, int64_t S, int64_t tile) {
  switch (scheme) {
    case santa::Scheme::prop_reference:
      return santa::prop_reference_bias(hp.p, *hp.v, S, tile).norm();
    case santa::Scheme::topk:
      return (santa::apply_draw(santa::select_topk(hp.p, S), *hp.v) - hp.y).norm();
    default:
      return 0.0;
  }
}

// The schemes santa::closed_form_mse answers. Where a closed form gives the MSE exactly, Monte Carlo is only
// its cross-check: an adaptive policy then runs its minimum, and the precision target is spent elsewhere.
bool has_closed_form(santa::Scheme s) { return s == santa::Scheme::iid || s == santa::Scheme::strat; }

class VarianceRunner final : public HeadProblemRunner {
 public:
  std::vector<MetricDef> metrics() const override {
    auto m = draw_metric_defs();
    m.insert(m.end(), {
                          {"mse_closed_form", "", "closed-form E||y_hat - y||^2 (iid, strat; NaN where none exists)"},
                          {"bias_norm", "", "||mean(y_hat) - y|| over the replicates"},
                          {"bias_se", "", "sqrt(tr(Cov)/R): the bias_norm an unbiased scheme shows"},
                          {"bias_ci95_lo", "", "95% CI of the true bias norm, lower end"},
                          {"bias_ci95_hi", "", "95% CI of the true bias norm, upper end"},
                          {"bias_norm_theory", "", "bias norm by theory (0 for unbiased schemes)"},
                          {"trace_cov", "", "tr(Sigma) of the head (iid MSE x S)"},
                          {"y_norm", "", "||y||"},
                      });
    return m;
  }

  Row run(const Point& point, RunContext& ctx) const override {
    const Measured m = measure(point, ctx, has_closed_form);
    const auto& hp = *m.problem;
    const auto closed = santa::closed_form_mse(m.scheme, hp.p, *hp.v, m.S, m.tile);
    Row row = row_for(point);
    set_draw_metrics(row, m.stats, hp, point.integer("spread_tile"));
    row.set("mse_closed_form", closed ? *closed : std::nan(""));
    row.set("bias_norm", m.stats.bias_norm);
    row.set("bias_se", m.stats.bias_se);
    row.set("bias_ci95_lo", m.stats.bias_ci95_lo);
    row.set("bias_ci95_hi", m.stats.bias_ci95_hi);
    row.set("bias_norm_theory", theoretical_bias(m.scheme, hp, m.S, m.tile));
    row.set("trace_cov", hp.trace_cov);
    row.set("y_norm", hp.y.norm());
    return row;
  }
};

}  // namespace

std::unique_ptr<Runner> make_variance_runner() { return std::make_unique<VarianceRunner>(); }

}  // namespace santa::harness::measure
