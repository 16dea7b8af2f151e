// Shared helpers of the kernel tests: seeded host inputs in bf16/fp16, their upload as a contiguous or a
// paged cache, and the CPU fp64 views (per sequence and KV head) the references need.
//
// Statistical tolerances (sampling_statistics_test.cpp): for R replicate estimates with sample mean m_j and
// sample standard deviation s_j per output coordinate j, SE_j = s_j / sqrt(R); an unbiased estimator gives
// (m_j - y_j) / SE_j ~ N(0, 1) by the CLT (Student t with R - 1 >= 399 degrees of freedom). We require
// |m_j - y_j| <= kZ SE_j + rounding, kZ = 6: P(|N(0,1)| > 6) = 2.0e-9, so with a Bonferroni correction over
// the m <= 2048 coordinates of one check a false failure has probability <= 4e-6. "rounding" bounds the
// deterministic error of the bf16 output: |round(x) - x| <= 2^-9 |x| for bf16, so a mean of rounded values
// is off by at most 2^-9 max|y_hat| (we allow 2^-8). Fixed seeds: a passing run stays passing.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "estimators/philox.hpp"
#include "estimators/tiles.hpp"
#include "estimators/types.hpp"
#include "kernels/decode.hpp"
#include "kernels/device.hpp"
#include "kernels/device_buffer.hpp"
#include "kernels/host_half.hpp"

#define SANTA_REQUIRE_GPU()                                             \
  do {                                                                  \
    if (!::santa::gpu::gpu_available()) GTEST_SKIP() << "no GPU here"; \
  } while (0)

namespace santa::gpu::testing {

constexpr double kZ = 6.0;

struct Shape {
  int batch = 1, heads = 8, kv_heads = 2, dim = 128;
  int64_t max_len = 1024;
  DType dtype = DType::bf16;
  int group() const { return heads / kv_heads; }
};

// Host copy of one decode step's inputs, stored as 16-bit patterns of `dtype`.
struct HostInputs {
  Shape shape;
  std::vector<uint16_t> q;  // [B][H][d]
  std::vector<uint16_t> k;  // [B][max_len][H_kv][d]
  std::vector<uint16_t> v;
  std::vector<int32_t> lens;

