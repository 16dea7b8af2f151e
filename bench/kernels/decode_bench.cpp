// Google Benchmark of the decode kernels (manual time from CUDA events, cold L2 before every call,
// PROTOCOLS.md P1): Llama-3.1-8B shapes (H = 32, H_kv = 8, d = 128, bf16, i.i.d. N(0,1) q/K/V, every
// sequence at full length), batch 1/4/16, several context lengths, dense / prop / flash at the paper's and
// nearby budgets, and a sweep of the split factor. Counters per point: median/mean time, the bytes the
// kernel must read (K, distinct V rows, q, partial results and tile statistics), achieved TB/s and the
// fraction of the streaming-read ceiling measured at start-up on the same GPU.
//
//   santa_bench_kernels --benchmark_out=FILE --benchmark_out_format=json [--benchmark_filter=REGEX]
// Without a GPU it prints a line and exits 0.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/decode.hpp"
#include "kernels/device.hpp"
#include "kernels/device_buffer.hpp"
#include "kernels/timing.hpp"

namespace {

using namespace santa::gpu;

constexpr int kHeads = 32, kKvHeads = 8, kDim = 128;
// P1: 10 warm-ups, 40 timed calls. SANTA_BENCH_ITERS=k (for profiler runs) times k calls after no warm-up.
int g_warmup = 10, g_iters = 40;
double g_read_ceiling_tbps = 0.0;

// Where K and V lie in device memory (a diagnostic axis, "/layout:L"): 0 = two allocations; 1..4 = one
// allocation holding K then V with V placed 0 / 64 KB / 1 MB / 3 MB + 32 KB past K's end; 5 = V then K.
// kPagedLayout: a paged cache (FlashInfer-style page table) of kBenchPageSize-row pages in a shuffled order.
constexpr int kLayouts = 6;
constexpr int kPagedLayout = 6;
constexpr int kBenchPageSize = 16;
size_t layout_gap(int layout) {
  switch (layout) {
    case 2: return size_t{64} << 10;
    case 3: return size_t{1} << 20;
    case 4: return (size_t{3} << 20) + (size_t{32} << 10);
    default: return 0;
  }
}

// The inputs of one (batch, context, layout) point; only one is alive at a time (benchmarks run in order).
struct Inputs {
  int batch = 0;
  int64_t n = 0;
  int layout = 0;
  DeviceBuffer q, k, v, kv, out, lens, pages, rec_rows, rec_samples;
  DecodeProblem problem;
  std::unique_ptr<DecodeWorkspace> ws;
};

Inputs& inputs_for(int batch, int64_t n, int layout = 0) {
  static std::unique_ptr<Inputs> cur;
  if (cur && cur->batch == batch && cur->n == n && cur->layout == layout) return *cur;
  cur.reset();  // free the previous point's memory first
  cur = std::make_unique<Inputs>();
  Inputs& in = *cur;
  in.batch = batch;
  in.n = n;
  in.layout = layout;
  const int64_t kv_elems = static_cast<int64_t>(batch) * n * kKvHeads * kDim;
  const size_t kv_bytes = static_cast<size_t>(kv_elems) * 2;
  in.q = DeviceBuffer(static_cast<size_t>(batch) * kHeads * kDim * 2);
  in.out = DeviceBuffer(in.q.size());
  void* k = nullptr;
  void* v = nullptr;
  if (layout == 0 || layout == kPagedLayout) {
    in.k = DeviceBuffer(kv_bytes);
    in.v = DeviceBuffer(kv_bytes);
    k = in.k.data();
    v = in.v.data();
  } else {
    in.kv = DeviceBuffer(2 * kv_bytes + layout_gap(layout));
    char* base = in.kv.as<char>();
    k = layout == 5 ? base + kv_bytes : base;
    v = layout == 5 ? base : base + kv_bytes + layout_gap(layout);
  }
  fill_normal(in.q.data(), static_cast<int64_t>(batch) * kHeads * kDim, DType::bf16, 1);
  fill_normal(k, kv_elems, DType::bf16, 2);
  fill_normal(v, kv_elems, DType::bf16, 3);
  in.lens = to_device(std::vector<int32_t>(static_cast<size_t>(batch), static_cast<int32_t>(n)));
  in.rec_rows = DeviceBuffer(sizeof(int32_t) * batch * kKvHeads);
  in.rec_samples = DeviceBuffer(sizeof(int32_t) * batch * kHeads);
  DecodeProblem& p = in.problem;
  p.batch = batch;
  p.num_heads = kHeads;
  p.num_kv_heads = kKvHeads;
  p.head_dim = kDim;
  p.dtype = DType::bf16;
  p.q = in.q.data();
  p.out = in.out.data();
  p.kv.k = k;
  p.kv.v = v;
  p.kv.max_len = n;
  p.kv.seq_lens = in.lens.as<int32_t>();
  if (layout == kPagedLayout) {  // the same buffers as batch x n / page_size pages, in a fixed shuffled order
    const int per_seq = static_cast<int>((n + kBenchPageSize - 1) / kBenchPageSize);
    std::vector<int32_t> order(static_cast<size_t>(batch) * per_seq);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(2026));
    in.pages = to_device(order);
    p.kv.max_len = 0;
    p.kv.paged = true;
    p.kv.page_size = kBenchPageSize;
    p.kv.max_pages_per_seq = per_seq;
    p.kv.page_table = in.pages.as<int32_t>();
  }
  WorkspaceLimits l;
  l.max_batch = batch;
  l.num_heads = kHeads;
  l.num_kv_heads = kKvHeads;
  l.head_dim = kDim;
  l.max_len = n;
  l.min_tile = 64;
  l.score_prefix = true;  // the two-pass and persistent prop variants (61-63, 65, 70-72)
  in.ws = std::make_unique<DecodeWorkspace>(l);
  return in;
}

