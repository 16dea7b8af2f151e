// P2: estimator variance vs S. Per point (scheme, S, distribution, n_k, ...): Monte Carlo MSE beside the
// closed form where one exists, the bias with its CI and the theoretical bias, relative L2 error, cosine,
// distinct rows and real sample count. The log-log slope per scheme is fitted by scripts/plot_results.py.
#include <cmath>

#include "estimators/closed_forms.hpp"
#include "estimators/exact.hpp"
#include "estimators/samplers.hpp"
#include "estimators/scheme.hpp"
#include "harness/measure/draw_statistics.hpp"
#include "harness/measure/runners.hpp"
#include "harness/workloads/attention_stats.hpp"

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

class VarianceRunner final : public Runner {
 public:
  std::vector<MetricDef> metrics() const override {
    return {
        {"replicates", "", "Monte Carlo replicates used"},
        {"mse", "", "E||y_hat - y||^2, Monte Carlo mean"},
        {"mse_se", "", "standard error of mse"},
        {"mse_closed_form", "", "closed-form E||y_hat - y||^2 (iid, strat; NaN where none exists)"},
        {"bias_norm", "", "||mean(y_hat) - y|| over the replicates"},
        {"bias_se", "", "sqrt(tr(Cov)/R): the bias_norm an unbiased scheme shows"},
        {"bias_ci95_lo", "", "95% CI of the true bias norm, lower end"},
        {"bias_ci95_hi", "", "95% CI of the true bias norm, upper end"},
        {"bias_norm_theory", "", "bias norm by theory (0 for unbiased schemes)"},
        {"rel_l2", "", "mean ||y_hat - y|| / ||y||"},
        {"rel_l2_se", "", "standard error of rel_l2"},
        {"cosine", "", "mean cos(y_hat, y)"},
        {"cosine_se", "", "standard error of cosine"},
        {"unique_rows", "rows", "mean distinct V rows read"},
        {"samples_drawn", "samples", "mean real number of draws"},
        {"trace_cov", "", "tr(Sigma) of the head (iid MSE x S)"},
        {"y_norm", "", "||y||"},
        {"attn_entropy_nats", "nats", "entropy of the head's attention"},
        {"attn_max_prob", "", "largest attention probability"},
        {"attn_tiles_90", "tiles", "spread_tile-key tiles holding 90% of the mass"},
    };
  }

  void check(const Point& point, RunContext& ctx) const override {
    workloads::check_head_spec(workloads::head_spec_from_point(point, ctx.seed), ctx.cache);
  }

  Row run(const Point& point, RunContext& ctx) const override {
    const auto hp = workloads::head_problem(workloads::head_spec_from_point(point, ctx.seed), ctx.cache);
    const auto scheme = *santa::parse_scheme(point.text("scheme"));
    const int64_t S = point.integer("S"), tile = point.integer("tile");
    const auto closed = santa::closed_form_mse(scheme, hp->p, *hp->v, S, tile);
    // Where a closed form gives the MSE exactly, Monte Carlo is only its cross-check: an adaptive policy then
    // runs its minimum, and the precision target is spent on the schemes without one.
    ReplicatePolicy policy = ctx.replicates;
    if (closed && policy.adaptive()) policy = ReplicatePolicy::fixed(policy.min);
    const DrawStatistics st = measure_draws(scheme, *hp, S, tile, point_seed(ctx.seed, point), policy, ctx.cancel);
    Row row = row_for(point);
    row.set("replicates", double(st.replicates));
    row.set("mse", st.sq_error.mean());
    row.set("mse_se", st.sq_error.se());
    row.set("mse_closed_form", closed ? *closed : std::nan(""));
    row.set("bias_norm", st.bias_norm);
    row.set("bias_se", st.bias_se);
    row.set("bias_ci95_lo", st.bias_ci95_lo);
    row.set("bias_ci95_hi", st.bias_ci95_hi);
    row.set("bias_norm_theory", theoretical_bias(scheme, *hp, S, tile));
    row.set("rel_l2", st.rel_l2.mean());
    row.set("rel_l2_se", st.rel_l2.se());
    row.set("cosine", st.cosine.mean());
    row.set("cosine_se", st.cosine.se());
    row.set("unique_rows", st.unique_rows.mean());
    row.set("samples_drawn", st.samples.mean());
    row.set("trace_cov", hp->trace_cov);
    row.set("y_norm", hp->y.norm());
    row.set("attn_entropy_nats", hp->entropy);
    row.set("attn_max_prob", hp->max_prob);
    row.set("attn_tiles_90", double(workloads::tiles_to_mass(hp->p, point.integer("spread_tile"))));
    return row;
  }
};

}  // namespace

std::unique_ptr<Runner> make_variance_runner() { return std::make_unique<VarianceRunner>(); }

}  // namespace santa::harness::measure
