// P3: Bernoulli (ternary-query) qK^T. Per point (mode, B, ...), over `replicates` decode instances and every
// head: relative L2 error of the estimated raw scores q K^T, for per-head sampling and for the GQA
// mean-group-query construction, and the fraction of key features each must fetch (per head, per GQA group
// when the heads sample on their own, per group with one mean-group-query sample).
#include "estimators/bernoulli.hpp"
#include "harness/measure/moments.hpp"
#include "harness/measure/runners.hpp"
#include "harness/workloads/decode_problem.hpp"

namespace santa::harness::measure {
namespace {

// The mean-group-query samples use their own streams (batch field 1) so they are independent of the
// per-head samples (batch 0).
constexpr uint32_t kGroupStream = 1;

class BernoulliRunner final : public Runner {
 public:
  std::vector<MetricDef> metrics() const override {
    return {
        {"instances", "", "decode instances (q, K drawn afresh)"},
        {"rel_err", "", "mean ||p_hat - p|| / ||p|| of the scores p = q K^T, per-head sampling"},
        {"rel_err_se", "", "standard error of rel_err"},
        {"rel_err_group", "", "mean relative score error with the mean-group-query construction"},
        {"rel_err_group_se", "", "standard error of rel_err_group"},
        {"access_head", "", "mean fraction of the d key features a head's B samples touch"},
        {"access_group_union", "", "mean fraction touched by any head of a GQA group (heads sample alone)"},
        {"access_group_mean_query", "", "mean fraction touched with one mean-group-query sample per group"},
    };
  }

  void check(const Point& point, RunContext& ctx) const override {
    workloads::check_decode_spec(workloads::decode_spec_from_point(point, ctx.seed, 0, false), ctx.cache);
  }

  Row run(const Point& point, RunContext& ctx) const override {
    const auto mode = point.text("mode") == "stratified" ? santa::BernoulliMode::stratified
                                                         : santa::BernoulliMode::standard;
    const int B = static_cast<int>(point.integer("B"));
    const int64_t H = point.integer("H"), H_kv = point.integer("H_kv"), G = H / H_kv;
    const uint64_t seed = point_seed(ctx.seed, point);
    Moments err, err_group, access, access_union, access_mean;
    const int64_t instances = ctx.replicates.max;
    for (int64_t r = 0; r < instances; ++r) {
      throw_if_cancelled(ctx);
      const auto prob = workloads::decode_problem(
          workloads::decode_spec_from_point(point, ctx.seed, static_cast<uint32_t>(r), false), ctx.cache);
      for (int64_t g = 0; g < H_kv; ++g) {
        const MatRM& k = prob->k[g];
        const auto q_group = prob->q.middleRows(g * G, G);
        for (int64_t j = 0; j < G; ++j) {
          santa::RngSite site{seed, static_cast<uint32_t>(r), 0, static_cast<uint32_t>(g * G + j), 0};
          santa::PhiloxStream rng(site);
          const santa::TernarySamples s = santa::sample_ternary(q_group.row(j).transpose(), B, mode, rng);
          const Vec exact = k * q_group.row(j).transpose();
          err.add((santa::bernoulli_scores(s, k) - exact).norm() / exact.norm());
          access.add(s.access_fraction());
        }
        // Same sites as above: the union of exactly the per-head samples just scored.
        access_union.add(santa::group_union_access_fraction(
            q_group, B, mode, santa::RngSite{seed, static_cast<uint32_t>(r), 0, static_cast<uint32_t>(g), 0}));
        santa::PhiloxStream grng(
            santa::RngSite{seed, static_cast<uint32_t>(r), kGroupStream, static_cast<uint32_t>(g), 0});
        const santa::GroupScores gs = santa::bernoulli_group_scores(q_group, k, B, mode, grng);
        access_mean.add(gs.access_fraction());
        for (int64_t j = 0; j < G; ++j) {
          const Vec exact = k * q_group.row(j).transpose();
          err_group.add((gs.scores.row(j).transpose() - exact).norm() / exact.norm());
        }
      }
    }
    Row row = row_for(point);
    row.set("instances", double(instances));
    row.set("rel_err", err.mean());
    row.set("rel_err_se", err.se());
    row.set("rel_err_group", err_group.mean());
    row.set("rel_err_group_se", err_group.se());
    row.set("access_head", access.mean());
    row.set("access_group_union", access_union.mean());
    row.set("access_group_mean_query", access_mean.mean());
    return row;
  }
};

}  // namespace

std::unique_ptr<Runner> make_bernoulli_runner() { return std::make_unique<BernoulliRunner>(); }

}  // namespace santa::harness::measure
