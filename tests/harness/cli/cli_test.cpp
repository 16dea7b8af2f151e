// The santa binary end to end: exit codes, refusing to overwrite, resume after SIGKILL and SIGINT of a real
// subprocess, and shard K/N + merge giving the same table as one run.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <regex>
#include <set>
#include <thread>

#include "harness/store/journal.hpp"
#include "kernels/device.hpp"
#include "harness/store/result_file.hpp"
#include "../harness_test_support.hpp"

namespace santa::harness {
namespace {

using testing::ProcResult;
using testing::run_santa;
using testing::TempDir;
using testing::write_text;

// 12 quick points.
const char* kSmallSpec = R"(name: small
kind: variance
seed: 7
replicates: 20
parameters:
  n_k: 2048
  d: 16
sweep:
  grid:
    scheme: [iid, sys, flash]
    S: {pow2: [1, 4]}
)";

// 24 points of roughly 0.1 s each, so a run can be killed in the middle.
const char* kSlowSpec = R"(name: slow
kind: variance
seed: 11
replicates: 300
parameters:
  n_k: 32768
  d: 32
sweep:
  grid:
    scheme: [iid, strat, sys, global_systematic]
    S: [2, 8, 32, 128, 512, 1024]
)";

bool same_value(const Value& a, const Value& b) {
  if (const auto* x = std::get_if<double>(&a)) {
    const auto* y = std::get_if<double>(&b);
    return y && ((std::isnan(*x) && std::isnan(*y)) || *x == *y);
  }
  return a == b;
}

// Same points, same parameters, same metrics (bit for bit) except wall_s, which is a timing.
void expect_same_table(const std::string& a_path, const std::string& b_path) {
  const store::ResultData a = store::read_result_file(a_path), b = store::read_result_file(b_path);
  ASSERT_EQ(a.layout.signature(), b.layout.signature());
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (std::size_t r = 0; r < a.rows.size(); ++r) {
    EXPECT_EQ(a.rows[r].point, b.rows[r].point);
    EXPECT_EQ(a.rows[r].param_hash, b.rows[r].param_hash);
    for (std::size_t c = 0; c < a.rows[r].values.size(); ++c) {
      if (a.rows[r].values[c].first == "wall_s") continue;
      EXPECT_TRUE(same_value(a.rows[r].values[c].second, b.rows[r].values[c].second))
          << "row " << r << " column " << a.rows[r].values[c].first;
    }
  }
}

int64_t rows_in(const std::string& path) { return static_cast<int64_t>(store::read_result_file(path).rows.size()); }

