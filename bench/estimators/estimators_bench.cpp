// One call of each estimator at the operating point: n_k = 32768 keys, d = 128, S = 1024, 256-key
// tiles, against the exact reference on the same head. An estimator call = draw (O(n + S)) + apply_draw
// (O(S d)); the exact reference = scores (O(n d)) + softmax + output and tr(Sigma) (O(n d)).
#include <benchmark/benchmark.h>

#include <cmath>

#include "estimators/bernoulli.hpp"
#include "estimators/closed_forms.hpp"
#include "estimators/exact.hpp"
#include "estimators/scheme.hpp"

namespace santa {
namespace {

constexpr int64_t kN = 32768, kD = 128, kS = 1024, kTile = 256;

double normal(PhiloxStream& rng) {
  const double u1 = 1.0 - rng.next_double(), u2 = rng.next_double();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// One decode head with i.i.d. N(0, 1) q, K, V (PROTOCOLS.md P1 inputs): near-uniform attention, the case
// with the most distinct rows per draw.
struct Head {
  Vec q;
  MatRM k, v;
  Vec p;
  double scale = 1.0 / std::sqrt(static_cast<double>(kD));
  Head() : q(kD), k(kN, kD), v(kN, kD) {
    PhiloxStream rng(RngSite{.seed = 2024});
    for (auto& x : q) x = normal(rng);
    for (int64_t i = 0; i < kN * kD; ++i) k.data()[i] = normal(rng);
    for (int64_t i = 0; i < kN * kD; ++i) v.data()[i] = normal(rng);
    p = softmax(attention_scores(q, k, scale));
  }
};

const Head& head() {
  static const Head h;
  return h;
}

void BM_ExactReference(benchmark::State& state) {
  const Head& h = head();
  for (auto _ : state) {
    ExactHead e = exact_from_scores(attention_scores(h.q, h.k, h.scale), h.v);
    benchmark::DoNotOptimize(e.y.data());
  }
}
BENCHMARK(BM_ExactReference)->Unit(benchmark::kMicrosecond);

// draw + apply_draw with a fresh RNG step per call (as a decode loop would).
void BM_Estimator(benchmark::State& state, Scheme scheme) {
  const Head& h = head();
  uint32_t step = 0;
  int64_t rows = 0, calls = 0;
  for (auto _ : state) {
    const RowDraw d = draw(scheme, h.p, kS, kTile, RngSite{.seed = 7, .step = step++});
    Vec y = apply_draw(d, h.v);
    benchmark::DoNotOptimize(y.data());
    rows += static_cast<int64_t>(d.unique_rows());
    ++calls;
  }
  state.counters["distinct_rows"] = static_cast<double>(rows) / static_cast<double>(calls);
}
BENCHMARK_CAPTURE(BM_Estimator, iid, Scheme::iid)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Estimator, strat, Scheme::strat)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Estimator, sys, Scheme::sys)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Estimator, flash, Scheme::flash)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Estimator, prop_reference, Scheme::prop_reference)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Estimator, global_systematic, Scheme::global_systematic)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Estimator, topk, Scheme::topk)->Unit(benchmark::kMicrosecond);

// The draw alone (no value rows read): the sampling cost; the rest of BM_Estimator is the gather of V rows.
void BM_DrawOnly(benchmark::State& state, Scheme scheme) {
  const Head& h = head();
  uint32_t step = 0;
  for (auto _ : state) {
    RowDraw d = draw(scheme, h.p, kS, kTile, RngSite{.seed = 7, .step = step++});
    benchmark::DoNotOptimize(d.row.data());
  }
}
BENCHMARK_CAPTURE(BM_DrawOnly, iid, Scheme::iid)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DrawOnly, strat, Scheme::strat)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DrawOnly, sys, Scheme::sys)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DrawOnly, flash, Scheme::flash)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DrawOnly, prop_reference, Scheme::prop_reference)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DrawOnly, global_systematic, Scheme::global_systematic)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DrawOnly, topk, Scheme::topk)->Unit(benchmark::kMicrosecond);

// The closed forms the variance experiments evaluate once per point.
void BM_MseStrat(benchmark::State& state) {
  const Head& h = head();
  for (auto _ : state) benchmark::DoNotOptimize(mse_strat(h.p, h.v, kS));
}
BENCHMARK(BM_MseStrat)->Unit(benchmark::kMicrosecond);

// Bernoulli scores for one head at B = 4 (the paper's combined-method setting): sampling + q_hat K^T.
void BM_BernoulliScores(benchmark::State& state) {
  const Head& h = head();
  uint32_t step = 0;
  for (auto _ : state) {
    PhiloxStream rng(RngSite{.seed = 8, .step = step++});
    Vec s = bernoulli_scores(sample_ternary(h.q, 4, BernoulliMode::standard, rng), h.k);
    benchmark::DoNotOptimize(s.data());
  }
}
BENCHMARK(BM_BernoulliScores)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace santa

BENCHMARK_MAIN();
