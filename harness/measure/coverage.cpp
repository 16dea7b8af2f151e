// P4: prefill coverage. Every causal query position i of every head draws S i.i.d. indices from its own
// softmax over keys 0..i (i.i.d. SANTA); coverage is the union of the V rows read, as % of n_k, per query
// head and per GQA group (the union over the heads that share a KV head), averaged over trials.
//
// The scores are O(n^2 d) per head, computed as float GEMMs over blocks of query rows. Draw m of row i uses
// word m of a Philox stream that names (trial, head, row) but not S, so the first S draws of a larger budget
// are exactly the draws of budget S. One pass at the largest S of the sweep (plan()) therefore records, per
// key, the smallest budget at which some row reads it ("cover level"), and every S of the sweep is answered
// from that one pass through the workload cache.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>

#include "estimators/philox.hpp"
#include "harness/measure/cover_levels.hpp"
#include "harness/measure/moments.hpp"
#include "harness/measure/runners.hpp"
#include "harness/workloads/prefill.hpp"

namespace santa::harness::measure {
namespace {

using workloads::MatRMf;

// cover level per key for every query head of one trial: smallest budget S at which some row reads it.
struct CoverLevels {
  std::vector<std::vector<uint16_t>> head;  // [H][n]
};

std::string workload_key(const Point& p) {
  return fmt::format("coverage|n={}|d={}|H={}|H_kv={}|{}|{}", p.integer("n_k"), p.integer("d"), p.integer("H"),
                     p.integer("H_kv"), p.text("dtype"), p.text("distribution"));
}

class CoverageRunner final : public Runner {
 public:
  std::vector<MetricDef> metrics() const override {
    return {
        {"trials", "", "independent trials (Q, K drawn afresh)"},
        {"coverage_pct", "%", "V rows read by one query head over all positions, % of n_k"},
        {"coverage_pct_se", "%", "standard error of coverage_pct over heads and trials"},
        {"coverage_group_pct", "%", "V rows read by the heads of one GQA group together, % of n_k"},
        {"coverage_group_pct_se", "%", "standard error of coverage_group_pct"},
        {"uniform_pct", "%", "expected coverage_pct if every row attended uniformly: 100 (1 - mean_j (j/n)^S)"},
    };
  }

  void plan(const std::vector<Point>& points) override {
    for (const auto& p : points) {
      auto& cap = caps_[workload_key(p)];
      cap = std::max(cap, p.integer("S"));
    }
  }

  Row run(const Point& point, RunContext& ctx) const override {
    const std::string key = workload_key(point);
    const int64_t S = point.integer("S"), n = point.integer("n_k"), d = point.integer("d");
    const int64_t H = point.integer("H"), H_kv = point.integer("H_kv"), G = H / H_kv;
    const auto cap_it = caps_.find(key);
    const int64_t cap = std::max(S, cap_it == caps_.end() ? S : cap_it->second);
    const auto precision = workloads::parse_precision(point.text("dtype"));
    // Draws depend on the spec seed and the workload only (not on S), so budgets share them.
    const uint64_t seed = fnv1a64(key, fnv1a64(hex64(ctx.seed)));
    Moments per_head, per_group;
    const int64_t trials = ctx.replicates.max;
    for (int64_t t = 0; t < trials; ++t) {
      const auto levels = ctx.cache.get<CoverLevels>(
          fmt::format("{}|trial={}|cap={}|seed={}", key, t, cap, ctx.seed),
          [&] {
            auto out = std::make_shared<CoverLevels>();
            out->head.resize(static_cast<std::size_t>(H));
            for (int64_t g = 0; g < H_kv; ++g) {
              const MatRMf K = workloads::prefill_keys(ctx.seed, uint32_t(t), uint32_t(g), n, d, precision);
              for (int64_t h = g * G; h < (g + 1) * G; ++h) {
                const MatRMf Q = workloads::prefill_queries(ctx.seed, uint32_t(t), uint32_t(h), n, d, precision);
                causal_cover_levels(Q, K, cap, RngSite{seed, uint32_t(t), 0, uint32_t(h), 0}, out->head[h],
                                    ctx.cancel);
              }
            }
            return std::shared_ptr<const CoverLevels>(std::move(out));
          },
          [](const CoverLevels& c) { return c.head.size() * (c.head.empty() ? 0 : c.head[0].size()) * 2; });
      for (int64_t g = 0; g < H_kv; ++g) {
        int64_t group = 0;
        for (int64_t j = 0; j < n; ++j) {
          uint16_t best = kNeverCovered;
          for (int64_t h = g * G; h < (g + 1) * G; ++h) best = std::min(best, levels->head[h][j]);
          group += best <= S ? 1 : 0;
        }
        per_group.add(100.0 * double(group) / double(n));
        for (int64_t h = g * G; h < (g + 1) * G; ++h) {
          const auto& lv = levels->head[h];
          const auto covered = std::count_if(lv.begin(), lv.end(), [&](uint16_t l) { return l <= S; });
          per_head.add(100.0 * double(covered) / double(n));
        }
      }
    }
    double uncovered = 0.0;
    for (int64_t j = 0; j < n; ++j) uncovered += std::pow(double(j) / double(n), double(S));
    Row row = row_for(point);
    row.set("trials", double(trials));
    row.set("coverage_pct", per_head.mean());
    row.set("coverage_pct_se", per_head.se());
    row.set("coverage_group_pct", per_group.mean());
    row.set("coverage_group_pct_se", per_group.se());
    row.set("uniform_pct", 100.0 * (1.0 - uncovered / double(n)));
    return row;
  }

 private:
  std::map<std::string, int64_t> caps_;  // largest S of the run per workload (set by plan, then read-only)
};

}  // namespace

std::unique_ptr<Runner> make_coverage_runner() { return std::make_unique<CoverageRunner>(); }

}  // namespace santa::harness::measure
