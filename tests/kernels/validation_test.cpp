// Unsupported shapes, dtypes, pointers and sampling parameters are rejected before anything is launched,
// with std::invalid_argument naming the field. Runs without a GPU (no pointer is dereferenced).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "kernels/decode.hpp"
#include "kernels/detail/plan.hpp"

namespace santa::gpu {
namespace {

void* fake(std::uintptr_t a) { return reinterpret_cast<void*>(a); }

DecodeProblem valid_problem() {
  DecodeProblem p;
  p.batch = 4;
  p.num_heads = 32;
  p.num_kv_heads = 8;
  p.head_dim = 128;
  p.q = fake(0x10000);
  p.out = fake(0x20000);
  p.kv.k = fake(0x30000);
  p.kv.v = fake(0x40000);
  p.kv.seq_lens = static_cast<const int32_t*>(fake(0x50000));
  p.kv.max_len = 32768;
  return p;
}

WorkspaceLimits valid_limits() {
  WorkspaceLimits l;
  l.max_batch = 16;
  l.num_heads = 32;
  l.num_kv_heads = 8;
  l.head_dim = 128;
  l.max_len = 131072;
  return l;
}

template <class F>
void expect_rejected(F&& f, const std::string& mentions) {
  try {
    f();
    ADD_FAILURE() << "accepted; expected a rejection mentioning '" << mentions << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(mentions), std::string::npos) << e.what();
  }
}

TEST(KernelValidation, AcceptsTheLlamaShape) {
  EXPECT_NO_THROW(check_problem(valid_problem()));
  EXPECT_NO_THROW(check_limits(valid_limits()));
  EXPECT_NO_THROW(check_fits(valid_problem(), valid_limits()));
  EXPECT_NO_THROW(check_prop_params(PropParams{}, valid_limits()));
  EXPECT_NO_THROW(check_flash_params(FlashParams{}, valid_limits()));
}

TEST(KernelValidation, RejectsUnsupportedShapesAndDtypes) {
  auto with = [](auto change) {
    DecodeProblem p = valid_problem();
    change(p);
    return [p] { check_problem(p); };
  };
  expect_rejected(with([](DecodeProblem& p) { p.head_dim = 96; }), "head_dim = 96");
  expect_rejected(with([](DecodeProblem& p) { p.num_heads = 24; }), "group size");
  expect_rejected(with([](DecodeProblem& p) { p.num_heads = 33; }), "multiple of num_kv_heads");
  expect_rejected(with([](DecodeProblem& p) { p.num_heads = 128; }), "group size");  // G = 16
  expect_rejected(with([](DecodeProblem& p) { p.dtype = static_cast<DType>(7); }), "dtype");
  expect_rejected(with([](DecodeProblem& p) { p.batch = 0; }), "batch = 0");
  expect_rejected(with([](DecodeProblem& p) { p.scale = -1.0f; }), "scale");
  expect_rejected(with([](DecodeProblem& p) { p.kv.k = nullptr; }), "null");
  expect_rejected(with([](DecodeProblem& p) { p.q = fake(0x10008); }), "16-byte aligned");
  expect_rejected(with([](DecodeProblem& p) { p.kv.max_len = 0; }), "max_len");
  expect_rejected(with([](DecodeProblem& p) {
                    p.kv.paged = true;
                    p.kv.page_size = 12;
                    p.kv.max_pages_per_seq = 4;
                    p.kv.page_table = static_cast<const int32_t*>(fake(0x60000));
                  }),
                  "page_size = 12");
  expect_rejected(with([](DecodeProblem& p) {
                    p.kv.paged = true;
                    p.kv.page_size = 16;
                    p.kv.max_pages_per_seq = 4;
                  }),
                  "page_table");
}

TEST(KernelValidation, RejectsProblemsThatDoNotFitTheWorkspace) {
  DecodeProblem p = valid_problem();
  p.batch = 17;
  expect_rejected([&] { check_fits(p, valid_limits()); }, "max_batch");
  p = valid_problem();
  p.kv.max_len = 200000;
  expect_rejected([&] { check_fits(p, valid_limits()); }, "max_len");
  p = valid_problem();
  p.num_heads = 16;
  expect_rejected([&] { check_fits(p, valid_limits()); }, "differs from the workspace");
}

TEST(KernelValidation, RejectsBadSamplingParameters) {
  PropParams pp;
  pp.samples = 0;
  expect_rejected([&] { check_prop_params(pp, valid_limits()); }, "samples = 0");
  pp = PropParams{};
  pp.tile = 48;
  expect_rejected([&] { check_prop_params(pp, valid_limits()); }, "tile = 48");
  pp.tile = 32;  // a power of two, but below the workspace's min_tile = 64
  expect_rejected([&] { check_prop_params(pp, valid_limits()); }, "min_tile");
  FlashParams fp;
  fp.budget = static_cast<FlashBudget>(5);
  expect_rejected([&] { check_flash_params(fp, valid_limits()); }, "budget");
  WorkspaceLimits l = valid_limits();
  l.head_dim = 80;
  expect_rejected([&] { check_limits(l); }, "head_dim = 80");
  l = valid_limits();
  l.min_tile = 32;
  l.max_len = 1 << 20;  // 32768 tiles: beyond the fixed-point tile scan's 4096
  expect_rejected([&] { check_limits(l); }, "4096 tiles");
}

TEST(KernelValidation, LaunchOptionsNameTheBadField) {
  auto with = [](auto change) {
    LaunchOptions o;
    change(o);
    return o;
  };
  for (int v : {0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 16, 21, 22, 23, 29, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 49, 50, 51, 52, 53, 54, 55, 56, 57}) EXPECT_NO_THROW(check_launch(with([&](LaunchOptions& o) { o.variant = v; })));
  for (int v : {-1, 5, 6, 9, 10, 14, 15, 17, 18, 19, 20, 24, 25, 26, 27, 28, 30, 46, 47, 48, 66, 74}) {
    expect_rejected([&] { check_launch(with([&](LaunchOptions& o) { o.variant = v; })); }, "variant = " + std::to_string(v));
  }
  expect_rejected([&] { check_launch(with([](LaunchOptions& o) { o.prefetch_steps = 65; })); }, "prefetch_steps = 65");
  expect_rejected([&] { check_launch(with([](LaunchOptions& o) { o.prefetch_steps = -2; })); }, "prefetch_steps = -2");
  expect_rejected([&] { check_launch(with([](LaunchOptions& o) { o.num_chunks = -1; })); }, "num_chunks = -1");
}

// The carveout diagnostics pad shared memory by 16 / 32 / 48 KB; every other variant by nothing.
TEST(KernelPlan, SharedMemoryPaddingOnlyForDiagnosticVariants) {
  for (int v : {0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 16, 29}) {
    LaunchOptions o;
    o.variant = v;
    EXPECT_EQ(detail::smem_padding(o), 0u) << "variant " << v;
  }
  for (int v : {21, 22, 23}) {
    LaunchOptions o;
    o.variant = v;
    EXPECT_EQ(detail::smem_padding(o), static_cast<std::size_t>(v - 20) * 16384u) << "variant " << v;
  }
}

// Which dense kernel runs (no GPU needed): the whole-row kernel only when variant 7 asks for it, and only
// on the shapes it serves; its automatic split fills one wave (batch 16, 32k: 8 chunks of 4096 keys).
TEST(KernelPlan, DenseKernelChoice) {
  for (int v : {0, 1, 4, 8}) {
    LaunchOptions o;
    o.variant = v;
    EXPECT_FALSE(detail::use_rows_kernel(o)) << "variant " << v;
  }
  for (int v : {7, 29, 31, 32}) {
    LaunchOptions o;
    o.variant = v;
    EXPECT_TRUE(detail::use_rows_kernel(o)) << "variant " << v;
  }
  DecodeProblem p = valid_problem();
  EXPECT_TRUE(detail::rows_kernel_supports(p, 9));
  EXPECT_FALSE(detail::rows_kernel_supports(p, 8));  // no bulk copy engine
  p.kv.paged = true;
  EXPECT_FALSE(detail::rows_kernel_supports(p, 9));
  p = valid_problem();
  p.head_dim = 64;
  EXPECT_FALSE(detail::rows_kernel_supports(p, 9));
  p = valid_problem();
  p.num_heads = 16;
  p.num_kv_heads = 4;
  EXPECT_FALSE(detail::rows_kernel_supports(p, 9));
  p = valid_problem();
  p.batch = 16;
  EXPECT_EQ(detail::rows_variant_chunks(p, valid_limits(), 132), 8);
}

// Variants 33-41, 49-51 (the per-KV-head kernel through cp.async, one CTA per SM): only they select it; d = 128 on
// sm_80+, contiguous or paged; its automatic split fills one wave of 132 SMs (32k keys, 8 KV heads: batch 16 ->
// 1 chunk = 128 CTAs, batch 4 -> 4, batch 1 -> 16), requested chunks are kept, and its shared memory holds the ring.
// Variant 45 (the pipelined per-KV-head kernel, also one CTA per SM) takes the same split without the ring.
TEST(KernelPlan, AsyncDenseKernelChoiceAndSplit) {
  for (int v : {0, 1, 4, 7, 8, 29, 42, 45}) {
    LaunchOptions o;
    o.variant = v;
    EXPECT_FALSE(detail::use_async_kernel(o)) << "variant " << v;
  }
  for (int v : {33, 34, 35, 36, 37, 38, 39, 40, 41, 49, 50, 51, 55}) {
    LaunchOptions o;
    o.variant = v;
    EXPECT_TRUE(detail::use_async_kernel(o)) << "variant " << v;
    EXPECT_FALSE(detail::use_rows_kernel(o)) << "variant " << v;
  }
  LaunchOptions o;
  o.variant = 33;
  DecodeProblem p = valid_problem();
  EXPECT_TRUE(detail::async_kernel_supports(p, 8));
  EXPECT_FALSE(detail::async_kernel_supports(p, 7));  // no cp.async
  p.kv.paged = true;
  EXPECT_TRUE(detail::async_kernel_supports(p, 9));
  for (int d : {64, 256}) {
    p.head_dim = d;
    EXPECT_FALSE(detail::async_kernel_supports(p, 9)) << "head_dim " << d;
  }
  WorkspaceLimits l = valid_limits();
  l.max_len = 32768;
  l.max_batch = 16;
  // The pipelined loop (variant 45, one CTA per SM) takes the same split and no ring; the default its own.
  LaunchOptions pipelined;
  pipelined.variant = 45;
  for (auto [batch, chunks] : {std::pair{16, 1}, std::pair{4, 4}, std::pair{1, 16}}) {
    p = valid_problem();
    p.batch = batch;
    p.kv.max_len = 32768;
    const detail::Plan plan = detail::dense_plan(p, l, 132, o);
    EXPECT_EQ(plan.num_chunks, chunks) << "batch " << batch;
    EXPECT_GE(plan.smem_bytes, detail::dense_async_smem_bytes(128)) << "batch " << batch;
    LaunchOptions forced = o;
    forced.num_chunks = 3;
    EXPECT_EQ(detail::dense_plan(p, l, 132, forced).num_chunks, 3) << "batch " << batch;
    const detail::Plan piped = detail::dense_plan(p, l, 132, pipelined);
    EXPECT_EQ(piped.num_chunks, chunks) << "batch " << batch;
    EXPECT_EQ(piped.smem_bytes, detail::make_plan(KernelFamily::dense, p, 0, l, 132, chunks).smem_bytes);
    EXPECT_EQ(detail::dense_plan(p, l, 132, LaunchOptions{}).num_chunks,
              detail::make_plan(KernelFamily::dense, p, 0, l, 132, 0).num_chunks)
        << "batch " << batch;
  }
  EXPECT_EQ(detail::dense_loop(pipelined), detail::DenseLoop::pipelined);
  EXPECT_EQ(detail::dense_loop(LaunchOptions{}), detail::DenseLoop::plain);
  EXPECT_EQ(detail::dense_async_smem_bytes(128), 196608u);  // 8 warps x 3 steps x (K + V) x 16 rows x 256 bytes
}

// The default dense call becomes the CTA-wide-tile kernel (variant 52) only for a contiguous cache, d = 128, sm_80+,
// the automatic split, and chunks of >= kTileMinKeys keys at its one-CTA-per-SM split (132 SMs, 8 KV heads: batch 16
// x 8192 keys -> 1 chunk of 8192; batch 4 x 32768 -> 4 of 8192; batch 1 x 32768 -> 16 of 2048, too short).
TEST(KernelPlan, DefaultDenseKernelChoice) {
  WorkspaceLimits l = valid_limits();
  l.max_len = 32768;
  l.max_batch = 16;
  const auto chosen = [&](int batch, int64_t len, auto change) {
    DecodeProblem p = valid_problem();
    p.batch = batch;
    p.kv.max_len = len;
    LaunchOptions o;
    int cc = 9;
    change(p, o, cc);
    const detail::DenseKernel k = detail::dense_kernel_for(p, l, 132, cc, o);
    EXPECT_EQ(k.plan.num_chunks, detail::dense_plan(p, l, 132, k.launch).num_chunks);
    return k.launch.variant;
  };
  const auto same = [](DecodeProblem&, LaunchOptions&, int&) {};
  EXPECT_EQ(chosen(16, 8192, same), 52);
  EXPECT_EQ(chosen(4, 32768, same), 52);
  EXPECT_EQ(chosen(1, 32768, same), 0);
  EXPECT_EQ(chosen(16, 2048, same), 0);
  EXPECT_EQ(chosen(16, 8192, [](DecodeProblem&, LaunchOptions&, int& cc) { cc = 7; }), 0);
  EXPECT_EQ(chosen(16, 8192, [](DecodeProblem& p, LaunchOptions&, int&) { p.head_dim = 64; }), 0);
  // Paged: pages of >= 16 rows take the tile kernel (its per-warp page lookup), smaller ones the register kernel.
  const auto paged = [](int page_size) {
    return [page_size](DecodeProblem& p, LaunchOptions&, int&) {
      p.kv.paged = true;  // the same 8192 keys in pages
      p.kv.page_size = page_size;
      p.kv.max_pages_per_seq = 8192 / page_size;
      p.kv.page_table = static_cast<const int32_t*>(fake(0x60000));
    };
  };
  EXPECT_EQ(chosen(16, 8192, paged(16)), 52);
  EXPECT_EQ(chosen(16, 8192, paged(64)), 52);
  EXPECT_EQ(chosen(16, 8192, paged(8)), 0);
  EXPECT_EQ(chosen(16, 8192, [](DecodeProblem&, LaunchOptions& o, int&) { o.num_chunks = 1; }), 0);
  EXPECT_EQ(chosen(16, 8192, [](DecodeProblem&, LaunchOptions& o, int&) { o.variant = 8; }), 8);
  EXPECT_EQ(chosen(16, 8192, [](DecodeProblem&, LaunchOptions& o, int&) { o.variant = 33; }), 33);
}

// Variants 52-54, 56 (the CTA-wide-tile kernel): ring stages 2 / 3 / 1 / 2 / 2, nothing else selects it (nor the other
// special kernels); the one-CTA-per-SM split of the cp.async kernel, shared memory for the ring (2 stages x (K + V)
// x 128 rows x 256 bytes = 128 KB at d = 128) or more.
TEST(KernelPlan, TileDenseKernelChoiceAndSplit) {
  for (int v : {0, 7, 8, 33, 45, 51}) {
    LaunchOptions o;
    o.variant = v;
    EXPECT_EQ(detail::tile_kernel_stages(o), 0) << "variant " << v;
  }
  WorkspaceLimits l = valid_limits();
  l.max_len = 32768;
  l.max_batch = 16;
  for (auto [v, stages] : {std::pair{52, 2}, std::pair{53, 3}, std::pair{54, 1}, std::pair{56, 2}, std::pair{57, 2}}) {
    LaunchOptions o;
    o.variant = v;
    EXPECT_EQ(detail::tile_kernel_stages(o), stages) << "variant " << v;
    EXPECT_FALSE(detail::use_async_kernel(o)) << "variant " << v;
    EXPECT_FALSE(detail::use_rows_kernel(o)) << "variant " << v;
    EXPECT_EQ(detail::dense_loop(o), detail::DenseLoop::plain) << "variant " << v;
    EXPECT_NO_THROW(check_launch(o)) << "variant " << v;
    for (auto [batch, chunks] : {std::pair{16, 1}, std::pair{4, 4}, std::pair{1, 16}}) {
      DecodeProblem p = valid_problem();
      p.batch = batch;
      p.kv.max_len = 32768;
      const detail::Plan plan = detail::dense_plan(p, l, 132, o);
      EXPECT_EQ(plan.num_chunks, chunks) << "variant " << v << " batch " << batch;
      EXPECT_GE(plan.smem_bytes, detail::dense_tile_smem_bytes(128, stages)) << "variant " << v << " batch " << batch;
    }
  }
  EXPECT_EQ(detail::dense_tile_smem_bytes(128, 2), 131072u);
}

// The whole-row kernel's ranges cover every step of the batch exactly once, in order; each sequence's pieces
// are consecutive CTAs numbered from 0 below pieces_max; no CTA touches more sequences than segments_max.
void expect_valid_rows_split(const detail::RowsSplit& r, int batch) {
  SCOPED_TRACE("batch " + std::to_string(batch) + ", steps/seq " + std::to_string(r.steps_per_seq) + ", CTAs " +
               std::to_string(r.ctas));
  const int64_t total = batch * r.steps_per_seq;
  ASSERT_GE(total, r.ctas);
  std::vector<int> pieces(batch, 0);
  int segments_max = 0;
  int64_t next = 0;
  for (int c = 0; c < r.ctas; ++c) {
    const int64_t t0 = detail::rows_range_begin(c, total, r.ctas), t1 = detail::rows_range_begin(c + 1, total, r.ctas);
    ASSERT_EQ(t0, next) << "CTA " << c;
    ASSERT_GT(t1, t0) << "CTA " << c << " has no steps";
    next = t1;
    for (int64_t t = t0; t < t1; ++t) ASSERT_EQ(detail::rows_cta_of(t, total, r.ctas), c) << "step " << t;
    const int b0 = static_cast<int>(t0 / r.steps_per_seq), b1 = static_cast<int>((t1 - 1) / r.steps_per_seq);
    segments_max = std::max(segments_max, b1 - b0 + 1);
    for (int b = b0; b <= b1; ++b) {
      EXPECT_EQ(c - detail::rows_cta_of(b * r.steps_per_seq, total, r.ctas), pieces[b]) << "piece of sequence " << b;
      ++pieces[b];
    }
  }
  EXPECT_EQ(next, total);
  EXPECT_EQ(*std::max_element(pieces.begin(), pieces.end()), r.pieces_max);
  EXPECT_EQ(segments_max, r.segments_max);
  EXPECT_LE(r.segments_max, detail::kRowsMaxSegments);
}

TEST(KernelPlan, WholeRowSplits) {
  DecodeProblem p = valid_problem();
  WorkspaceLimits l = valid_limits();
  // Variant 7: the ranges are the dense plan's chunks of each sequence.
  p.batch = 16;
  const detail::RowsSplit chunked = detail::rows_chunk_split(p, l, 132, 0);
  EXPECT_EQ(chunked.ctas, 16 * 8);
  EXPECT_EQ(chunked.pieces_max, 8);
  EXPECT_EQ(chunked.segments_max, 1);
  expect_valid_rows_split(chunked, p.batch);
  for (int chunks : {1, 3, 7, 40}) expect_valid_rows_split(detail::rows_chunk_split(p, l, 132, chunks), p.batch);
  // Variant 29: one CTA per SM over the whole batch (batch 16, 32k keys: 248-249 steps each, 9-10 pieces per
  // sequence); batch 1 is held to max_chunks pieces; many short sequences get more CTAs instead of more segments.
  const detail::RowsSplit b16 = detail::rows_balanced_split(p, l, 132);
  EXPECT_EQ(b16.ctas, 132);
  EXPECT_EQ(b16.steps_per_seq, 2048);
  EXPECT_EQ(b16.segments_max, 2);
  expect_valid_rows_split(b16, p.batch);
  p.batch = 1;
  const detail::RowsSplit b1 = detail::rows_balanced_split(p, l, 132);
  EXPECT_EQ(b1.ctas, l.max_chunks);
  expect_valid_rows_split(b1, p.batch);
  l.max_batch = 1000;
  p.batch = 1000;
  p.kv.max_len = 16;
  const detail::RowsSplit many = detail::rows_balanced_split(p, l, 132);
  EXPECT_EQ(many.steps_per_seq, 1);
  EXPECT_EQ(many.ctas, 334);  // ceil(1000 / 3): at most 3 steps per CTA
  expect_valid_rows_split(many, p.batch);
  for (int batch : {2, 3, 5, 17, 31}) {
    for (int sm : {1, 7, 132}) {
      p.batch = batch;
      p.kv.max_len = 16 * batch + 48;
      expect_valid_rows_split(detail::rows_balanced_split(p, l, sm), batch);
    }
  }
  // One piece per sequence at most, 5 sequences of 2 steps, one SM: no split of at most one CTA per SM holds
  // both limits, so each sequence gets its own CTA.
  p.batch = 5;
  p.kv.max_len = 32;
  l.max_chunks = 1;
  const detail::RowsSplit own = detail::rows_balanced_split(p, l, 1);
  EXPECT_EQ(own.ctas, 5);
  EXPECT_EQ(own.pieces_max, 1);
  expect_valid_rows_split(own, p.batch);
}

// The CTA order of the grid (heads inner or chunks inner) visits every (chunk, KV head, sequence) once.
TEST(KernelPlan, CtaOrdersArePermutations) {
  for (int order : {0, 1}) {
    const int C = 5, H = 3, B = 2;
    std::vector<int> seen(C * H * B, 0);
    for (int lid = 0; lid < C * H * B; ++lid) {
      const detail::CtaCoord c = detail::cta_coord(lid, C, H, order);
      ASSERT_TRUE(c.chunk >= 0 && c.chunk < C && c.kvh >= 0 && c.kvh < H && c.b >= 0 && c.b < B);
      ++seen[(c.b * H + c.kvh) * C + c.chunk];
      if (order == 1) {
        EXPECT_EQ(c.kvh, lid % H) << "heads inner: consecutive CTAs take consecutive KV heads";
      } else {
        EXPECT_EQ(c.chunk, lid % C) << "chunks inner: consecutive CTAs take consecutive chunks";
      }
    }
    for (int x : seen) EXPECT_EQ(x, 1);
  }
}

// The split arithmetic shared by host and device (no GPU needed).
TEST(KernelPlan, ChunksCoverEverySequenceAndRespectTheCaps) {
  const DecodeProblem p = valid_problem();
  for (int sms : {132, 108, 20}) {
    for (auto family : {KernelFamily::dense, KernelFamily::flash, KernelFamily::prop}) {
      const detail::Plan plan = detail::make_plan(family, p, 256, valid_limits(), sms, 0);
      EXPECT_GE(static_cast<int64_t>(plan.num_chunks) * plan.rows_max, p.kv.max_len);
      EXPECT_EQ(plan.rows_max % plan.unit, 0);
      if (family == KernelFamily::prop) {
        EXPECT_LE(plan.num_chunks, sms) << "prop needs its CTAs co-resident";
      }
      if (family != KernelFamily::dense) {
        EXPECT_LE(plan.rows_max, family == KernelFamily::prop ? detail::kPropRowsCap : detail::kFlashRowsCap);
      }
      for (int n : {1, 255, 256, 4097, 32768}) {  // every key of every sequence length lands in a chunk
        const int rows = detail::chunk_rows_for(n, plan.num_chunks, plan.unit);
        EXPECT_GE(static_cast<int64_t>(rows) * plan.num_chunks, n);
        EXPECT_LE(rows, plan.rows_max);
      }
    }
  }
  expect_rejected([&] { detail::make_plan(KernelFamily::prop, p, 256, valid_limits(), 132, 500); }, "num_chunks");
}

// The key-ring variants' shared memory: the ring (kWarps x slots x 16 rows) starts 128-byte aligned at the gather's
// staging area (which it overlays: the gather runs after the stream) and the plan's bytes cover its end.
TEST(KernelPlan, SamplingKeyRingSharedMemory) {
  LaunchOptions lo;
  for (int v : {0, 1, 57, 61}) {
    lo.variant = v;
    EXPECT_EQ(detail::sampling_key_ring(lo), 0) << v;
  }
  for (int v : {58, 59, 60}) {
    lo.variant = v;
    EXPECT_EQ(detail::sampling_key_ring(lo), v - 56);
  }
  const DecodeProblem p = valid_problem();
  const int G = p.num_heads / p.num_kv_heads;
  for (auto family : {KernelFamily::flash, KernelFamily::prop}) {
    for (int slots : {2, 3, 4}) {
      const detail::Plan base = detail::make_plan(family, p, 256, valid_limits(), 132, 16);  // 2048 keys per CTA
      const detail::Plan ring = detail::make_plan(family, p, 256, valid_limits(), 132, 16, slots);
      EXPECT_EQ(ring.num_chunks, base.num_chunks);
      const detail::SamplingSmem s = detail::sampling_smem(G, ring.rows_max, 256, p.head_dim, ring.num_chunks, slots);
      EXPECT_EQ(s.ring % (detail::kSmemAlign / 4), 0u);
      EXPECT_GE(s.ring, s.stage);
      EXPECT_LT(s.ring, s.stage + detail::kSmemAlign / 4);
      const std::size_t ring_end = s.ring * 4 + detail::sampling_ring_bytes(p.head_dim, slots);
      EXPECT_EQ(ring.smem_bytes, std::max(base.smem_bytes, ring_end));
      EXPECT_EQ(detail::sampling_ring_bytes(128, slots), static_cast<std::size_t>(slots) * 32 * 1024);
    }
  }
  // prop's 4096-key chunks with 4 steps per warp pass the 200 KB cap: rejected with the way out named.
  expect_rejected([&] { detail::make_plan(KernelFamily::prop, p, 256, valid_limits(), 132, 8, 4); }, "num_chunks");
}

}  // namespace
// The two-pass prop's plan (variants 61-63): pass 1 in whole super tiles with the dense tile kernel's split for the
// CTAs per SM its shared memory allows, pass 2's lists sized by min(tiles, S), and a clear error past 200 KB.
TEST(KernelPlan, TwoPassProp) {
  LaunchOptions lo;
  for (int v : {0, 52, 60, 64}) {
    lo.variant = v;
    EXPECT_EQ(detail::two_pass_stages(lo), 0) << v;
  }
  lo.variant = 61;
  EXPECT_EQ(detail::two_pass_stages(lo), 3);
  EXPECT_EQ(detail::two_pass_pass2(lo).threads, 256);
  EXPECT_EQ(detail::two_pass_pass2(lo).ctas_per_sm, 2);
  lo.variant = 62;
  EXPECT_EQ(detail::two_pass_stages(lo), 3);
  EXPECT_EQ(detail::two_pass_pass2(lo).threads, 128);
  EXPECT_EQ(detail::two_pass_pass2(lo).ctas_per_sm, 4);
  EXPECT_FALSE(detail::two_pass_pass2(lo).search);
  lo.variant = 63;
  EXPECT_EQ(detail::two_pass_stages(lo), 3);
  EXPECT_EQ(detail::two_pass_pass2(lo).threads, 256);
  EXPECT_EQ(detail::two_pass_pass2(lo).ctas_per_sm, 4);
  EXPECT_TRUE(detail::two_pass_pass2(lo).search);
  lo.variant = 65;
  EXPECT_EQ(detail::two_pass_stages(lo), 2);
  EXPECT_TRUE(detail::two_pass_pass2(lo).search);
  for (int v : {67, 68, 69}) {  // pass 1 alone (diagnostics)
    lo.variant = v;
    EXPECT_EQ(detail::two_pass_stages(lo), 3) << v;
    EXPECT_EQ(detail::two_pass_pass2(lo).threads, 0) << v;
  }
  lo.variant = 67;
  EXPECT_EQ(detail::two_pass_prefix_mode(lo), 0);
  lo.variant = 68;
  EXPECT_EQ(detail::two_pass_prefix_mode(lo), detail::kPrefixRing);
  lo.variant = 69;
  EXPECT_EQ(detail::two_pass_prefix_mode(lo), detail::kPrefixNone);
  DecodeProblem p = valid_problem();  // B = 4, 8 KV heads, G = 4, 32768 keys
  for (int tile : {32, 128, 256, 512}) {
    const detail::TwoPassPlan tp = detail::two_pass_plan(p, valid_limits(), 132, tile, 128, 3, 0);
    const int super = std::max(128, tile);
    EXPECT_EQ(tp.pass1.unit, super);
    EXPECT_EQ(tp.pass1.rows_max % super, 0);
    EXPECT_GE(static_cast<int64_t>(tp.pass1.num_chunks) * tp.pass1.rows_max, 32768);
    // 3 K tiles of 32 KB and two score buffers of 4 heads x (super + 8) floats.
    EXPECT_EQ(tp.pass1.smem_bytes, 3u * 32768 + 2u * 4 * (super + 8) * 4);
    EXPECT_EQ(tp.entries, std::min(32768 / tile, 128));
    // 4 x 32 heads on 132 SMs: floor(2 x 132 / 128) = 2 CTAs per head in pass 2 (one wave), each staging its share.
    EXPECT_EQ(tp.parts, 2);
    EXPECT_EQ(tp.stage, std::min((tp.entries + 1) / 2, 65536 / (4 * tile)));
    EXPECT_EQ(tp.pass2_smem, detail::prop_sampled_smem(tile, tp.entries, tp.stage, 128, 8).total);
  }
  // B = 4 x 8 KV heads = 32 groups on 132 SMs with 2 CTAs per SM (~105 KB each): chunks fill the slots.
  const detail::TwoPassPlan tp = detail::two_pass_plan(p, valid_limits(), 132, 256, 128, 3, 0);
  EXPECT_GE(tp.pass1.num_chunks * 32, 132);
  EXPECT_EQ(detail::two_pass_plan(p, valid_limits(), 132, 256, 128, 3, 5).pass1.num_chunks, 5);
  // Variant 65 (2 K tiles, 72.3 KB + 2.5 KB static + 1 KB reserved): 3 CTAs per SM in sm_90's 228 KB, so more chunks
  // than with 3 K tiles; and one-stream flash (v:64, 108.1 KB + 2.25 KB): 2 per SM, as pass 1 with 3 K tiles.
  const detail::Plan two = detail::two_pass_plan(p, valid_limits(), 132, 256, 128, 2, 0).pass1;
  EXPECT_EQ(two.smem_bytes, 2u * 32768 + 2u * 4 * (256 + 8) * 4);
  EXPECT_GT(two.num_chunks, tp.pass1.num_chunks);
  EXPECT_GE(two.num_chunks * 32, 3 * 132 * 9 / 10);
  const detail::Plan flash = detail::flash_stream_plan(p, valid_limits(), 132, 256, 0);
  EXPECT_EQ(flash.smem_bytes, 3u * 32768 + 4u * (256 + 8) * 4 + 4u * 8 * 256);
  EXPECT_EQ(flash.num_chunks, tp.pass1.num_chunks);
  DecodeProblem big = p;  // 16 x 32 heads: at least 2 CTAs per SM already, one CTA per head
  big.batch = 16;
  EXPECT_EQ(detail::two_pass_plan(big, valid_limits(), 132, 256, 128, 3, 0).parts, 1);
  EXPECT_EQ(detail::two_pass_plan(big, valid_limits(), 132, 256, 128, 3, 0, {128, 4}).parts, 1);  // 512 of 528 slots
  DecodeProblem one = p;  // 32 heads: 8 CTAs per head (the cap)
  one.batch = 1;
  EXPECT_EQ(detail::two_pass_plan(one, valid_limits(), 132, 256, 128, 3, 0).parts, detail::kMaxSampledParts);
  WorkspaceLimits few = valid_limits();  // the partials hold max_chunks per head
  few.max_chunks = 2;
  EXPECT_EQ(detail::two_pass_plan(one, few, 132, 256, 128, 3, 0).parts, 2);
  expect_rejected([&] { detail::two_pass_plan(p, valid_limits(), 132, 256, 128, 3, 129); }, "num_chunks = 129");
  // Pass 2 in 128-thread CTAs, 4 per SM (variant 62): one wave of 4 x 132 CTAs, 4 warps' queues, and a stage small
  // enough that four fit in the SM's 227 KB with their static shared memory.
  for (int tile : {32, 128, 256, 512}) {
    const detail::TwoPassPlan t4 = detail::two_pass_plan(p, valid_limits(), 132, tile, 128, 3, 0, {128, 4});
    EXPECT_EQ(t4.parts, 4) << tile;  // floor(4 x 132 / 128)
    EXPECT_EQ(t4.pass2.threads, 128);
    EXPECT_EQ(t4.pass2_smem, detail::prop_sampled_smem(tile, t4.entries, t4.stage, 128, 4).total) << tile;
    EXPECT_LE(4 * (t4.pass2_smem + detail::kPass2StaticSmem + 1024), 227u * 1024) << tile;
    EXPECT_GE(t4.stage, 1) << tile;
    EXPECT_LE(t4.stage, (t4.entries + 3) / 4) << tile;
  }
  // 131072 keys in tiles of 32 with S = 100000: 4096 sampled tiles listed (80 KB) + a 64 KB stage: fits; at 1 M keys
  // the list does not.
  p.kv.max_len = 131072;
  EXPECT_NO_THROW(detail::two_pass_plan(p, valid_limits(), 132, 32, 100000, 3, 0));
  p.kv.max_len = 1 << 20;
  expect_rejected([&] { detail::two_pass_plan(p, valid_limits(), 132, 32, 100000, 3, 0); }, "larger tile or fewer samples");
}

