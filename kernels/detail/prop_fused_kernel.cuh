// S2ANTA-prop (global-systematic) in one persistent launch (benchmark variants 70-72; d = 128, sm_80+): the two-pass
// prop's pass 1 (score_prefix_stream) and pass 2 (prop_sampled_head, the binary-search path of variant 63) as work
// items of one grid, with the prefixes in a ring that L2 can hold instead of a buffer of every head's.
//
// Why (kernels/NOTES.md, call 87): the two-pass prop writes every head's prefixes to DRAM (6 % of K's bytes at G = 4)
// before pass 2 may read any, which cost its key stream 22.5 us of 286 at B = 16, 32k, and pass 2 then runs after the
// stream (33 us more). The global-systematic boundaries of a head need its whole key stream, but only that: a KV
// head's sampling can start as soon as its own keys are streamed, while other KV heads stream.
//
// The schedule: CTAs (as many as are resident) take tickets from one counter, in order. Ticket order: the stream
// items of KV head (sequence-major) k = 0, 1, ... (C chunks each), and L KV heads later those of k's sample items (G
// query heads x `parts` CTAs each): steps s = 0 .. K + L - 1, step s = stream items of k = s (s < K), then sample items
// of k = s - L (s >= L). A sample item waits (spinning on k's stream counter) until k's C stream items are done; the
// prefixes of KV head k go to ring slot k % R, and a stream item of k >= R waits, before its first prefix write, until
// the sample items of k - R are done. Both wait only on items with earlier tickets (R > L), which were handed to
// CTAs that are running, so the grid cannot deadlock whatever number of CTAs is resident. The ring (R KV heads' G
// query heads) is a few MB; the K copies can be marked evict-first (variant 70) so that the stream does not push it
// out of L2. The last CTA to leave resets the counters for the next call.
#pragma once

#include "kernels/detail/prop_sampled_kernel.cuh"
#include "kernels/detail/score_prefix_kernel.cuh"

namespace santa::gpu::detail {

__device__ __forceinline__ uint32_t load_acquire(const uint32_t* ctr) {
  uint32_t v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(ctr) : "memory");
  return v;
}
// Every thread of the CTA: returns once *ctr >= target, with what the signalling CTAs wrote before visible.
__device__ __forceinline__ void wait_at_least(const uint32_t* ctr, uint32_t target) {
  if (threadIdx.x == 0) {
    while (load_acquire(ctr) < target) __nanosleep(64);
    __threadfence();
  }
  __syncthreads();
}
// Every thread of the CTA, after its item's writes: one more item of *ctr done.
__device__ __forceinline__ void signal_done(uint32_t* ctr) {
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    atomicAdd(ctr, 1u);
  }
}

template <int D, class T>
__global__ void __launch_bounds__(kTileThreads, 1) prop_fused_kernel(const KernelParams p) {
  constexpr int kStages = 3;
  extern __shared__ __align__(kSmemAlign) float4 smem4[];
  __shared__ __align__(16) T s_q[kMaxGroup * kQRowStride<D>];
  __shared__ int s_ticket;
  const int G = p.group, C = p.num_chunks, parts = p.fused_parts, P = G * parts, L = p.fused_lag, R = p.fused_slots;
  const int kv_heads = p.batch * p.num_kv_heads;
  uint32_t* stream_done = merge_counter(p, 0);   // [kv_heads]: stream items done
  uint32_t* sample_done = barrier_counter(p, 0);  // [kv_heads]: sample items done
  const bool k_evict_first = (p.async_mode & kKeyEvictFirst) != 0;
  const bool prefix_evict_last = (p.async_mode & kPrefixEvictLast) != 0;
  for (;;) {
    __syncthreads();  // the previous item is done with shared memory and s_ticket
    if (threadIdx.x == 0) s_ticket = static_cast<int>(atomicAdd(ticket_counter(p), 1u));
    __syncthreads();
    const FusedItem it = fused_item(s_ticket, kv_heads, C, P, L);
    if (it.kind == 2) break;
    const int b = it.kv / p.num_kv_heads, kvh = it.kv % p.num_kv_heads;
    float* slot = p.prefix + static_cast<int64_t>(it.kv % R) * G * p.prefix_stride;  // [G][prefix_stride]
    if (it.kind == 0) {
      const AsyncCta<D, T> cta{dense_cta_at(p, it.index, kvh, b), kv_rows<D>(p, b, kvh), static_cast<const T*>(p.k),
                               static_cast<const T*>(p.v)};
      score_prefix_stream<D, T, kStages>(
          p, cta, reinterpret_cast<unsigned char*>(smem4), s_q, k_evict_first, prefix_evict_last,
          [&](int h, int t) {
            return slot + h * p.prefix_stride + static_cast<int64_t>(t) * p.tile;
          },
          [&] {
            if (it.kv >= R) wait_at_least(sample_done + (it.kv - R), static_cast<uint32_t>(P));
          });
      signal_done(stream_done + it.kv);
    } else {
      const int hq = it.index / parts;
      if ((p.async_mode & kFusedNoSampling) != 0) {  // diagnostics (variant 73)
        wait_at_least(stream_done + it.kv, static_cast<uint32_t>(C));
      } else {
        prop_sampled_head<D, T, kTileThreads, true, true>(
            p, kvh * G + hq, b, it.index % parts, parts, slot + hq * p.prefix_stride,
            [&] { wait_at_least(stream_done + it.kv, static_cast<uint32_t>(C)); });
      }
      signal_done(sample_done + it.kv);
    }
  }
  // The last CTA to leave resets the counters (every ticket has been taken and every item is done).
  __shared__ int s_last;
  if (threadIdx.x == 0) s_last = atomicAdd(exit_counter(p), 1u) == gridDim.x - 1 ? 1 : 0;
  __syncthreads();
  if (s_last != 0) {
    __threadfence();
    for (int k = threadIdx.x; k < kv_heads; k += kTileThreads) stream_done[k] = sample_done[k] = 0u;
    if (threadIdx.x == 0) *ticket_counter(p) = *exit_counter(p) = 0u;
  }
}

}  // namespace santa::gpu::detail
