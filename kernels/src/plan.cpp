#include "kernels/detail/plan.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace santa::gpu::detail {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

int log2_exact(int x) {
  int s = 0;
  while ((1 << s) < x) ++s;
  return s;
}

// The chunk count in [first, last] minimising waves x (keys per CTA + a per-CTA fixed cost in key equivalents)
// when `groups` x chunks CTAs share `slots` resident places; `first` when the range is empty.
int64_t cheapest_split(int64_t units, int unit, int64_t first, int64_t last, int64_t groups, int64_t slots,
                       int64_t cost_rows) {
  int64_t chunks = first;
  double best = -1.0;
  for (int64_t c = first; c <= last; ++c) {
    const int64_t per = ceil_div(units, c);
    const int64_t waves = ceil_div(groups * ceil_div(units, per), slots);
    const double cost = static_cast<double>(waves) * static_cast<double>(per * unit + cost_rows);
    if (best < 0.0 || cost < best) {
      best = cost;
      chunks = c;
    }
  }
  return chunks;
}

// The cheapest dense chunk count when `groups` x chunks CTAs run one per SM (the whole-row and cp.async kernels).
int one_per_sm_chunks(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, int64_t groups) {
  const int64_t units = ceil_div(max_sequence_length(problem), kDenseUnit);
  return static_cast<int>(cheapest_split(units, kDenseUnit, 1, std::min<int64_t>(limits.max_chunks, units), groups,
                                         std::max(1, sm_count), kDenseCtaCostRows));
}

}  // namespace

Plan make_plan(KernelFamily family, const DecodeProblem& problem, int tile, const WorkspaceLimits& limits,
               int sm_count, int requested_chunks, int key_ring_slots) {
  Plan plan;
  plan.n_max = max_sequence_length(problem);
  const int G = problem.num_heads / problem.num_kv_heads;
  const bool sampling = family != KernelFamily::dense;
  plan.unit = sampling ? tile : kDenseUnit;
  const int64_t units = ceil_div(plan.n_max, plan.unit);
  const int cap_rows = family == KernelFamily::prop ? kPropRowsCap : family == KernelFamily::flash ? kFlashRowsCap : kDenseRowsCap;
  const int cap_units = std::max(1, cap_rows / plan.unit);
  int limit = limits.max_chunks;
  if (family == KernelFamily::prop) limit = std::min(limit, std::max(1, sm_count));
  const int64_t min_chunks = ceil_div(units, cap_units);
  int64_t chunks;
  if (requested_chunks > limit) {
    throw std::invalid_argument("LaunchOptions::num_chunks = " + std::to_string(requested_chunks) + "; allowed: 1.." +
                                std::to_string(limit) +
                                " for this kernel and workspace (prop: at most one CTA per SM per sequence and KV head)");
  }
  if (requested_chunks > 0) {
    chunks = requested_chunks;
  } else {
    const int64_t groups = static_cast<int64_t>(problem.batch) * problem.num_kv_heads;
    const int64_t slots = static_cast<int64_t>(std::max(1, sm_count)) * (problem.head_dim <= 128 ? 2 : 1);
    const int64_t cost_rows = sampling ? kSamplingCtaCostRows : kDenseCtaCostRows;
    chunks = cheapest_split(units, plan.unit, std::min<int64_t>(min_chunks, limit), std::min<int64_t>(limit, units),
                            groups, slots, cost_rows);
  }
  chunks = std::min<int64_t>(chunks, units);
  if (chunks > limit) chunks = limit;
  const int64_t per = ceil_div(units, chunks);
  plan.num_chunks = static_cast<int>(ceil_div(units, per));  // no chunk of the longest sequence is empty
  plan.rows_max = static_cast<int>(per * plan.unit);
  if (sampling && plan.rows_max > 65536) {
    throw std::invalid_argument("sequence of " + std::to_string(plan.n_max) + " keys needs " +
                                std::to_string(plan.rows_max) + " keys per CTA with at most " + std::to_string(limit) +
                                " CTAs per sequence and KV head; the sampling kernels allow at most 65536 "
                                "(raise WorkspaceLimits::max_chunks or use a GPU with more SMs)");
  }
  if (sampling) {
    const SamplingSmem s = sampling_smem(G, plan.rows_max, tile, problem.head_dim, plan.num_chunks, key_ring_slots);
    plan.smem_bytes = s.total_floats * sizeof(float);
  } else {
    plan.smem_bytes = std::max(dense_smem_floats(G, problem.head_dim), merge_smem_floats(plan.num_chunks, G)) * sizeof(float);
  }
  constexpr std::size_t kSmemLimit = 200 * 1024;  // below the 227 KB opt-in limit of sm_80/sm_90
  if (plan.smem_bytes > kSmemLimit) {
    throw std::invalid_argument("this call needs " + std::to_string(plan.smem_bytes) +
                                " bytes of shared memory per CTA (more than " + std::to_string(kSmemLimit) +
                                "); use more chunks (LaunchOptions::num_chunks) or a smaller head_dim/group");
  }
  return plan;
}

