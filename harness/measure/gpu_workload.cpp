#include "harness/measure/gpu_workload.hpp"

#include <numeric>

#include "harness/core/value.hpp"

namespace santa::harness::measure {

GpuInputs::GpuInputs(const LatencyInputsSpec& spec) : spec_(spec) {
  const auto& sh = spec.shape;
  const int64_t max_len = spec.max_len();
  const auto row_elems = static_cast<std::size_t>(sh.H_kv * sh.d);
  const std::size_t cache_elems = static_cast<std::size_t>(sh.batch * max_len) * row_elems;
  const std::size_t es = static_cast<std::size_t>(sh.elem_bytes);

  q_host_ = make_queries(spec);
  needles_ = make_needles(spec, q_host_);
  q_ = gpu::to_device(q_host_);
  out_ = gpu::DeviceBuffer(q_host_.size() * es);
  k_ = gpu::DeviceBuffer(cache_elems * es);
  v_ = gpu::DeviceBuffer(cache_elems * es);
  gpu::fill_normal(k_.data(), static_cast<int64_t>(cache_elems), spec.dtype, fnv1a64("K", spec.value_seed));
  gpu::fill_normal(v_.data(), static_cast<int64_t>(cache_elems), spec.dtype, fnv1a64("V", spec.value_seed));
  // Synchronous uploads, issued after the fills on the same (default) stream.
  for (const auto& n : needles_) {
    const std::size_t row = (static_cast<std::size_t>(n.b * max_len + n.pos) * sh.H_kv + n.kv_head) * sh.d;
    k_.upload(n.bits.data(), n.bits.size() * es, row * es);
  }
  lens_ = gpu::to_device(std::vector<int32_t>(static_cast<std::size_t>(sh.batch), static_cast<int32_t>(sh.n_k)));
  if (sh.paged) {
    std::vector<int32_t> table(static_cast<std::size_t>(sh.batch * (max_len / sh.page_size)));
    std::iota(table.begin(), table.end(), 0);
    pages_ = gpu::to_device(table);
  }
  poison_output();
}

gpu::DecodeProblem GpuInputs::problem() const {
  const auto& sh = spec_.shape;
  gpu::DecodeProblem p;
  p.batch = static_cast<int>(sh.batch);
  p.num_heads = static_cast<int>(sh.H);
  p.num_kv_heads = static_cast<int>(sh.H_kv);
  p.head_dim = static_cast<int>(sh.d);
  p.dtype = spec_.dtype;
  p.scale = static_cast<float>(spec_.scale());
  p.q = q_.data();
  p.out = out_.data();
  p.kv.k = k_.data();
  p.kv.v = v_.data();
  p.kv.seq_lens = lens_.as<int32_t>();
  if (sh.paged) {
    p.kv.paged = true;
    p.kv.page_size = static_cast<int>(sh.page_size);
    p.kv.max_pages_per_seq = static_cast<int>(spec_.max_len() / sh.page_size);
    p.kv.page_table = pages_.as<int32_t>();
  } else {
    p.kv.max_len = spec_.max_len();
  }
  return p;
}

void GpuInputs::poison_output() { out_.fill_bytes(0xFF); }

std::vector<uint16_t> GpuInputs::download_output() const {
  return out_.download_vector<uint16_t>(q_host_.size());
}

void GpuInputs::download_sequence(int64_t b, std::vector<uint16_t>& k, std::vector<uint16_t>& v) const {
  const auto& sh = spec_.shape;
  const std::size_t elems = static_cast<std::size_t>(sh.n_k * sh.H_kv * sh.d);
  const auto es = static_cast<std::size_t>(sh.elem_bytes);
  const std::size_t offset = static_cast<std::size_t>(b * spec_.max_len() * sh.H_kv * sh.d) * es;
  k.resize(elems);
  v.resize(elems);
  k_.download(k.data(), elems * es, offset);
  v_.download(v.data(), elems * es, offset);
}

}  // namespace santa::harness::measure