  float qf(int b, int h, int j) const {
    return half_bits_to_float(q[(static_cast<size_t>(b) * shape.heads + h) * shape.dim + j], shape.dtype);
  }
  size_t kv_index(int b, int64_t row, int kvh, int j) const {
    return ((static_cast<size_t>(b) * shape.max_len + row) * shape.kv_heads + kvh) * shape.dim + j;
  }
  // fp64 views for the CPU reference: q of the group [G, d] / all heads [H, d], keys/values [n_b, d].
  MatRM q_matrix(int b) const {
    MatRM m(shape.heads, shape.dim);
    for (int h = 0; h < shape.heads; ++h)
      for (int j = 0; j < shape.dim; ++j) m(h, j) = qf(b, h, j);
    return m;
  }
  MatRM kv_matrix(const std::vector<uint16_t>& src, int b, int kvh) const {
    MatRM m(lens[b], shape.dim);
    for (int64_t r = 0; r < lens[b]; ++r)
      for (int j = 0; j < shape.dim; ++j) m(r, j) = half_bits_to_float(src[kv_index(b, r, kvh, j)], shape.dtype);
    return m;
  }
  MatRM k_matrix(int b, int kvh) const { return kv_matrix(k, b, kvh); }
  MatRM v_matrix(int b, int kvh) const { return kv_matrix(v, b, kvh); }
};

inline double normal(PhiloxStream& rng) {
  const double u1 = 1.0 - rng.next_double();
  const double u2 = rng.next_double();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// i.i.d. N(0, 1) q, K, V (fresh per seed); lengths given, or random in [max_len / 2, max_len].
inline HostInputs random_inputs(const Shape& s, uint64_t seed, std::vector<int32_t> lens = {}) {
  HostInputs in;
  in.shape = s;
  PhiloxStream rng(RngSite{seed, 0, 0, 0, 0});
  auto fill = [&](std::vector<uint16_t>& x, size_t count) {
    x.resize(count);
    for (auto& e : x) e = float_to_half_bits(static_cast<float>(normal(rng)), s.dtype);
  };
  fill(in.q, static_cast<size_t>(s.batch) * s.heads * s.dim);
  fill(in.k, static_cast<size_t>(s.batch) * s.max_len * s.kv_heads * s.dim);
  fill(in.v, static_cast<size_t>(s.batch) * s.max_len * s.kv_heads * s.dim);
  if (lens.empty()) {
    for (int b = 0; b < s.batch; ++b) {
      const int64_t lo = std::max<int64_t>(1, s.max_len / 2);
      lens.push_back(static_cast<int32_t>(lo + static_cast<int64_t>(rng.next_double() * (s.max_len - lo + 1))));
    }
    lens[0] = static_cast<int32_t>(s.max_len);  // the longest sequence fills the cache
  }
  in.lens = lens;
  return in;
}

// The inputs on the device, as a contiguous cache or as pages in shuffled order; `out` poisoned (all bits
// set: NaN in bf16 and fp16) so an unwritten output cannot pass.
struct DeviceInputs {
  DeviceBuffer q, k, v, out, lens, pages;
  DecodeProblem problem;
};

inline DeviceInputs upload(const HostInputs& in, bool paged = false, int page_size = 16, uint64_t seed = 7) {
  const Shape& s = in.shape;
  DeviceInputs d;
  d.q = to_device(in.q);
  d.lens = to_device(in.lens);
  d.out = DeviceBuffer(in.q.size() * sizeof(uint16_t));
  d.out.fill_bytes(0xFF);
  DecodeProblem& p = d.problem;
  p.batch = s.batch;
  p.num_heads = s.heads;
  p.num_kv_heads = s.kv_heads;
  p.head_dim = s.dim;
  p.dtype = s.dtype;
  p.q = d.q.data();
  p.out = d.out.data();
  p.kv.seq_lens = d.lens.as<int32_t>();
  if (!paged) {
    d.k = to_device(in.k);
    d.v = to_device(in.v);
    p.kv.max_len = s.max_len;
  } else {
    const int per_seq = static_cast<int>((s.max_len + page_size - 1) / page_size);
    const int total = per_seq * s.batch;
    std::vector<int32_t> order(static_cast<size_t>(total));
    std::iota(order.begin(), order.end(), 0);
    PhiloxStream rng(RngSite{seed, 1, 0, 0, 0});
    for (int i = total - 1; i > 0; --i) std::swap(order[i], order[static_cast<int>(rng.next_double() * (i + 1))]);
    const size_t row = static_cast<size_t>(s.kv_heads) * s.dim;
    std::vector<uint16_t> kp(static_cast<size_t>(total) * page_size * row, 0), vp(kp.size(), 0);
    for (int b = 0; b < s.batch; ++b) {
      for (int j = 0; j < per_seq; ++j) {
        const int page = order[static_cast<size_t>(b) * per_seq + j];
        for (int r = 0; r < page_size; ++r) {
          const int64_t pos = static_cast<int64_t>(j) * page_size + r;
          if (pos >= s.max_len) break;
          const size_t src = in.kv_index(b, pos, 0, 0), dst = (static_cast<size_t>(page) * page_size + r) * row;
          std::copy_n(in.k.begin() + static_cast<std::ptrdiff_t>(src), row, kp.begin() + static_cast<std::ptrdiff_t>(dst));
          std::copy_n(in.v.begin() + static_cast<std::ptrdiff_t>(src), row, vp.begin() + static_cast<std::ptrdiff_t>(dst));
        }
      }
    }
    d.k = to_device(kp);
    d.v = to_device(vp);
    d.pages = to_device(order);
    p.kv.paged = true;
    p.kv.page_size = page_size;
    p.kv.max_pages_per_seq = per_seq;
    p.kv.page_table = d.pages.as<int32_t>();
  }
  p.kv.k = d.k.data();
  p.kv.v = d.v.data();
  return d;
}

inline WorkspaceLimits limits_for(const Shape& s, int min_tile = 32) {
  WorkspaceLimits l;
  l.max_batch = s.batch;
  l.num_heads = s.heads;
  l.num_kv_heads = s.kv_heads;
  l.head_dim = s.dim;
  l.max_len = s.max_len;
  l.min_tile = min_tile;
  return l;
}

inline std::vector<float> download_out(const DeviceInputs& d, const Shape& s) {
  const auto bits = d.out.download_vector<uint16_t>(static_cast<size_t>(s.batch) * s.heads * s.dim);
  std::vector<float> out(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) out[i] = half_bits_to_float(bits[i], s.dtype);
  return out;
}

// The Llama-3.1-8B attention shape (H = 32, H_kv = 8, d = 128, bf16) the kernels were tuned for.
inline Shape llama_shape(int batch, int64_t max_len) {
  Shape s;
  s.batch = batch;
  s.heads = 32;
  s.kv_heads = 8;
  s.dim = 128;
  s.max_len = max_len;
  return s;
}

// A Llama-like case on the GPU: the shape, its random inputs on the host and on the device (contiguous cache),
// and a workspace sized for it. Tests bind the parts by name: `auto& [s, in, d, ws] = c;`.
struct LlamaCase {
  Shape s;
  HostInputs in;
  DeviceInputs d;
  DecodeWorkspace ws;
  LlamaCase(int batch, int64_t max_len, uint64_t seed, std::vector<int32_t> lens)
      : s(llama_shape(batch, max_len)), in(random_inputs(s, seed, std::move(lens))), d(upload(in)), ws(limits_for(s)) {}
};

// The four sampling kernels under test, their CPU counterparts, and one launch of each (shared by the count,
// statistics and determinism tests).
enum class SamplingKind { flash_exact, flash_reference, prop_global, prop_largest_remainder };

inline const char* name(SamplingKind k) {
  switch (k) {
    case SamplingKind::flash_exact: return "flash_exact";
    case SamplingKind::flash_reference: return "flash_reference";
    case SamplingKind::prop_global: return "prop_global_systematic";
    case SamplingKind::prop_largest_remainder: return "prop_largest_remainder";
  }
  return "?";
}
inline bool is_flash(SamplingKind k) { return k == SamplingKind::flash_exact || k == SamplingKind::flash_reference; }

inline RowDraw cpu_draw(SamplingKind kind, const Vec& p, int64_t S, int tile, const RngSite& site) {
  switch (kind) {
    case SamplingKind::flash_exact: return sample_flash(p, S, tile, site, FlashBudgetRule::exact_total);
    case SamplingKind::flash_reference: return sample_flash(p, S, tile, site, FlashBudgetRule::reference);
    case SamplingKind::prop_global: return sample_global_systematic(p, S, tile, site);
    case SamplingKind::prop_largest_remainder: return sample_prop_reference(p, S, tile, site);
  }
  throw std::logic_error("unknown SamplingKind");
}

inline void run_sampling_kernel(SamplingKind kind, const DecodeProblem& problem, DecodeWorkspace& ws, int64_t S,
                                int tile, const SamplingRng& rng, const SamplingRecord& rec = {},
                                const LaunchOptions& lo = {}) {
  if (is_flash(kind)) {
    FlashParams fp;
    fp.samples = S;
    fp.tile = tile;
    fp.budget = kind == SamplingKind::flash_exact ? FlashBudget::exact_total : FlashBudget::reference;
    flash_decode(problem, fp, rng, ws, rec, lo);
  } else {
    PropParams pp;
    pp.samples = S;
    pp.tile = tile;
    pp.budget = kind == SamplingKind::prop_global ? PropBudget::global_systematic : PropBudget::largest_remainder;
    prop_decode(problem, pp, rng, ws, rec, lo);
  }
}

// One input set of a variant-against-default test: random inputs on a contiguous cache or on pages of `page` rows, and
// a workspace (with the two-pass prop's prefix buffer when score_prefix).
struct VariantCase {
  Shape s;
  HostInputs in;
  DeviceInputs d;
  DecodeWorkspace ws;
  static WorkspaceLimits limits(const Shape& s, bool score_prefix) {
    WorkspaceLimits l = limits_for(s);
    l.score_prefix = score_prefix;
    return l;
  }
  VariantCase(const Shape& shape, uint64_t seed, std::vector<int32_t> lens, int page = 0, bool score_prefix = false)
      : s(shape), in(random_inputs(s, seed, std::move(lens))), d(upload(in, page > 0, page > 0 ? page : 16)),
        ws(limits(s, score_prefix)) {}
};

struct RecordedRun {
  std::vector<uint16_t> out;
  std::vector<int32_t> samples, counts;
};

// One call recording samples_drawn and counts; the output and the counts are poisoned first (every key's count must
// be written, zeros included).
inline RecordedRun run_recorded(VariantCase& c, SamplingKind kind, int variant, int64_t S, int tile, int chunks,
                                uint64_t seed, uint32_t step) {
  const Shape& s = c.s;
  DeviceBuffer samples(sizeof(int32_t) * s.batch * s.heads);
  DeviceBuffer counts(sizeof(int32_t) * s.batch * s.heads * s.max_len);
  counts.fill_bytes(0xFF);
  c.d.out.fill_bytes(0xFF);
  SamplingRecord rec;
  rec.samples_drawn = samples.as<int32_t>();
  rec.counts = counts.as<int32_t>();
  LaunchOptions lo;
  lo.variant = variant;
  lo.num_chunks = chunks;
  run_sampling_kernel(kind, c.d.problem, c.ws, S, tile, SamplingRng{seed, step, nullptr}, rec, lo);
  RecordedRun r;
  r.out = c.d.out.download_vector<uint16_t>(static_cast<size_t>(s.batch) * s.heads * s.dim);
  r.samples = samples.download_vector<int32_t>(static_cast<size_t>(s.batch) * s.heads);
  r.counts = counts.download_vector<int32_t>(static_cast<size_t>(s.batch) * s.heads * s.max_len);
  return r;
}

// The default kernel (variant 0, its own split) and `variant` (at `chunks`) on the same inputs, seed and step: the
// variant must draw the same counts and record the same samples. False, with a failure naming the case, when a call
// throws (base and r are then not to be used).
inline bool same_draws_as_default(VariantCase& c, SamplingKind kind, int variant, int64_t S, int tile, int chunks,
                                  uint64_t seed, RecordedRun& base, RecordedRun& r, const std::string& what) {
  try {
    base = run_recorded(c, kind, 0, S, tile, 0, seed, 3);
    r = run_recorded(c, kind, variant, S, tile, chunks, seed, 3);
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": " << e.what();
    return false;
  }
  EXPECT_EQ(r.counts, base.counts) << what;
  EXPECT_EQ(r.samples, base.samples) << what;
  return true;
}

// Every output element (b, h, j) of a case through `check`, which returns "" when it passes and otherwise what is
// wrong; the first five become failures, and no element may fail.
template <class F>
void expect_every_output(const Shape& s, const std::string& what, F&& check) {
  int bad = 0;
  for (int b = 0; b < s.batch; ++b) {
    for (int h = 0; h < s.heads; ++h) {
      for (int j = 0; j < s.dim; ++j) {
        const std::string wrong = check(b, h, j);
        if (!wrong.empty() && bad++ < 5) ADD_FAILURE() << what << ": b " << b << " h " << h << " j " << j << " " << wrong;
      }
    }
  }
  EXPECT_EQ(bad, 0) << what;
}

// The shapes besides the Llama group that the tile-kernel variants are tested on (3 sequences of up to 5000 keys,
// d = 128): which = 0: G = 1; 1: G = 8; 2: fp16; anything else: the default G = 4, bf16.
inline Shape variant_test_shape(int which) {
  Shape s;
  s.batch = 3;
  s.max_len = 5000;
  if (which == 0) s.heads = 4, s.kv_heads = 4;
  if (which == 1) s.heads = 16, s.kv_heads = 2;
  if (which == 2) s.dtype = DType::fp16;
  return s;
}

// The sanitizers run a subset of the longer tests' cases (scripts/gpu_run.sh sets SANTA_SANITIZER_SUBSET).
inline bool sanitizer_subset() { return std::getenv("SANTA_SANITIZER_SUBSET") != nullptr; }

// The variant tests' long inputs: the Llama group (H = 8, H_kv = 2, d = 128, bf16), sequences of 40000 and 17777 keys
// (ends inside tiles), on a contiguous cache and on pages of 16 (the tile copies' page fast path) and 4 (their
// per-copy path); in the sanitizers' subset contiguous and 4 only. each(case, page) once per layout.
template <class F>
void for_each_long_case(bool score_prefix, F&& each) {
  Shape s;
  s.batch = 2;
  s.max_len = 40000;
  for (int page : sanitizer_subset() ? std::vector<int>{0, 4} : std::vector<int>{0, 16, 4}) {
    VariantCase c(s, 31, {40000, 17777}, page, score_prefix);
    each(c, page);
  }
}

// A benchmark variant's call that must be rejected before launch: std::invalid_argument naming the variant (e.g.
// "variant 61") and `needle` (what it needs).
template <class F>
void expect_variant_rejects(F&& call, const std::string& variant, const std::string& needle) {
  try {
    call();
    ADD_FAILURE() << "accepted; expected an error naming " << needle;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(variant), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// A tile-kernel variant (d = 128 only, no distinct_rows record) rejects a distinct_rows record and head_dim = 64
// before launch, naming itself ("variant N").
inline void expect_rejects_rows_record_and_d64(SamplingKind kind, int variant, bool score_prefix) {
  LaunchOptions lo;
  lo.variant = variant;
  const std::string name = "variant " + std::to_string(variant);
  Shape s;
  s.max_len = 2000;
  VariantCase c(s, 9, {2000}, 0, score_prefix);
  DeviceBuffer rows(sizeof(int32_t) * s.kv_heads);
  SamplingRecord rec;
  rec.distinct_rows = rows.as<int32_t>();
  expect_variant_rejects([&] { run_sampling_kernel(kind, c.d.problem, c.ws, 64, 256, {}, rec, lo); }, name,
                         "distinct_rows");
  Shape s64 = s;
  s64.dim = 64;
  VariantCase c64(s64, 9, {2000}, 0, score_prefix);
  expect_variant_rejects([&] { run_sampling_kernel(kind, c64.d.problem, c64.ws, 64, 256, {}, {}, lo); }, name,
                         "head_dim = 128");
}

}  // namespace santa::gpu::testing