L2Flusher& flusher() {
  static L2Flusher f;
  return f;
}

struct Point {
  KernelFamily family;
  int batch;
  int64_t n;
  int64_t samples = 0;  // S
  bool variant = false; // prop: largest remainder; flash: reference budget
  int chunks = 0;       // 0 = automatic
  int prefetch = -1;    // L2 prefetch distance in steps; -1 = the library's default
  int kernel_variant = 0;  // LaunchOptions::variant
  int layout = 0;          // where K and V lie (layout_gap)
};

std::string point_name(const Point& pt) {
  std::string s = to_string(pt.family);
  if (pt.family == KernelFamily::prop) s += pt.variant ? "_lr" : "_gs";
  if (pt.family == KernelFamily::flash && pt.variant) s += "_ref";
  if (pt.family != KernelFamily::dense) s += "/S:" + std::to_string(pt.samples);
  s += "/B:" + std::to_string(pt.batch) + "/n:" + std::to_string(pt.n);
  if (pt.chunks > 0) s += "/chunks:" + std::to_string(pt.chunks);
  if (pt.prefetch >= 0) s += "/pf:" + std::to_string(pt.prefetch);
  if (pt.kernel_variant > 0) s += "/v:" + std::to_string(pt.kernel_variant);
  if (pt.layout > 0) s += "/layout:" + std::to_string(pt.layout);
  return s;
}

void run_point(benchmark::State& state, Point pt);

