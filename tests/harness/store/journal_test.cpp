// Journal lines round-trip exactly; torn or corrupted lines are rejected, never misread.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "harness/store/journal.hpp"
#include "../harness_test_support.hpp"
#include "store_test_support.hpp"

namespace santa::harness::store {
namespace {

using harness::testing::TempDir;

TEST(Journal, EncodeDecodeIsExact) {
  Row r = testing::sample_row(1);
  r.values.emplace_back("nasty", std::string("tab\there=%20,|\nnewline"));
  r.values.emplace_back("tiny", std::numeric_limits<double>::denorm_min());
  r.values.emplace_back("inf", -std::numeric_limits<double>::infinity());
  r.values.emplace_back("neg", int64_t{-42});
  const std::string line = encode_row(r);
  ASSERT_EQ(line.back(), '\n');
  ASSERT_EQ(line.find('\n'), line.size() - 1);  // one line, whatever the text holds
  Row back;
  ASSERT_TRUE(decode_row(line.substr(0, line.size() - 1), back));
  EXPECT_EQ(back.point, r.point);
  EXPECT_EQ(back.param_hash, r.param_hash);
  ASSERT_EQ(back.values.size(), r.values.size());
  for (std::size_t i = 0; i < r.values.size(); ++i) {
    EXPECT_EQ(back.values[i].first, r.values[i].first);
    if (const auto* d = std::get_if<double>(&r.values[i].second); d && std::isnan(*d)) {
      EXPECT_TRUE(std::isnan(std::get<double>(back.values[i].second)));
    } else {
      EXPECT_EQ(back.values[i].second, r.values[i].second) << r.values[i].first;
    }
  }
  ASSERT_EQ(back.arrays.size(), 3u);
  EXPECT_EQ(back.arrays[1].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(back.arrays[1].data, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_TRUE(back.arrays[2].shape.empty());
  EXPECT_EQ(back.arrays[2].data, (std::vector<double>{42.0}));
}

TEST(Journal, TornOrCorruptLinesAreRejected) {
  const std::string line = encode_row(testing::sample_row(3));
  const std::string body = line.substr(0, line.size() - 1);
  Row r;
  for (std::size_t cut : {std::size_t{0}, std::size_t{10}, std::size_t{17}, body.size() / 2, body.size() - 1}) {
    EXPECT_FALSE(decode_row(body.substr(0, cut), r)) << "cut at " << cut;
  }
  std::string flipped = body;
  flipped[flipped.size() - 3] ^= 1;
  EXPECT_FALSE(decode_row(flipped, r));
}

TEST(Journal, ReaderSkipsTornTail) {
  TempDir dir;
  const std::string path = dir.file("x.journal");
  {
    Journal j(path, "header line");
    j.append(testing::sample_row(0));
    j.append(testing::sample_row(1));
  }
  // Simulate a kill in the middle of the third record's write.
  const std::string third = encode_row(testing::sample_row(2));
  std::ofstream(path, std::ios::app) << third.substr(0, third.size() / 2);
  const JournalContents c = read_journal(path);
  EXPECT_EQ(c.header, "header line");
  ASSERT_EQ(c.rows.size(), 2u);
  EXPECT_EQ(c.rows[1].point, 1);
  EXPECT_EQ(c.bad_lines, 1);
}

TEST(Journal, ClearKeepsHeaderAndRemoveDeletes) {
  TempDir dir;
  const std::string path = dir.file("x.journal");
  Journal j(path, "h");
  j.append(testing::sample_row(0));
  j.clear();
  j.append(testing::sample_row(1));
  const JournalContents c = read_journal(path);
  EXPECT_EQ(c.header, "h");
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(c.rows[0].point, 1);
  j.remove();
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(read_journal(path).rows.empty());
}

}  // namespace
}  // namespace santa::harness::store
