#include "harness/measure/cover_levels.hpp"

#include <algorithm>
#include <cmath>

#include "harness/measure/runner.hpp"

namespace santa::harness::measure {
namespace {
constexpr int64_t kQueryBlock = 128;
}  // namespace

void causal_cover_levels(const workloads::MatRMf& Q, const workloads::MatRMf& K, int64_t cap, const RngSite& base,
                         std::vector<uint16_t>& level, const std::atomic<bool>& cancel) {
  const int64_t n = Q.rows();
  const float scale = 1.0f / std::sqrt(float(Q.cols()));
  level.assign(static_cast<std::size_t>(n), kNeverCovered);
  std::vector<double> cdf(static_cast<std::size_t>(n));
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> block;
  Eigen::ArrayXf w;
  for (int64_t i0 = 0; i0 < n; i0 += kQueryBlock) {
    if (cancel.load(std::memory_order_relaxed)) throw Cancelled();
    const int64_t rows = std::min(kQueryBlock, n - i0), keys = i0 + rows;
    block.noalias() = Q.middleRows(i0, rows) * K.topRows(keys).transpose();
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = i0 + r, len = i + 1;
      const auto s = block.row(r).head(len).array() * scale;
      w = (s - s.maxCoeff()).exp();
      double acc = 0.0;
      for (int64_t j = 0; j < len; ++j) cdf[j] = (acc += w[j]);
      RngSite site = base;
      site.tile = static_cast<uint32_t>(i);
      PhiloxStream rng(site);
      for (int64_t m = 0; m < cap; ++m) {
        const double u = rng.next_double() * acc;
        const int64_t j = std::min<int64_t>(std::upper_bound(cdf.begin(), cdf.begin() + len, u) - cdf.begin(), i);
        level[j] = std::min<uint16_t>(level[j], static_cast<uint16_t>(m + 1));
      }
    }
  }
}


}  // namespace santa::harness::measure
