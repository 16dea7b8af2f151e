// Plain C++ description of one batched decode-attention call on the GPU. No CUDA types: the harness,
// tests and benchmarks include this without nvcc. Every pointer is device memory unless noted.
#pragma once

#include <cstdint>
#include <string>

namespace santa::gpu {

enum class DType { bf16, fp16 };
std::string to_string(DType t);

// The KV cache. Contiguous NHD: k/v are [batch, max_len, num_kv_heads, head_dim].
// Paged (FlashInfer-style): k/v are [num_pages, page_size, num_kv_heads, head_dim] and
// page_table[b * max_pages_per_seq + j] is the j-th page of sequence b.
struct KvCache {
  const void* k = nullptr;
  const void* v = nullptr;
  int64_t max_len = 0;                // contiguous: allocated positions per sequence
  const int32_t* seq_lens = nullptr;  // [batch] current lengths (device); each in [1, max_len]
  bool paged = false;
  int page_size = 0;
  int max_pages_per_seq = 0;
  const int32_t* page_table = nullptr;
};

// One decode step: q [batch, num_heads, head_dim] -> out [batch, num_heads, head_dim] (same dtype as q).
struct DecodeProblem {
  int batch = 0;
  int num_heads = 0;     // H
  int num_kv_heads = 0;  // H_kv; G = H / H_kv query heads share a KV head
  int head_dim = 0;      // d
  DType dtype = DType::bf16;
  float scale = 0.0f;    // softmax scale; 0 means 1/sqrt(d)
  const void* q = nullptr;
  void* out = nullptr;
  KvCache kv;
};

// Randomness of the sampling kernels: Philox keyed by seed, with the step read from device memory when
// step_ptr is set (so CUDA-graph replays draw fresh numbers), else `step`.
struct SamplingRng {
  uint64_t seed = 0;
  uint32_t step = 0;
  const uint32_t* step_ptr = nullptr;
};

}  // namespace santa::gpu
