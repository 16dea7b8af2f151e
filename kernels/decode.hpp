// The decode kernels behind a plain C++ API (no CUDA types; compiles without nvcc).
//
//   dense_decode : exact split-KV decode (FlashDecoding style), the project's dense baseline.
//   flash_decode : S2ANTA-flash, fixed per-tile budget, one pass over K, log-sum-exp merge.
//   prop_decode  : S2ANTA-prop with global-systematic budgets (exactly S samples, unbiased), or the
//                  reference kernel's largest-remainder budgets for comparison.
//
// Each call is one kernel launch: the per-(sequence, KV head) merge runs in the last CTA to finish, in a
// fixed order, so the same inputs (and seed + step) give bitwise identical outputs. Nothing is allocated
// per call: all scratch lives in a DecodeWorkspace made once; sequence lengths, the page table and the RNG
// step are read from device memory, so calls can be captured in a CUDA graph and replayed.
// Shapes, dtypes and pointers are checked before launch (std::invalid_argument naming the field and what is
// allowed). One workspace serves one stream at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/decode_types.hpp"
#include "kernels/device_buffer.hpp"

namespace santa::gpu {

// What the kernels support (anything else is rejected before launch).
inline constexpr int kSupportedHeadDims[] = {64, 128, 256};
inline constexpr int kSupportedGroupSizes[] = {1, 2, 4, 8};
inline constexpr int kMinTile = 32, kMaxTile = 512;

// The largest problem a workspace serves.
struct WorkspaceLimits {
  int max_batch = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int64_t max_len = 0;   // longest sequence (contiguous max_len, or pages * page_size)
  int min_tile = 64;     // smallest sampling tile that will be used (sizes the tile statistics)
  int max_chunks = 128;  // most CTAs per (sequence, KV head)
  // Reserve the two-pass prop variants' (LaunchOptions::variant 61-63, 65) prefix buffer: 4 bytes per (sequence,
  // query head, position), e.g. 64 MiB at batch 16, 32 heads, 32k keys. Without it those variants are rejected.
  bool score_prefix = false;
};

// Scratch of the decode kernels: partial results per chunk, tile statistics, and self-resetting counters.
class DecodeWorkspace {
 public:
  // Validates the limits (std::invalid_argument) and allocates on the current device (std::runtime_error
  // without a GPU). The counters are zeroed once here; every call leaves them zero again.
  explicit DecodeWorkspace(const WorkspaceLimits& limits);

  const WorkspaceLimits& limits() const { return limits_; }
  std::size_t bytes() const { return buffer_.size(); }
  int sm_count() const { return sm_count_; }
  int cc_major() const { return cc_major_; }  // compute capability of the workspace's device

  // Device views for the launchers (implementation detail, but plain pointers).
  struct Views {
    float* part_acc = nullptr;    // [batch * H_kv][max_chunks][G][d]
    float* part_ml = nullptr;     // [batch * H_kv][max_chunks][G][2] (max, sum)
    int32_t* part_cnt = nullptr;  // [batch * H_kv][max_chunks][9] (samples per head, distinct rows)
    float* tile_stats = nullptr;  // [batch * H][max_tiles][2] (max, sum) of each tile (prop)
    uint32_t* counters = nullptr; // [2 * batch * H_kv + 2 + batch * H]: merge, barrier, ticket, exit, head merge
    uint32_t* head_counters = nullptr;  // counters + 2 * batch * H_kv + 2: the two-pass prop's per-head merge
    int32_t* tile_last = nullptr; // [batch * H][max_tiles] last key with positive weight of each tile (two-pass prop)
    float* prefix = nullptr;      // [batch * H][prefix_stride] tile prefixes (two-pass prop; WorkspaceLimits::score_prefix)
    int64_t prefix_stride = 0;    // max_len rounded up to kMaxTile
    int max_tiles = 0;
  };
  const Views& views() const { return views_; }

 private:
  WorkspaceLimits limits_;
  int sm_count_ = 0;
  int cc_major_ = 0;
  DeviceBuffer buffer_;
  Views views_;
};

// Checks (no GPU needed) and throws std::invalid_argument naming what is wrong and what is allowed.
void check_limits(const WorkspaceLimits& limits);
void check_problem(const DecodeProblem& problem);
void check_fits(const DecodeProblem& problem, const WorkspaceLimits& limits);
void check_flash_params(const FlashParams& params, const WorkspaceLimits& limits);
void check_prop_params(const PropParams& params, const WorkspaceLimits& limits);
void check_launch(const LaunchOptions& launch);
// Longest sequence a problem can hold (contiguous max_len, or pages * page_size).
int64_t max_sequence_length(const DecodeProblem& problem);

void dense_decode(const DecodeProblem& problem, DecodeWorkspace& workspace, const LaunchOptions& launch = {});

void flash_decode(const DecodeProblem& problem, const FlashParams& params, const SamplingRng& rng,
                  DecodeWorkspace& workspace, const SamplingRecord& record = {}, const LaunchOptions& launch = {});

void prop_decode(const DecodeProblem& problem, const PropParams& params, const SamplingRng& rng,
                 DecodeWorkspace& workspace, const SamplingRecord& record = {}, const LaunchOptions& launch = {});

// The split a call would use (for reports and benchmarks): CTAs per (sequence, KV head) and keys per CTA.
struct SplitInfo {
  int num_chunks = 0;  // CTAs per (sequence, KV head); whole-row dense kernel: most pieces of one sequence
  int ctas = 0;        // CTAs of the launch
  int rows_per_chunk = 0;
  std::size_t shared_bytes = 0;
};
enum class KernelFamily { dense, flash, prop };
std::string to_string(KernelFamily f);
SplitInfo split_info(KernelFamily family, const DecodeProblem& problem, int tile, const DecodeWorkspace& workspace,
                     const LaunchOptions& launch = {});

}  // namespace santa::gpu
