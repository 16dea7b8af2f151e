#include "harness/workloads/prefill.hpp"

#include <stdexcept>

#include "harness/workloads/random.hpp"

namespace santa::harness::workloads {
namespace {

float round_to(double x, Precision p) {
  switch (p) {
    case Precision::fp16:
      return static_cast<float>(Eigen::half(static_cast<float>(x)));
    case Precision::bf16:
      return static_cast<float>(Eigen::bfloat16(static_cast<float>(x)));
    default:
      return static_cast<float>(x);
  }
}

MatRMf normal_rows(const RngSite& site, int64_t n, int64_t d, Precision p) {
  MatRMf m(n, d);
  NormalStream s(site);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) m(i, j) = round_to(s.next(), p);
  }
  return m;
}

}  // namespace

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "fp16") return Precision::fp16;
  if (name == "bf16") return Precision::bf16;
  throw std::invalid_argument("unknown precision '" + name + "'; allowed: fp32, fp16, bf16");
}

MatRMf prefill_queries(uint64_t seed, uint32_t trial, uint32_t head, int64_t n, int64_t d, Precision precision) {
  return normal_rows(stream_site(seed, trial, Purpose::query, head), n, d, precision);
}

MatRMf prefill_keys(uint64_t seed, uint32_t trial, uint32_t kv_head, int64_t n, int64_t d, Precision precision) {
  return normal_rows(stream_site(seed, trial, Purpose::key, kv_head), n, d, precision);
}

}  // namespace santa::harness::workloads
