// The sampling kernels draw exactly the counts of the CPU reference (estimators/tiles.hpp) for the same
// seed and step, on inputs where floating-point rounding cannot change a count: every head attends
// uniformly to a support of 2^k keys (scores exactly 0 there, and so negative elsewhere that exp underflows
// to exactly 0 in fp32 and fp64), so every probability, tile mass and prefix is a dyadic rational that
// fp32 and fp64 represent exactly, and a count could only differ if a uniform offset fell within ~1e-15 of
// a boundary. Also checked: the real sample totals and distinct-row counts the kernels record, and the
// output against the CPU estimate sum_j weight_j v_j.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "estimators/exact.hpp"
#include "estimators/tiles.hpp"
#include "kernel_test_support.hpp"

namespace santa::gpu::testing {
namespace {

constexpr float kSupportScore = 0.0f, kBig = 128.0f;

// Head hg = kvh * G + f looks at feature f with weight 128; keys have feature f = 0 in hg's support and -128
// elsewhere (score -16384 / sqrt(d): exp underflows to 0). `every_tile`: at least one support key per tile.
HostInputs support_inputs(const Shape& s, uint64_t seed, const std::vector<int32_t>& lens, int support, int tile,
                          bool every_tile) {
  HostInputs in = random_inputs(s, seed, lens);
  const int G = s.group();
  PhiloxStream rng(RngSite{seed, 99, 0, 0, 0});
  for (size_t i = 0; i < in.q.size(); ++i) {
    const int j = static_cast<int>(i % s.dim), h = static_cast<int>((i / s.dim) % s.heads);
    in.q[i] = float_to_half_bits(j == h % G ? kBig : 0.0f, s.dtype);
  }
  for (int b = 0; b < s.batch; ++b) {
    const int n = lens[b];
    for (int kvh = 0; kvh < s.kv_heads; ++kvh) {
      for (int f = 0; f < G; ++f) {
        std::vector<char> in_support(static_cast<size_t>(n), 0);
        int chosen = 0;
        if (every_tile) {
          for (int t0 = 0; t0 < n; t0 += tile) {
            const int len = std::min(tile, n - t0);
            in_support[static_cast<size_t>(t0 + static_cast<int>(rng.next_double() * len))] = 1;
            ++chosen;
          }
        }
        while (chosen < support) {
          const auto r = static_cast<size_t>(rng.next_double() * n);
          if (!in_support[r]) {
            in_support[r] = 1;
            ++chosen;
          }
        }
        for (int r = 0; r < n; ++r) {
          in.k[in.kv_index(b, r, kvh, f)] = float_to_half_bits(in_support[static_cast<size_t>(r)] ? kSupportScore : -kBig, s.dtype);
        }
      }
    }
  }
  return in;
}


struct CountCase {
  SamplingKind kind;
  int dim, group;
  DType dtype;
  int64_t S;
  int tile;
  bool paged;
};

class SamplingCounts : public ::testing::TestWithParam<CountCase> {};

TEST_P(SamplingCounts, EqualCpuReferenceExactly) {
  SANTA_REQUIRE_GPU();
  const CountCase c = GetParam();
  Shape s;
  s.batch = 2;
  s.kv_heads = 2;
  s.heads = 2 * c.group;
  s.dim = c.dim;
  s.max_len = 4096;
  s.dtype = c.dtype;
  const std::vector<int32_t> lens = {4096, 3000};  // 3000: a short last tile
  const int support = 128;
  const HostInputs in = support_inputs(s, 77 + c.dim + c.group, lens, support, c.tile, is_flash(c.kind));
  DeviceInputs d = upload(in, c.paged, 64);
  DecodeWorkspace ws(limits_for(s));
  const size_t n_counts = static_cast<size_t>(s.batch) * s.heads * s.max_len;
  DeviceBuffer counts(n_counts * sizeof(int32_t)), samples(sizeof(int32_t) * s.batch * s.heads),
      rows(sizeof(int32_t) * s.batch * s.kv_heads);
  SamplingRecord rec{samples.as<int32_t>(), rows.as<int32_t>(), counts.as<int32_t>()};
  const double scale = 1.0 / std::sqrt(static_cast<double>(s.dim));
  for (uint32_t step : {0u, 1u, 12345u}) {
    counts.fill_bytes(0);
    d.out.fill_bytes(0xFF);
    const SamplingRng rng{0xC0FFEEull + c.S, step, nullptr};
    run_sampling_kernel(c.kind, d.problem, ws, c.S, c.tile, rng, rec);
    const auto got = counts.download_vector<int32_t>(n_counts);
    const auto got_samples = samples.download_vector<int32_t>(static_cast<size_t>(s.batch) * s.heads);
    const auto got_rows = rows.download_vector<int32_t>(static_cast<size_t>(s.batch) * s.kv_heads);
    const auto out = download_out(d, s);
    for (int b = 0; b < s.batch; ++b) {
      const MatRM q = in.q_matrix(b);
      for (int kvh = 0; kvh < s.kv_heads; ++kvh) {
        const MatRM K = in.k_matrix(b, kvh), V = in.v_matrix(b, kvh);
        std::set<int64_t> union_rows;
        for (int f = 0; f < c.group; ++f) {
          const int hg = kvh * c.group + f;
          const Vec p = softmax(attention_scores(q.row(hg).transpose(), K, scale));
          const RowDraw draw = cpu_draw(c.kind, p, c.S, c.tile, RngSite{rng.seed, step, static_cast<uint32_t>(b),
                                                                        static_cast<uint32_t>(hg), 0});
          std::map<int64_t, int> want;
          for (size_t j = 0; j < draw.row.size(); ++j) want[draw.row[j]] = draw.count[j];
          int mismatches = 0;
          for (int r = 0; r < lens[b]; ++r) {
            const int g = got[(static_cast<size_t>(b) * s.heads + hg) * s.max_len + r];
            const auto it = want.find(r);
            const int w = it == want.end() ? 0 : it->second;
            if (g != w && ++mismatches <= 5) {
              ADD_FAILURE() << name(c.kind) << " b=" << b << " head=" << hg << " step=" << step << " key " << r
                            << ": kernel count " << g << ", CPU count " << w;
            }
            if (g > 0) union_rows.insert(r);
          }
          EXPECT_EQ(mismatches, 0);
          EXPECT_EQ(got_samples[static_cast<size_t>(b) * s.heads + hg], draw.samples) << "recorded samples, head " << hg;
          // Output = the CPU estimate sum_j weight_j v_j (fp32 accumulation, 16-bit output).
          const Vec ref = apply_draw(draw, V);
          double err = 0.0, norm = 0.0;
          for (int j = 0; j < s.dim; ++j) {
            const double o = out[(static_cast<size_t>(b) * s.heads + hg) * s.dim + j];
            ASSERT_TRUE(std::isfinite(o)) << "output not written";
            err += (o - ref[j]) * (o - ref[j]);
            norm += ref[j] * ref[j];
          }
          EXPECT_LT(std::sqrt(err / norm), c.dtype == DType::bf16 ? 6e-3 : 1e-3) << "head " << hg;
        }
        EXPECT_EQ(got_rows[static_cast<size_t>(b) * s.kv_heads + kvh], static_cast<int>(union_rows.size()))
            << "distinct V rows of KV head " << kvh;
      }
    }
  }
}

std::vector<CountCase> count_cases() {
  std::vector<CountCase> v;
  for (SamplingKind k : {SamplingKind::flash_exact, SamplingKind::flash_reference, SamplingKind::prop_global,
                         SamplingKind::prop_largest_remainder}) {
    const int64_t S = is_flash(k) ? 2048 : 128;
    v.push_back({k, 128, 4, DType::bf16, S, 256, false});  // the Llama-3.1-8B group shape
    v.push_back({k, 128, 4, DType::bf16, S, 256, true});
    v.push_back({k, 64, 8, DType::fp16, is_flash(k) ? 100 : 1000, 64, false});
    v.push_back({k, 256, 1, DType::bf16, is_flash(k) ? 300 : 96, 128, true});
    v.push_back({k, 128, 2, DType::fp16, is_flash(k) ? 16 : 4096, 32, false});
  }
  return v;
}

INSTANTIATE_TEST_SUITE_P(Kernels, SamplingCounts, ::testing::ValuesIn(count_cases()),
                         [](const ::testing::TestParamInfo<CountCase>& i) {
                           const CountCase& c = i.param;
                           return std::string(name(c.kind)) + "_d" + std::to_string(c.dim) + "_G" +
                                  std::to_string(c.group) + "_" + to_string(c.dtype) + "_S" + std::to_string(c.S) +
                                  "_tile" + std::to_string(c.tile) + (c.paged ? "_paged" : "");
                         });

}  // namespace
}  // namespace santa::gpu::testing
