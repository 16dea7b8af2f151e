// FlashInfer baseline (kernels/flashinfer): every path against a CPU fp64 reference on random inputs.
// Compiled for real only in santa_tests_flashinfer (SANTA_HAVE_FLASHINFER comes from santa_flashinfer);
// the kernels test glob also sees this file and then compiles it empty.
#ifdef SANTA_HAVE_FLASHINFER

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/flashinfer/flashinfer_decode.hpp"

namespace santa::gpu {
namespace {

bool have_gpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

#define SKIP_WITHOUT_GPU() \
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device"

void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

// Device bytes, freed on scope exit.
class DeviceBytes {
 public:
  explicit DeviceBytes(std::size_t n) : n_(n) { cuda_ok(cudaMalloc(&p_, n), "cudaMalloc"); }
  ~DeviceBytes() { cudaFree(p_); }
  DeviceBytes(const DeviceBytes&) = delete;
  DeviceBytes& operator=(const DeviceBytes&) = delete;
  template <typename T>
  T* as() const {
    return static_cast<T*>(p_);
  }
  template <typename T>
  void upload(const std::vector<T>& h) {
    cuda_ok(cudaMemcpy(p_, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice), "upload");
  }
  template <typename T>
  std::vector<T> download(std::size_t count) const {
    std::vector<T> h(count);
    cuda_ok(cudaMemcpy(h.data(), p_, count * sizeof(T), cudaMemcpyDeviceToHost), "download");
    return h;
  }

 private:
  void* p_ = nullptr;
  std::size_t n_ = 0;
};

// 16-bit storage of bf16/fp16 values and their exact value as double (the reference sees what the GPU sees).
uint16_t to_bits(double x, DType t) {
  if (t == DType::bf16) return static_cast<__nv_bfloat16_raw>(__float2bfloat16_rn(static_cast<float>(x))).x;
  return static_cast<__half_raw>(__float2half_rn(static_cast<float>(x))).x;
}
double from_bits(uint16_t bits, DType t) {
  if (t == DType::bf16) {
    __nv_bfloat16_raw raw;
    raw.x = bits;
    return __bfloat162float(__nv_bfloat16(raw));
  }
  __half_raw raw;
  raw.x = bits;
  return __half2float(__half(raw));
}

// Unit roundoff of the storage type (precision p = 8 bits for bf16, 11 for fp16: u = 2^-p).
double unit_roundoff(DType t) { return t == DType::bf16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11); }

struct Shape {
  int num_heads = 32;
  int num_kv_heads = 8;
  int head_dim = 128;
  DType dtype = DType::bf16;
  std::vector<int32_t> lens;
  int64_t max_len = 0;   // contiguous: positions allocated per sequence
  int page_size = 0;     // > 0: paged cache with this page size (pages shuffled at random)
  float scale = 0.0f;
};

// Random N(0,1) q, K, V (rounded to the dtype) in device memory laid out as the DecodeProblem says, plus
// the fp64 reference output. The output buffer is poisoned with NaNs and followed by a guard region.
class DecodeCase {
 public:
  static constexpr std::size_t kGuardBytes = 4096;
  static constexpr unsigned char kGuardByte = 0xA5;

  DecodeCase(const Shape& s, uint64_t seed)
      : s_(s),
        batch_(static_cast<int>(s.lens.size())),
        row_(static_cast<std::size_t>(s.num_kv_heads) * s.head_dim),
        q_bytes_(static_cast<std::size_t>(batch_) * s.num_heads * s.head_dim * 2),
        q_(q_bytes_),
        out_(q_bytes_ + kGuardBytes),
        lens_(s.lens.size() * sizeof(int32_t)) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    auto draw = [&](std::size_t n, std::vector<uint16_t>& bits, std::vector<double>& vals) {
      bits.resize(n);
      vals.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        bits[i] = to_bits(normal(rng), s.dtype);
        vals[i] = from_bits(bits[i], s.dtype);
      }
    };
    std::vector<uint16_t> q_bits;
    draw(q_bytes_ / 2, q_bits, q_vals_);
    q_.upload(q_bits);
    lens_.upload(s.lens);

