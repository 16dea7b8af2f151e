// The HDF5 result file round trip: attributes, /points (every column type, NaN, uint64 hashes, long text),
// /columns and per-point arrays; readable by the reader after every write; bad input is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "harness/store/result_file.hpp"
#include "../harness_test_support.hpp"
#include "store_test_support.hpp"

namespace santa::harness::store {
namespace {

using harness::testing::TempDir;
using testing::sample_data;
using testing::sample_row;

void expect_same_value(const Value& a, const Value& b) {
  ASSERT_EQ(a.index(), b.index());
  if (const auto* x = std::get_if<double>(&a)) {
    const double y = std::get<double>(b);
    if (std::isnan(*x)) {
      EXPECT_TRUE(std::isnan(y));
    } else {
      EXPECT_EQ(*x, y);  // bit-exact: doubles are stored as doubles
    }
  } else {
    EXPECT_EQ(a, b);
  }
}

TEST(ResultFile, RoundTripsEverything) {
  TempDir dir;
  ResultData d = sample_data();
  for (int64_t p : {3, 0, 2, 1}) d.upsert(d.conform(sample_row(p)));  // out of order on purpose
  write_result_file(dir.file("r.h5"), d);
  const ResultData back = read_result_file(dir.file("r.h5"));

  ASSERT_EQ(back.attributes.size(), d.attributes.size());
  for (std::size_t i = 0; i < d.attributes.size(); ++i) {
    EXPECT_EQ(back.attributes[i].first, d.attributes[i].first);
    expect_same_value(back.attributes[i].second, d.attributes[i].second);
  }
  EXPECT_EQ(back.layout.signature(), d.layout.signature());
  for (std::size_t c = 0; c < d.layout.columns.size(); ++c) {
    EXPECT_EQ(back.layout.columns[c].unit, d.layout.columns[c].unit);
    EXPECT_EQ(back.layout.columns[c].description, d.layout.columns[c].description);
    EXPECT_EQ(back.layout.columns[c].role, d.layout.columns[c].role);
  }
  ASSERT_EQ(back.rows.size(), 4u);
  for (std::size_t r = 0; r < 4; ++r) {
    const Row want = d.conform(sample_row(int64_t(r)));
    EXPECT_EQ(back.rows[r].point, int64_t(r));  // sorted by point
    EXPECT_EQ(back.rows[r].param_hash, want.param_hash);
    ASSERT_EQ(back.rows[r].values.size(), want.values.size());
    for (std::size_t c = 0; c < want.values.size(); ++c) {
      EXPECT_EQ(back.rows[r].values[c].first, want.values[c].first);
      expect_same_value(back.rows[r].values[c].second, want.values[c].second);
    }
    ASSERT_EQ(back.rows[r].arrays.size(), want.arrays.size());
    for (const auto& a : want.arrays) {
      bool found = false;
      for (const auto& b : back.rows[r].arrays) {
        if (b.name != a.name) continue;
        found = true;
        EXPECT_EQ(b.shape, a.shape);
        EXPECT_EQ(b.data, a.data);
      }
      EXPECT_TRUE(found) << a.name;
    }
  }
}

TEST(ResultFile, EmptyTableRoundTrips) {
  TempDir dir;
  write_result_file(dir.file("e.h5"), sample_data());
  const ResultData back = read_result_file(dir.file("e.h5"));
  EXPECT_TRUE(back.rows.empty());
  EXPECT_EQ(back.layout.signature(), sample_data().layout.signature());
}

TEST(ResultFile, RewriteReplacesWholeFileAndLeavesNoTemporaries) {
  TempDir dir;
  ResultData d = sample_data();
  for (int64_t p = 0; p < 4; ++p) {
    d.upsert(d.conform(sample_row(p)));
    write_result_file(dir.file("r.h5"), d);
    EXPECT_EQ(read_result_file(dir.file("r.h5")).rows.size(), std::size_t(p + 1));
  }
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(ResultFile, ConformRefusesRowsThatDoNotFit) {
  const ResultData d = sample_data();
  Row missing = sample_row(0);
  missing.values.pop_back();
  EXPECT_THROW(d.conform(missing), StoreError);
  Row wrong_type = sample_row(0);
  wrong_type.values[1].second = std::string("x");
  EXPECT_THROW(d.conform(wrong_type), StoreError);
  Row too_long = sample_row(0, "a_scheme_name_longer_than_17");
  EXPECT_THROW(d.conform(too_long), StoreError);
  Row extra = sample_row(0);
  extra.values.emplace_back("unknown", 1.0);
  EXPECT_THROW(d.conform(extra), StoreError);
  Row bad_array = sample_row(1);
  bad_array.arrays[0].shape = {4};
  EXPECT_THROW(d.conform(bad_array), StoreError);
  Row slash = sample_row(1);
  slash.arrays[0].name = "a/b";
  EXPECT_THROW(d.conform(slash), StoreError);
  // Integers are accepted for real columns.
  Row int_for_real = sample_row(0);
  int_for_real.values[2].second = int64_t{3};
  EXPECT_DOUBLE_EQ(std::get<double>(d.conform(int_for_real).values[2].second), 3.0);
}

TEST(ResultFile, UnreadableFilesAreReported) {
  TempDir dir;
  EXPECT_THROW(read_result_file(dir.file("missing.h5")), StoreError);
  harness::testing::write_text(dir.file("text.h5"), "not hdf5");
  try {
    read_result_file(dir.file("text.h5"));
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("not a readable santa result file"), std::string::npos);
  }
}

}  // namespace
}  // namespace santa::harness::store
