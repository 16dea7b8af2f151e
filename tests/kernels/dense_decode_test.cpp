// Dense split-KV decode against the CPU fp64 reference on fresh random inputs, every supported shape,
// contiguous and paged, with poisoned outputs; determinism; reuse of one workspace.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "estimators/exact.hpp"
#include "kernel_test_support.hpp"

namespace santa::gpu::testing {
namespace {

// ||out - ref|| / ||ref|| per sequence. bf16 inputs are exact in fp64; the error comes from P rounded to
// the 16-bit type for the tensor-core P.V product (2^-9 relative for bf16, 2^-12 for fp16, averaging out over
// keys) and the 16-bit output (2^-9 / 2^-12 relative per element): bf16 lands near 3e-3, fp16 near 5e-4.
double tolerance(DType t) { return t == DType::bf16 ? 1e-2 : 2.5e-3; }

void expect_matches_reference(const HostInputs& in, const std::vector<float>& out) {
  const Shape& s = in.shape;
  for (int b = 0; b < s.batch; ++b) {
    std::vector<MatRM> k, v;
    for (int kvh = 0; kvh < s.kv_heads; ++kvh) {
      k.push_back(in.k_matrix(b, kvh));
      v.push_back(in.v_matrix(b, kvh));
    }
    const MatRM ref = exact_decode(in.q_matrix(b), k, v, 1.0 / std::sqrt(static_cast<double>(s.dim)));
    double err = 0.0, norm = 0.0;
    for (int h = 0; h < s.heads; ++h) {
      for (int j = 0; j < s.dim; ++j) {
        const float o = out[(static_cast<size_t>(b) * s.heads + h) * s.dim + j];
        ASSERT_TRUE(std::isfinite(o)) << "output (b=" << b << ", h=" << h << ", j=" << j << ") not written or not finite";
        err += (o - ref(h, j)) * (o - ref(h, j));
        norm += ref(h, j) * ref(h, j);
      }
    }
    EXPECT_LT(std::sqrt(err / norm), tolerance(s.dtype))
        << "b=" << b << " len=" << in.lens[b] << " H=" << s.heads << " H_kv=" << s.kv_heads << " d=" << s.dim
        << " dtype=" << to_string(s.dtype);
  }
}

// One call against the fp64 reference, then a second call that must give the same bits.
void expect_reference_then_same_bits(const HostInputs& in, DeviceInputs& d, DecodeWorkspace& ws, const LaunchOptions& lo) {
  d.out.fill_bytes(0xFF);
  dense_decode(d.problem, ws, lo);
  const std::vector<float> out = download_out(d, in.shape);
  expect_matches_reference(in, out);
  d.out.fill_bytes(0xFF);
  dense_decode(d.problem, ws, lo);
  EXPECT_EQ(download_out(d, in.shape), out) << "second run differs bitwise";
}

// The output bits of one call, the output poisoned first so a kernel that skips a row cannot pass.
std::vector<uint16_t> dense_bits(DeviceInputs& d, DecodeWorkspace& ws, const LaunchOptions& lo, std::size_t n) {
  d.out.fill_bytes(0xFF);
  dense_decode(d.problem, ws, lo);
  return d.out.download_vector<uint16_t>(n);
}

struct Case {
  int dim, group;
  DType dtype;
  bool paged;
};

class DenseShapes : public ::testing::TestWithParam<Case> {};

TEST_P(DenseShapes, MatchesFp64Reference) {
  SANTA_REQUIRE_GPU();
  const Case c = GetParam();
  Shape s;
  s.batch = 3;
  s.kv_heads = 2;
  s.heads = 2 * c.group;
  s.dim = c.dim;
  s.max_len = 1536;  // several chunks, a partial last chunk for the shorter sequences
  s.dtype = c.dtype;
  const HostInputs in = random_inputs(s, 1000 + c.dim + 10 * c.group + (c.paged ? 1 : 0), {1536, 777, 1});
  DeviceInputs d = upload(in, c.paged);
  DecodeWorkspace ws(limits_for(s));
  dense_decode(d.problem, ws);
  expect_matches_reference(in, download_out(d, s));
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (int dim : kSupportedHeadDims)
    for (int group : kSupportedGroupSizes)
      for (DType t : {DType::bf16, DType::fp16})
        for (bool paged : {false, true}) cases.push_back({dim, group, t, paged});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllSupported, DenseShapes, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return "d" + std::to_string(i.param.dim) + "_G" + std::to_string(i.param.group) + "_" +
                                  to_string(i.param.dtype) + (i.param.paged ? "_paged" : "_contiguous");
                         });

TEST(DenseDecode, LlamaShapeLongContextAndChunkCounts) {
  SANTA_REQUIRE_GPU();
  LlamaCase c(2, 8192, 42, {8192, 5000});
  auto& [s, in, d, ws] = c;
  for (int chunks : {0, 1, 7, 64}) {
    d.out.fill_bytes(0xFF);
    LaunchOptions lo;
    lo.num_chunks = chunks;
    dense_decode(d.problem, ws, lo);
    SCOPED_TRACE("num_chunks = " + std::to_string(chunks));
    expect_matches_reference(in, download_out(d, s));
  }
}

TEST(DenseDecode, PagedEqualsContiguousBitwiseAndRunsAreDeterministic) {
  SANTA_REQUIRE_GPU();
  Shape s;
  s.batch = 2;
  s.heads = 16;
  s.kv_heads = 4;
  s.max_len = 2048;
  const HostInputs in = random_inputs(s, 5);
  DeviceInputs a = upload(in, false), p = upload(in, true, 32);
  DecodeWorkspace ws(limits_for(s));
  dense_decode(a.problem, ws);
  const auto first = a.out.download_vector<uint16_t>(in.q.size());
  for (int rep = 0; rep < 3; ++rep) {
    a.out.fill_bytes(0xFF);
    dense_decode(a.problem, ws);
    EXPECT_EQ(a.out.download_vector<uint16_t>(in.q.size()), first) << "run " << rep << " differs bitwise";
  }
  dense_decode(p.problem, ws);
  EXPECT_EQ(p.out.download_vector<uint16_t>(in.q.size()), first) << "paged cache differs from contiguous";
}

// Variant 4 (KV heads first in the CTA order) changes only which CTA starts when, variant 42 only the loads' L2
// prefetch-size hint (on), variant 44 only adds a block barrier per 128 keys, variant 45 only loads a warp's next
// step before computing the current one (same steps, same order of arithmetic): the default's bits,
// contiguous and paged, several splits, sequences that end inside a step.
TEST(DenseDecode, LaunchVariantsBitwiseEqualToDefault) {
  SANTA_REQUIRE_GPU();
  const Shape s = llama_shape(3, 12288);
  const HostInputs in = random_inputs(s, 23, {12288, 7001, 3000});
  DeviceInputs a = upload(in, false), pg = upload(in, true, 16);
  DecodeWorkspace ws(limits_for(s));
  // Under compute-sanitizer SANTA_SANITIZER_SUBSET=1 keeps the automatic split (variant 45 then also runs the
  // default at its own split): 12 launches.
  const bool subset = std::getenv("SANTA_SANITIZER_SUBSET") != nullptr;
  const std::vector<int> splits = subset ? std::vector<int>{0} : std::vector<int>{0, 1, 3, 7};
  for (DeviceInputs* x : {&a, &pg}) {
    for (int chunks : splits) {
      LaunchOptions lo;
      lo.num_chunks = chunks;
      const auto base = dense_bits(*x, ws, lo, in.q.size());
      for (int variant : {4, 42, 44, 45}) {
        lo.variant = variant;
        // Variant 45 chooses its own automatic split (one CTA per SM): held against the default at that split.
        std::vector<uint16_t> want = base;
        if (variant == 45 && chunks == 0) {
          LaunchOptions same;
          same.num_chunks = split_info(KernelFamily::dense, x->problem, 0, ws, lo).num_chunks;
          want = dense_bits(*x, ws, same, in.q.size());
        }
        EXPECT_EQ(dense_bits(*x, ws, lo, in.q.size()), want)
            << "variant " << variant << " chunks " << chunks << (x == &pg ? " paged" : " contiguous");
      }
    }
  }
}

// Variant 7 (whole cache rows per CTA, a warp per KV head) sums each chunk in a different order than the
// default kernel, so it is held against the fp64 reference (the same bf16 tolerance) and against itself
// (bitwise run to run); shapes it does not support are rejected before launch.
TEST(DenseDecode, WholeRowVariantMatchesReferenceAndRejectsOtherShapes) {
  SANTA_REQUIRE_GPU();
  if (device_info().cc_major < 9) GTEST_SKIP() << "variant 7 needs sm_90 (the bulk copy engine)";
  const Shape s = llama_shape(3, 12288);
  const HostInputs in = random_inputs(s, 29, {12288, 7001, 3000});
  DeviceInputs d = upload(in, false), pg = upload(in, true, 16);
  DecodeWorkspace ws(limits_for(s));
  LaunchOptions lo;
  lo.variant = 7;
  for (int chunks : {0, 1, 3, 7, 40}) {
    lo.num_chunks = chunks;
    SCOPED_TRACE("num_chunks = " + std::to_string(chunks));
    expect_reference_then_same_bits(in, d, ws, lo);
  }
  try {
    dense_decode(pg.problem, ws, lo);
    ADD_FAILURE() << "paged cache accepted by variant 7";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("contiguous"), std::string::npos) << e.what();
  }
}

