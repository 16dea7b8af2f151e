// Checks of every decode call, before anything is launched (plain C++: they run without a GPU).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernels/decode.hpp"

namespace santa::gpu {
namespace {

template <class... Args>
[[noreturn]] void reject(const char* where, const Args&... args) {
  std::ostringstream os;
  os << where << ": ";
  (os << ... << args);
  throw std::invalid_argument(os.str());
}

bool is_pow2(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

bool supported_head_dim(int d) {
  for (int s : kSupportedHeadDims)
    if (s == d) return true;
  return false;
}

bool supported_group(int g) {
  for (int s : kSupportedGroupSizes)
    if (s == g) return true;
  return false;
}

bool aligned16(const void* p) { return (reinterpret_cast<std::uintptr_t>(p) & 15u) == 0; }

void check_tile(const char* where, int tile, int64_t samples, const WorkspaceLimits& limits) {
  if (samples < 1 || samples > (int64_t{1} << 24)) {
    reject(where, "samples = ", samples, "; allowed: 1..16777216");
  }
  if (!is_pow2(tile) || tile < kMinTile || tile > kMaxTile) {
    reject(where, "tile = ", tile, "; allowed: a power of two in [", kMinTile, ", ", kMaxTile, "]");
  }
  if (tile < limits.min_tile) {
    reject(where, "tile = ", tile, " is below the workspace's min_tile = ", limits.min_tile,
           " (make the workspace with a smaller WorkspaceLimits::min_tile)");
  }
}

// The head layout shared by a workspace's limits and a problem.
void check_heads(const char* where, int batch, int num_heads, int num_kv_heads, int head_dim) {
  if (batch < 1 || batch > 65535) reject(where, "batch = ", batch, "; allowed: 1..65535");
  if (num_kv_heads < 1) reject(where, "num_kv_heads = ", num_kv_heads, "; must be >= 1");
  if (num_heads < 1 || num_heads > 65535 || num_heads % num_kv_heads != 0) {
    reject(where, "num_heads = ", num_heads, " with num_kv_heads = ", num_kv_heads,
           "; num_heads must be in 1..65535 and a multiple of num_kv_heads");
  }
  if (!supported_group(num_heads / num_kv_heads)) {
    reject(where, "group size num_heads / num_kv_heads = ", num_heads / num_kv_heads, "; allowed: 1, 2, 4, 8");
  }
  if (!supported_head_dim(head_dim)) reject(where, "head_dim = ", head_dim, "; allowed: 64, 128, 256");
}

}  // namespace

std::string to_string(DType t) { return t == DType::bf16 ? "bf16" : t == DType::fp16 ? "fp16" : "unknown"; }

int64_t max_sequence_length(const DecodeProblem& p) {
  return p.kv.paged ? static_cast<int64_t>(p.kv.page_size) * p.kv.max_pages_per_seq : p.kv.max_len;
}

void check_limits(const WorkspaceLimits& l) {
  constexpr const char* where = "DecodeWorkspace";
  check_heads(where, l.max_batch, l.num_heads, l.num_kv_heads, l.head_dim);
  if (l.max_len < 1 || l.max_len > (int64_t{1} << 30)) reject(where, "max_len = ", l.max_len, "; allowed: 1..2^30");
  if (!is_pow2(l.min_tile) || l.min_tile < kMinTile || l.min_tile > kMaxTile) {
    reject(where, "min_tile = ", l.min_tile, "; allowed: a power of two in [", kMinTile, ", ", kMaxTile, "]");
  }
  if (l.max_chunks < 1 || l.max_chunks > 4096) reject(where, "max_chunks = ", l.max_chunks, "; allowed: 1..4096");
  if ((l.max_len + l.min_tile - 1) / l.min_tile > 4096) {
    reject(where, "max_len / min_tile = ", (l.max_len + l.min_tile - 1) / l.min_tile,
           " tiles; at most 4096 tiles per sequence are supported (raise min_tile)");
  }
}

void check_problem(const DecodeProblem& p) {
  constexpr const char* where = "decode";
  check_heads(where, p.batch, p.num_heads, p.num_kv_heads, p.head_dim);
  if (p.dtype != DType::bf16 && p.dtype != DType::fp16) {
    reject(where, "dtype = ", static_cast<int>(p.dtype), "; allowed: bf16, fp16");
  }
  if (!std::isfinite(p.scale) || p.scale < 0.0f) {
    reject(where, "scale = ", p.scale, "; must be finite and >= 0 (0 means 1/sqrt(head_dim))");
  }
  if (p.q == nullptr || p.out == nullptr || p.kv.k == nullptr || p.kv.v == nullptr || p.kv.seq_lens == nullptr) {
    reject(where, "q, out, kv.k, kv.v and kv.seq_lens must all be device pointers (one is null)");
  }
  if (!aligned16(p.q) || !aligned16(p.kv.k) || !aligned16(p.kv.v)) {
    reject(where, "q, kv.k and kv.v must be 16-byte aligned (the kernels use 16-byte loads)");
  }
  if (!aligned16(p.out)) reject(where, "out must be 16-byte aligned");
  if (p.kv.paged) {
    if (!is_pow2(p.kv.page_size) || p.kv.page_size > (1 << 20)) {
      reject(where, "kv.page_size = ", p.kv.page_size, "; allowed: a power of two in [1, 2^20]");
    }
    if (p.kv.max_pages_per_seq < 1) reject(where, "kv.max_pages_per_seq = ", p.kv.max_pages_per_seq, "; must be >= 1");
    if (p.kv.page_table == nullptr) reject(where, "kv.page_table is null for a paged cache");
  } else if (p.kv.max_len < 1) {
    reject(where, "kv.max_len = ", p.kv.max_len, "; must be >= 1 for a contiguous cache");
  }
  if (max_sequence_length(p) > (int64_t{1} << 30)) {
    reject(where, "longest sequence = ", max_sequence_length(p), " keys; allowed: up to 2^30");
  }
}

void check_fits(const DecodeProblem& p, const WorkspaceLimits& l) {
  constexpr const char* where = "decode";
  if (p.batch > l.max_batch) reject(where, "batch = ", p.batch, " exceeds the workspace's max_batch = ", l.max_batch);
  if (p.num_heads != l.num_heads || p.num_kv_heads != l.num_kv_heads || p.head_dim != l.head_dim) {
    reject(where, "shape (H = ", p.num_heads, ", H_kv = ", p.num_kv_heads, ", d = ", p.head_dim,
           ") differs from the workspace's (H = ", l.num_heads, ", H_kv = ", l.num_kv_heads, ", d = ", l.head_dim, ")");
  }
  if (max_sequence_length(p) > l.max_len) {
    reject(where, "longest sequence = ", max_sequence_length(p), " exceeds the workspace's max_len = ", l.max_len);
  }
}

void check_flash_params(const FlashParams& f, const WorkspaceLimits& l) {
  check_tile("flash_decode", f.tile, f.samples, l);
  if (f.budget != FlashBudget::exact_total && f.budget != FlashBudget::reference) {
    reject("flash_decode", "budget = ", static_cast<int>(f.budget), "; allowed: exact_total, reference");
  }
}

void check_prop_params(const PropParams& q, const WorkspaceLimits& l) {
  check_tile("prop_decode", q.tile, q.samples, l);
  if (q.budget != PropBudget::global_systematic && q.budget != PropBudget::largest_remainder) {
    reject("prop_decode", "budget = ", static_cast<int>(q.budget), "; allowed: global_systematic, largest_remainder");
  }
}

void check_launch(const LaunchOptions& o) {
  if (o.num_chunks < 0) reject("LaunchOptions", "num_chunks = ", o.num_chunks, "; allowed: 0 (automatic) or >= 1");
  if (o.prefetch_steps < -1 || o.prefetch_steps > 64) {
    reject("LaunchOptions", "prefetch_steps = ", o.prefetch_steps, "; allowed: -1 (default) or 0..64");
  }
  // The benchmark variants that exist (kernels/decode_types.hpp): one list for the check and the message.
  static constexpr std::pair<int, int> kVariants[] = {{0, 4},   {7, 8},   {11, 13}, {16, 16}, {21, 23}, {29, 29},
                                                      {31, 32}, {33, 45}, {49, 65}, {67, 73}};
  const int v = o.variant;
  if (std::none_of(std::begin(kVariants), std::end(kVariants), [v](auto r) { return v >= r.first && v <= r.second; })) {
    std::string allowed;
    for (auto [lo, hi] : kVariants) {
      allowed += (allowed.empty() ? "" : ", ") + std::to_string(lo) + (hi > lo ? ".." + std::to_string(hi) : "");
    }
    reject("LaunchOptions", "variant = ", v, "; allowed: ", allowed, " (0 = default; the others are benchmark variants)");
  }
}

}  // namespace santa::gpu