TEST(Cli, ExitCodesOfBadInvocations) {
  TempDir dir;
  EXPECT_EQ(run_santa({}, dir).code, 2);
  EXPECT_EQ(run_santa({"frobnicate"}, dir).code, 2);
  EXPECT_EQ(run_santa({"run"}, dir).code, 2);
  write_text(dir.file("s.yaml"), kSmallSpec);
  EXPECT_EQ(run_santa({"run", dir.file("s.yaml"), "--shard", "3/3", "-o", dir.file("x.h5")}, dir).code, 2);
  EXPECT_EQ(run_santa({"run", dir.file("s.yaml"), "--shard", "a/b", "-o", dir.file("x.h5")}, dir).code, 2);
  EXPECT_EQ(run_santa({"run", dir.file("s.yaml"), "--jobs", "0", "-o", dir.file("x.h5")}, dir).code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.h5")));
  EXPECT_EQ(run_santa({"--help"}, dir).code, 0);
}

TEST(Cli, ValidateAndListAndInfo) {
  TempDir dir;
  write_text(dir.file("s.yaml"), kSmallSpec);
  const ProcResult ok = run_santa({"validate", dir.file("s.yaml")}, dir);
  EXPECT_EQ(ok.code, 0);
  EXPECT_NE(ok.out.find("valid (variance kind, 12 points"), std::string::npos) << ok.out;

  write_text(dir.file("bad.yaml"), "name: b\nkind: variance\nparameters:\n  S: 0\n");
  const ProcResult bad = run_santa({"validate", dir.file("bad.yaml")}, dir);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find(dir.file("bad.yaml") + ":4:6: error: S = 0 is out of range"), std::string::npos) << bad.err;

  const ProcResult list = run_santa({"list", dir.file("s.yaml")}, dir);
  EXPECT_EQ(list.code, 0);
  EXPECT_NE(list.out.find("point  scheme   S"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("   11   flash  16"), std::string::npos) << list.out;

  const ProcResult info = run_santa({"info"}, dir);
  EXPECT_EQ(info.code, 0);
  EXPECT_NE(info.out.find("\nGPU: "), std::string::npos);  // the GPU hook (cli/gpu_hook.cpp) answers
  EXPECT_NE(info.out.find("git commit:"), std::string::npos);
  EXPECT_NE(info.out.find("HDF5 1.10"), std::string::npos);
}

TEST(Cli, WorkloadFileProblemsAreValidationErrorsAtTheirValue) {
  TempDir dir;
  write_text(dir.file("f.yaml"), "name: f\nkind: variance\nparameters:\n  distribution: file\n  file: " +
                                     dir.file("none.h5") + "\n");
  const ProcResult r = run_santa({"run", dir.file("f.yaml"), "-o", dir.file("o.h5")}, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(dir.file("f.yaml") + ":5:9: error: " + dir.file("none.h5") + ": no such file"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("o.h5")));
}

TEST(Cli, RunWritesCompleteFileAndRefusesToOverwrite) {
  TempDir dir;
  write_text(dir.file("s.yaml"), kSmallSpec);
  const std::string out = dir.file("sub/dir/out.h5");  // parent folders are created
  const ProcResult r = run_santa({"run", dir.file("s.yaml"), "-o", out, "--jobs", "2"}, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const store::ResultData d = store::read_result_file(out);
  EXPECT_EQ(d.rows.size(), 12u);
  EXPECT_EQ(d.text_attribute("status"), "complete");
  EXPECT_EQ(d.text_attribute("name"), "small");
  EXPECT_NE(d.text_attribute("spec_text").find("S: {pow2: [1, 4]}"), std::string::npos);
  EXPECT_FALSE(d.text_attribute("git_commit").empty());
  EXPECT_FALSE(d.text_attribute("end_time").empty());
  EXPECT_FALSE(std::filesystem::exists(store::journal_path(out)));

  const auto before = std::filesystem::last_write_time(out);
  const ProcResult again = run_santa({"run", dir.file("s.yaml"), "-o", out}, dir);
  EXPECT_EQ(again.code, 3);
  EXPECT_NE(again.err.find("already exists; use --resume"), std::string::npos);
  EXPECT_EQ(std::filesystem::last_write_time(out), before);

  const ProcResult resume = run_santa({"run", dir.file("s.yaml"), "-o", out, "--resume"}, dir);
  EXPECT_EQ(resume.code, 0) << resume.err;
  EXPECT_NE(resume.err.find("0 points to run (12 already done)"), std::string::npos) << resume.err;

  EXPECT_EQ(run_santa({"run", dir.file("s.yaml"), "-o", out, "--force"}, dir).code, 0);
  EXPECT_EQ(rows_in(out), 12);

  // Resuming into a file of another spec is refused and leaves it alone.
  std::string other = kSmallSpec;
  other.replace(other.find("seed: 7"), 7, "seed: 8");
  write_text(dir.file("other.yaml"), other);
  const ProcResult foreign = run_santa({"run", dir.file("other.yaml"), "-o", out, "--resume"}, dir);
  EXPECT_EQ(foreign.code, 3);
  EXPECT_NE(foreign.err.find("different spec"), std::string::npos) << foreign.err;
  EXPECT_EQ(rows_in(out), 12);
}

TEST(Cli, DryRunAndInvalidSpecWriteNothing) {
  TempDir dir;
  write_text(dir.file("s.yaml"), kSmallSpec);
  const ProcResult dry = run_santa({"run", dir.file("s.yaml"), "-o", dir.file("o.h5"), "--dry-run"}, dir);
  EXPECT_EQ(dry.code, 0);
  EXPECT_NE(dry.out.find("12 of 12 points"), std::string::npos) << dry.out;
  write_text(dir.file("bad.yaml"), "name: b\nkind: variance\nsweep:\n  grid:\n    S: [1, 0]\n");
  EXPECT_EQ(run_santa({"run", dir.file("bad.yaml"), "-o", dir.file("o.h5")}, dir).code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.file("o.h5")));
}

TEST(Cli, LatencyWithoutGpuFailsBeforeWriting) {
  // On a GPU machine with a CUDA build the kind can run, so there is nothing to refuse.
  if (santa::gpu::gpu_available()) GTEST_SKIP() << "a GPU is usable here: latency runs";
  TempDir dir;
  write_text(dir.file("l.yaml"), "name: l\nkind: latency\nsweep:\n  grid:\n    n_k: [4096, 8192]\n");
  const ProcResult r = run_santa({"run", dir.file("l.yaml"), "-o", dir.file("l.h5")}, dir);
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find("kind latency"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was run"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("l.h5")));
  EXPECT_FALSE(std::filesystem::exists(store::journal_path(dir.file("l.h5"))));
}

TEST(Cli, ShardsMergeIntoTheSameTableAsOneRun) {
  TempDir dir;
  write_text(dir.file("s.yaml"), kSmallSpec);
  ASSERT_EQ(run_santa({"run", dir.file("s.yaml"), "-o", dir.file("full.h5")}, dir).code, 0);
  std::vector<std::string> shards;
  for (int k = 0; k < 3; ++k) {
    shards.push_back(dir.file("shard" + std::to_string(k) + ".h5"));
    const ProcResult r = run_santa({"run", dir.file("s.yaml"), "--shard", std::to_string(k) + "/3", "-o",
                                    shards.back(), "--jobs", std::to_string(1 + k % 2)},
                                   dir);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(rows_in(shards.back()), 4);  // every third of 12 points
    EXPECT_EQ(store::read_result_file(shards.back()).text_attribute("shard"), std::to_string(k) + "/3");
  }
  std::vector<std::string> merge_args{"merge", dir.file("merged.h5")};
  merge_args.insert(merge_args.end(), shards.begin(), shards.end());
  const ProcResult m = run_santa(merge_args, dir);
  ASSERT_EQ(m.code, 0) << m.err;
  expect_same_table(dir.file("full.h5"), dir.file("merged.h5"));
  EXPECT_EQ(store::read_result_file(dir.file("merged.h5")).text_attribute("status"), "complete");
  EXPECT_EQ(run_santa(merge_args, dir).code, 3);  // exists

  // Default shard output names carry the shard.
  write_text(dir.file("d.yaml"), std::string(kSmallSpec) + "output: " + dir.file("def.h5") + "\n");
  ASSERT_EQ(run_santa({"run", dir.file("d.yaml"), "--shard", "1/4"}, dir).code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir.file("def.shard-1-of-4.h5")));

  // Files of different specs do not merge.
  std::string other = kSmallSpec;
  other.replace(other.find("seed: 7"), 7, "seed: 9");
  write_text(dir.file("o.yaml"), other);
  ASSERT_EQ(run_santa({"run", dir.file("o.yaml"), "-o", dir.file("o.h5")}, dir).code, 0);
  const ProcResult bad = run_santa({"merge", dir.file("bad.h5"), shards[0], dir.file("o.h5")}, dir);
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("different spec"), std::string::npos) << bad.err;
}