int rows_variant_chunks(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count) {
  return one_per_sm_chunks(problem, limits, sm_count, problem.batch);
}

RowsSplit rows_split_of(int batch, int64_t steps_per_seq, int ctas) {
  RowsSplit r;
  r.ctas = ctas;
  r.steps_per_seq = steps_per_seq;
  const int64_t total = static_cast<int64_t>(batch) * steps_per_seq;
  for (int b = 0; b < batch; ++b) {
    const int64_t first = rows_cta_of(b * steps_per_seq, total, ctas);
    const int64_t last = rows_cta_of((b + 1) * steps_per_seq - 1, total, ctas);
    r.pieces_max = std::max(r.pieces_max, static_cast<int>(last - first + 1));
  }
  for (int c = 0; c < ctas; ++c) {
    const int64_t t0 = rows_range_begin(c, total, ctas), t1 = rows_range_begin(c + 1, total, ctas);
    if (t1 > t0) r.segments_max = std::max(r.segments_max, static_cast<int>((t1 - 1) / steps_per_seq - t0 / steps_per_seq + 1));
  }
  return r;
}

RowsSplit rows_chunk_split(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count,
                           int requested_chunks) {
  const int chunks = requested_chunks > 0 ? requested_chunks : rows_variant_chunks(problem, limits, sm_count);
  const Plan plan = make_plan(KernelFamily::dense, problem, 0, limits, sm_count, chunks);
  // Each sequence's step space is num_chunks chunks of rows_max keys, so the ranges are exactly the chunks.
  return rows_split_of(problem.batch, static_cast<int64_t>(plan.num_chunks) * (plan.rows_max / 16),
                       problem.batch * plan.num_chunks);
}

RowsSplit rows_balanced_split(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count) {
  const int64_t sps = ceil_div(max_sequence_length(problem), 16);
  const int64_t total = problem.batch * sps;
  // A range of at most (kRowsMaxSegments - 1) x sps steps touches at most kRowsMaxSegments sequences.
  const int64_t fewest = ceil_div(total, (kRowsMaxSegments - 1) * sps);
  int64_t ctas = std::max(fewest, std::min<int64_t>(std::max(1, sm_count), total));
  RowsSplit r = rows_split_of(problem.batch, sps, static_cast<int>(ctas));
  while (r.pieces_max > limits.max_chunks && ctas > fewest) r = rows_split_of(problem.batch, sps, static_cast<int>(--ctas));
  // A CTA per sequence always fits both limits (one piece, one segment each).
  if (r.pieces_max > limits.max_chunks) r = rows_split_of(problem.batch, sps, problem.batch);
  return r;
}

std::size_t rows_smem_bytes(const DecodeProblem& problem, const RowsSplit& split) {
  return std::max(dense_rows_smem_bytes(problem.head_dim),
                  merge_smem_floats(split.pieces_max, problem.num_heads) * sizeof(float));
}

bool rows_kernel_supports(const DecodeProblem& problem, int cc_major) {
  return !problem.kv.paged && problem.num_kv_heads == kRowsKvHeads && problem.head_dim == 128 && cc_major >= 9;
}

bool rows_balanced(const LaunchOptions& launch) { return launch.variant == 29 || launch.variant == 31 || launch.variant == 32; }