// The persistent prop's schedule (variants 70-72): every (KV head, stream item) and (KV head, sample item) has exactly one
// ticket, and each item waits only on items with earlier tickets (a sample item on its KV head's stream items; a
// stream item of KV head k >= slots on the sample items of k - slots), so no resident CTA can wait on work that no
// running CTA holds.
TEST(KernelPlan, PersistentPropScheduleWaitsOnlyOnEarlierTickets) {
  for (auto [K, C, P, L] : {std::array<int, 4>{1, 1, 1, 1}, {8, 32, 32, 6}, {32, 16, 8, 18}, {128, 16, 4, 15}, {5, 3, 4, 5}}) {
    const int R = std::min(K, L + 2);
    std::vector<int> stream_last(K, -1), sample_first(K, 1 << 30), sample_last(K, -1), stream_first(K, 1 << 30);
    std::vector<std::vector<int>> seen_stream(K, std::vector<int>(C, 0)), seen_sample(K, std::vector<int>(P, 0));
    const int total = K * (C + P);
    for (int t = 0; t < total; ++t) {
      const detail::FusedItem it = detail::fused_item(t, K, C, P, L);
      ASSERT_NE(it.kind, 2) << t;
      ASSERT_GE(it.kv, 0);
      ASSERT_LT(it.kv, K);
      if (it.kind == 0) {
        ASSERT_LT(it.index, C);
        ++seen_stream[it.kv][it.index];
        stream_last[it.kv] = std::max(stream_last[it.kv], t);
        stream_first[it.kv] = std::min(stream_first[it.kv], t);
      } else {
        ASSERT_LT(it.index, P);
        ++seen_sample[it.kv][it.index];
        sample_last[it.kv] = std::max(sample_last[it.kv], t);
        sample_first[it.kv] = std::min(sample_first[it.kv], t);
      }
    }
    EXPECT_EQ(detail::fused_item(total, K, C, P, L).kind, 2);
    for (int k = 0; k < K; ++k) {
      for (int x : seen_stream[k]) EXPECT_EQ(x, 1) << "K " << K << " kv " << k;
      for (int x : seen_sample[k]) EXPECT_EQ(x, 1) << "K " << K << " kv " << k;
      EXPECT_LT(stream_last[k], sample_first[k]) << "K " << K << " kv " << k;
      if (k >= R) {
        EXPECT_LT(sample_last[k - R], stream_first[k]) << "K " << K << " kv " << k;
      }
    }
  }
}