// SANTA_PHASE_CLOCK=1: one more (untimed, cold-L2) call of each sampling point records clock64() at the phase
// boundaries of every CTA (SamplingRecord::phase_clock); the counters give each phase's mean duration per CTA
// (us at the peak SM clock), the mean CTA life, and the launch's span over the mean number of CTAs in flight.
void phase_counters(benchmark::State& state, const std::function<void(int64_t*)>& launch_recorded, int64_t ctas) {
  // Phases kPhaseKeys..kPhaseEnd (PhaseClockSlot), each measured from the previous mark the CTA recorded.
  static const char* const kNames[] = {"", "keys", "stats", "budgets", "counts", "compact", "gather", "merged", "end"};
  const int slots = kPhaseClockSlots;
  DeviceBuffer buf(sizeof(int64_t) * ctas * slots);
  buf.fill_bytes(0);
  flusher().flush();
  launch_recorded(buf.as<int64_t>());
  const std::vector<int64_t> rec = buf.download_vector<int64_t>(static_cast<size_t>(ctas * slots));
  const double us_per_clock = 1e3 / device_info().sm_clock_khz;
  std::vector<double> sum(9, 0.0);
  double life = 0.0, keys_min = 1e30, keys_max = 0.0, life_ns = 0.0;
  int64_t t0 = INT64_MAX, t1 = 0, start_last = 0;
  for (int64_t c = 0; c < ctas; ++c) {
    const int64_t* r = rec.data() + c * slots;
    int64_t prev = r[kPhaseStart];
    for (int k = kPhaseKeys; k <= kPhaseEnd; ++k) {
      if (r[k] == 0) continue;  // a phase this CTA did not run (or the merge of a CTA that did not merge)
      sum[k] += static_cast<double>(r[k] - prev);
      prev = r[k];
    }
    life += static_cast<double>(r[kPhaseEnd] - r[kPhaseStart]);
    life_ns += static_cast<double>(r[kPhaseGlobalEnd] - r[kPhaseGlobalStart]);
    if (r[kPhaseKeys] != 0) {
      keys_min = std::min(keys_min, static_cast<double>(r[kPhaseKeys] - r[kPhaseStart]));
      keys_max = std::max(keys_max, static_cast<double>(r[kPhaseKeys] - r[kPhaseStart]));
    }
    start_last = std::max(start_last, r[kPhaseGlobalStart]);
    t0 = std::min(t0, r[kPhaseGlobalStart]);
    t1 = std::max(t1, r[kPhaseGlobalEnd]);
  }
  for (int k = kPhaseKeys; k <= kPhaseEnd; ++k) {
    if (sum[k] > 0) state.counters[std::string("ph_") + kNames[k] + "_us"] = sum[k] / ctas * us_per_clock;
  }
  const double span_us = static_cast<double>(t1 - t0) * 1e-3;
  state.counters["cta_life_us"] = life / ctas * us_per_clock;
  state.counters["span_us"] = span_us;
  // The spread of the key phase over CTAs (the whole-row kernel: its stream) and of the CTAs' start times.
  if (keys_max > 0) {
    state.counters["ph_keys_min_us"] = keys_min * us_per_clock;
    state.counters["ph_keys_max_us"] = keys_max * us_per_clock;
  }
  // The SM clock the CTAs really ran at (their clock64 cycles over their global-timer lifetime), against which
  // the clock-based phase times above are converted with the nominal clock.
  if (life_ns > 0) state.counters["sm_clock_mhz"] = life / life_ns * 1e3;
  state.counters["start_spread_us"] = static_cast<double>(start_last - t0) * 1e-3;
  state.counters["ctas_in_flight"] = span_us > 0 ? life * us_per_clock / span_us : 0.0;
}

