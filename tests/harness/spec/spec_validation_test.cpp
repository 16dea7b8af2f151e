// Every validation error of a spec names FILE:LINE:COL of the offending value, the value and what is allowed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness/spec/spec.hpp"

namespace santa::harness::spec {
namespace {

std::vector<std::string> errors_of(const std::string& yaml) {
  try {
    parse_spec(yaml, "t.yaml");
  } catch (const SpecError& e) {
    return e.errors;
  }
  return {};
}

// Passes when one error starts with `where` ("t.yaml:L:C") and contains every part.
void expect_error(const std::string& yaml, const std::string& where, const std::vector<std::string>& parts) {
  const auto errors = errors_of(yaml);
  ASSERT_FALSE(errors.empty()) << "spec was accepted:\n" << yaml;
  for (const auto& e : errors) {
    if (e.rfind(where + ": error: ", 0) != 0) continue;
    bool all = true;
    for (const auto& p : parts) all = all && e.find(p) != std::string::npos;
    if (all) return;
  }
  std::string got;
  for (const auto& e : errors) got += "  " + e + "\n";
  ADD_FAILURE() << "no error at " << where << " with the expected text; got:\n" << got;
}

const std::string kHead = "name: t\nkind: variance\n";  // lines 1-2

TEST(SpecValidation, YamlSyntaxErrorHasPosition) {
  const auto errors = errors_of("name: t\nkind: [variance\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("t.yaml:", 0), 0u);
  EXPECT_NE(errors[0].find("YAML syntax"), std::string::npos);
}

TEST(SpecValidation, TopLevelMustBeAMap) { expect_error("- a\n- b\n", "t.yaml:1:1", {"must be a map", "kind"}); }

TEST(SpecValidation, UnknownTopLevelKeySuggestsClosest) {
  expect_error(kHead + "sweeps: {}\n", "t.yaml:3:1",
               {"unknown key 'sweeps'", "did you mean 'sweep'", "allowed: name, description, kind"});
}

TEST(SpecValidation, MissingNameAndKind) {
  expect_error("kind: variance\n", "t.yaml:1:1", {"missing required key 'name'"});
  expect_error("name: t\n", "t.yaml:1:1",
               {"missing required key 'kind'", "allowed: variance, fidelity, bernoulli, coverage, latency"});
}

TEST(SpecValidation, UnknownKindSuggestsClosest) {
  expect_error("name: t\nkind: varience\n", "t.yaml:2:7",
               {"unknown kind 'varience'", "did you mean 'variance'", "allowed: one of: variance"});
}

TEST(SpecValidation, NameMustBePlain) {
  expect_error("name: a b\nkind: variance\n", "t.yaml:1:7", {"name 'a b'", "letters, digits"});
}

TEST(SpecValidation, SeedMustBeNonNegativeInteger) {
  expect_error(kHead + "seed: -3\n", "t.yaml:3:7", {"seed", "non-negative integer", "'-3'"});
  expect_error(kHead + "seed: 1.5\n", "t.yaml:3:7", {"seed", "'1.5'"});
}

TEST(SpecValidation, Replicates) {
  expect_error(kHead + "replicates: 0\n", "t.yaml:3:13", {"replicates = 0 is out of range", "allowed: an integer"});
  expect_error(kHead + "replicates: many\n", "t.yaml:3:13", {"expected an integer, got 'many'"});
  expect_error(kHead + "replicates: {min: 5, max: 10}\n", "t.yaml:3:13", {"needs all of min, max and rel_se"});
  expect_error(kHead + "replicates: {min: 50, max: 10, rel_se: 0.1}\n", "t.yaml:3:13", {"min = 50 > max = 10"});
  expect_error(kHead + "replicates: {min: 5, max: 10, rel: 0.1}\n", "t.yaml:3:31",
               {"unknown key 'rel' in replicates", "did you mean 'rel_se'", "allowed: min, max, rel_se"});
  expect_error(kHead + "replicates: {min: 5, max: 10, rel_se: 2}\n", "t.yaml:3:39",
               {"rel_se = 2 is out of range", "0 < rel_se < 1"});
  expect_error(kHead + "replicates: [1]\n", "t.yaml:3:13", {"an integer or {min: N, max: N, rel_se: x}"});
  expect_error("name: t\nkind: latency\nreplicates: 3\n", "t.yaml:3:13",
               {"kind latency takes no 'replicates'", "warmup and iters"});
}

TEST(SpecValidation, ParametersMustBeAMap) {
  expect_error(kHead + "parameters: [1]\n", "t.yaml:3:13", {"parameters must be a map", "a list"});
}

TEST(SpecValidation, UnknownParameterSuggestsClosest) {
  expect_error(kHead + "parameters:\n  n_kk: 64\n", "t.yaml:4:3",
               {"unknown parameter 'n_kk' for kind variance", "did you mean 'n_k'", "allowed: scheme, S, n_k"});
}

TEST(SpecValidation, WrongTypes) {
  const std::string p = kHead + "parameters:\n";
  expect_error(p + "  S: abc\n", "t.yaml:4:6",
               {"S: expected an integer, got 'abc'", "allowed: an integer with 1 <= S <= 1073741824"});
  expect_error(p + "  S: 2.5\n", "t.yaml:4:6", {"S: expected an integer, got '2.5'"});
  expect_error(p + "  n_k: \"4096\"\n", "t.yaml:4:8", {"n_k: expected an integer, got the text '4096'"});
  expect_error(p + "  needle_mass: high\n", "t.yaml:4:16", {"needle_mass: expected a finite number, got 'high'"});
  expect_error(p + "  S: [1, 2]\n", "t.yaml:4:6", {"S: expected a single value, got a list", "under 'sweep'"});
  expect_error(p + "  S: {a: 1}\n", "t.yaml:4:6", {"S: expected a single value, got a map"});
  expect_error(p + "  S:\n", "t.yaml:4:3", {"S has no value", "allowed: an integer"});
}

TEST(SpecValidation, ImpossibleValues) {
  const std::string p = kHead + "parameters:\n";
  expect_error(p + "  S: 0\n", "t.yaml:4:6", {"S = 0 is out of range", "1 <= S"});
  expect_error(p + "  n_k: -5\n", "t.yaml:4:8", {"n_k = -5 is out of range", "an integer >= 1"});
  expect_error(p + "  d: 0\n", "t.yaml:4:6", {"d = 0 is out of range"});
  expect_error(p + "  needle_mass: 1.5\n", "t.yaml:4:16",
               {"needle_mass = 1.5 is out of range", "0 < needle_mass < 1"});
  expect_error(p + "  head: 70000\n", "t.yaml:4:9", {"head = 70000 is out of range", "head <= 65535"});
}

TEST(SpecValidation, UnknownSchemeSuggestsClosestAndListsAllowed) {
  expect_error(kHead + "parameters:\n  scheme: stratt\n", "t.yaml:4:11",
               {"unknown scheme 'stratt'", "did you mean 'strat'",
                "allowed: one of: iid, strat, sys, flash, prop_reference, global_systematic, topk"});
  expect_error(kHead + "sweep:\n  grid:\n    scheme: [iid, globalsystematic]\n", "t.yaml:5:19",
               {"unknown scheme 'globalsystematic'", "did you mean 'global_systematic'"});
}

TEST(SpecValidation, SweepKeys) {
  expect_error(kHead + "sweep:\n  grids: {}\n", "t.yaml:4:3",
               {"unknown key 'grids' in sweep", "did you mean 'grid'", "allowed: grid, zip"});
  expect_error(kHead + "sweep: [1]\n", "t.yaml:3:8", {"sweep must be a map"});
  expect_error(kHead + "sweep:\n  grid: [S]\n", "t.yaml:4:9", {"sweep.grid must be a map"});
  expect_error(kHead + "sweep:\n  grid:\n    S: []\n", "t.yaml:5:8", {"S: empty list of values"});
}

TEST(SpecValidation, Ranges) {
  const std::string g = kHead + "sweep:\n  grid:\n";
  expect_error(g + "    S: {pow2: [3, 1]}\n", "t.yaml:5:8", {"pow2: [3, 1]", "0 <= first <= last <= 62"});
  expect_error(g + "    S: {pow2: [1]}\n", "t.yaml:5:8", {"pow2 takes [first_exponent, last_exponent]"});
  expect_error(g + "    S: {pow2: [0.5, 2]}\n", "t.yaml:5:8", {"integer exponents"});
  expect_error(g + "    S: {pow2: [1, 63]}\n", "t.yaml:5:8", {"last <= 62"});
  expect_error(g + "    S: {pow3: [1, 2]}\n", "t.yaml:5:8", {"unknown range 'pow3'", "did you mean 'pow2'"});
  expect_error(g + "    S: {linear: [1, 10, 0]}\n", "t.yaml:5:8", {"step 0 never gets from 1 to 10"});
  expect_error(g + "    S: {linear: [10, 1, 2]}\n", "t.yaml:5:8", {"step 2 never gets from 10 to 1"});
  expect_error(g + "    S: {linear: [1, 2, 0.5]}\n", "t.yaml:5:8", {"for an integer parameter"});
  expect_error(g + "    S: {linear: [1, 2]}\n", "t.yaml:5:8", {"linear takes [start, stop, step]"});
  expect_error(g + "    scheme: {pow2: [1, 2]}\n", "t.yaml:5:13", {"needs a numeric parameter"});
  expect_error(g + "    S: {linear: [0, 4, 1]}\n", "t.yaml:5:8", {"S = 0 is out of range (from this range)"});
  expect_error(g + "    S: {pow2: [1, 2], linear: [1, 2, 1]}\n", "t.yaml:5:8", {"a range is a map with one key"});
}

TEST(SpecValidation, ZipListsMustAlign) {
  expect_error(kHead + "sweep:\n  zip:\n    S: [1, 2]\n    scheme: [iid]\n", "t.yaml:6:5",
               {"zip: 'scheme' has 1 values but 'S' has 2", "lists of equal length"});
  expect_error(kHead + "sweep:\n  zip: {}\n", "t.yaml:4:3", {"zip: empty group"});
}

TEST(SpecValidation, ParameterGivenTwice) {
  expect_error(kHead + "parameters:\n  S: 4\nsweep:\n  grid:\n    S: [1, 2]\n", "t.yaml:7:5",
               {"parameter 'S' is given twice (first at t.yaml:4:3)"});
  expect_error(kHead + "sweep:\n  grid:\n    S: [1, 2]\n  zip:\n    S: [4, 8]\n", "t.yaml:7:5",
               {"parameter 'S' is given twice (first at t.yaml:5:5)"});
}

TEST(SpecValidation, DuplicateKey) {
  expect_error(kHead + "parameters:\n  S: 4\n  S: 8\n", "t.yaml:5:3", {"duplicate key 'S'", "first given at t.yaml:4:3"});
}

TEST(SpecValidation, GqaGroupsMustDivide) {
  // The blamed value is the 3 inside the swept list, at its own column.
  expect_error("name: t\nkind: bernoulli\nparameters:\n  H: 8\nsweep:\n  grid:\n    H_kv: [1, 3, 4]\n", "t.yaml:7:15",
               {"H_kv = 3 does not divide H = 8", "allowed: a divisor of H"});
}

TEST(SpecValidation, PlantedDistributionsNeedGroupSizeAtMostD) {
  // H_kv keeps its default (1): the message says so and points at the file's start.
  expect_error("name: t\nkind: bernoulli\nparameters:\n  d: 2\n  distribution: zipf\n", "t.yaml:1:1",
               {"group size H / H_kv = 4 > d = 2", "(default value)"});
}

TEST(SpecValidation, DistributionRules) {
  const std::string p = kHead + "parameters:\n";
  expect_error(p + "  distribution: temperature\n  n_k: 64\n  target_entropy: 5.0\n", "t.yaml:6:19",
               {"target_entropy = 5 nats is not reachable with n_k = 64", "ln(n_k) = 4.15888"});
  expect_error(p + "  distribution: temperature\n  temperature_target: max_prob\n  n_k: 4\n  target_max_prob: 0.2\n",
               "t.yaml:7:20", {"target_max_prob = 0.2 is not reachable with n_k = 4", "1/n_k = 0.25"});
  expect_error(p + "  distribution: sink_plus_local\n  n_k: 100\n  window: 96\n", "t.yaml:6:11",
               {"sinks + window = 4 + 96 leaves no remainder keys with n_k = 100"});
  expect_error(p + "  distribution: sink_plus_local\n  sink_mass: 0.6\n  local_mass: 0.5\n", "t.yaml:6:15",
               {"sink_mass + local_mass = 0.6 + 0.5", "allowed: sink_mass + local_mass < 1"});
  expect_error(p + "  distribution: sink_plus_local\n  sinks: 0\n", "t.yaml:1:1",
               {"sink_mass = 0.3 with sinks = 0", "(default value)"});
  expect_error(p + "  distribution: needles\n  n_k: 4\n  needle_count: 4\n", "t.yaml:6:17",
               {"needle_count = 4 leaves no background keys with n_k = 4"});
  expect_error(p + "  distribution: tile_spread\n  n_k: 1024\n  tiles_90: 4\n", "t.yaml:6:13",
               {"tiles_90 = 4 cannot be built from n_k = 1024 keys in 4 tiles of spread_tile = 256"});
  expect_error(p + "  distribution: file\n", "t.yaml:4:17", {"distribution = file needs the parameter 'file'"});
  // Distribution knobs of other distributions are ignored: no error for gaussian.
  EXPECT_TRUE(errors_of(p + "  n_k: 64\n  target_entropy: 5.0\n").empty());
}

TEST(SpecValidation, RepeatedCrossCheckErrorIsReportedOnceWithCount) {
  const auto errors = errors_of(
      "name: t\nkind: bernoulli\nparameters:\n  H: 8\nsweep:\n  grid:\n    H_kv: [3]\n    B: [1, 2, 4]\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("(in 3 points)"), std::string::npos) << errors[0];
}

TEST(SpecValidation, ReportsSeveralErrorsAtOnce) {
  const auto errors = errors_of(kHead + "parameters:\n  S: 0\n  n_kk: 1\n  d: x\n");
  EXPECT_EQ(errors.size(), 3u);
}

TEST(SpecValidation, LatencyBackendAndDtype) {
  expect_error("name: t\nkind: latency\nparameters:\n  backend: flashinfr\n  dtype: fp8\n", "t.yaml:4:12",
               {"unknown backend 'flashinfr'", "did you mean 'flashinfer'"});
  expect_error("name: t\nkind: latency\nparameters:\n  dtype: fp8\n", "t.yaml:4:10",
               {"unknown dtype 'fp8'", "allowed: one of: bf16, fp16"});
  expect_error("name: t\nkind: latency\nparameters:\n  cache: pagged\n", "t.yaml:4:10",
               {"unknown cache 'pagged'", "did you mean 'paged'"});
  expect_error("name: t\nkind: latency\nparameters:\n  iters: 0\n", "t.yaml:4:10", {"iters = 0 is out of range"});
}

TEST(SpecValidation, CoverageOnlyGaussian) {
  expect_error("name: t\nkind: coverage\nparameters:\n  distribution: zipf\n", "t.yaml:4:17",
               {"unknown distribution 'zipf'", "allowed: one of: gaussian"});
}

TEST(SpecValidation, KeysOutputDescriptionAndSize) {
  expect_error(kHead + "? [a, b]\n: 1\n", "t.yaml:3:3", {"keys must be plain names, got a list"});
  expect_error(kHead + "output: \"\"\n", "t.yaml:3:9", {"output is empty"});
  expect_error(kHead + "description: [a]\n", "t.yaml:3:14", {"description: expected a single value, got a list"});
  expect_error(kHead + "seed: \"5\"\n", "t.yaml:3:7", {"seed: expected a non-negative integer"});
  // 2^11 * 2^11 * 2^10 = 2^32 points: refused before any point is built.
  expect_error(kHead + "sweep:\n  grid:\n    S: {linear: [1, 2048, 1]}\n    n_k: {linear: [1, 2048, 1]}\n"
                       "    d: {linear: [1, 1024, 1]}\n",
               "t.yaml:1:1", {"the sweep has 4294967296 points; allowed: at most 2^31"});
}

TEST(SpecValidation, MissingFile) {
  try {
    load_spec("/nonexistent/spec.yaml");
    FAIL() << "no error";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/spec.yaml: error: cannot read the spec file"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace santa::harness::spec