RowsSplit rows_split(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count,
                     const LaunchOptions& launch) {
  if (rows_balanced(launch) && launch.num_chunks != 0) {
    throw std::invalid_argument("LaunchOptions::num_chunks = " + std::to_string(launch.num_chunks) + " with variant " +
                                std::to_string(launch.variant) + ", which chooses its own split; allowed: 0");
  }
  const RowsSplit r = rows_balanced(launch) ? rows_balanced_split(problem, limits, sm_count)
                                            : rows_chunk_split(problem, limits, sm_count, launch.num_chunks);
  const std::size_t smem = rows_smem_bytes(problem, r), ring = dense_rows_smem_bytes(problem.head_dim);
  if (smem > ring) {  // the merge's scratch is the ring
    throw std::invalid_argument("the whole-row dense kernel cuts a sequence into " + std::to_string(r.pieces_max) +
                                " pieces, whose merge needs " + std::to_string(smem) + " bytes of shared memory (at most " +
                                std::to_string(ring) + "); use fewer chunks (LaunchOptions::num_chunks)");
  }
  return r;
}
bool use_rows_kernel(const LaunchOptions& launch) { return launch.variant == 7 || rows_balanced(launch); }

bool use_async_kernel(const LaunchOptions& launch) {
  const int v = launch.variant;
  return (v >= 33 && v <= 41) || (v >= 49 && v <= 51) || v == 55;
}

bool async_kernel_supports(const DecodeProblem& problem, int cc_major) { return problem.head_dim == 128 && cc_major >= 8; }

namespace {
// The CTA-wide-tile kernel's variants: ring stages and KernelParams::async_mode (bit 6: copies in cuDNN's order,
// bit 7: the ring 16 bytes off its alignment, which takes 16 more bytes of shared memory).
struct TileVariant {
  int variant, stages, async_mode;
};
constexpr TileVariant kTileVariants[] = {
    {52, 2, 64}, {53, 3, 64}, {54, 1, 64},  // 54: one K and one V buffer
    {56, 2, 0},                             // 52 with two 256-byte rows per warp-wide copy
    {57, 2, 64 + 128},                      // 52 with its ring 16 bytes off the 128-byte alignment
};
const TileVariant* tile_variant(const LaunchOptions& launch) {
  for (const TileVariant& t : kTileVariants) {
    if (t.variant == launch.variant) return &t;
  }
  return nullptr;
}
}  // namespace

int tile_kernel_stages(const LaunchOptions& launch) {
  const TileVariant* t = tile_variant(launch);
  return t != nullptr ? t->stages : 0;
}

DenseLoop dense_loop(const LaunchOptions& launch) {
  switch (launch.variant) {
    case 42: return DenseLoop::l2_hint;
    case 44: return DenseLoop::lockstep;
    case 45: return DenseLoop::pipelined;
    default: return DenseLoop::plain;
  }
}

Plan dense_plan(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, const LaunchOptions& launch) {
  const int tile_stages = tile_kernel_stages(launch);
  const bool one_per_sm = use_async_kernel(launch) || tile_stages > 0 || dense_loop(launch) == DenseLoop::pipelined;
  const int chunks = launch.num_chunks > 0 || !one_per_sm
                         ? launch.num_chunks
                         : one_per_sm_chunks(problem, limits, sm_count,
                                             static_cast<int64_t>(problem.batch) * problem.num_kv_heads);
  Plan plan = make_plan(KernelFamily::dense, problem, 0, limits, sm_count, chunks);
  if (use_async_kernel(launch)) plan.smem_bytes = std::max(plan.smem_bytes, dense_async_smem_bytes(problem.head_dim));
  if (const TileVariant* t = tile_variant(launch)) {
    const std::size_t offset = (t->async_mode & 128) != 0 ? 16 : 0;
    plan.smem_bytes = std::max(plan.smem_bytes, dense_tile_smem_bytes(problem.head_dim, t->stages) + offset);
  }
  return plan;
}

DenseKernel dense_kernel_for(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, int cc_major,
                             const LaunchOptions& launch) {
  const auto as_requested = [&] {
    return DenseKernel{launch, use_rows_kernel(launch) ? Plan{} : dense_plan(problem, limits, sm_count, launch)};
  };
  // Pages of fewer than 16 rows would put the tile kernel on its per-copy address path (not measured fast).
  const bool small_pages = problem.kv.paged && problem.kv.page_size < 16;
  if (launch.variant != 0 || launch.num_chunks != 0 || small_pages || !async_kernel_supports(problem, cc_major)) {
    return as_requested();
  }
  DenseKernel tile{launch, {}};
  tile.launch.variant = 52;
  tile.plan = dense_plan(problem, limits, sm_count, tile.launch);
  return tile.plan.rows_max >= kTileMinKeys ? tile : as_requested();
}

