// Statistics of one latency point's timing samples (PROTOCOLS.md P1): mean, median and a 95 % confidence
// interval of the mean, as the /points columns of the latency kind and scripts/torch_sdpa_baseline.py name them.
#pragma once

#include <cstdint>
#include <vector>

namespace santa::harness::measure {

// 97.5 % quantile of Student's t with `dof` degrees of freedom (the half-width factor of a two-sided 95 %
// interval). Exact for dof 1 and 2, tabulated for 3 to 6, the Cornish-Fisher expansion (Abramowitz & Stegun
// 26.7.5, < 5e-5 off) from 7 on, as scripts/torch_sdpa_baseline.py computes it. NaN for dof < 1.
double student_t_975(int64_t dof);

struct TimingSummary {
  int64_t count = 0;
  double mean_us = 0.0;
  double median_us = 0.0;  // middle sample, or the mean of the two middle ones
  double std_us = 0.0;     // sample standard deviation (n - 1); NaN for one sample
  double min_us = 0.0;
  double ci95_lo_us = 0.0;  // mean -/+ t_{0.975, n-1} std / sqrt(n); NaN for one sample
  double ci95_hi_us = 0.0;
};

// Throws std::invalid_argument for no samples or a sample that is not a finite non-negative time.
TimingSummary summarize_timing(const std::vector<double>& samples_us);

}  // namespace santa::harness::measure
