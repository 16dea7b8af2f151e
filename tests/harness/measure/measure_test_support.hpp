// Running one point of a spec through its kind's runner, without the CLI.
#pragma once

#include <atomic>

#include "harness/measure/runner.hpp"
#include "harness/spec/spec.hpp"

namespace santa::harness::measure::testing {

struct Harness {
  spec::Spec spec;
  std::unique_ptr<Runner> runner;
  workloads::WorkloadCache cache;
  std::atomic<bool> cancel{false};

  explicit Harness(const std::string& yaml) : spec(spec::parse_spec(yaml, "t.yaml")) {
    runner = make_runner(spec.kind->name);
    runner->plan(spec.points());
  }
  RunContext context() { return RunContext{cache, cancel, spec.seed, spec.replicates}; }
  Row run(int64_t index) {
    RunContext ctx = context();
    return runner->run(spec.point(index), ctx);
  }
};

inline double metric(const Row& row, const std::string& name) {
  const Value* v = row.find(name);
  if (!v) throw std::out_of_range("row has no metric " + name);
  return std::get<double>(*v);
}

}  // namespace santa::harness::measure::testing