    // Logical K/V: [b][token][kv_head][d] for token < max positions; stored contiguous or paged.
    const int64_t positions = s.page_size > 0 ? pages_per_seq() * s.page_size : s.max_len;
    std::vector<uint16_t> k_bits;
    std::vector<uint16_t> v_bits;
    draw(static_cast<std::size_t>(batch_ * positions) * row_, k_bits, k_vals_);
    draw(static_cast<std::size_t>(batch_ * positions) * row_, v_bits, v_vals_);
    positions_ = positions;

    problem_.batch = batch_;
    problem_.num_heads = s.num_heads;
    problem_.num_kv_heads = s.num_kv_heads;
    problem_.head_dim = s.head_dim;
    problem_.dtype = s.dtype;
    problem_.scale = s.scale;
    problem_.q = q_.as<void>();
    problem_.out = out_.as<void>();
    problem_.kv.seq_lens = lens_.as<int32_t>();
    if (s.page_size > 0) {
      // Page j of sequence b is physical page perm[b * pages_per_seq + j]: a shuffled pool.
      const int64_t pages = batch_ * pages_per_seq();
      std::vector<int32_t> perm(static_cast<std::size_t>(pages));
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      const std::size_t page_elems = static_cast<std::size_t>(s.page_size) * row_;
      std::vector<uint16_t> k_pool(k_bits.size());
      std::vector<uint16_t> v_pool(v_bits.size());
      for (int64_t lp = 0; lp < pages; ++lp) {
        std::copy_n(k_bits.begin() + lp * page_elems, page_elems, k_pool.begin() + perm[lp] * page_elems);
        std::copy_n(v_bits.begin() + lp * page_elems, page_elems, v_pool.begin() + perm[lp] * page_elems);
      }
      k_bits.swap(k_pool);
      v_bits.swap(v_pool);
      table_ = std::make_unique<DeviceBytes>(perm.size() * sizeof(int32_t));
      table_->upload(perm);
      problem_.kv.paged = true;
      problem_.kv.page_size = s.page_size;
      problem_.kv.max_pages_per_seq = static_cast<int>(pages_per_seq());
      problem_.kv.page_table = table_->as<int32_t>();
    } else {
      problem_.kv.max_len = s.max_len;
    }
    k_ = std::make_unique<DeviceBytes>(k_bits.size() * 2);
    v_ = std::make_unique<DeviceBytes>(v_bits.size() * 2);
    k_->upload(k_bits);
    v_->upload(v_bits);
    problem_.kv.k = k_->as<void>();
    problem_.kv.v = v_->as<void>();
    poison();
  }

  const DecodeProblem& problem() const { return problem_; }

  void poison() {
    cuda_ok(cudaMemset(out_.as<void>(), 0xFF, q_bytes_), "poison");  // 0xFFFF is a NaN in bf16 and fp16
    cuda_ok(cudaMemset(out_.as<char>() + q_bytes_, kGuardByte, kGuardBytes), "guard");
  }

  std::vector<uint16_t> output_bits() const { return out_.download<uint16_t>(q_bytes_ / 2); }

  bool guard_intact() const {
    const auto bytes = out_.download<unsigned char>(q_bytes_ + kGuardBytes);
    return std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(q_bytes_), bytes.end(),
                       [](unsigned char c) { return c == kGuardByte; });
  }

  // Largest relative L2 error ||o - y|| / ||y|| over all (sequence, head) rows, y the fp64 reference.
  // Returns +inf if any output is not finite (e.g. a row the kernel never wrote keeps its NaN poison).
  double max_rel_error() const {
    const auto bits = output_bits();
    const int d = s_.head_dim;
    const int group = s_.num_heads / s_.num_kv_heads;
    const double scale = s_.scale > 0.0f ? s_.scale : 1.0 / std::sqrt(static_cast<double>(d));
    double worst = 0.0;
    for (int b = 0; b < batch_; ++b) {
      const int n = s_.lens[static_cast<std::size_t>(b)];
      for (int h = 0; h < s_.num_heads; ++h) {
        const int kvh = h / group;
        const double* q = &q_vals_[(static_cast<std::size_t>(b) * s_.num_heads + h) * d];
        std::vector<double> score(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
          const double* k = key(b, i, kvh);
          score[i] = scale * std::inner_product(q, q + d, k, 0.0);
        }
        const double m = *std::max_element(score.begin(), score.end());
        double z = 0.0;
        std::vector<double> y(static_cast<std::size_t>(d), 0.0);
        for (int i = 0; i < n; ++i) {
          const double w = std::exp(score[i] - m);
          z += w;
          const double* v = value(b, i, kvh);
          for (int c = 0; c < d; ++c) y[c] += w * v[c];
        }
        double err2 = 0.0;
        double ref2 = 0.0;
        for (int c = 0; c < d; ++c) {
          const double o = from_bits(bits[(static_cast<std::size_t>(b) * s_.num_heads + h) * d + c], s_.dtype);
          if (!std::isfinite(o)) return INFINITY;
          err2 += (o - y[c] / z) * (o - y[c] / z);
          ref2 += (y[c] / z) * (y[c] / z);
        }
        worst = std::max(worst, std::sqrt(err2 / ref2));
      }
    }
    return worst;
  }

 private:
  int64_t pages_per_seq() const {
    const int32_t longest = *std::max_element(s_.lens.begin(), s_.lens.end());
    return (longest + s_.page_size - 1) / s_.page_size + 1;  // one spare page: a table wider than used
  }
  const double* key(int b, int token, int kvh) const { return &k_vals_[index(b, token, kvh)]; }
  const double* value(int b, int token, int kvh) const { return &v_vals_[index(b, token, kvh)]; }
  std::size_t index(int b, int token, int kvh) const {
    return (static_cast<std::size_t>(b) * positions_ + token) * row_ + static_cast<std::size_t>(kvh) * s_.head_dim;
  }

  Shape s_;
  int batch_;
  std::size_t row_;
  std::size_t q_bytes_;
  int64_t positions_ = 0;
  DeviceBytes q_;
  DeviceBytes out_;
  DeviceBytes lens_;
  std::unique_ptr<DeviceBytes> k_;
  std::unique_ptr<DeviceBytes> v_;
  std::unique_ptr<DeviceBytes> table_;
  std::vector<double> q_vals_;
  std::vector<double> k_vals_;
  std::vector<double> v_vals_;
  DecodeProblem problem_;
};