// Variant 29 (the whole-row kernel over equal shares of the batch's steps): ranges that cross sequence ends
// (a CTA finishing up to 3 sequences, 3000 keys ending inside a step, a sequence of 1 key), batch 1 cut into
// max_chunks pieces; against the fp64 reference and bitwise run to run.
TEST(DenseDecode, BalancedWholeRowVariantMatchesReference) {
  SANTA_REQUIRE_GPU();
  if (device_info().cc_major < 9) GTEST_SKIP() << "variant 29 needs sm_90 (the bulk copy engine)";
  struct Batch {
    int batch;
    int64_t max_len;
    std::vector<int32_t> lens;  // empty: all max_len
  };
  std::vector<int32_t> short_lens;
  for (int b = 0; b < 300; ++b) short_lens.push_back(1 + (37 * b) % 40);
  for (const Batch& x : {Batch{3, 12288, {12288, 7001, 3000}}, Batch{1, 20000, {}}, Batch{40, 256, {}},
                         Batch{300, 40, short_lens}}) {
    SCOPED_TRACE("batch " + std::to_string(x.batch) + ", max_len " + std::to_string(x.max_len));
    const Shape s = llama_shape(x.batch, x.max_len);
    const HostInputs in = random_inputs(s, 31 + x.batch, x.lens);
    DeviceInputs d = upload(in, false);
    DecodeWorkspace ws(limits_for(s));
    LaunchOptions lo;
    lo.variant = 29;
    expect_reference_then_same_bits(in, d, ws, lo);
  }
}