Plan tile_stream_plan(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, int tile,
                      std::size_t smem_bytes, std::size_t static_bytes, int requested_chunks) {
  Plan plan;
  plan.n_max = max_sequence_length(problem);
  plan.unit = score_prefix_super(tile);
  const int64_t units = ceil_div(plan.n_max, plan.unit);
  plan.smem_bytes = smem_bytes;
  // sm_90's shared memory per SM: 228 KB, 1 KB of it reserved per CTA (so 3 CTAs of pass 1 with 2 K tiles, 76 KB
  // each at tile 256 and G = 4, fit; 227 KB here counted 2).
  constexpr std::size_t kSmPerSm = 228 * 1024;
  const int64_t per_sm =
      std::max<int64_t>(1, static_cast<int64_t>(kSmPerSm / (plan.smem_bytes + static_bytes + 1024)));
  if (requested_chunks > limits.max_chunks) {
    throw std::invalid_argument("LaunchOptions::num_chunks = " + std::to_string(requested_chunks) + "; allowed: 1.." +
                                std::to_string(limits.max_chunks) + " (WorkspaceLimits::max_chunks)");
  }
  const int64_t chunks =
      requested_chunks > 0
          ? std::min<int64_t>(requested_chunks, units)
          : cheapest_split(units, plan.unit, 1, std::min<int64_t>(limits.max_chunks, units),
                           static_cast<int64_t>(problem.batch) * problem.num_kv_heads,
                           per_sm * std::max(1, sm_count), kDenseCtaCostRows);
  const int64_t per = ceil_div(units, chunks);
  plan.num_chunks = static_cast<int>(ceil_div(units, per));
  plan.rows_max = static_cast<int>(per * plan.unit);
  return plan;
}

Plan flash_stream_plan(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, int tile,
                       int requested_chunks) {
  const int G = problem.num_heads / problem.num_kv_heads;
  return tile_stream_plan(problem, limits, sm_count, tile, flash_stream_smem_bytes(G, tile, problem.head_dim),
                          kFlashStaticSmem, requested_chunks);
}

TwoPassPlan two_pass_plan(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, int tile,
                          int64_t samples, int stages, int requested_chunks, Pass2Shape pass2) {
  TwoPassPlan tp;
  const int G = problem.num_heads / problem.num_kv_heads;
  tp.pass1 = tile_stream_plan(problem, limits, sm_count, tile,
                              static_cast<std::size_t>(stages) * kTileKeys * problem.head_dim * 2 +
                                  2 * static_cast<std::size_t>(G) * score_prefix_stride(tile) * sizeof(float),
                              kScorePrefixStaticSmem, requested_chunks);
  const Plan& plan = tp.pass1;
  tp.entries = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(ceil_div(plan.n_max, tile), samples)));
  // Pass 2: one wave of the CTAs per SM its registers allow (pass2: 256 threads x 2 or 128 x 4, 128 registers),
  // heads split over several CTAs where the batch has fewer (calls 3-4 of 2026-12-04, H200, B = 1, 32k: 32 CTAs of
  // 128 sampled tiles 35.1 us, 256 CTAs 15.9 us), within the partials the workspace holds (part_acc: max_chunks per
  // head).
  const int64_t heads = static_cast<int64_t>(problem.batch) * problem.num_heads;
  tp.pass2 = pass2;
  const int warps = pass2.threads / 32;
  // floor: no more CTAs than one wave holds (until call 71 ceil, which made 1.5 waves at B = 4).
  tp.parts = static_cast<int>(std::clamp<int64_t>(pass2.ctas_per_sm * std::max(1, sm_count) / heads, 1,
                                                  std::min<int64_t>({kMaxSampledParts, limits.max_chunks, tp.entries})));
  const int per_part = static_cast<int>(ceil_div(tp.entries, tp.parts));
  // A round stages at most 64 KB of prefixes, and no more than leaves shared memory for pass2.ctas_per_sm CTAs.
  const std::size_t fixed = prop_sampled_smem(tile, tp.entries, 0, problem.head_dim, warps).total + kPass2StaticSmem;
  const std::size_t per_sm_share = 227 * 1024 / static_cast<std::size_t>(std::max(1, pass2.ctas_per_sm)) - 1024;
  const std::size_t per_tile = 4 * static_cast<std::size_t>(tile) + static_cast<std::size_t>(tile) / 8;
  const int fits = per_sm_share > fixed ? static_cast<int>((per_sm_share - fixed) / per_tile) : 1;
  tp.stage = std::max(1, std::min({per_part, 65536 / (4 * tile), fits}));
  tp.pass2_smem = prop_sampled_smem(tile, tp.entries, tp.stage, problem.head_dim, warps).total;
  constexpr std::size_t kSmemLimit = 200 * 1024;
  if (tp.pass2_smem > kSmemLimit) {
    throw std::invalid_argument("the two-pass prop (LaunchOptions::variant 61-63, 65) lists up to min(tiles, S) = " +
                                std::to_string(tp.entries) + " sampled tiles per head in shared memory: " +
                                std::to_string(tp.pass2_smem) + " bytes, more than " + std::to_string(kSmemLimit) +
                                "; use a larger tile or fewer samples");
  }
  return tp;
}