// Tolerance on the per-row relative L2 error. The reference uses the same rounded inputs, so only the
// kernels' own roundings count: at most three roundings to the storage type lie in series (the softmax
// weights P before the tensor-core MMA, the split-KV partial outputs before the merge, the final output),
// each a relative error uniform in [-u, u] (standard deviation u/sqrt(3)), independent across elements
// and, for near-uniform attention on random V, adding in quadrature after the weighted merge: relative
// RMS <= sqrt(3) * u / sqrt(3) = u. fp32 accumulation and exp2 approximation add < 2^-16. Allowing
// 4 standard deviations for the worst of <= 100 rows (a normal tail of 3e-5 per row) gives 4u:
// 2^-6 = 0.0156 for bf16, 2^-9 for fp16. A wrong head mapping, scale or length gives errors of order 1.
double tolerance(DType t) { return 4.0 * unit_roundoff(t); }

// expect_split: whether the case is built to make FlashInfer split the KV sequence (so the merge runs);
// nullopt where that is FlashInfer's heuristic call rather than the point of the case.
void expect_matches_reference(FlashInferPath path, const Shape& shape, uint64_t seed,
                              std::optional<bool> expect_split) {
  DecodeCase c(shape, seed);
  FlashInferDecoder decoder({.path = path});
  decoder.plan(c.problem());
  decoder.run(c.problem());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  if (expect_split) {
    EXPECT_EQ(decoder.split_kv(), *expect_split) << "the case meant to exercise this code path did not";
  }
  const double err = c.max_rel_error();
  EXPECT_LE(err, tolerance(shape.dtype)) << to_string(path);
  EXPECT_TRUE(c.guard_intact()) << "the kernel wrote past the output";
  ::testing::Test::RecordProperty("max_rel_error_" + to_string(path), std::to_string(err));
  std::printf("[ flashinfer ] %-16s max rel L2 error %.3e (tolerance %.3e)\n", to_string(path).c_str(), err,
              tolerance(shape.dtype));
}

