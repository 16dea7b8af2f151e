// Seeded random numbers for the workload generators: Philox streams (estimators/philox.hpp) so the same seed
// gives the same q, K, V on every machine and compiler (std::normal_distribution is not portable).
#pragma once

#include <cstdint>

#include "estimators/philox.hpp"

namespace santa::harness::workloads {

// What a stream is used for; one Philox site per (seed, instance, purpose, head).
enum class Purpose : uint32_t { query = 0, key = 1, value = 2, shape = 3 };

RngSite stream_site(uint64_t seed, uint32_t instance, Purpose purpose, uint32_t head);

// Standard normals by Box-Muller over a PhiloxStream (53-bit uniforms).
class NormalStream {
 public:
  explicit NormalStream(const RngSite& site) : rng_(site) {}
  double next();
  double uniform() { return rng_.next_double(); }  // in [0, 1)

 private:
  PhiloxStream rng_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace santa::harness::workloads