FusedPlan fused_plan(const DecodeProblem& problem, const WorkspaceLimits& limits, int sm_count, int tile,
                     int64_t samples, int requested_chunks) {
  FusedPlan fp;
  const int G = problem.num_heads / problem.num_kv_heads;
  const int64_t kv_heads = static_cast<int64_t>(problem.batch) * problem.num_kv_heads;
  Plan& plan = fp.stream;
  plan.n_max = max_sequence_length(problem);
  plan.unit = score_prefix_super(tile);
  const int64_t units = ceil_div(plan.n_max, plan.unit);
  fp.entries = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(ceil_div(plan.n_max, tile), samples)));
  // Shared memory: pass 1's ring of 3 K tiles and two score buffers; pass 2's lists and a round of staged prefixes
  // in the same bytes (as many tiles per round as fit, at most 64 KB).
  const std::size_t stream_smem = 3 * static_cast<std::size_t>(kTileKeys) * problem.head_dim * 2 +
                                  2 * static_cast<std::size_t>(G) * score_prefix_stride(tile) * sizeof(float);
  const int warps = kTileThreads / 32;
  const std::size_t fixed = prop_sampled_smem(tile, fp.entries, 0, problem.head_dim, warps).total;
  const std::size_t per_tile = 4 * static_cast<std::size_t>(tile) + static_cast<std::size_t>(tile) / 8;
  const int fits = stream_smem > fixed ? static_cast<int>((stream_smem - fixed) / per_tile) : 1;
  fp.stage = std::max(1, std::min({fp.entries, 65536 / (4 * tile), fits}));
  plan.smem_bytes = std::max(stream_smem, prop_sampled_smem(tile, fp.entries, fp.stage, problem.head_dim, warps).total);
  constexpr std::size_t kSmPerSm = 228 * 1024, kSmemLimit = 200 * 1024;
  if (plan.smem_bytes > kSmemLimit) {
    throw std::invalid_argument("the persistent prop (LaunchOptions::variant 70-72) lists up to min(tiles, S) = " +
                                std::to_string(fp.entries) + " sampled tiles per head in shared memory: " +
                                std::to_string(plan.smem_bytes) + " bytes, more than " + std::to_string(kSmemLimit) +
                                "; use a larger tile or fewer samples");
  }
  const int64_t per_sm = std::max<int64_t>(1, static_cast<int64_t>(kSmPerSm / (plan.smem_bytes + kFusedStaticSmem + 1024)));
  fp.grid = static_cast<int>(per_sm * std::max(1, sm_count));
  if (requested_chunks > limits.max_chunks) {
    throw std::invalid_argument("LaunchOptions::num_chunks = " + std::to_string(requested_chunks) + "; allowed: 1.." +
                                std::to_string(limits.max_chunks) + " (WorkspaceLimits::max_chunks)");
  }
  // Stream items: about 4 per CTA, of 1024-2048 keys (shorter items restart the K ring more often; longer ones keep
  // more prefixes in flight: grid x item keys x G x 4 bytes, 8.6 MB at 264 CTAs, 2048 keys, G = 4).
  const int64_t keys = kv_heads * plan.n_max;
  const int64_t item_keys = std::clamp<int64_t>(keys / (4 * int64_t{fp.grid}), 1024, 2048);
  const int64_t per = requested_chunks > 0 ? ceil_div(units, std::min<int64_t>(requested_chunks, units))
                                           : std::max<int64_t>(1, std::min(units, ceil_div(item_keys, plan.unit)));
  plan.num_chunks = static_cast<int>(ceil_div(units, per));
  plan.rows_max = static_cast<int>(per * plan.unit);
  // Pass 2: heads split as two_pass_plan splits them for the grid's CTAs.
  const int64_t heads = static_cast<int64_t>(problem.batch) * problem.num_heads;
  fp.parts = static_cast<int>(std::clamp<int64_t>(fp.grid / heads, 1,
                                                  std::min<int64_t>({kMaxSampledParts, limits.max_chunks, fp.entries})));
  // The sample items of a KV head come 1.5 grids' worth of tickets after its stream items, so that those are done
  // when they start (a stream item takes longer than the average item); and a stream item's ring slot was last used
  // by sample items that many tickets before it, the ring holding 2 x lag KV heads' prefixes (all of them when there
  // are no more). Call 88 (H200, B = 16, 32k) had lag = grid / step + 1 and lag + 2 slots: the sample items waited for
  // their streams and the stream items for their slots, 398 us against v:63's 318.
  const int64_t step = plan.num_chunks + static_cast<int64_t>(G) * fp.parts;
  fp.lag = static_cast<int>(std::clamp<int64_t>(ceil_div(3 * int64_t{fp.grid}, 2 * step) + 1, 1, kv_heads));
  fp.slots = static_cast<int>(std::min<int64_t>(kv_heads, 2 * int64_t{fp.lag}));
  return fp;
}

