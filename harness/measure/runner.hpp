// A runner turns one sweep point into one Row (the point's parameters + the kind's scalar metrics + optional
// named arrays). The store only ever sees Rows; adding a kind = a runner here + its schema entry.
#pragma once

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/core/point.hpp"
#include "harness/core/replicates.hpp"
#include "harness/core/row.hpp"
#include "harness/workloads/cache.hpp"

namespace santa::harness::measure {

struct RunContext {
  workloads::WorkloadCache& cache;
  const std::atomic<bool>& cancel;  // set on Ctrl-C: long runners abandon the point (throw Cancelled)
  uint64_t seed = 0;                // the spec's seed
  ReplicatePolicy replicates;
};

struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};
inline void throw_if_cancelled(const RunContext& ctx) {
  if (ctx.cancel.load(std::memory_order_relaxed)) throw Cancelled();
}

// The random-number seed of a point's draws: the spec seed mixed with the point's parameter hash, so a point
// gets the same draws in any sweep order, shard or thread.
uint64_t point_seed(uint64_t spec_seed, const Point& point);

class Runner {
 public:
  virtual ~Runner() = default;
  virtual std::vector<MetricDef> metrics() const = 0;
  // Why this build cannot run the kind ("" when it can); asked before any output is written.
  virtual std::string unavailable_reason() const { return {}; }
  // Sees every point of the run once, before any runs (single-threaded).
  virtual void plan(const std::vector<Point>& points) { (void)points; }
  // Checks that the point's workload can be built (files exist and fit); throws PointError. Single-threaded.
  virtual void check(const Point& point, RunContext& ctx) const {
    (void)point;
    (void)ctx;
  }
  // Called once when a run really starts (not by validate or --dry-run), after the output checks and before
  // the first point. Returns root attributes to store with the results (latency: the GPU and its measured
  // bandwidth ceiling). May throw: the run then stops before writing anything.
  virtual std::vector<std::pair<std::string, Value>> begin_run(RunContext& ctx) {
    (void)ctx;
    return {};
  }
  // Thread-safe: --jobs N calls it from N threads.
  virtual Row run(const Point& point, RunContext& ctx) const = 0;
};

std::unique_ptr<Runner> make_runner(std::string_view kind);  // throws std::invalid_argument for an unknown kind

}  // namespace santa::harness::measure
