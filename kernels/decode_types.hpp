// Plain C++ description of one batched decode-attention call on the GPU. No CUDA types: the harness,
// tests and benchmarks include this without nvcc. Every pointer is device memory unless noted.
#pragma once

#include <cstdint>
#include <string>

namespace santa::gpu {

enum class DType { bf16, fp16 };
std::string to_string(DType t);

// The KV cache. Contiguous NHD: k/v are [batch, max_len, num_kv_heads, head_dim].
// Paged (FlashInfer-style): k/v are [num_pages, page_size, num_kv_heads, head_dim] and
// page_table[b * max_pages_per_seq + j] is the j-th page of sequence b.
struct KvCache {
  const void* k = nullptr;
  const void* v = nullptr;
  int64_t max_len = 0;                // contiguous: allocated positions per sequence
  const int32_t* seq_lens = nullptr;  // [batch] current lengths (device); each in [1, max_len]
  bool paged = false;
  int page_size = 0;
  int max_pages_per_seq = 0;
  const int32_t* page_table = nullptr;
};

// One decode step: q [batch, num_heads, head_dim] -> out [batch, num_heads, head_dim] (same dtype as q).
struct DecodeProblem {
  int batch = 0;
  int num_heads = 0;     // H
  int num_kv_heads = 0;  // H_kv; G = H / H_kv query heads share a KV head
  int head_dim = 0;      // d
  DType dtype = DType::bf16;
  float scale = 0.0f;    // softmax scale; 0 means 1/sqrt(d)
  const void* q = nullptr;
  void* out = nullptr;
  KvCache kv;
};

// Randomness of the sampling kernels: Philox keyed by seed, with the step read from device memory when
// step_ptr is set (so CUDA-graph replays draw fresh numbers), else `step`.
struct SamplingRng {
  uint64_t seed = 0;
  uint32_t step = 0;
  const uint32_t* step_ptr = nullptr;
};

// S2ANTA-flash per-tile budget (SANTA.md section 3): exact_total spreads S over the T tiles of a sequence
// (floor(S/T), the remainder to the first tiles, at least 1 each: the real total is max(S, T));
// reference is the published kernel's max(1, floor(S/T)) per tile (its total is not S).
enum class FlashBudget { exact_total, reference };
// S2ANTA-prop budgets: global_systematic (exactly S, unbiased) or the reference kernel's largest-remainder
// rounding of S * P_t (biased by O(T/S); kept for comparison).
enum class PropBudget { global_systematic, largest_remainder };

struct FlashParams {
  int64_t samples = 2048;  // S
  int tile = 256;          // keys per sampling tile (power of two in [32, 512])
  FlashBudget budget = FlashBudget::exact_total;
};

struct PropParams {
  int64_t samples = 128;  // S
  int tile = 256;         // keys per tile (power of two in [32, 512])
  PropBudget budget = PropBudget::global_systematic;
};

// Optional device outputs a sampling call records (nullptr: not written).
struct SamplingRecord {
  int32_t* samples_drawn = nullptr;  // [batch * num_heads]: real number of samples drawn per head
  int32_t* distinct_rows = nullptr;  // [batch * num_kv_heads]: distinct V rows read per KV head
  int32_t* counts = nullptr;         // [batch * num_heads * n_max]: count of every key (debug; costs bandwidth)
  // [CTAs][kPhaseClockSlots] (diagnostics; CTAs = chunks x num_kv_heads x batch, see split_info; the CTA's
  // logical id orders the records): the slots below.
  int64_t* phase_clock = nullptr;
};

// One CTA's phase_clock record: clock64() after the block barrier that ends each phase (0 where the CTA did not
// run it; the merge only in the CTA that merged), then its SM id and the global timer (ns) at start and end.
enum PhaseClockSlot : int {
  kPhaseStart = 0, kPhaseKeys = 1, kPhaseStats = 2, kPhaseBudgets = 3, kPhaseCounts = 4, kPhaseCompact = 5,
  kPhaseGather = 6, kPhaseMerged = 7, kPhaseEnd = 8, kPhaseSm = 9, kPhaseGlobalStart = 10, kPhaseGlobalEnd = 11,
  kPhaseClockSlots = 12
};

// How a call is launched. num_chunks = 0 lets the library choose the split-KV factor.
struct LaunchOptions {
  void* stream = nullptr;  // a cudaStream_t; nullptr is the default stream
  int num_chunks = 0;      // CTAs per (sequence, KV head); 0 = automatic
  int prefetch_steps = -1; // L2 prefetch distance of the key/value stream in 16-key steps per warp; -1 = default
  // Diagnostics of the whole-row dense kernel (variants 7 / 29): [CTAs (SplitInfo::ctas)][kPhaseClockSlots], the
  // slots start, keys (= its stream and partials done), merged (where it merged) and end; nullptr: none.
  int64_t* phase_clock = nullptr;
  int variant = 0;         // benchmark variants (0 = the library's choice): 1 = sampling kernels built for 3 CTAs/SM
                           // (d = 128, bf16, G <= 4 only; other shapes run the default); 2 / 3 = sampling phases after
                           // the key stream always with one head / several heads per warp task (same shapes; the
                           // default picks by the number of tasks); 4 = CTAs ordered KV heads first (all families;
                           // prop only while chunks x KV heads <= SMs); 5 and 6 were removed after measurement
                           // (kernels/NOTES.md, calls 9-10); 7 = dense kernel reading whole cache rows, one CTA
                           // per (chunk, sequence) with a warp per KV head (contiguous cache, 8 KV heads, d = 128,
                           // sm_90+; else rejected); 8 = the dense per-KV-head kernel with register loads (what the
                           // default runs where the CTA-wide-tile kernel, 52, does not: see dense_kernel_for);
                           // 11/12/13 = sampling kernels stop after the key stream / the budgets / the counts
                           // (timing diagnostics: NO output is written); 14 and 15 were removed after
                           // measurement (two launches, kernels/NOTES.md, call 15); 16 = sampling tile statistics
                           // (flash: and counts) after the key stream instead of inside it (the order before
                           // call 20); 17 was removed after measurement (12 V rows in flight per gather slot,
                           // kernels/NOTES.md, call 20), and 18-20 (key rings, cp.async gather: calls 26-29);
                           // 21 / 22 / 23 = 16 / 32 / 48 KB of unused shared memory per CTA (diagnostics: the
                           // L1 the carveout leaves; not for the whole-row dense kernel); 24 was a measurement
                           // (call 32) and 25-28 (dense through TMA boxes, calls 33-36) were reverted: commit
                           // 2fa6db1 in the history holds them (kernels/NOTES.md); 29 = the whole-row dense kernel
                           // over equal shares of the batch's 16-key steps, a CTA per SM, ranges crossing sequence
                           // ends (same shapes as 7; num_chunks must be 0); 31 = 29's stream alone, no scores
                           // and no P.V (diagnostic: the output is zeros); 32 = that stream with the steps dealt
                           // round-robin over the CTAs (diagnostic: no output is written); 33 = the per-KV-head
                           // dense kernel with its K/V stream through cp.async into per-warp shared-memory rings,
                           // one CTA per SM (d = 128, sm_80+; else rejected; prefetch_steps 1 = one step ahead);
                           // 34 = 33 with its warps in lock step (a block barrier per step), 35 = 33 issuing a
                           // step's V after the current step's scores, 36 = both (same output as 33); 37-40 =
                           // 33-36 with the rows in shared memory not swizzled, 41 = 33 with copies lacking the
                           // zero-fill operand (diagnostics); 42 = the default dense kernel (d = 128) with loads
                           // carrying the L2 256-byte prefetch-size hint (its default before call 44; same output);
                           // 43 = the sampling kernels' key loads without that hint (same output); 44 = the default
                           // dense kernel (d = 128) with a block barrier per 128 keys (same output); 45 = the default
                           // dense kernel (d = 128) loading each warp's next 16-key step before computing the
                           // current one, one CTA per SM (its own automatic split; same output at the same split);
                           // 42 / 44 / 45 reject other head dims; 46-48 were measured and removed (call 50);
                           // 49 / 50 = 33 with the copies' L2 128-byte / 256-byte prefetch-size hint, 51 = 49 in
                           // lock step (same output as 33); 52 / 53 = the per-KV-head dense kernel with cuDNN's
                           // structure: 128-thread CTAs reading CTA-wide 128-key tiles of K and V through cp.async,
                           // 2 / 3 tiles in the ring, one CTA per SM; 54 = the same with one K and one V buffer
                           // used alternately (d = 128, sm_80+; same output as the default at the same split);
                           // their warp-wide copies read four 128-byte pieces of four rows (cuDNN's order), 56 = 52
                           // with two 256-byte rows per copy instead (v:33's order); 55 = 33 with cuDNN's order;
                           // 57 = 52 with its shared-memory ring 16 bytes off the 128-byte alignment (diagnostic);
                           // 58 / 59 / 60 = the sampling kernels' fused key stream through a cp.async ring of 4 / 6 /
                           // 8 half steps (8 keys) per warp in shared memory instead of register loads (d = 128, bf16,
                           // G <= 4, else rejected; same output; 64 / 96 / 128 KB more shared memory, so fewer CTAs
                           // per SM); 61 / 62 = prop in two launches: a key stream with the CTA-wide-tile dense
                           // kernel's structure (3 K tiles in its ring) writing every tile's prefix, then CTAs per
                           // query head (256 threads, 2 per SM / 128 threads, 4 per SM) placing the samples and
                           // gathering V from the sampled tiles only; 63 = 61 with each sample placed by a binary
                           // search in its tile's prefix (a thread per sample, 4 CTAs per SM; each sample's row added
                           // once, so a row drawn twice is added twice); 65 = 63 with 2 K tiles in pass 1's ring (3
                           // CTAs per SM instead of 2); 67 / 68 / 69 = pass 1 of 63 alone, writing its prefixes as 63
                           // does / into an 8 MB ring / not at all (diagnostics: no output)
                           // (61-63, 65: global_systematic, d = 128, sm_80+, a workspace with WorkspaceLimits::score_prefix;
                           // the same counts as the default, the output a differently ordered fp32 sum; no
                           // distinct_rows record; other families ignore it); 64 = S2ANTA-flash in one key stream:
                           // pass 1's key stream with each super tile's budgets, counts and value gather inside it
                           // (flash_stream_kernel.cuh; d = 128, sm_80+; the same counts as the default, the output a
                           // differently ordered fp32 sum; no distinct_rows or phase_clock record; prop ignores it)
};

}  // namespace santa::gpu
