#include "harness/measure/latency_bytes.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace santa::harness::measure {

double metadata_bytes(const DecodeShape& s) {
  const double q = double(s.batch) * double(s.H) * double(s.d) * double(s.elem_bytes);
  const double lens = double(s.batch) * 4.0;
  const double pages = s.paged ? double(s.batch) * double(s.pages_per_seq()) * 4.0 : 0.0;
  return q + lens + pages;
}

BytesRead dense_bytes(const DecodeShape& s, double extra_meta) {
  const double kv = double(s.kv_rows()) * double(s.d) * double(s.elem_bytes);
  return BytesRead{kv, kv, metadata_bytes(s) + extra_meta};
}

BytesRead sampled_bytes(const DecodeShape& s, int64_t distinct_v_rows) {
  if (distinct_v_rows < 0 || distinct_v_rows > s.kv_rows())
    throw std::invalid_argument(fmt::format("sampled_bytes: distinct_v_rows = {}; allowed: 0 to batch * n_k * "
                                            "H_kv = {}",
                                            distinct_v_rows, s.kv_rows()));
  const double row = double(s.d) * double(s.elem_bytes);
  return BytesRead{double(s.kv_rows()) * row, double(distinct_v_rows) * row, metadata_bytes(s)};
}

double flashinfer_index_bytes(const DecodeShape& s, int64_t page_size) {
  const int64_t pages = (s.n_k + page_size - 1) / page_size;
  return 4.0 * (double(s.batch) * double(pages) + 2.0 * double(s.batch + 1) + double(s.batch));
}

}  // namespace santa::harness::measure