std::size_t smem_padding(const LaunchOptions& launch) {
  return launch.variant >= 21 && launch.variant <= 23 ? static_cast<std::size_t>(launch.variant - 20) * 16 * 1024 : 0;
}

KernelParams make_params(const DecodeProblem& problem, const DecodeWorkspace& workspace, const Plan& plan,
                         const LaunchOptions& launch, KernelFamily family) {
  KernelParams p;
  p.fused_tiles = launch.variant == 16 ? 0 : 1;
  p.stop_after = launch.variant >= 11 && launch.variant <= 13 && family != KernelFamily::dense ? launch.variant - 10 : 0;
  if ((launch.variant == 31 || launch.variant == 32) && family == KernelFamily::dense) p.stop_after = launch.variant - 30;
  p.l2_hint = launch.variant == 43 ? 0 : 1;
  p.key_ring = family == KernelFamily::dense ? 0 : sampling_key_ring(launch);
  if (family == KernelFamily::dense && use_async_kernel(launch)) {
    switch (launch.variant) {  // KernelParams::async_mode bits
      case 41: p.async_mode = 8; break;   // no zero-fill operand
      case 49: p.async_mode = 16; break;  // L2 128-byte prefetch hint
      case 50: p.async_mode = 32; break;  // L2 256-byte prefetch hint
      case 51: p.async_mode = 17; break;  // 49 in lock step
      case 55: p.async_mode = 64; break;  // copies in cuDNN's order
      default: p.async_mode = launch.variant - 33;  // 33-40: lock step, late V, unswizzled
    }
  }
  const TileVariant* tile = tile_variant(launch);
  if (tile != nullptr && family == KernelFamily::dense) p.async_mode = tile->async_mode;
  // Heads-inner CTA order (benchmark variant 4). prop's barrier then needs every CTA of one sequence resident at
  // once; with at least one CTA per SM that holds while chunks x KV heads <= SMs, otherwise keep the default.
  p.heads_inner = launch.variant == 4 && (family != KernelFamily::prop ||
                                          static_cast<int64_t>(plan.num_chunks) * problem.num_kv_heads <=
                                              workspace.sm_count())
                      ? 1
                      : 0;
  p.prefetch = launch.prefetch_steps >= 0 ? launch.prefetch_steps
                                          : (family == KernelFamily::dense ? kDensePrefetch : kSamplingPrefetch);
  p.q = problem.q;
  p.out = problem.out;
  p.k = problem.kv.k;
  p.v = problem.kv.v;
  p.seq_lens = problem.kv.seq_lens;
  p.page_table = problem.kv.paged ? problem.kv.page_table : nullptr;
  p.max_len = problem.kv.paged ? 0 : problem.kv.max_len;
  p.n_max = plan.n_max;
  p.page_shift = problem.kv.paged ? log2_exact(problem.kv.page_size) : 0;
  p.max_pages = problem.kv.paged ? problem.kv.max_pages_per_seq : 0;
  p.batch = problem.batch;
  p.num_heads = problem.num_heads;
  p.num_kv_heads = problem.num_kv_heads;
  p.group = problem.num_heads / problem.num_kv_heads;
  const double scale = problem.scale > 0.0f ? problem.scale : 1.0 / std::sqrt(static_cast<double>(problem.head_dim));
  p.scale_log2 = static_cast<float>(scale * 1.4426950408889634);
  p.num_chunks = plan.num_chunks;
  p.unit = plan.unit;
  p.rows_max = plan.rows_max;
  const auto& v = workspace.views();
  p.part_acc = v.part_acc;
  p.part_ml = v.part_ml;
  p.part_cnt = v.part_cnt;
  p.tile_stats = v.tile_stats;
  p.max_tiles = v.max_tiles;
  p.counters = v.counters;
  p.counter_groups = workspace.limits().max_batch * workspace.limits().num_kv_heads;
  p.prefix = v.prefix;  // the two-pass prop's buffers (nullptr / unused elsewhere)
  p.prefix_stride = v.prefix_stride;
  p.tile_last = v.tile_last;
  p.head_counters = v.head_counters;
  return p;
}

}  // namespace santa::gpu::detail