// Its plan: items of whole super tiles covering the sequence, 1-2k keys where the batch has enough keys, the grid the
// shared memory lets reside, pass 2 split as the two-pass plan splits it, and a ring of 2 x lag KV heads that the
// workspace's prefix buffer holds.
TEST(KernelPlan, PersistentPropPlan) {
  DecodeProblem p = valid_problem();  // B = 4, 8 KV heads, G = 4, 32768 keys
  for (int tile : {32, 128, 256, 512}) {
    const detail::FusedPlan fp = detail::fused_plan(p, valid_limits(), 132, tile, 128, 0);
    const int super = std::max(128, tile);
    EXPECT_EQ(fp.stream.unit, super);
    EXPECT_EQ(fp.stream.rows_max % super, 0);
    EXPECT_GE(static_cast<int64_t>(fp.stream.num_chunks) * fp.stream.rows_max, 32768);
    EXPECT_LE(fp.stream.rows_max, std::max(2048, super)) << tile;
    EXPECT_GE(fp.stream.smem_bytes, 3u * 32768 + 2u * 4 * (super + 8) * 4);
    // ~105 KB each up to tile 256: 2 per SM; 113 KB at 512 (score buffers of 520 floats): 1 (as the two-pass pass 1).
    const int per_sm = tile <= 256 ? 2 : 1;
    EXPECT_EQ(fp.grid, per_sm * 132) << tile;
    EXPECT_EQ(fp.parts, per_sm * 132 / 128) << tile;  // floor(CTAs / 128 heads)
    EXPECT_GE(fp.stage, 1);
    EXPECT_GE(fp.lag, 1);
    EXPECT_LE(fp.lag, 32);
    EXPECT_EQ(fp.slots, std::min(2 * fp.lag, 32));
    EXPECT_LE(fp.slots, 32);  // the prefix buffer holds B x H_kv KV heads' prefixes
  }
  DecodeProblem big = p;
  big.batch = 16;  // 128 KV heads x 32k keys: 2048-key items, 16 per KV head; one pass-2 CTA per head
  const detail::FusedPlan fb = detail::fused_plan(big, valid_limits(), 132, 256, 128, 0);
  EXPECT_EQ(fb.stream.rows_max, 2048);
  EXPECT_EQ(fb.stream.num_chunks, 16);
  EXPECT_EQ(fb.parts, 1);
  EXPECT_EQ(fb.lag, (3 * 264 + 39) / 40 + 1);  // 1.5 grids of tickets in steps of 16 + 4
  EXPECT_EQ(fb.slots, 2 * fb.lag);
  EXPECT_EQ(detail::fused_plan(big, valid_limits(), 132, 256, 128, 4).stream.num_chunks, 4);
  expect_rejected([&] { detail::fused_plan(p, valid_limits(), 132, 256, 128, 129); }, "num_chunks = 129");
  p.kv.max_len = 1 << 20;
  expect_rejected([&] { detail::fused_plan(p, valid_limits(), 132, 32, 100000, 0); }, "larger tile or fewer samples");
  LaunchOptions lo;
  for (int v : {70, 71, 72, 73}) {
    lo.variant = v;
    EXPECT_TRUE(detail::prop_fused(lo));
    EXPECT_EQ(detail::two_pass_stages(lo), 0);
  }
  lo.variant = 70;
  EXPECT_EQ(detail::prop_fused_mode(lo), detail::kKeyEvictFirst);
  lo.variant = 71;
  EXPECT_EQ(detail::prop_fused_mode(lo), 0);
  lo.variant = 72;
  EXPECT_EQ(detail::prop_fused_mode(lo), detail::kKeyEvictFirst | detail::kPrefixEvictLast);
  lo.variant = 73;
  EXPECT_EQ(detail::prop_fused_mode(lo), detail::kKeyEvictFirst | detail::kFusedNoSampling);
}

}  // namespace santa::gpu
