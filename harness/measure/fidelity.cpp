// P5: fidelity of the tile variants vs how spread the attention is: relative L2 error and cosine vs the
// exact output, with the measured number of tiles holding 90% of the mass (at the generator's 256-key tiles
// and at the scheme's own tile size).
#include "harness/measure/draw_statistics.hpp"
#include "harness/measure/runners.hpp"
#include "harness/workloads/attention_stats.hpp"

namespace santa::harness::measure {
namespace {

class FidelityRunner final : public Runner {
 public:
  std::vector<MetricDef> metrics() const override {
    return {
        {"replicates", "", "independent draws"},
        {"rel_l2", "", "mean ||y_hat - y|| / ||y||"},
        {"rel_l2_se", "", "standard error of rel_l2"},
        {"cosine", "", "mean cos(y_hat, y)"},
        {"cosine_se", "", "standard error of cosine"},
        {"mse", "", "E||y_hat - y||^2, Monte Carlo mean"},
        {"mse_se", "", "standard error of mse"},
        {"unique_rows", "rows", "mean distinct V rows read"},
        {"samples_drawn", "samples", "mean real number of draws"},
        {"attn_tiles_90", "tiles", "spread_tile-key tiles holding 90% of the mass (measured)"},
        {"attn_tiles_90_at_tile", "tiles", "tile-key tiles (the scheme's tile size) holding 90% of the mass"},
        {"attn_entropy_nats", "nats", "entropy of the head's attention"},
        {"attn_max_prob", "", "largest attention probability"},
    };
  }

  void check(const Point& point, RunContext& ctx) const override {
    workloads::check_head_spec(workloads::head_spec_from_point(point, ctx.seed), ctx.cache);
  }

  Row run(const Point& point, RunContext& ctx) const override {
    const auto hp = workloads::head_problem(workloads::head_spec_from_point(point, ctx.seed), ctx.cache);
    const auto scheme = *santa::parse_scheme(point.text("scheme"));
    const int64_t S = point.integer("S"), tile = point.integer("tile");
    const DrawStatistics st =
        measure_draws(scheme, *hp, S, tile, point_seed(ctx.seed, point), ctx.replicates, ctx.cancel);
    Row row = row_for(point);
    row.set("replicates", double(st.replicates));
    row.set("rel_l2", st.rel_l2.mean());
    row.set("rel_l2_se", st.rel_l2.se());
    row.set("cosine", st.cosine.mean());
    row.set("cosine_se", st.cosine.se());
    row.set("mse", st.sq_error.mean());
    row.set("mse_se", st.sq_error.se());
    row.set("unique_rows", st.unique_rows.mean());
    row.set("samples_drawn", st.samples.mean());
    row.set("attn_tiles_90", double(workloads::tiles_to_mass(hp->p, point.integer("spread_tile"))));
    row.set("attn_tiles_90_at_tile", double(workloads::tiles_to_mass(hp->p, tile)));
    row.set("attn_entropy_nats", hp->entropy);
    row.set("attn_max_prob", hp->max_prob);
    return row;
  }
};

}  // namespace

std::unique_ptr<Runner> make_fidelity_runner() { return std::make_unique<FidelityRunner>(); }

}  // namespace santa::harness::measure
