// P5: fidelity of the tile variants vs how spread the attention is: relative L2 error and cosine vs the
// exact output, with the measured number of tiles holding 90% of the mass (at the generator's spread_tile
// and at the scheme's own tile size).
#include "harness/measure/draw_statistics.hpp"
#include "harness/measure/runners.hpp"
#include "harness/workloads/attention_stats.hpp"

namespace santa::harness::measure {
namespace {

class FidelityRunner final : public HeadProblemRunner {
 public:
  std::vector<MetricDef> metrics() const override {
    auto m = draw_metric_defs();
    m.push_back({"attn_tiles_90_at_tile", "tiles", "tile-key tiles (the scheme's tile size) holding 90% of the mass"});
    return m;
  }

  Row run(const Point& point, RunContext& ctx) const override {
    const Measured m = measure(point, ctx);
    Row row = row_for(point);
    set_draw_metrics(row, m.stats, *m.problem, point.integer("spread_tile"));
    row.set("attn_tiles_90_at_tile", double(workloads::tiles_to_mass(m.problem->p, m.tile)));
    return row;
  }
};

}  // namespace

std::unique_ptr<Runner> make_fidelity_runner() { return std::make_unique<FidelityRunner>(); }

}  // namespace santa::harness::measure
