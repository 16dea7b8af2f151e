// The bytes a decode backend must read from memory for one call (PROTOCOLS.md P1), split into K, V and
// metadata. Scratch the kernels write and read back (split-KV partials, tile statistics: L2-resident and
// written first) does not count, for any backend alike.
#pragma once

#include <cstdint>

namespace santa::harness::measure {

struct DecodeShape {
  int64_t batch = 1, n_k = 0, H = 1, H_kv = 1, d = 0;
  int64_t elem_bytes = 2;  // bf16 / fp16
  bool paged = false;
  int64_t page_size = 16;

  int64_t pages_per_seq() const { return (n_k + page_size - 1) / page_size; }
  int64_t kv_rows() const { return batch * n_k * H_kv; }  // (sequence, key, KV head) rows of d elements
};

struct BytesRead {
  double k = 0.0, v = 0.0, meta = 0.0;
  double total() const { return k + v + meta; }
};

// q, the sequence lengths and our page table (paged caches): what every backend reads besides K and V.
double metadata_bytes(const DecodeShape& s);

// An exact backend reads all of K and all of V; `extra_meta` adds its own index structures (FlashInfer's
// page indices, indptr and last-page lengths).
BytesRead dense_bytes(const DecodeShape& s, double extra_meta = 0.0);

// A sampling backend reads all of K (for the scores) and each distinct V row once per (sequence, KV head):
// `distinct_v_rows` summed over sequences and KV heads (SamplingRecord::distinct_rows). Throws
// std::invalid_argument when it is negative or more than there are rows.
BytesRead sampled_bytes(const DecodeShape& s, int64_t distinct_v_rows);

// FlashInfer's index structures for a cache read as pages: page indices of every sequence, page indptr and
// qo indptr (batch + 1 each), last-page lengths (batch), all int32.
double flashinfer_index_bytes(const DecodeShape& s, int64_t page_size);

}  // namespace santa::harness::measure