// Variants 33-41, 49-51, 55 (the per-KV-head kernel streaming through cp.async into per-warp rings; the others change
// only when copies are issued, their L2 hints, how rows lie in shared memory and whether warps wait for each other)
// and 52-54 (cuDNN's CTA-wide tiles, 128 threads, each warp holding two of the default's warps' states; 2 / 3 stages,
// alternating K and V buffers; 56 the other copy order; 57 the ring off its alignment) run the default kernel's steps and products in the same order, and their merges sum
// in the same order, so at the same split they give the default's bits: contiguous and paged,
// group sizes 1 / 4 / 8, bf16 and fp16, sequences ending inside a step and shorter than one step, 1 to 7 chunks.
// At its own split it meets the fp64 reference, bitwise run to run; other head dims are rejected before launch.
TEST(DenseDecode, AsyncVariantBitwiseEqualToDefault) {
  SANTA_REQUIRE_GPU();
  if (device_info().cc_major < 8) GTEST_SKIP() << "variant 33 needs sm_80 (cp.async)";
  // Under compute-sanitizer (~4 s per launch) SANTA_SANITIZER_SUBSET=1 keeps G = 4, bf16, 3 chunks and variants
  // 33 (per-warp rings), 36 (lock step, late V), 52 (CTA-wide ring) and 54 (alternating buffers): every
  // synchronisation pattern of the two kernels, 14 launches.
  const bool subset = std::getenv("SANTA_SANITIZER_SUBSET") != nullptr;
  const std::vector<int> groups = subset ? std::vector<int>{4} : std::vector<int>{1, 4, 8};
  const std::vector<DType> types = subset ? std::vector<DType>{DType::bf16} : std::vector<DType>{DType::bf16, DType::fp16};
  const std::vector<int> splits = subset ? std::vector<int>{3} : std::vector<int>{1, 3, 7};
  const std::vector<int> variants = subset ? std::vector<int>{33, 36, 52, 54}
                                             : std::vector<int>{33, 34, 35, 36, 37, 38, 39, 40, 41, 49, 50, 51, 52, 53, 54, 55, 56, 57};
  for (int group : groups) {
    for (DType t : types) {
      Shape s;
      s.batch = 3;
      s.kv_heads = 2;
      s.heads = 2 * group;
      s.dim = 128;
      s.max_len = 4864;  // a multiple of the page size
      s.dtype = t;
      SCOPED_TRACE("G = " + std::to_string(group) + ", " + to_string(t));
      const HostInputs in = random_inputs(s, 61 + group + (t == DType::fp16 ? 10 : 0), {4864, 3001, 9});
      // Pages of 16 and 64 rows: the tile kernel's per-warp page lookup (both), 16-row groups in the same page (64).
      DeviceInputs a = upload(in, false), pg = upload(in, true, 16), pg64 = upload(in, true, 64);
      DecodeWorkspace ws(limits_for(s));
      for (DeviceInputs* x : {&a, &pg, &pg64}) {
        for (int chunks : splits) {
          LaunchOptions lo;
          lo.num_chunks = chunks;
          const auto base = dense_bits(*x, ws, lo, in.q.size());
          for (int variant : variants) {
            for (int pf : {-1, 1}) {  // two steps ahead (default) and one (the cp.async ring's option)
              if (pf == 1 && variant >= 52 && variant != 55) continue;
              lo.variant = variant;
              lo.prefetch_steps = pf;
              EXPECT_EQ(dense_bits(*x, ws, lo, in.q.size()), base)
                  << "variant " << variant << " chunks " << chunks << " prefetch_steps " << pf
                  << (x == &a ? " contiguous" : x == &pg ? " pages of 16" : " pages of 64");
            }
          }
        }
      }
      for (int variant : {33, 52}) {  // at their own split (one CTA per SM)
        LaunchOptions lo;
        lo.variant = variant;
        expect_reference_then_same_bits(in, a, ws, lo);
      }
    }
  }
  Shape s;
  s.dim = 64;
  const HostInputs in = random_inputs(s, 3);
  DeviceInputs d = upload(in, false);
  DecodeWorkspace ws(limits_for(s));
  LaunchOptions lo;
  for (int variant : {33, 42, 44, 45, 52}) {  // the d = 128 variants
    lo.variant = variant;
    try {
      dense_decode(d.problem, ws, lo);
      ADD_FAILURE() << "head_dim 64 accepted by variant " << variant;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("head_dim = 128"), std::string::npos) << e.what();
    }
  }
}

