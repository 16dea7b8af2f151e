// The workload cache builds each key once (also under concurrent requests), forgets failed builds and
// evicts least-recently-used entries beyond its budget.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "harness/workloads/cache.hpp"

namespace santa::harness::workloads {
namespace {

std::shared_ptr<const int> get(WorkloadCache& c, const std::string& key, std::atomic<int>& builds, int value = 1,
                               std::size_t bytes = 10) {
  return c.get<int>(
      key,
      [&] {
        ++builds;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return std::make_shared<const int>(value);
      },
      [bytes](const int&) { return bytes; });
}

TEST(WorkloadCache, BuildsOncePerKeyEvenConcurrently) {
  WorkloadCache c;
  std::atomic<int> builds{0};
  std::vector<std::thread> threads;
  std::vector<int> seen(8, 0);
  for (int t = 0; t < 8; ++t) threads.emplace_back([&, t] { seen[t] = *get(c, "k", builds, 7); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(builds.load(), 1);
  for (int v : seen) EXPECT_EQ(v, 7);
  EXPECT_EQ(c.misses(), 1);
  EXPECT_EQ(c.hits(), 7);
}

TEST(WorkloadCache, FailedBuildIsRetried) {
  WorkloadCache c;
  int calls = 0;
  const auto failing = [&] () -> std::shared_ptr<const int> {
    ++calls;
    throw std::runtime_error("boom");
  };
  EXPECT_THROW((c.get<int>("k", failing, [](const int&) { return std::size_t{1}; })), std::runtime_error);
  EXPECT_THROW((c.get<int>("k", failing, [](const int&) { return std::size_t{1}; })), std::runtime_error);
  EXPECT_EQ(calls, 2);
}

TEST(WorkloadCache, EvictsLeastRecentlyUsedBeyondBudget) {
  WorkloadCache c(25);  // two 10-byte entries fit, three do not
  std::atomic<int> builds{0};
  get(c, "a", builds);
  get(c, "b", builds);
  get(c, "a", builds);  // a is now the most recent
  get(c, "c", builds);  // evicts b
  EXPECT_EQ(builds.load(), 3);
  EXPECT_LE(c.bytes_held(), 25u);
  get(c, "a", builds);
  EXPECT_EQ(builds.load(), 3);
  get(c, "b", builds);
  EXPECT_EQ(builds.load(), 4);
  // An entry larger than the budget is still handed out (and kept until the next insertion).
  EXPECT_EQ(*get(c, "huge", builds, 5, 1000), 5);
}

TEST(WorkloadCache, TypeMismatchIsAnError) {
  WorkloadCache c;
  std::atomic<int> builds{0};
  get(c, "k", builds);
  EXPECT_THROW((c.get<double>("k", [] { return std::make_shared<const double>(1.0); },
                              [](const double&) { return std::size_t{8}; })),
               std::logic_error);
}

}  // namespace
}  // namespace santa::harness::workloads
