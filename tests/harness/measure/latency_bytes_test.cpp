// Bytes each latency backend must read, split into K, V and metadata (PROTOCOLS.md P1).
#include <gtest/gtest.h>

#include "harness/measure/latency_bytes.hpp"

namespace santa::harness::measure {
namespace {

DecodeShape p1_shape(int64_t batch, int64_t n) {
  DecodeShape s;
  s.batch = batch;
  s.n_k = n;
  s.H = 32;
  s.H_kv = 8;
  s.d = 128;
  return s;
}

TEST(LatencyBytes, DenseReadsAllOfKAndV) {
  // One sequence at 32k: K = 8 heads x 32768 x 256 B = 64 MiB, V the same (kernels/NOTES.md).
  const BytesRead b = dense_bytes(p1_shape(1, 32768));
  EXPECT_DOUBLE_EQ(b.k, 64.0 * (1 << 20));
  EXPECT_DOUBLE_EQ(b.v, 64.0 * (1 << 20));
  EXPECT_DOUBLE_EQ(b.meta, 32 * 128 * 2 + 4);  // q + one length
  EXPECT_DOUBLE_EQ(b.total(), b.k + b.v + b.meta);
  EXPECT_DOUBLE_EQ(dense_bytes(p1_shape(16, 32768)).k, 16 * 64.0 * (1 << 20));
  EXPECT_DOUBLE_EQ(dense_bytes(p1_shape(1, 32768), 100.0).meta, 32 * 128 * 2 + 4 + 100.0);
}

TEST(LatencyBytes, SamplingReadsKAndItsDistinctRows) {
  const DecodeShape s = p1_shape(4, 8192);
  const BytesRead b = sampled_bytes(s, 3000);
  EXPECT_DOUBLE_EQ(b.k, 4.0 * 8192 * 8 * 256);
  EXPECT_DOUBLE_EQ(b.v, 3000.0 * 256);
  EXPECT_DOUBLE_EQ(b.meta, metadata_bytes(s));
  EXPECT_DOUBLE_EQ(sampled_bytes(s, s.kv_rows()).v, dense_bytes(s).v);  // every row sampled: all of V
  EXPECT_THROW(sampled_bytes(s, -1), std::invalid_argument);
  EXPECT_THROW(sampled_bytes(s, s.kv_rows() + 1), std::invalid_argument);
}

TEST(LatencyBytes, PageTablesCountAsMetadata) {
  DecodeShape s = p1_shape(2, 1000);
  s.paged = true;
  s.page_size = 16;
  EXPECT_EQ(s.pages_per_seq(), 63);  // ceil(1000 / 16)
  EXPECT_DOUBLE_EQ(metadata_bytes(s), 2 * 32 * 128 * 2 + 2 * 4 + 2 * 63 * 4);
  // FlashInfer: page indices + page indptr + qo indptr + last-page lengths, int32.
  EXPECT_DOUBLE_EQ(flashinfer_index_bytes(s, 16), 4.0 * (2 * 63 + 2 * 3 + 2));
}

}  // namespace
}  // namespace santa::harness::measure
