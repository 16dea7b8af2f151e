// FlashInfer's decode kernels (the dense baseline of issue 5) behind the project's decode API.
// Plain C++: no CUDA types, so the harness, tests and benchmarks include it without nvcc. Only built when
// CMake finds the headers from scripts/fetch_flashinfer.sh (then SANTA_HAVE_FLASHINFER is defined).
//
// FlashInfer's kernels read a paged NHD cache. A contiguous cache [B, max_len, H_kv, d] is read in place as
// pages of `contiguous_page_size` tokens (page b * max_len / page_size + j is sequence b's j-th page, the
// same bytes); a paged DecodeProblem is used as it is.
#pragma once

#include <memory>
#include <string>

#include "kernels/decode_types.hpp"

namespace santa::gpu {

// The two FlashInfer decode paths the latency runner times (it reports the faster one as "FlashInfer").
enum class FlashInferPath {
  cuda_core,         // BatchDecodeWithPagedKVCacheDispatched: the CUDA-core decode kernel, split-KV + merge
  cuda_core_single,  // SingleDecodeWithKVCacheDispatched: the same kernel family for one request
                     // (batch 1, contiguous cache only)
  tensor_core,       // BatchPrefillWithPagedKVCacheDispatched with qo_len = 1: the GQA group is packed
                     // into a 16-row query tile (FlashInfer's Python API with use_tensor_cores=True)
};
std::string to_string(FlashInferPath path);
// Parses "cuda_core", "cuda_core_single" or "tensor_core"; throws std::invalid_argument otherwise.
FlashInferPath flashinfer_path_from_string(const std::string& name);

struct FlashInferOptions {
  FlashInferPath path = FlashInferPath::cuda_core;
  int contiguous_page_size = 16;  // tokens per page when a contiguous cache is viewed as pages
  // Programmatic dependent launch where the GPU supports it (sm_90+), as FlashInfer's Python API does.
  bool enable_pdl = true;
};

// What this build instantiates (compile time is kept small): head_dim 128; bf16 and fp16; GQA group sizes
// 1, 2, 3, 4, 6, 8 on the CUDA-core paths (FlashInfer's own dispatch list), any on the tensor-core path.
// Throws std::invalid_argument naming the first field that is unsupported or inconsistent. Touches no GPU.
void check_flashinfer_supported(const DecodeProblem& problem, const FlashInferOptions& options);

// One FlashInfer decode backend: its workspace, page tables and schedule live here, so run() neither
// allocates nor synchronises. Usage: plan(problem) once per shape and set of lengths (outside any timed
// region; it reads kv.seq_lens and, for a paged cache, the page table from the device), then run(problem)
// as often as needed. plan() must be repeated when the lengths or the page table change; q, out and the
// K/V base pointers may change between runs. Buffers only grow (in plan), never shrink.
class FlashInferDecoder {
 public:
  explicit FlashInferDecoder(const FlashInferOptions& options);
  ~FlashInferDecoder();
  FlashInferDecoder(FlashInferDecoder&&) noexcept;
  FlashInferDecoder& operator=(FlashInferDecoder&&) noexcept;
  FlashInferDecoder(const FlashInferDecoder&) = delete;
  FlashInferDecoder& operator=(const FlashInferDecoder&) = delete;

  // `stream` is a cudaStream_t (nullptr: the default stream). Synchronises that stream before returning.
  void plan(const DecodeProblem& problem, void* stream = nullptr);
  // Launches FlashInfer's kernels on `stream`. Throws std::logic_error if the problem's shape differs from
  // the planned one, std::runtime_error on a CUDA launch error.
  void run(const DecodeProblem& problem, void* stream = nullptr);

  const FlashInferOptions& options() const;
  // Whether the last plan split the KV sequence across blocks (then a merge kernel runs too).
  bool split_kv() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace santa::gpu
