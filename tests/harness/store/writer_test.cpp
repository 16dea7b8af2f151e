// The writer leaves a whole file after every commit; rows between commits survive in the journal and
// recover() brings them back; merge joins shards of one run and refuses foreign files.
#include <gtest/gtest.h>

#include "harness/store/merge.hpp"
#include "harness/store/result_file.hpp"
#include "harness/store/writer.hpp"
#include "../harness_test_support.hpp"
#include "store_test_support.hpp"

namespace santa::harness::store {
namespace {

using harness::testing::TempDir;
using testing::sample_data;
using testing::sample_row;

TEST(ResultWriter, FileExistsAtOnceAndGrowsWithEveryCommit) {
  TempDir dir;
  const std::string path = dir.file("r.h5");
  ResultWriter w(path, sample_data(), /*max_overhead=*/1e9);  // commit after every row
  EXPECT_EQ(read_result_file(path).rows.size(), 0u);
  for (int64_t p = 0; p < 3; ++p) {
    w.append(sample_row(p));
    EXPECT_EQ(read_result_file(path).rows.size(), std::size_t(p + 1));
  }
  w.set_attribute("status", std::string("complete"));
  w.finish();
  EXPECT_FALSE(std::filesystem::exists(journal_path(path)));
  EXPECT_EQ(read_result_file(path).text_attribute("status"), "complete");
}

TEST(ResultWriter, RowsBetweenCommitsAreRecoveredFromTheJournal) {
  TempDir dir;
  const std::string path = dir.file("r.h5");
  {
    // max_overhead 0: after the first write no commit is ever "due", so rows live only in the journal
    // (as after a kill between two commits). The writer is dropped without finish().
    ResultWriter w(path, sample_data(), 0.0);
    w.append(sample_row(0));
    w.append(sample_row(2));
    w.append(sample_row(0));  // a repeat of point 0 is one row
  }
  EXPECT_EQ(read_result_file(path).rows.size(), 0u);
  const Recovery r = recover(path);
  EXPECT_EQ(r.rows_in_file, 0);
  EXPECT_EQ(r.rows_from_journal, 2);
  ASSERT_EQ(r.data.rows.size(), 2u);
  EXPECT_EQ(r.data.rows[1].point, 2);
  EXPECT_EQ(r.data.rows[1].arrays.size(), 0u);
  // Continuing from the recovery keeps the rows and adds new ones.
  ResultWriter w2(path, r.data, 1e9);
  w2.append(sample_row(1));
  w2.finish();
  EXPECT_EQ(read_result_file(path).rows.size(), 3u);
}

TEST(ResultWriter, ForeignJournalIsRefused) {
  TempDir dir;
  const std::string path = dir.file("r.h5");
  write_result_file(path, sample_data("digest-a"));
  {
    Journal j(journal_path(path), journal_header(sample_data("digest-b")));
    j.append(sample_row(0));
  }
  EXPECT_THROW(recover(path), StoreError);
}

TEST(Merge, JoinsShardsInPointOrder) {
  ResultData a = sample_data(), b = sample_data();
  a.set_attribute("shard", std::string("0/2"));
  b.set_attribute("shard", std::string("1/2"));
  a.set_attribute("start_time", std::string("2026-01-01T00:00:05Z"));
  b.set_attribute("start_time", std::string("2026-01-01T00:00:01Z"));
  for (int64_t p : {0, 2}) a.upsert(a.conform(sample_row(p)));
  for (int64_t p : {1, 3}) b.upsert(b.conform(sample_row(p)));
  const ResultData m = merge_results({a, b}, {"a.h5", "b.h5"});
  ASSERT_EQ(m.rows.size(), 4u);
  for (int64_t p = 0; p < 4; ++p) EXPECT_EQ(m.rows[p].point, p);
  EXPECT_EQ(m.rows[3].arrays.size(), 3u);
  EXPECT_EQ(m.text_attribute("status"), "complete");  // 4 of points_total 4
  EXPECT_EQ(m.text_attribute("shard"), "merged");
  EXPECT_EQ(m.text_attribute("start_time"), "2026-01-01T00:00:01Z");
  EXPECT_NE(m.text_attribute("merged_from").find("b.h5 (shard 1/2, 2 rows"), std::string::npos);
  // One shard alone is incomplete.
  EXPECT_EQ(merge_results({a}, {"a.h5"}).text_attribute("status"), "incomplete");
}

TEST(Merge, RefusesOtherSpecsLayoutsAndConflicts) {
  ResultData a = sample_data("x"), b = sample_data("y");
  EXPECT_THROW(merge_results({a, b}, {"a", "b"}), StoreError);
  ResultData c = sample_data("x");
  c.layout.columns.pop_back();
  EXPECT_THROW(merge_results({a, c}, {"a", "c"}), StoreError);
  ResultData d = sample_data("x");
  a.upsert(a.conform(sample_row(0)));
  Row other = sample_row(0);
  other.param_hash ^= 1;
  d.upsert(d.conform(other));
  EXPECT_THROW(merge_results({a, d}, {"a", "d"}), StoreError);
  EXPECT_THROW(merge_results({}, {}), StoreError);
}

}  // namespace
}  // namespace santa::harness::store