// What the default dense call runs (detail::dense_kernel_for): the CTA-wide-tile kernel (bitwise variant 52's output,
// its split and shared memory) where its one-CTA-per-SM split gives chunks of >= 4096 keys of a contiguous cache
// (B = 16, 8192 keys: one chunk of 8192), the per-KV-head register-load kernel (variant 8) for shorter chunks (B = 16,
// 2048 keys) and for paged caches; never the whole-row kernel (variant 7). Inputs are drawn on the device; every
// kernel meets the fp64 reference elsewhere.
TEST(DenseDecode, DefaultPicksTheTileKernelForLongChunks) {
  SANTA_REQUIRE_GPU();
  if (device_info().cc_major < 9) GTEST_SKIP() << "variant 7 needs sm_90 (the bulk copy engine)";
  const Shape s = llama_shape(16, 8192);
  DeviceBuffer q(sizeof(uint16_t) * s.batch * s.heads * s.dim), out(q.size());
  DeviceBuffer k(sizeof(uint16_t) * s.batch * s.max_len * s.kv_heads * s.dim), v(k.size());
  fill_normal(q.data(), static_cast<int64_t>(q.size() / 2), DType::bf16, 1);
  fill_normal(k.data(), static_cast<int64_t>(k.size() / 2), DType::bf16, 2);
  fill_normal(v.data(), static_cast<int64_t>(v.size() / 2), DType::bf16, 3);
  DecodeWorkspace ws(limits_for(s));
  for (int32_t len : {8192, 2048}) {
    SCOPED_TRACE("sequence length " + std::to_string(len));
    const DeviceBuffer lens = to_device(std::vector<int32_t>(s.batch, len));
    DecodeProblem p;
    p.batch = s.batch;
    p.num_heads = s.heads;
    p.num_kv_heads = s.kv_heads;
    p.head_dim = s.dim;
    p.dtype = DType::bf16;
    p.q = q.data();
    p.out = out.data();
    p.kv.k = k.data();
    p.kv.v = v.data();
    p.kv.seq_lens = lens.as<int32_t>();
    p.kv.max_len = len;  // a cache of len rows per sequence (the front of the buffers)
    auto run = [&](int variant) {
      LaunchOptions lo;
      lo.variant = variant;
      out.fill_bytes(0xFF);
      dense_decode(p, ws, lo);
      return out.download_vector<uint16_t>(out.size() / 2);
    };
    auto smem = [&](int variant) {
      LaunchOptions lo;
      lo.variant = variant;
      return split_info(KernelFamily::dense, p, 0, ws, lo).shared_bytes;
    };
    const int expected = len == 8192 ? 52 : 8;
    const auto by_default = run(0);
    EXPECT_EQ(by_default, run(expected)) << "expected variant " << expected;
    EXPECT_EQ(smem(0), smem(expected));
    EXPECT_NE(by_default, run(7)) << "the kernels sum in different orders; equal bits mean the same kernel ran";
  }
}

}  // namespace
}  // namespace santa::gpu::testing
