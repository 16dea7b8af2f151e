#include "harness/workloads/random.hpp"

#include <cmath>

namespace santa::harness::workloads {

RngSite stream_site(uint64_t seed, uint32_t instance, Purpose purpose, uint32_t head) {
  RngSite s;
  s.seed = seed;
  s.step = instance;
  s.batch = static_cast<uint32_t>(purpose);
  s.head = head;
  s.tile = 0;
  return s;
}

double NormalStream::next() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // 1 - u is in (0, 1], so the log is finite.
  const double u1 = 1.0 - rng_.next_double();
  const double u2 = rng_.next_double();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double t = 6.283185307179586 * u2;
  spare_ = r * std::sin(t);
  has_spare_ = true;
  return r * std::cos(t);
}

}  // namespace santa::harness::workloads