// Waits until the run has stored at least `want` rows (file or journal); every read of the file on the way
// must succeed: the file is whole at every instant.
int64_t wait_for_rows(const std::string& out, int64_t want, pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(out)) {
      // Distinct points: a row is briefly in both the file and the journal (between the rename and the
      // journal's truncation). Reading the file throws, failing the test, if it is ever unreadable.
      std::set<int64_t> points;
      for (const auto& r : store::read_result_file(out).rows) points.insert(r.point);
      for (const auto& r : store::read_journal(store::journal_path(out)).rows) points.insert(r.point);
      if (static_cast<int64_t>(points.size()) >= want) return static_cast<int64_t>(points.size());
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return -1;  // finished before we could interrupt it
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -2;
}

int64_t number_after(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return -1;
  return std::stoll(m[1]);
}

// Kills a real run with SIGKILL once it has stored `after_rows` rows, then checks that the file is whole, that
// resume reruns exactly the points that were not kept (file + journal), and that the final table is the
// uninterrupted run's. Returns how many kept rows came from the journal.
int64_t kill_and_resume(const std::vector<std::string>& extra_args) {
  TempDir dir;
  write_text(dir.file("slow.yaml"), kSlowSpec);
  const std::string out = dir.file("killed.h5");
  std::vector<std::string> args{"run", dir.file("slow.yaml"), "-o", out, "--jobs", "2"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  const pid_t pid = testing::spawn_santa(args, dir, "killed");
  const int64_t seen = wait_for_rows(out, 5, pid);
  EXPECT_GT(seen, 0) << "the run ended or stalled before it could be killed";
  ::kill(pid, SIGKILL);
  const ProcResult killed = testing::wait_santa(pid, dir, "killed");
  EXPECT_EQ(killed.code, 128 + SIGKILL);

  // The file left behind is whole and readable; with the journal it holds at least every row seen.
  const store::ResultData left = store::read_result_file(out);
  EXPECT_EQ(left.text_attribute("status"), "running");
  const int64_t in_file = static_cast<int64_t>(left.rows.size());
  const store::JournalContents journal = store::read_journal(store::journal_path(out));
  int64_t only_in_journal = 0;
  for (const auto& row : journal.rows) only_in_journal += left.has_point(row.point, row.param_hash) ? 0 : 1;
  const int64_t kept = in_file + only_in_journal;
  EXPECT_GE(kept, seen);
  EXPECT_LT(kept, 24) << "the run finished before the kill; the test proves nothing";

  // Resume runs exactly the points that were not kept.
  const ProcResult resumed = run_santa({"run", dir.file("slow.yaml"), "-o", out, "--resume", "--jobs", "2"}, dir);
  EXPECT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(number_after(resumed.err, R"((\d+) rows in the file)"), in_file) << resumed.err;
  EXPECT_EQ(number_after(resumed.err, R"((\d+) recovered from the journal)"), only_in_journal) << resumed.err;
  EXPECT_EQ(number_after(resumed.err, R"((\d+) points to run)"), 24 - kept) << resumed.err;
  EXPECT_EQ(store::read_result_file(out).text_attribute("status"), "complete");

  // And the result is the uninterrupted run's, bit for bit.
  EXPECT_EQ(run_santa({"run", dir.file("slow.yaml"), "-o", dir.file("ref.h5"), "--jobs", "2"}, dir).code, 0);
  expect_same_table(dir.file("ref.h5"), out);
  return only_in_journal;
}

TEST(Cli, SigkillMidSweepLosesNoFinishedPointAndResumes) { kill_and_resume({}); }

TEST(Cli, SigkillBetweenFileRewritesRecoversRowsFromTheJournal) {
  // With rewrites held back, every row after the first write lives only in the journal when the kill comes.
  EXPECT_GE(kill_and_resume({"--commit-interval", "1000"}), 5);
}

TEST(Cli, CtrlCStopsCleanlyWithExitCode130) {
  TempDir dir;
  write_text(dir.file("slow.yaml"), kSlowSpec);
  const std::string out = dir.file("int.h5");
  const pid_t pid = testing::spawn_santa({"run", dir.file("slow.yaml"), "-o", out}, dir, "int");
  ASSERT_GT(wait_for_rows(out, 2, pid), 0);
  ::kill(pid, SIGINT);
  const ProcResult r = testing::wait_santa(pid, dir, "int");
  EXPECT_EQ(r.code, 130) << r.err;
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  const store::ResultData left = store::read_result_file(out);
  EXPECT_EQ(left.text_attribute("status"), "interrupted");
  EXPECT_FALSE(std::filesystem::exists(store::journal_path(out)));  // everything finished is in the file
  ASSERT_LT(left.rows.size(), 24u);
  const ProcResult resumed = run_santa({"run", dir.file("slow.yaml"), "-o", out, "--resume"}, dir);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(rows_in(out), 24);
}

TEST(Cli, CommittedExperimentSpecsValidate) {
  TempDir dir;
  const auto root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
  int specs = 0;
  for (const auto& e : std::filesystem::directory_iterator(root / "experiments")) {
    if (e.path().extension() != ".yaml") continue;
    ++specs;
    const ProcResult r = run_santa({"validate", e.path().string()}, dir);
    // A spec for hardware this build lacks (a GPU backend on a CPU-only build) is reported, not a spec error.
    if (r.code != 0 && r.err.find("not in this build") != std::string::npos) continue;
    EXPECT_EQ(r.code, 0) << e.path() << "\n" << r.err;
  }
  EXPECT_GE(specs, 1);
}

}  // namespace
}  // namespace santa::harness