// A point the GPU or the workspace cannot take (e.g. more chunks than SMs for prop) is skipped, not fatal.
void run_point_checked(benchmark::State& state, Point pt) {
  try {
    run_point(state, pt);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void run_point(benchmark::State& state, Point pt) {
  Inputs& in = inputs_for(pt.batch, pt.n, pt.layout);
  LaunchOptions lo;
  lo.num_chunks = pt.chunks;
  lo.prefetch_steps = pt.prefetch;
  lo.variant = pt.kernel_variant;
  SamplingRng rng{2026, 0, nullptr};
  SamplingRecord rec;
  auto launch = [&] {
    switch (pt.family) {
      case KernelFamily::dense:
        dense_decode(in.problem, *in.ws, lo);
        break;
      case KernelFamily::flash: {
        FlashParams fp;
        fp.samples = pt.samples;
        fp.budget = pt.variant ? FlashBudget::reference : FlashBudget::exact_total;
        flash_decode(in.problem, fp, rng, *in.ws, rec, lo);
        break;
      }
      case KernelFamily::prop: {
        PropParams pp;
        pp.samples = pt.samples;
        pp.budget = pt.variant ? PropBudget::largest_remainder : PropBudget::global_systematic;
        prop_decode(in.problem, pp, rng, *in.ws, rec, lo);
        break;
      }
    }
  };
  // Bytes the call must read. Distinct V rows come from one recorded (untimed) call.
  const double kv_row = 2.0 * kDim;
  const double k_bytes = static_cast<double>(pt.batch) * pt.n * kKvHeads * kv_row;
  double v_rows = static_cast<double>(pt.batch) * pt.n * kKvHeads;
  const int tile = pt.family == KernelFamily::prop ? PropParams{}.tile : FlashParams{}.tile;
  const SplitInfo split = split_info(pt.family, in.problem, tile, *in.ws, lo);
  const bool diagnostic = (pt.kernel_variant >= 11 && pt.kernel_variant <= 13) ||
                          (pt.family == KernelFamily::prop && ((pt.kernel_variant >= 67 && pt.kernel_variant <= 69) ||
                                                               pt.kernel_variant == 73));
  if (pt.family != KernelFamily::dense && diagnostic) v_rows = 0;  // diagnostics gather nothing
  // The two-pass prop (61-63, 65) and the one-stream flash (64) record no distinct rows; they draw the default kernel's
  // counts (tested), so the default's record gives the same rows.
  // The persistent prop (70-72) likewise.
  const bool two_pass = pt.family == KernelFamily::prop && ((pt.kernel_variant >= 61 && pt.kernel_variant <= 63) ||
                                                            pt.kernel_variant == 65 ||
                                                            (pt.kernel_variant >= 70 && pt.kernel_variant <= 72));
  const bool one_stream = pt.family == KernelFamily::flash && pt.kernel_variant == 64;
  if (pt.family != KernelFamily::dense && !diagnostic) {
    rec.distinct_rows = in.rec_rows.as<int32_t>();
    rec.samples_drawn = in.rec_samples.as<int32_t>();
    const int asked = lo.variant;
    if (two_pass || one_stream) lo.variant = 0;
    launch();
    lo.variant = asked;
    v_rows = 0;
    for (int32_t r : in.rec_rows.download_vector<int32_t>(static_cast<size_t>(pt.batch) * kKvHeads)) v_rows += r;
    double drawn = 0;
    for (int32_t s : in.rec_samples.download_vector<int32_t>(static_cast<size_t>(pt.batch) * kHeads)) drawn += s;
    state.counters["samples_per_head"] = drawn / (pt.batch * kHeads);
    rec = SamplingRecord{};
  }
  // written + merged; the two-pass prop writes no partials, but each tile's prefix (4 bytes per key and head, reported
  // apart as extra_bytes: traffic of the method, not bytes the call must read) and reads those of the sampled tiles.
  const double partials = two_pass ? 0.0 : 2.0 * pt.batch * kHeads * split.num_chunks * (kDim + 2) * 4.0;
  state.counters["extra_bytes"] = two_pass ? 4.0 * pt.batch * kHeads * static_cast<double>(pt.n) : 0.0;
  const double tiles = pt.family == KernelFamily::prop ? 2.0 * pt.batch * kHeads * ((pt.n + tile - 1) / tile) * 8.0 : 0.0;
  const double bytes = k_bytes + v_rows * kv_row + 2.0 * pt.batch * kHeads * kDim * 2 + partials + tiles;
  for (int i = 0; i < g_warmup; ++i) {
    flusher().flush();
    launch();
  }
  std::vector<double> us;
  for (auto _ : state) {
    const double t = time_once_us(launch, flusher());
    state.SetIterationTime(t * 1e-6);
    us.push_back(t);
  }
  const bool rows_kernel = pt.family == KernelFamily::dense && (pt.kernel_variant == 7 || pt.kernel_variant == 29 ||
                                                              pt.kernel_variant == 31 || pt.kernel_variant == 32);
  if (std::getenv("SANTA_PHASE_CLOCK") != nullptr && (pt.family != KernelFamily::dense || rows_kernel) && !diagnostic &&
      !two_pass) {
    phase_counters(
        state,
        [&](int64_t* clocks) {
          rec.phase_clock = clocks;
          lo.phase_clock = clocks;
          launch();
          rec = SamplingRecord{};
          lo.phase_clock = nullptr;
        },
        split.ctas);
  }
  const double med = median(us);
  state.counters["median_us"] = med;
  state.counters["mean_us"] = mean(us);
  state.counters["bytes"] = bytes;
  state.counters["k_bytes"] = k_bytes;
  state.counters["v_rows"] = v_rows;
  state.counters["tbps"] = bytes / (med * 1e-6) / 1e12;
  state.counters["frac_read_ceiling"] = g_read_ceiling_tbps > 0 ? bytes / (med * 1e-6) / 1e12 / g_read_ceiling_tbps : 0.0;
  state.counters["chunks"] = split.num_chunks;
  state.counters["rows_per_chunk"] = split.rows_per_chunk;
  state.counters["S"] = static_cast<double>(pt.samples);
  state.counters["batch"] = pt.batch;
  state.counters["n_k"] = static_cast<double>(pt.n);
}

std::vector<Point> grid() {
  std::vector<Point> v;
  auto add_all = [&](int b, int64_t n) {
    v.push_back({KernelFamily::dense, b, n});
    for (int64_t S : {128, 256, 1024}) v.push_back({KernelFamily::prop, b, n, S});
    v.push_back({KernelFamily::prop, b, n, 128, true});
    for (int64_t S : {256, 1024, 2048}) v.push_back({KernelFamily::flash, b, n, S});
    v.push_back({KernelFamily::flash, b, n, 2048, true});
  };
  for (int64_t n : {4096, 8192, 16384, 32768, 65536, 131072}) add_all(1, n);
  for (int64_t n : {8192, 32768, 131072}) add_all(4, n);
  for (int64_t n : {8192, 32768, 65536}) add_all(16, n);
  // The dense kernels forced: whole rows per (chunk, sequence) (7), per KV head (8, what the default runs),
  // whole rows over equal shares of the batch, a CTA per SM (29).
  for (int variant : {7, 8, 29}) {
    for (int64_t n : {8192, 32768, 131072}) v.push_back({KernelFamily::dense, 4, n, 0, false, 0, -1, variant});
    for (int64_t n : {8192, 32768, 65536}) v.push_back({KernelFamily::dense, 16, n, 0, false, 0, -1, variant});
  }
  for (int64_t n : {8192, 32768, 131072}) v.push_back({KernelFamily::dense, 1, n, 0, false, 0, -1, 29});
  // The whole-row stream alone (31: variant 29 without scores and P.V; its output is zeros).
  // The same stream with the steps dealt round-robin (32: all CTAs sweep one window, as the bulk probe does).
  for (int b : {4, 16}) {
    for (int variant : {31, 32}) v.push_back({KernelFamily::dense, b, 32768, 0, false, 0, -1, variant});
  }
  // The per-KV-head kernel streaming through cp.async into per-warp rings (33): its own split (one CTA per SM;
  // B = 16 -> one CTA per sequence and KV head, as cuDNN's kernel), a few others, and one step ahead (pf:1).
  for (int64_t n : {8192, 32768, 131072}) {
    for (int b : {1, 4}) v.push_back({KernelFamily::dense, b, n, 0, false, 0, -1, 33});
  }
  for (int64_t n : {8192, 65536}) v.push_back({KernelFamily::dense, 16, n, 0, false, 0, -1, 33});
  for (int b : {1, 4, 16}) {
    v.push_back({KernelFamily::dense, b, 32768, 0, false, 0, 1, 33});
    for (int c : {1, 2, 4, 8, 16, 32}) v.push_back({KernelFamily::dense, b, 32768, 0, false, c, -1, 33});
  }
  v.push_back({KernelFamily::dense, 16, 32768, 0, false, 0, -1, 33});
  // 34 = 33 in lock step (a block barrier per step), 35 = V issued after the current scores, 36 = both.
  for (int b : {1, 4, 16}) {
    for (int variant : {34, 35, 36}) {
      v.push_back({KernelFamily::dense, b, 32768, 0, false, 0, -1, variant});
      v.push_back({KernelFamily::dense, b, 32768, 0, false, 0, 1, variant});
    }
  }
  for (int variant : {34, 36}) {
    for (int c : {2, 8}) v.push_back({KernelFamily::dense, 16, 32768, 0, false, c, -1, variant});
  }
  // Diagnostics: 37-40 = 33-36 with rows not swizzled in shared memory, 41 = copies without the zero-fill operand
  // (call 43: v:33 asked L2 for every sector twice).
  // 42 = the dense kernel's loads with the L2 256-byte prefetch hint (its default before call 44); 43 = the
  // sampling kernels' key loads without it.
  for (int b : {1, 4, 16}) {
    for (int variant : {37, 38, 39, 40, 41, 42}) v.push_back({KernelFamily::dense, b, 32768, 0, false, 0, -1, variant});
  }
  for (int64_t n : {8192, 131072}) v.push_back({KernelFamily::dense, 4, n, 0, false, 0, -1, 42});
  for (int64_t n : {8192, 65536}) v.push_back({KernelFamily::dense, 16, n, 0, false, 0, -1, 42});
  const auto add_43 = [&](int b, int64_t n) {
    v.push_back({KernelFamily::prop, b, n, 128, false, 0, -1, 43});
    v.push_back({KernelFamily::flash, b, n, 2048, false, 0, -1, 43});
  };
  for (int64_t n : {8192, 32768, 131072}) {
    add_43(1, n);
    add_43(4, n);
  }
  for (int64_t n : {8192, 32768, 65536}) add_43(16, n);
  // 44 = the default dense kernel with a block barrier per 128 keys; at 1 chunk per (sequence, KV head) this is
  // cuDNN's grid and read order (call 41) with register loads.
  for (int b : {1, 4, 16}) {
    for (int c : {0, 1, 2, 4}) v.push_back({KernelFamily::dense, b, 32768, 0, false, c, -1, 44});
    for (int c : {1, 2, 4}) v.push_back({KernelFamily::dense, b, 32768, 0, false, c});
  }
  v.push_back({KernelFamily::dense, 16, 65536, 0, false, 0, -1, 44});
  // 45 = the dense kernel loading a warp's next 16-key step before computing the current one (two steps in flight,
  // one CTA per SM; call 47: one chunk per (sequence, KV head) read 87 % of peak DRAM with 8 warps per SM).
  for (int b : {1, 4, 16}) {
    for (int c : {0, 1, 2, 4, 8, 16, 32}) v.push_back({KernelFamily::dense, b, 32768, 0, false, c, -1, 45});
    for (int64_t n : {8192, 131072}) v.push_back({KernelFamily::dense, b, b == 16 && n == 131072 ? 65536 : n, 0, false, 0, -1, 45});
  }
  // 49 / 50 = v:33 with the copies' L2 128-byte / 256-byte prefetch-size hint, 51 = 49 in lock step (cuDNN's LDGSTS
  // carry the 128-byte hint; v:33's made L2 look up every sector twice, call 43).
  for (int b : {1, 4, 16}) {
    for (int variant : {49, 50, 51}) v.push_back({KernelFamily::dense, b, 32768, 0, false, 0, -1, variant});
  }
  for (int variant : {49, 51}) v.push_back({KernelFamily::dense, 16, 65536, 0, false, 0, -1, variant});
  // 52 / 53 = cuDNN's structure (128-thread CTAs, CTA-wide 128-key K and V tiles through cp.async, 2 / 3 tiles in
  // the ring), 54 = one K and one V buffer used alternately (cuDNN's 87 KB); their own split (one CTA per SM:
  // cuDNN's grid at B = 16) and a few others.
  // 55 = v:33 and 56 = v:52 with the other copy order (55: cuDNN's four 128-byte pieces per warp-wide copy; 56: two
  // 256-byte rows); 57 = v:52 with its ring 16 bytes off the 128-byte alignment (where all rings lay before call 56).
  for (int b : {1, 4, 16}) {
    for (int variant : {55, 56, 57}) v.push_back({KernelFamily::dense, b, 32768, 0, false, 0, -1, variant});
  }
  for (int variant : {52, 53, 54}) {
    for (int b : {1, 4, 16}) {
      for (int c : {0, 1, 2, 4}) v.push_back({KernelFamily::dense, b, 32768, 0, false, c, -1, variant});
      for (int64_t n : {8192, 131072}) v.push_back({KernelFamily::dense, b, b == 16 && n == 131072 ? 65536 : n, 0, false, 0, -1, variant});
    }
  }
  // Whether the whole-row kernels' speed depends on where K and V lie (layouts), and on the steps in flight
  // (prefetch 1 = one step ahead instead of two), against the per-KV-head kernel on the same buffers.
  for (int layout = 0; layout < kLayouts; ++layout) {
    if (layout > 0) {  // layout 0 is in the grid above
      for (int variant : {8, 29}) v.push_back({KernelFamily::dense, 16, 32768, 0, false, 0, -1, variant, layout});
    }
    v.push_back({KernelFamily::dense, 16, 32768, 0, false, 0, 1, 29, layout});
  }
  // Split-factor and prefetch-distance sweeps at 32k (auto/default are in the grid above).
  for (int b : {1, 4, 16}) {
    for (int c : {8, 16, 32, 64}) {
      v.push_back({KernelFamily::dense, b, 32768, 0, false, c});
      v.push_back({KernelFamily::prop, b, 32768, 128, false, c});
      v.push_back({KernelFamily::flash, b, 32768, 2048, false, c});
    }
    for (int pf : {1, 2}) v.push_back({KernelFamily::dense, b, 32768, 0, false, 0, pf});
    // 3 CTAs/SM sampling variant (chunks of <= 2048 keys so that 3 CTAs fit in shared memory).
    for (int c : {0, 16, 32, 48, 64}) {
      if ((c == 0 || c == 48 || c == 64) != (b == 1)) continue;
      v.push_back({KernelFamily::prop, b, 32768, 128, false, c, -1, 1});
      v.push_back({KernelFamily::flash, b, 32768, 2048, false, c, -1, 1});
    }
    // One head (2) / several heads (3) per warp task in the phases after the key stream, against the default
    // (which picks one of the two by the task count); tile statistics (flash: and counts) after the key stream
    // instead of inside it (16).
    for (int variant : {2, 3, 16}) {
      v.push_back({KernelFamily::prop, b, 32768, 128, false, 0, -1, variant});
      v.push_back({KernelFamily::flash, b, 32768, 2048, false, 0, -1, variant});
    }
    // 16 / 32 / 48 KB of unused shared memory per CTA (21-23): how the key stream depends on the L1 that the
    // shared-memory carveout leaves (call 29).
    for (int variant : {21, 22, 23}) {
      v.push_back({KernelFamily::dense, b, 32768, 0, false, 0, -1, variant});
      v.push_back({KernelFamily::prop, b, 32768, 128, false, 0, -1, variant});
      v.push_back({KernelFamily::prop, b, 32768, 128, false, 16, -1, variant});
      v.push_back({KernelFamily::flash, b, 32768, 2048, false, 0, -1, variant});
    }
    // Dense reading whole cache rows, a CTA per (chunk, sequence) (7), at several splits.
    for (int c : {16, 32, 64}) v.push_back({KernelFamily::dense, b, 32768, 0, false, c, -1, 7});
    // KV heads first in the CTA order (4): the CTAs that run together read whole cache rows.
    v.push_back({KernelFamily::dense, b, 32768, 0, false, 0, -1, 4});
    v.push_back({KernelFamily::prop, b, 32768, 128, false, 0, -1, 4});
    v.push_back({KernelFamily::flash, b, 32768, 2048, false, 0, -1, 4});
    // Where the time goes: the sampling kernels stopped after the key stream (11), the budgets (12), the
    // counts and compaction (13); no output is written in these runs.
    if (b != 4) {
      for (int stop : {11, 12, 13}) {
        v.push_back({KernelFamily::prop, b, 32768, 128, false, 0, -1, stop});
        v.push_back({KernelFamily::flash, b, 32768, 2048, false, 0, -1, stop});
      }
    }
  }
  // prop in two launches (61 / 62 / 63: a key stream with the tile kernel's structure writing the tile prefixes, then
  // CTAs per query head over the sampled tiles: 256 threads x 2 per SM / 128 x 4 / a binary search per sample), at
  // the table's points, at S = 1024 and on the paged cache.
  for (int variant : {61, 62, 63, 65}) {
    for (int64_t n : {8192, 32768, 65536, 131072}) v.push_back({KernelFamily::prop, 1, n, 128, false, 0, -1, variant});
    for (int64_t n : {8192, 32768, 131072}) v.push_back({KernelFamily::prop, 4, n, 128, false, 0, -1, variant});
    for (int64_t n : {8192, 32768, 65536}) v.push_back({KernelFamily::prop, 16, n, 128, false, 0, -1, variant});
    for (int b : {1, 4, 16}) v.push_back({KernelFamily::prop, b, 32768, 1024, false, 0, -1, variant});
    for (int b : {4, 16}) v.push_back({KernelFamily::prop, b, 32768, 128, false, 0, -1, variant, kPagedLayout});
  }
  // prop in one persistent launch (70: K marked evict-first in L2 so the prefix ring stays there; 71: no cache hints;
  // 72: 70 with the prefix stores evict-last) at the table's points, at S = 1024, on the paged cache, and v:70 with
  // stream items of 4096 / 1024 / 512 keys at B = 16, 32k (chunks 8 / 32 / 64; automatic: 2048).
  for (int variant : {70, 71, 72}) {
    for (int64_t n : {8192, 32768, 65536, 131072}) v.push_back({KernelFamily::prop, 1, n, 128, false, 0, -1, variant});
    for (int64_t n : {8192, 32768, 131072}) v.push_back({KernelFamily::prop, 4, n, 128, false, 0, -1, variant});
    for (int64_t n : {8192, 32768, 65536}) v.push_back({KernelFamily::prop, 16, n, 128, false, 0, -1, variant});
    for (int b : {1, 4, 16}) v.push_back({KernelFamily::prop, b, 32768, 1024, false, 0, -1, variant});
    for (int b : {4, 16}) v.push_back({KernelFamily::prop, b, 32768, 128, false, 0, -1, variant, kPagedLayout});
  }
  for (int c : {8, 32, 64}) v.push_back({KernelFamily::prop, 16, 32768, 128, false, c, -1, 70});
  // 70 whose sample items only wait for their stream (diagnostic 73): what the sampling work costs the grid.
  for (int b : {4, 16}) v.push_back({KernelFamily::prop, b, 32768, 128, false, 0, -1, 73});
  // Pass 1 of v:63 alone (diagnostics): prefixes written as v:63 does (67), into an 8 MB ring (68), not at all (69).
  for (int b : {4, 16}) {
    for (int variant : {67, 68, 69}) v.push_back({KernelFamily::prop, b, 32768, 128, false, 0, -1, variant});
  }
  // flash in one key stream (64: the tile kernel's key stream with each super tile's budgets, counts and value gather
  // inside it) at the table's points, at S = 128 and on the paged cache.
  for (int64_t n : {8192, 32768, 65536, 131072}) v.push_back({KernelFamily::flash, 1, n, 2048, false, 0, -1, 64});
  for (int64_t n : {8192, 32768, 131072}) v.push_back({KernelFamily::flash, 4, n, 2048, false, 0, -1, 64});
  for (int64_t n : {8192, 32768, 65536}) v.push_back({KernelFamily::flash, 16, n, 2048, false, 0, -1, 64});
  for (int b : {1, 4, 16}) v.push_back({KernelFamily::flash, b, 32768, 128, false, 0, -1, 64});
  for (int b : {4, 16}) v.push_back({KernelFamily::flash, b, 32768, 2048, false, 0, -1, 64, kPagedLayout});
  // A paged cache (pages of 16 rows, shuffled): the default dense kernel (the tile kernel's per-warp page lookup), the
  // register kernel (8) and the sampling kernels.
  for (int b : {4, 16}) {
    for (int variant : {0, 8}) v.push_back({KernelFamily::dense, b, 32768, 0, false, 0, -1, variant, kPagedLayout});
    v.push_back({KernelFamily::prop, b, 32768, 128, false, 0, -1, 0, kPagedLayout});
    v.push_back({KernelFamily::flash, b, 32768, 2048, false, 0, -1, 0, kPagedLayout});
  }
  // The fused key stream through a cp.async ring of 4 / 6 / 8 half steps per warp (58-60) at several splits: 64 / 96 /
  // 128 KB more shared memory at d = 128 (prop's 4096-key chunks then fit one CTA per SM, 2048-key chunks two with
  // 58).
  for (int b : {1, 4, 16}) {
    for (int64_t n : {32768, 65536}) {
      if (n == 65536 && b != 16) continue;
      for (int variant : {58, 59, 60}) {
        for (int c : {0, 8, 16, 32}) {
          v.push_back({KernelFamily::prop, b, n, 128, false, c, -1, variant});
          v.push_back({KernelFamily::flash, b, n, 2048, false, c, -1, variant});
        }
      }
    }
  }
  // The fused stream against the old order (16) at batch 1 beyond 32k and at short contexts.
  for (int64_t n : {4096, 8192, 131072}) {
    v.push_back({KernelFamily::prop, 1, n, 128, false, 0, -1, 16});
    v.push_back({KernelFamily::flash, 1, n, 2048, false, 0, -1, 16});
  }
  // Variants 2 / 3 at batch 1 and short contexts, where the fixed per-call cost dominates.
  for (int64_t n : {4096, 8192}) {
    for (int variant : {2, 3}) {
      v.push_back({KernelFamily::prop, 1, n, 128, false, 0, -1, variant});
      v.push_back({KernelFamily::prop, 1, n, 128, true, 0, -1, variant});
      v.push_back({KernelFamily::flash, 1, n, 2048, false, 0, -1, variant});
    }
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (const char* it = std::getenv("SANTA_BENCH_ITERS")) {
    g_iters = std::max(1, std::atoi(it));
    g_warmup = 0;
  }
  if (!gpu_available()) {
    std::printf("santa_bench_kernels: no GPU, nothing to measure\n");
    return 0;
  }
  const DeviceInfo info = device_info();
  const BandwidthCeiling bw = measure_bandwidth(std::size_t{2} << 30, 20);
  g_read_ceiling_tbps = bw.ceiling_tbps();  // frac_read_ceiling: against the better of the two read probes
  benchmark::AddCustomContext("gpu", info.name);
  benchmark::AddCustomContext("sm_count", std::to_string(info.sm_count));
  benchmark::AddCustomContext("l2_bytes", std::to_string(info.l2_bytes));
  benchmark::AddCustomContext("driver_version", std::to_string(info.driver_version));
  benchmark::AddCustomContext("read_ceiling_tbps", std::to_string(bw.ceiling_tbps()));
  benchmark::AddCustomContext("load_read_tbps", std::to_string(bw.read_tbps));
  benchmark::AddCustomContext("bulk_read_tbps", std::to_string(bw.bulk_read_tbps));
  benchmark::AddCustomContext("copy_ceiling_tbps", std::to_string(bw.copy_tbps));
  benchmark::AddCustomContext("l2_flush_bytes", std::to_string(flusher().bytes()));
  std::printf("GPU %s: streaming read %.3f TB/s (16-byte loads), %.3f TB/s (bulk copies), D2D copy %.3f TB/s "
              "(read+write), %d SMs\n",
              info.name.c_str(), bw.read_tbps, bw.bulk_read_tbps, bw.copy_tbps, info.sm_count);
  for (const Point& pt : grid()) {
    benchmark::RegisterBenchmark(point_name(pt).c_str(), run_point_checked, pt)
        ->UseManualTime()
        ->Iterations(g_iters)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
