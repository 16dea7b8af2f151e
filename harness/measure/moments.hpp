// Running mean and variance (Welford), with the standard error of the mean.
#pragma once

#include <cmath>
#include <cstdint>

namespace santa::harness::measure {

class Moments {
 public:
  void add(double x) {
    ++n_;
    const double delta = x - mean_;
    mean_ += delta / double(n_);
    m2_ += delta * (x - mean_);
  }
  int64_t count() const { return n_; }
  double mean() const { return n_ ? mean_ : std::nan(""); }
  double variance() const { return n_ > 1 ? m2_ / double(n_ - 1) : 0.0; }  // unbiased sample variance
  double se() const { return n_ > 1 ? std::sqrt(variance() / double(n_)) : std::nan(""); }

 private:
  int64_t n_ = 0;
  double mean_ = 0.0, m2_ = 0.0;
};

}  // namespace santa::harness::measure
