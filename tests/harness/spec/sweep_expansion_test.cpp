// A valid spec parses into the intended fixed parameters and axes, and expands into the intended points.
#include <gtest/gtest.h>

#include <set>

#include "harness/spec/spec.hpp"

namespace santa::harness::spec {
namespace {

Spec parse(const std::string& yaml) { return parse_spec(yaml, "t.yaml"); }

std::vector<int64_t> ints(const Spec& s, const std::string& name) {
  std::vector<int64_t> out;
  for (const auto& p : s.points()) out.push_back(p.integer(name));
  return out;
}

TEST(SpecParse, FullSpec) {
  const Spec s = parse(R"(name: demo
description: a test
kind: variance
seed: 18446744073709551615
replicates: {min: 8, max: 64, rel_se: 0.05}
output: out/demo.h5
parameters:
  n_k: 512
  tile: 64
sweep:
  grid:
    scheme: [iid, sys]
    S: [4, 8]
)");
  EXPECT_EQ(s.name, "demo");
  EXPECT_EQ(s.description, "a test");
  EXPECT_EQ(s.kind->name, "variance");
  EXPECT_EQ(s.seed, 18446744073709551615ull);
  EXPECT_EQ(s.replicates.min, 8);
  EXPECT_EQ(s.replicates.max, 64);
  EXPECT_DOUBLE_EQ(s.replicates.target_rel_se, 0.05);
  EXPECT_EQ(s.output, "out/demo.h5");
  EXPECT_EQ(s.point_count(), 4);
  const Point p = s.point(3);
  EXPECT_EQ(p.integer("n_k"), 512);
  EXPECT_EQ(p.integer("tile"), 64);
  EXPECT_EQ(p.integer("d"), 128);  // default
  EXPECT_EQ(p.text("distribution"), "gaussian");
  EXPECT_EQ(p.text("scheme"), "sys");
  EXPECT_EQ(p.integer("S"), 8);
  // Marks: written values carry their place, defaults none.
  EXPECT_EQ(p.at("n_k").mark.str(), "t.yaml:8:8");
  EXPECT_EQ(p.at("S").mark.str(), "t.yaml:13:12");
  EXPECT_FALSE(p.at("d").mark.known());
  // Every parameter of the kind, in schema order.
  ASSERT_EQ(p.params.size(), s.kind->params.size());
  for (std::size_t i = 0; i < p.params.size(); ++i) EXPECT_EQ(p.params[i].name, s.kind->params[i].name);
}

TEST(SpecParse, Defaults) {
  const Spec s = parse("name: x\nkind: coverage\n");
  EXPECT_EQ(s.seed, 0u);
  EXPECT_EQ(s.replicates.max, 10);  // coverage default: 10 trials (P4)
  EXPECT_EQ(s.output, "results/x.h5");
  EXPECT_EQ(s.point_count(), 1);
  EXPECT_EQ(s.point(0).text("dtype"), "fp16");
}

TEST(SpecParse, RealParameterAcceptsIntegers) {
  const Spec s = parse("name: x\nkind: variance\nparameters:\n  zipf_exponent: 2\n");
  EXPECT_TRUE(std::holds_alternative<double>(s.point(0).at("zipf_exponent").value));
  EXPECT_DOUBLE_EQ(s.point(0).real("zipf_exponent"), 2.0);
}

TEST(SweepExpansion, GridIsCartesianWithLastAxisFastest) {
  const Spec s = parse("name: x\nkind: variance\nsweep:\n  grid:\n    n_k: [100, 200]\n    S: [1, 2, 3]\n");
  ASSERT_EQ(s.point_count(), 6);
  EXPECT_EQ(ints(s, "n_k"), (std::vector<int64_t>{100, 100, 100, 200, 200, 200}));
  EXPECT_EQ(ints(s, "S"), (std::vector<int64_t>{1, 2, 3, 1, 2, 3}));
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(s.point(i).index, i);
}

TEST(SweepExpansion, ZipMovesListsTogether) {
  const Spec s = parse(
      "name: x\nkind: variance\nsweep:\n  zip:\n    S: [1, 2, 3]\n    n_k: [10, 20, 30]\n  grid:\n    d: [4, 8]\n");
  ASSERT_EQ(s.point_count(), 6);
  // The zip group is written first, so it is the slower axis.
  EXPECT_EQ(ints(s, "S"), (std::vector<int64_t>{1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(ints(s, "n_k"), (std::vector<int64_t>{10, 10, 20, 20, 30, 30}));
  EXPECT_EQ(ints(s, "d"), (std::vector<int64_t>{4, 8, 4, 8, 4, 8}));
}

TEST(SweepExpansion, SeveralZipGroups) {
  const Spec s = parse("name: x\nkind: variance\nsweep:\n  zip:\n    - {S: [1, 2], d: [3, 4]}\n"
                       "    - {n_k: [10, 20, 30], tile: [5, 6, 7]}\n");
  ASSERT_EQ(s.point_count(), 6);
  EXPECT_EQ(ints(s, "d"), (std::vector<int64_t>{3, 3, 3, 4, 4, 4}));
  EXPECT_EQ(ints(s, "tile"), (std::vector<int64_t>{5, 6, 7, 5, 6, 7}));
}

TEST(SweepExpansion, Pow2Range) {
  const Spec s = parse("name: x\nkind: variance\nsweep:\n  grid:\n    S: {pow2: [1, 12]}\n");
  std::vector<int64_t> want;
  for (int e = 1; e <= 12; ++e) want.push_back(int64_t{1} << e);
  EXPECT_EQ(ints(s, "S"), want);  // 2 .. 4096
}

TEST(SweepExpansion, Pow2ForRealParameterGivesReals) {
  const Spec s = parse("name: x\nkind: variance\nsweep:\n  grid:\n    zipf_exponent: {pow2: [0, 1]}\n");
  ASSERT_EQ(s.point_count(), 2);
  EXPECT_TRUE(std::holds_alternative<double>(s.point(1).at("zipf_exponent").value));
  EXPECT_DOUBLE_EQ(s.point(1).real("zipf_exponent"), 2.0);
}

TEST(SweepExpansion, LinearRangesIncludeStop) {
  const Spec a = parse("name: x\nkind: variance\nsweep:\n  grid:\n    S: {linear: [3, 11, 4]}\n");
  EXPECT_EQ(ints(a, "S"), (std::vector<int64_t>{3, 7, 11}));
  const Spec b = parse("name: x\nkind: variance\nsweep:\n  grid:\n    S: {linear: [12, 2, -5]}\n");
  EXPECT_EQ(ints(b, "S"), (std::vector<int64_t>{12, 7, 2}));
  // 0.1 steps accumulate rounding; the stop is still included (10 values, not 9).
  const Spec c = parse("name: x\nkind: variance\nsweep:\n  grid:\n    zipf_exponent: {linear: [0.1, 1.0, 0.1]}\n");
  ASSERT_EQ(c.point_count(), 10);
  EXPECT_NEAR(c.point(9).real("zipf_exponent"), 1.0, 1e-12);
}

TEST(SweepExpansion, ListsMayMixValuesAndRanges) {
  const Spec s = parse("name: x\nkind: variance\nsweep:\n  grid:\n    S: [1, {pow2: [2, 3]}, 100]\n");
  EXPECT_EQ(ints(s, "S"), (std::vector<int64_t>{1, 4, 8, 100}));
}

TEST(SweepExpansion, PointsAreDistinctAndHashesStable) {
  const std::string yaml = "name: x\nkind: variance\nsweep:\n  grid:\n    scheme: [iid, strat]\n    S: {pow2: [1, 4]}\n";
  const Spec a = parse(yaml), b = parse(yaml);
  std::set<uint64_t> hashes;
  for (int64_t i = 0; i < a.point_count(); ++i) {
    EXPECT_EQ(a.point(i).hash, b.point(i).hash);
    hashes.insert(a.point(i).hash);
  }
  EXPECT_EQ(hashes.size(), 8u);
  EXPECT_EQ(a.digest(), b.digest());
}

TEST(SweepExpansion, DigestTracksWhatIsRunNotHowItIsWritten) {
  const Spec base = parse("name: x\nkind: variance\nseed: 1\nsweep:\n  grid:\n    S: [1, 2]\n");
  // Formatting, description and output do not change what runs.
  EXPECT_EQ(base.digest(),
            parse("# comment\nname: x\ndescription: other\noutput: elsewhere.h5\nkind: variance\nseed: 1\n"
                  "sweep: {grid: {S: [1,   2]}}\n")
                .digest());
  EXPECT_NE(base.digest(), parse("name: x\nkind: variance\nseed: 2\nsweep:\n  grid:\n    S: [1, 2]\n").digest());
  EXPECT_NE(base.digest(), parse("name: x\nkind: variance\nseed: 1\nsweep:\n  grid:\n    S: [1, 3]\n").digest());
  EXPECT_NE(base.digest(),
            parse("name: x\nkind: variance\nseed: 1\nreplicates: 7\nsweep:\n  grid:\n    S: [1, 2]\n").digest());
}

TEST(SweepExpansion, PointIndexOutOfRangeThrows) {
  const Spec s = parse("name: x\nkind: variance\n");
  EXPECT_THROW(s.point(1), std::out_of_range);
  EXPECT_THROW(s.point(-1), std::out_of_range);
}

TEST(SweepExpansion, Descriptions) {
  const Spec s = parse("name: x\nkind: variance\nparameters:\n  d: 16\nsweep:\n  zip:\n    S: [1, 2]\n    n_k: [5, 6]\n");
  EXPECT_NE(s.describe_parameters().find("d = 16 (t.yaml:4:6)"), std::string::npos);
  EXPECT_NE(s.describe_parameters().find("tile = 256 (default)"), std::string::npos);
  EXPECT_EQ(s.describe_sweep(), "zip(S, n_k): [(1, 5), (2, 6)]\n");
  EXPECT_EQ(s.swept_names(), (std::vector<std::string>{"S", "n_k"}));
}

TEST(Schema, EveryKindHasUniqueParameterNamesAndValidDefaults) {
  for (const auto& k : kind_schemas()) {
    std::set<std::string> names;
    for (const auto& p : k.params) {
      EXPECT_TRUE(names.insert(p.name).second) << k.name << "." << p.name;
      EXPECT_EQ(type_of(p.default_value), p.value_type()) << k.name << "." << p.name;
      EXPECT_FALSE(p.violation(p.default_value).has_value()) << k.name << "." << p.name;
    }
    // A spec with only name and kind is valid for every kind (defaults satisfy the cross-checks).
    EXPECT_NO_THROW(parse("name: x\nkind: " + k.name + "\n")) << k.name;
  }
}

}  // namespace
}  // namespace santa::harness::spec