Shape llama_contiguous(std::vector<int32_t> lens, int64_t max_len) {
  Shape s;
  s.lens = std::move(lens);
  s.max_len = max_len;
  return s;
}

TEST(FlashInferDecode, CudaCoreBatchWithDifferentLengths) {
  SKIP_WITHOUT_GPU();
  // 3 sequences * 8 KV heads fill few SMs, so FlashInfer splits the long ones across blocks (and merges).
  expect_matches_reference(FlashInferPath::cuda_core, llama_contiguous({4105, 1, 777}, 4112), 11, true);
}

TEST(FlashInferDecode, TensorCoreBatchWithDifferentLengths) {
  SKIP_WITHOUT_GPU();
  expect_matches_reference(FlashInferPath::tensor_core, llama_contiguous({4105, 1, 777}, 4112), 12, true);
}

TEST(FlashInferDecode, CudaCoreSingleLongAndShort) {
  SKIP_WITHOUT_GPU();
  expect_matches_reference(FlashInferPath::cuda_core_single, llama_contiguous({5000}, 5003), 13, true);
  expect_matches_reference(FlashInferPath::cuda_core_single, llama_contiguous({200}, 256), 14, false);
}

TEST(FlashInferDecode, BenchmarkShapeBatch1At32k) {
  SKIP_WITHOUT_GPU();
  for (auto path : {FlashInferPath::cuda_core, FlashInferPath::tensor_core, FlashInferPath::cuda_core_single}) {
    expect_matches_reference(path, llama_contiguous({32768}, 32768), 15, true);
  }
}

TEST(FlashInferDecode, PagedCacheWithShuffledPages) {
  SKIP_WITHOUT_GPU();
  Shape s;
  s.lens = {300, 1000, 17};
  s.page_size = 16;
  expect_matches_reference(FlashInferPath::cuda_core, s, 21, true);
  expect_matches_reference(FlashInferPath::tensor_core, s, 22, true);
}

TEST(FlashInferDecode, Fp16AndExplicitScale) {
  SKIP_WITHOUT_GPU();
  Shape s = llama_contiguous({2048, 513}, 2048);
  s.dtype = DType::fp16;
  s.scale = 0.05f;
  expect_matches_reference(FlashInferPath::cuda_core, s, 31, true);
  expect_matches_reference(FlashInferPath::tensor_core, s, 32, true);
  expect_matches_reference(FlashInferPath::cuda_core_single, llama_contiguous({2048}, 2048), 33, true);
}

TEST(FlashInferDecode, OtherGroupSizes) {
  SKIP_WITHOUT_GPU();
  for (int kv_heads : {1, 8}) {  // G = 8 and G = 1 with 8 query heads
    Shape s = llama_contiguous({1500, 64}, 1504);
    s.num_heads = 8;
    s.num_kv_heads = kv_heads;
    expect_matches_reference(FlashInferPath::cuda_core, s, 40 + kv_heads, std::nullopt);
    expect_matches_reference(FlashInferPath::tensor_core, s, 50 + kv_heads, std::nullopt);
  }
}