namespace santa::gpu {

std::string to_string(KernelFamily f) {
  switch (f) {
    case KernelFamily::dense:
      return "dense";
    case KernelFamily::flash:
      return "flash";
    case KernelFamily::prop:
      return "prop";
  }
  return "unknown";
}

SplitInfo split_info(KernelFamily family, const DecodeProblem& problem, int tile, const DecodeWorkspace& workspace,
                     const LaunchOptions& requested) {
  check_problem(problem);
  check_launch(requested);
  check_fits(problem, workspace.limits());
  detail::Plan plan;
  if (family == KernelFamily::dense) {
    const detail::DenseKernel kernel =
        detail::dense_kernel_for(problem, workspace.limits(), workspace.sm_count(), workspace.cc_major(), requested);
    if (detail::use_rows_kernel(kernel.launch)) {
      const detail::RowsSplit r = detail::rows_split(problem, workspace.limits(), workspace.sm_count(), kernel.launch);
      const int64_t steps = (static_cast<int64_t>(problem.batch) * r.steps_per_seq + r.ctas - 1) / r.ctas;
      return SplitInfo{r.pieces_max, r.ctas, static_cast<int>(16 * steps), detail::rows_smem_bytes(problem, r)};
    }
    plan = kernel.plan;
  } else if (family == KernelFamily::prop && detail::two_pass_stages(requested) > 0) {
    plan = detail::two_pass_plan(problem, workspace.limits(), workspace.sm_count(), tile, 1,
                                 detail::two_pass_stages(requested), requested.num_chunks)
               .pass1;  // pass 1's split (pass 2: one CTA per query head)
  } else if (family == KernelFamily::prop && detail::prop_fused(requested)) {
    plan = detail::fused_plan(problem, workspace.limits(), workspace.sm_count(), tile, 1, requested.num_chunks).stream;
  } else if (family == KernelFamily::flash && detail::flash_stream(requested)) {
    plan = detail::flash_stream_plan(problem, workspace.limits(), workspace.sm_count(), tile, requested.num_chunks);
  } else {
    plan = detail::make_plan(family, problem, tile, workspace.limits(), workspace.sm_count(), requested.num_chunks,
                             detail::sampling_key_ring(requested));
  }
  return SplitInfo{plan.num_chunks, plan.num_chunks * problem.num_kv_heads * problem.batch, plan.rows_max,
                   plan.smem_bytes};
}

}  // namespace santa::gpu
