// The one parameter struct every decode kernel takes, and the split/shared-memory arithmetic that host and
// device must agree on. Plain C++ (compiles with and without nvcc); not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/decode_types.hpp"

#if defined(__CUDACC__)
#define SANTA_KHD __host__ __device__ __forceinline__
#else
#define SANTA_KHD inline
#endif

namespace santa::gpu::detail {

inline constexpr int kThreads = 256;  // every decode kernel: 8 warps
inline constexpr int kWarps = kThreads / 32;
// Alignment of the dynamic shared memory of the kernels that copy into it (cp.async, bulk copies). Without it the
// region starts right after the static shared variables (2576 bytes in the per-KV-head kernels: 16 bytes past a
// 128-byte line), and every 32-byte sector a cp.async brings lands across two shared-memory sectors: call 55
// measured 12 shared wavefronts and 32 L2 sectors per warp-wide 512-byte copy instead of 4 and 16 (cuDNN's).
inline constexpr int kSmemAlign = 128;
inline constexpr int kMaxGroup = 8;   // query heads per KV head (mma N / M padding)
inline constexpr int kCntStride = kMaxGroup + 1;  // part_cnt: G sample totals + distinct rows

enum class SamplingMode : int32_t { flash_exact = 0, flash_reference = 1, prop_global_systematic = 2, prop_largest_remainder = 3 };

// How the per-KV-head dense kernel walks and loads its keys (a compile-time choice; benchmark variants 42, 44, 45).
// plain: each warp loads a 16-key step, then computes it. l2_hint: the same with the L2 256-byte prefetch-size
// hint on the loads. lockstep: a block barrier before every 128 keys. pipelined: each warp loads step i + 1 before
// computing step i (two steps in flight per warp; compiled for one CTA per SM, so it has the registers).
// (Loads marking their L2 lines evict_first, variants 46 / 48 of commit 5ba6402, changed nothing in call 50 and
// were removed.)
enum class DenseLoop : int32_t { plain = 0, l2_hint = 1, lockstep = 2, pipelined = 3 };

struct KernelParams {
  // problem
  const void* q = nullptr;
  void* out = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  const int32_t* seq_lens = nullptr;
  const int32_t* page_table = nullptr;  // nullptr: contiguous cache
  int64_t max_len = 0;                  // contiguous: positions per sequence
  int64_t n_max = 0;                    // longest sequence the cache can hold
  int page_shift = 0;                   // log2(page_size)
  int max_pages = 0;
  int batch = 0, num_heads = 0, num_kv_heads = 0, group = 0;
  float scale_log2 = 0.0f;  // softmax scale * log2(e): scores are kept in the log2 domain
  // split
  int num_chunks = 0;  // CTAs per (sequence, KV head)
  int unit = 0;        // a chunk is a multiple of `unit` keys (the tile for the sampling kernels)
  int rows_max = 0;    // keys of the longest chunk (shared-memory sizing)
  int prefetch = 0;    // 16-key steps of this warp whose rows are prefetched into L2 ahead of their loads
  int heads_inner = 0; // CTA order: 0 = chunks of one (sequence, KV head) consecutive, 1 = the KV heads of one
                       // chunk consecutive (the CTAs running together then read whole cache rows)
  int fused_tiles = 1; // sampling: per-tile statistics (flash: and counts) inside the key stream (0: after it,
                       // benchmark variant 16)
  int64_t rows_steps = 0;  // whole-row dense kernel: 16-key steps per sequence in its step space (rows_range_begin)
  int stop_after = 0;  // diagnostics (benchmarks only): 1 = after the key stream, 2 = after the budgets,
                       // 3 = after counts + compaction; the output is then not written. Whole-row dense
                       // kernel: 1 = its stream without scores or P.V, 2 = the stream dealt round-robin
  int async_mode = 0;  // cp.async dense kernel (variants 33-41): bit 0 = its warps in lock step (a block barrier per
                       // step: the CTA reads 128 consecutive keys at a time), bit 1 = V of a step issued after the
                       // scores of the current one (K and V requests apart, as cuDNN's tiles); diagnostics: bit 2 =
                       // rows in shared memory not swizzled, bit 3 = copies without the zero-fill operand; bit 4 /
                       // bit 5 = copies with the L2 128-byte / 256-byte prefetch-size hint (variants 49-51); bit 6 =
                       // copies in cuDNN's order, four 128-byte pieces of four rows per warp-wide copy (variant 55;
                       // the CTA-wide-tile kernel's 52-54, whose variant 56 has two 256-byte rows per copy); bit 7
                       // (CTA-wide-tile kernel, variant 57) = its ring 16 bytes past the 128-byte alignment
  // sampling
  int l2_hint = 1;     // key loads with the L2 256-byte prefetch-size hint (variant 43: without)
  int key_ring = 0;    // the fused key stream's cp.async ring per warp, in 16-key steps (variants 58-60: 2-4; it is
                       // filled and read in 8-key halves); 0 = the register loads
  // two-pass prop (variants 61-63, 65): pass 1 writes each tile's fp32 prefix [B * H][prefix_stride] and last key
  // with positive weight [B * H][max_tiles] (its max and sum go to tile_stats); pass 2 stages up to sampled_stage
  // sampled tiles at a time and lists at most sampled_entries of them (min(tiles, S))
  float* prefix = nullptr;
  int64_t prefix_stride = 0;
  int32_t* tile_last = nullptr;
  int sampled_entries = 0, sampled_stage = 0;
  uint32_t* head_counters = nullptr;  // [B * H]: pass 2's CTAs of a head that have arrived (self-resetting)
  // persistent prop (variants 70-72, prop_fused_kernel.cuh): pass 2's CTAs per head, the schedule's lag (in KV heads)
  // between a KV head's stream items and its sample items, and the KV heads whose prefixes the ring holds
  int fused_parts = 1, fused_lag = 0, fused_slots = 0;
  int32_t mode = 0;  // SamplingMode
  int tile = 0;
  int64_t samples = 0;
  uint64_t seed = 0;
  uint32_t step = 0;
  const uint32_t* step_ptr = nullptr;
  // workspace
  float* part_acc = nullptr;
  float* part_ml = nullptr;
  int32_t* part_cnt = nullptr;
  float* tile_stats = nullptr;
  int max_tiles = 0;
  uint32_t* counters = nullptr;
  int counter_groups = 0;  // batch * H_kv of the workspace (offsets of the counter arrays)
  // optional records
  int32_t* samples_out = nullptr;
  int32_t* rows_out = nullptr;
  int32_t* counts_out = nullptr;
  int64_t* phase_clock = nullptr;  // SamplingRecord::phase_clock: [CTAs][kPhaseClockSlots] (diagnostics)
};

// The (chunk, KV head, sequence) of the CTA with logical id `lid` (its place in the start order).
struct CtaCoord {
  int chunk, kvh, b;
};
SANTA_KHD CtaCoord cta_coord(int lid, int num_chunks, int num_kv_heads, int heads_inner) {
  const int b = lid / (num_chunks * num_kv_heads);
  if (heads_inner != 0) return {(lid / num_kv_heads) % num_chunks, lid % num_kv_heads, b};
  return {lid % num_chunks, (lid / num_chunks) % num_kv_heads, b};
}

// Keys of one chunk for a sequence of n keys: the sequence is cut into units, the units spread over the chunks.
SANTA_KHD int chunk_rows_for(int n, int num_chunks, int unit) {
  const int units = (n + unit - 1) / unit;
  return ((units + num_chunks - 1) / num_chunks) * unit;
}

// Shared memory of the dense kernel: per-warp partial outputs and (max, sum), then the merge's scratch.
SANTA_KHD std::size_t dense_smem_floats(int group, int head_dim) {
  return static_cast<std::size_t>(kWarps) * group * head_dim + 2 * kWarps * kMaxGroup;
}

// The whole-row dense kernel (variant 7): one warp per KV head; a ring of kDenseStages stages of 16 cache
// rows of K and of V (all KV heads, 2-byte elements): 192 KB at d = 128, one CTA per SM.
inline constexpr int kRowsKvHeads = kWarps;
inline constexpr int kDenseStages = 3;
SANTA_KHD std::size_t dense_rows_smem_bytes(int head_dim) {
  return static_cast<std::size_t>(kDenseStages) * 2 * 16 * kRowsKvHeads * head_dim * 2;
}

// The per-KV-head dense kernel with its stream through cp.async (variants 33-41): a ring of kAsyncStages 16-key steps
// (K rows, then V rows; 2-byte elements) per warp: 192 KB at d = 128, one CTA per SM.
inline constexpr int kAsyncStages = 3;
SANTA_KHD std::size_t dense_async_smem_bytes(int head_dim) {
  return static_cast<std::size_t>(kWarps) * kAsyncStages * 2 * 16 * head_dim * 2;
}

// The CTA-wide-tile dense kernel (variants 52-54, dense_tile_kernel.cuh): `stages` tiles of 128 keys of K and of V
// (2-byte elements): 2 stages 128 KB, 3 stages 192 KB at d = 128; the alternating form (54) one of each, 64 KB.
SANTA_KHD std::size_t dense_tile_smem_bytes(int head_dim, int stages) {
  return static_cast<std::size_t>(stages) * 2 * 16 * kWarps * head_dim * 2;
}

// The CTA-wide-tile kernels (dense_tile_kernel.cuh, score_prefix_kernel.cuh): 128 threads (4 warps, as cuDNN's CTA)
// copying tiles of 128 keys (the default kernel's 8 warps' 16-key steps, 2 per warp there).
inline constexpr int kTileThreads = 128;
inline constexpr int kTileKeys = 16 * kWarps;
// The two-pass prop's pass 1 computes scores in super tiles of max(128, sampling tile) keys (chunks are whole super
// tiles, so no sampling tile straddles two CTAs); its score buffers' rows are padded by 8 floats.
SANTA_KHD int score_prefix_super(int tile) { return tile > kTileKeys ? tile : kTileKeys; }
SANTA_KHD int score_prefix_stride(int tile) { return score_prefix_super(tile) + 8; }
// Diagnostics of pass 1 alone (variants 67-69, plan.hpp): KernelParams::async_mode bits for prefixes written into an
// 8 MB ring (the output is then not valid) and for no prefix writes at all.
inline constexpr int kPrefixRing = 256, kPrefixNone = 512;
// The persistent prop (prop_fused_kernel.cuh): async_mode bit for its K copies marked evict-first in L2 (variant 70),
// and for its prefix stores marked evict-last (variant 72).
// Diagnostics (variant 73): sample items that only wait for their streams (no sampling, no output).
inline constexpr int kKeyEvictFirst = 1024, kPrefixEvictLast = 2048, kFusedNoSampling = 4096;
inline constexpr int64_t kPrefixRingFloats = int64_t{1} << 21;
// S2ANTA-flash in one key stream (benchmark variant 64, flash_stream_kernel.cuh): pass 1's ring of 3 K tiles, one
// score buffer, then each warp's stage of kFlashWarpRows value rows (2 KB at d = 128). At G = 4 that is 110.7 KB with
// tiles of 256 keys (106.5 KB up to 128): with the static state, two CTAs per SM.
inline constexpr int kFlashWarpRows = 8;
SANTA_KHD std::size_t flash_stream_smem_bytes(int group, int tile, int head_dim) {
  return static_cast<std::size_t>(3) * kTileKeys * head_dim * 2 +
         static_cast<std::size_t>(group) * score_prefix_stride(tile) * sizeof(float) +
         static_cast<std::size_t>(kTileThreads / 32) * kFlashWarpRows * head_dim * 2;
}

// The persistent prop's schedule (prop_fused_kernel.cuh: C stream items per KV head, P sample items, lag L): ticket t's
// item: kind 0 = stream item (kv, chunk `index`), 1 = sample item (kv, `index` = query head
// in the KV head x parts + part), 2 = none (t >= K (C + P)).
struct FusedItem {
  int kind, kv, index;
};
SANTA_KHD FusedItem fused_item(int t, int kv_heads, int C, int P, int L) {
  if (t < L * C) return {0, t / C, t % C};
  t -= L * C;
  const int mid = (kv_heads - L) * (C + P);
  if (t < mid) {
    const int s = t / (C + P), r = t % (C + P);
    return r < C ? FusedItem{0, L + s, r} : FusedItem{1, s, r - C};
  }
  t -= mid;
  if (t < L * P) return {1, kv_heads - L + t / P, t % P};
  return {2, 0, 0};
}

// The whole-row kernel's split. The batch's 16-key steps, sequence after sequence (rows_steps per sequence, the
// ones past a sequence's end empty), are cut into gridDim.x ranges: CTA c takes steps [begin(c), begin(c + 1)).
// A range can cross sequence ends (a CTA then finishes one partial per sequence it touches, at most
// kRowsMaxSegments), and a sequence's pieces are the consecutive CTAs from cta_of(its first step) on.
inline constexpr int kRowsMaxSegments = 4;
SANTA_KHD int64_t rows_range_begin(int64_t cta, int64_t total_steps, int64_t ctas) { return cta * total_steps / ctas; }
// The CTA whose range holds step x: the largest c with begin(c) <= x.
SANTA_KHD int64_t rows_cta_of(int64_t x, int64_t total_steps, int64_t ctas) { return ((x + 1) * ctas - 1) / total_steps; }

// Merge scratch (last CTA): a weight per (chunk, head), the heads' denominators, per-thread float4 partials,
// the chunks' (max, sum). `heads` = the group (up to kMaxGroup), or all of a sequence's heads (whole-row kernel).
SANTA_KHD int merge_den_floats(int heads) { return heads > kMaxGroup ? heads : kMaxGroup; }
SANTA_KHD std::size_t merge_smem_floats(int num_chunks, int heads) {
  return 3 * static_cast<std::size_t>(num_chunks) * heads + merge_den_floats(heads) + 4 + 4 * kThreads;
}

// Row stride (floats) of the sampling kernel's per-head score rows: padded by 8 so that the G heads' rows start
// 8 banks apart (the key stream's float2 stores of 4 heads were 4-way bank conflicts with stride rows_max).
SANTA_KHD int score_stride(int rows_max) { return rows_max + 8; }

// Shared memory of the sampling kernel, in floats: scores/weights [G][rows_max] (reused for the gather's
// per-warp partials), per-(head, tile) statistics, doubles for the count boundaries, the row list.
struct SamplingSmem {
  std::size_t scores = 0;      // float offset of scores [G][score_stride(rows_max)]
  std::size_t tile_f = 0;      // float [G][tpc] : max, sum, weight factor (3 arrays)
  std::size_t tile_last = 0;   // int [G][tpc]
  std::size_t tile_d = 0;      // double [G][tpc] x 3 : B0, B1, offset (float offset, 8-byte aligned)
  std::size_t list = 0;        // uint16 [rows_max]
  std::size_t mask = 0;        // uint32 [rows_max / 32]: rows any head sampled (one bit per row)
  std::size_t stage = 0;       // the gather's staging tiles: kWarps x 8 rows x head_dim 16-bit (16-byte aligned)
  std::size_t head = 0;        // float [kMaxGroup] x 2 + int [kMaxGroup + 4]
  std::size_t ring = 0;        // the key ring (128-byte aligned; overlays the gather's staging, which runs after it)
  std::size_t total_floats = 0;
};

// Bytes of the sampling kernel's cp.async key ring: `slots` 16-key steps per warp (2-byte elements), 64 KB per 2 at
// d = 128.
SANTA_KHD std::size_t sampling_ring_bytes(int head_dim, int slots) {
  return static_cast<std::size_t>(kWarps) * slots * 16 * head_dim * 2;
}

SANTA_KHD SamplingSmem sampling_smem(int group, int rows_max, int tile, int head_dim, int num_chunks,
                                     int ring_slots = 0) {
  SamplingSmem s{};
  const int tpc = rows_max / tile;
  std::size_t scores = static_cast<std::size_t>(group) * score_stride(rows_max);
  const std::size_t red = static_cast<std::size_t>(kWarps) * group * head_dim;
  const std::size_t merge = merge_smem_floats(num_chunks, group);
  if (red > scores) scores = red;
  if (merge > scores) scores = merge;
  s.scores = 0;
  s.tile_f = scores;
  s.tile_last = s.tile_f + 3 * static_cast<std::size_t>(group) * tpc;
  std::size_t d = s.tile_last + static_cast<std::size_t>(group) * tpc;
  d = (d + 1) & ~static_cast<std::size_t>(1);
  s.tile_d = d;
  s.list = s.tile_d + 2 * 3 * static_cast<std::size_t>(group) * tpc;
  s.mask = s.list + (static_cast<std::size_t>(rows_max) + 1) / 2;
  s.stage = (s.mask + (static_cast<std::size_t>(rows_max) + 31) / 32 + 3) & ~static_cast<std::size_t>(3);
  s.head = s.stage + static_cast<std::size_t>(kWarps) * 8 * head_dim * 2 / 4;
  s.total_floats = s.head + 2 * kMaxGroup + kMaxGroup + 4;
  if (ring_slots > 0) {
    constexpr std::size_t kAlignFloats = kSmemAlign / 4;
    s.ring = (s.stage + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
    const std::size_t end = s.ring + sampling_ring_bytes(head_dim, ring_slots) / 4;
    if (end > s.total_floats) s.total_floats = end;
  }
  return s;
}

// The two-pass prop's pass 2 (prop_sampled_kernel.cuh): threads per CTA, CTAs per SM its registers allow, and
// whether it places samples by binary search (variant 63) or counts every key of the sampled tiles (61 / 62).
struct Pass2Shape {
  int threads = 256;
  int ctas_per_sm = 2;
  bool search = false;
  bool dependent = false;  // launched with programmatic dependent launch (sm_90+): its preamble overlaps pass 1's end
};

// Shared memory of the two-pass prop's pass 2 (prop_sampled_kernel.cuh), in bytes: the sampled tiles' boundaries
// and indices (`entries`), the staged prefixes of one round (`stage` tiles) and their sample masks, each warp's row
// queue (a tile's rows + 7 left over), the warps' partial sums.
struct PropSampledSmem {
  std::size_t b0 = 0, b1 = 0, inv_l = 0, last = 0, t = 0, stage = 0, mask = 0, queue_rows = 0, queue_w = 0, red = 0,
              total = 0;
};
SANTA_KHD std::size_t align16(std::size_t x) { return (x + 15) & ~static_cast<std::size_t>(15); }
SANTA_KHD PropSampledSmem prop_sampled_smem(int tile, int entries, int stage, int head_dim, int warps) {
  PropSampledSmem s;
  const std::size_t e = static_cast<std::size_t>(entries), st = static_cast<std::size_t>(stage);
  const std::size_t queue = static_cast<std::size_t>(warps) * (tile + 8) * 4;
  s.b1 = align16(8 * e);
  s.inv_l = s.b1 + align16(8 * e);  // the search path's per-entry 1 / l_t and last key (variant 63)
  s.last = s.inv_l + align16(8 * e);
  s.t = s.last + align16(4 * e);
  s.stage = align16(s.t + 4 * e);
  s.mask = s.stage + 4 * st * tile;
  s.queue_rows = align16(s.mask + 4 * st * (tile / 32));
  s.queue_w = s.queue_rows + queue;
  s.red = align16(s.queue_w + queue);
  s.total = s.red + static_cast<std::size_t>(warps) * head_dim * 4;
  return s;
}

}  // namespace santa::gpu::detail