TEST(FlashInferDecode, RepeatedRunsAreBitwiseIdenticalAndReplanFollowsNewLengths) {
  SKIP_WITHOUT_GPU();
  for (auto path : {FlashInferPath::cuda_core, FlashInferPath::tensor_core}) {
    DecodeCase c(llama_contiguous({3000, 100}, 3008), 61);
    FlashInferDecoder decoder({.path = path});
    decoder.plan(c.problem());
    decoder.run(c.problem());
    const auto first = c.output_bits();
    c.poison();
    decoder.run(c.problem());
    EXPECT_EQ(c.output_bits(), first) << to_string(path);

    // Shorter lengths on the device, then a new plan: the output must follow them.
    DecodeCase shorter(llama_contiguous({100, 3000}, 3008), 62);
    decoder.plan(shorter.problem());
    decoder.run(shorter.problem());
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_LE(shorter.max_rel_error(), tolerance(DType::bf16)) << to_string(path);
  }
}

TEST(FlashInferDecode, RunRefusesUnplannedOrDifferentShape) {
  // Needs no GPU: both checks happen before any CUDA call.
  DecodeProblem p;
  FlashInferDecoder decoder({});
  EXPECT_THROW(decoder.run(p), std::logic_error);
}

TEST(FlashInferDecode, PlanRejectsLengthsOutsideTheCache) {
  SKIP_WITHOUT_GPU();
  DecodeCase c(llama_contiguous({64}, 64), 71);
  DecodeProblem p = c.problem();
  p.kv.max_len = 48;  // the device says 64 tokens
  FlashInferDecoder decoder({});
  EXPECT_THROW(decoder.plan(p), std::invalid_argument);
}

// A problem that would pass, with dummy non-null pointers (never dereferenced: validation only).
DecodeProblem valid_problem() {
  static int dummy = 0;
  DecodeProblem p;
  p.batch = 2;
  p.num_heads = 32;
  p.num_kv_heads = 8;
  p.head_dim = 128;
  p.q = &dummy;
  p.out = &dummy;
  p.kv.k = &dummy;
  p.kv.v = &dummy;
  p.kv.seq_lens = reinterpret_cast<const int32_t*>(&dummy);
  p.kv.max_len = 4096;
  return p;
}

void expect_rejected(const DecodeProblem& p, FlashInferPath path, const std::string& needle) {
  try {
    check_flashinfer_supported(p, {.path = path});
    ADD_FAILURE() << "accepted a problem that should fail with '" << needle << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(FlashInferDecode, ValidationNamesTheProblem) {
  EXPECT_NO_THROW(check_flashinfer_supported(valid_problem(), {}));
  DecodeProblem p = valid_problem();
  p.head_dim = 64;
  expect_rejected(p, FlashInferPath::cuda_core, "head_dim 64");
  p = valid_problem();
  p.num_heads = 30;
  expect_rejected(p, FlashInferPath::tensor_core, "multiple of num_kv_heads");
  p = valid_problem();
  p.num_heads = 40;  // G = 5
  expect_rejected(p, FlashInferPath::cuda_core, "group size 5");
  EXPECT_NO_THROW(check_flashinfer_supported(p, {.path = FlashInferPath::tensor_core}));
  p = valid_problem();
  expect_rejected(p, FlashInferPath::cuda_core_single, "one request");
  p = valid_problem();
  p.kv.max_len = 4100;
  expect_rejected(p, FlashInferPath::cuda_core, "multiple of contiguous_page_size");
  p = valid_problem();
  p.out = nullptr;
  expect_rejected(p, FlashInferPath::cuda_core, "q and out");
  p = valid_problem();
  p.kv.paged = true;
  expect_rejected(p, FlashInferPath::tensor_core, "page_table");
  p = valid_problem();
  p.scale = -1.0f;
  expect_rejected(p, FlashInferPath::cuda_core, "scale");
  EXPECT_THROW(flashinfer_path_from_string("tensor"), std::invalid_argument);
  EXPECT_EQ(flashinfer_path_from_string("tensor_core"), FlashInferPath::tensor_core);
}

}  // namespace
}  // namespace santa::gpu

#endif  // SANTA_HAVE_FLASHINFER
