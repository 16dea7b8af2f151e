// The latency runner's CPU work (fp64 reference of the checked heads, Monte Carlo of the sampling schemes)
// runs while the GPU waits, so it is spread over the machine's cores: one task per head.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace santa::harness::measure {

// Calls f(i) for every i in [0, n) on up to hardware_concurrency threads; rethrows the first exception after
// every thread has stopped.
template <class F>
void parallel_for(int64_t n, F&& f) {
  const int64_t threads =
      std::min<int64_t>(n, std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency())));
  if (threads <= 1) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  std::atomic<int64_t> next{0};
  std::exception_ptr error;
  std::mutex mu;
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
        try {
          f(i);
        } catch (...) {
          std::lock_guard lock(mu);
          if (!error) error = std::current_exception();
          next.store(n);
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace santa::harness::measure
