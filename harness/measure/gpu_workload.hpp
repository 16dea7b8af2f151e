// One latency point's inputs on the GPU (latency_inputs.hpp says what they are): q, K, V, the output, the
// sequence lengths and, for a paged cache, the page table. The cache is [batch, max_len, H_kv, d]; a paged
// cache is the same memory read through an identity page table (sequence b's j-th page is page
// b * pages_per_seq + j), so both layouts hold the same values.
#pragma once

#include <cstdint>
#include <vector>

#include "harness/measure/latency_inputs.hpp"
#include "kernels/decode_types.hpp"
#include "kernels/device_buffer.hpp"

namespace santa::harness::measure {

class GpuInputs {
 public:
  // Allocates and fills on the current GPU (std::runtime_error without one, or when memory runs out).
  explicit GpuInputs(const LatencyInputsSpec& spec);

  const LatencyInputsSpec& spec() const { return spec_; }
  // The decode call every backend makes (pointers into this object's buffers; scale 1/sqrt(d)).
  gpu::DecodeProblem problem() const;
  const std::vector<uint16_t>& queries() const { return q_host_; }
  const std::vector<NeedleRow>& needles() const { return needles_; }

  // Sets every output bit (NaN in bf16 and fp16) so that an output a backend did not write cannot pass.
  void poison_output();
  std::vector<uint16_t> download_output() const;  // [batch][H][d]
  // Rows [0, n_k) of sequence b's K and V, [n_k][H_kv][d] each.
  void download_sequence(int64_t b, std::vector<uint16_t>& k, std::vector<uint16_t>& v) const;

 private:
  LatencyInputsSpec spec_;
  std::vector<uint16_t> q_host_;
  std::vector<NeedleRow> needles_;
  gpu::DeviceBuffer q_, k_, v_, out_, lens_, pages_;
};

}  // namespace santa::harness::measure
