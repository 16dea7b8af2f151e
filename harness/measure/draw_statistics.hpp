// Monte Carlo over repeated draws of one scheme on one head problem: the error statistics both the
// variance (P2) and fidelity (P5) kinds report.
#pragma once

#include <atomic>
#include <cstdint>

#include "estimators/scheme.hpp"
#include "harness/core/replicates.hpp"
#include "harness/core/row.hpp"
#include "harness/measure/moments.hpp"
#include "harness/measure/runner.hpp"
#include "harness/workloads/head_problem.hpp"

namespace santa::harness::measure {

struct DrawStatistics {
  int64_t replicates = 0;
  Moments sq_error;      // ||y_hat - y||^2; its mean is the MSE, E||y_hat - y||^2
  Moments rel_l2;        // ||y_hat - y|| / ||y||
  Moments cosine;        // cos(y_hat, y)
  Moments unique_rows;   // distinct V rows read
  Moments samples;       // real number of draws (flash reads max(S, tiles))
  // Bias b = E[y_hat] - y, estimated by the mean error e_bar over the replicates.
  double bias_norm = 0.0;    // ||e_bar||
  double bias_se = 0.0;      // sqrt(tr(C_hat) / R): the size ||e_bar|| has when the scheme is unbiased
  double bias_ci95_lo = 0.0;  // 95% CI of ||b|| (normal approximation, see draw_statistics.cpp)
  double bias_ci95_hi = 0.0;
};

// R replicates per `policy` (adaptive: until sq_error's relative SE <= target); replicate r draws from the
// site (seed, step = r). Deterministic schemes (topk) take one replicate. Checks `cancel` between batches.
DrawStatistics measure_draws(santa::Scheme scheme, const workloads::HeadProblem& problem, int64_t S, int64_t tile,
                             uint64_t seed, const ReplicatePolicy& policy, const std::atomic<bool>& cancel);

// The columns both draw-based kinds report (replicates, mse, rel_l2, cosine with their SEs, unique_rows,
// samples_drawn, and the head's attention entropy, largest probability and spread_tile-tiles holding 90%).
std::vector<MetricDef> draw_metric_defs();
void set_draw_metrics(Row& row, const DrawStatistics& st, const workloads::HeadProblem& problem, int64_t spread_tile);

// Base of the runners on one head's problem (variance, fidelity): checks that the point's workload can be
// built, and draws a point's statistics under a replicate policy.
class HeadProblemRunner : public Runner {
 public:
  void check(const Point& point, RunContext& ctx) const override;

 protected:
  struct Measured {
    std::shared_ptr<const workloads::HeadProblem> problem;
    santa::Scheme scheme;
    int64_t S = 0, tile = 0;
    DrawStatistics stats;
  };
  // `closed_form_known`: the scheme's MSE has a closed form, so an adaptive policy runs only its minimum.
  Measured measure(const Point& point, RunContext& ctx, bool (*closed_form_known)(santa::Scheme) = nullptr) const;
};

}  // namespace santa::harness::measure
