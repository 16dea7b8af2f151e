// `santa run SPEC`: validate, check every point's workload, then run the points on --jobs threads with one
// writer (this thread) that appends each finished row to the result file (journal first, see store/writer.hpp).
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>

#include "harness/cli/commands.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/cli/preflight.hpp"
#include "harness/cli/progress.hpp"
#include "harness/cli/result_layout.hpp"
#include "harness/measure/runner.hpp"
#include "harness/store/journal.hpp"
#include "harness/store/writer.hpp"

namespace santa::harness::cli {
namespace {

namespace fs = std::filesystem;

// Set by SIGINT/SIGTERM; the workers stop taking points and long runners abandon theirs.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void on_interrupt(int sig) {
  g_interrupted.store(true);
  // A second Ctrl-C kills at once (the journal still protects every finished point).
  std::signal(sig, SIG_DFL);
}

struct SignalGuard {
  SignalGuard() {
    g_interrupted.store(false);
    old_int_ = std::signal(SIGINT, on_interrupt);
    old_term_ = std::signal(SIGTERM, on_interrupt);
  }
  ~SignalGuard() {
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }
  void (*old_int_)(int);
  void (*old_term_)(int);
};

struct Shard {
  int64_t k = 0, n = 1;
  std::string label() const { return n == 1 ? "all" : fmt::format("{}/{}", k, n); }
};

std::optional<Shard> parse_shard(const std::string& s) {
  if (s.empty()) return Shard{};
  static const std::regex re("([0-9]{1,9})/([0-9]{1,9})");
  std::smatch m;
  if (!std::regex_match(s, m, re)) return std::nullopt;
  Shard sh{std::stoll(m[1]), std::stoll(m[2])};
  if (sh.n < 1 || sh.k >= sh.n) return std::nullopt;
  return sh;
}

std::string default_output(const spec::Spec& spec, const Shard& shard) {
  if (shard.n == 1) return spec.output;
  fs::path p(spec.output);
  const std::string stem = p.stem().string(), ext = p.extension().string();
  return (p.parent_path() / fmt::format("{}.shard-{}-of-{}{}", stem, shard.k, shard.n, ext.empty() ? ".h5" : ext))
      .string();
}

// One finished (or failed) point, handed from a worker to the writer.
struct Finished {
  std::optional<Row> row;
  std::string error;
};

}  // namespace

int run_command(const RunOptions& opt) {
  std::optional<spec::Spec> spec;
  try {
    spec = spec::load_spec(opt.spec_path);
  } catch (const spec::SpecError& e) {
    fmt::print(stderr, "{}\nsanta run: the spec is invalid; nothing was run or written\n", e.what());
    return kExitInvalid;
  }
  const auto shard = parse_shard(opt.shard);
  if (!shard) {
    fmt::print(stderr, "santa run: --shard '{}' is invalid; allowed: K/N with 0 <= K < N (e.g. 0/4)\n", opt.shard);
    return kExitInvalid;
  }
  if (!(opt.commit_interval_s >= 0.0)) {
    fmt::print(stderr, "santa run: --commit-interval {} is invalid; allowed: seconds >= 0\n", opt.commit_interval_s);
    return kExitInvalid;
  }
  if (opt.jobs < 1) {
    fmt::print(stderr, "santa run: --jobs {} is invalid; allowed: 1 or more threads\n", opt.jobs);
    return kExitInvalid;
  }
  auto runner = measure::make_runner(spec->kind->name);
  // A dry run only shows what would run, so it works where the kind cannot run (latency without a GPU).
  const std::string unavailable = runner->unavailable_reason();
  if (!unavailable.empty() && !opt.dry_run) {
    fmt::print(stderr, "santa run: {}\n", unavailable);
    return kExitUnavailable;
  }

  std::vector<Point> points;
  for (int64_t i = shard->k; i < spec->point_count(); i += shard->n) points.push_back(spec->point(i));
  runner->plan(points);
  workloads::WorkloadCache cache(opt.cache_mb << 20);
  measure::RunContext ctx{cache, g_interrupted, spec->seed, spec->replicates};
  if (const auto errors = preflight(*spec, points, *runner, ctx); !errors.empty()) {
    for (const auto& e : errors) fmt::print(stderr, "{}\n", e);
    fmt::print(stderr, "santa run: {} point(s) cannot be run; nothing was run or written\n", errors.size());
    return kExitInvalid;
  }

  const std::string output = opt.output.empty() ? default_output(*spec, *shard) : opt.output;
  const std::string journal = store::journal_path(output);
  if (opt.dry_run) {
    fmt::print("dry run: {} ({}, kind {}): {} of {} points{} would be written to {}; nothing was run\n", spec->name,
               opt.spec_path, spec->kind->name, points.size(), spec->point_count(),
               shard->n > 1 ? fmt::format(" (shard {})", shard->label()) : "", output);
    if (!unavailable.empty()) fmt::print("note: {}\n", unavailable);
    return kExitOk;
  }

  const store::TableLayout layout = make_layout(*spec, runner->metrics());
  const Provenance prov = collect_provenance();
  store::ResultData data =
      make_result_data(*spec, layout, prov, RunIdentity{shard->label(), int64_t(points.size()), opt.command_line});
  const bool exists = fs::exists(output) || fs::exists(journal);
  int64_t resumed = 0;
  if (exists && opt.resume) {
    try {
      store::Recovery rec = store::recover(output);
      if (rec.data.text_attribute("spec_digest") != data.text_attribute("spec_digest") ||
          rec.data.text_attribute("shard") != shard->label()) {
        fmt::print(stderr,
                   "santa run: {} was made from a different spec or shard (spec_digest {}, shard {}; this run: {}, "
                   "{}); refusing to resume into it. Use another -o, or --force to overwrite\n",
                   output, rec.data.text_attribute("spec_digest"), rec.data.text_attribute("shard"),
                   data.text_attribute("spec_digest"), shard->label());
        return kExitOutputConflict;
      }
      if (rec.data.layout.signature() != layout.signature()) {
        fmt::print(stderr, "santa run: {} has other /points columns than this build writes; refusing to resume\n",
                   output);
        return kExitOutputConflict;
      }
      fmt::print(stderr, "santa run: resuming {}: {} rows in the file, {} recovered from the journal{}\n", output,
                 rec.rows_in_file, rec.rows_from_journal,
                 rec.bad_journal_lines ? fmt::format(", {} torn journal line(s) skipped", rec.bad_journal_lines) : "");
      const std::string started = rec.data.text_attribute("start_time");
      rec.data.attributes = data.attributes;  // fresh provenance; keep the first start
      rec.data.set_attribute("start_time", started);
      rec.data.set_attribute("resumed_at", utc_now());
      data = std::move(rec.data);
    } catch (const store::StoreError& e) {
      fmt::print(stderr, "santa run: cannot resume: {}\n", e.what());
      return kExitFailed;
    }
  } else if (exists && !opt.force) {
    fmt::print(stderr, "santa run: {} already exists; use --resume to continue it or --force to overwrite it\n",
               output);
    return kExitOutputConflict;
  } else if (exists) {
    std::error_code ec;
    fs::remove(output, ec);
    fs::remove(journal, ec);
  }

  // Root attributes the runner measures as the run starts (latency: the GPU and its bandwidth ceiling).
  try {
    for (auto& [name, value] : runner->begin_run(ctx)) data.set_attribute(name, std::move(value));
  } catch (const std::exception& e) {
    fmt::print(stderr, "santa run: {}; nothing was run\n", e.what());
    return kExitFailed;
  }

  std::vector<Point> todo;
  for (const auto& p : points) {
    if (!data.has_point(p.index, p.hash)) todo.push_back(p);
  }
  resumed = static_cast<int64_t>(points.size() - todo.size());

  SignalGuard signals;
  std::optional<store::ResultWriter> writer;
  try {
    writer.emplace(output, std::move(data), 0.05, opt.commit_interval_s);
  } catch (const std::exception& e) {
    fmt::print(stderr, "santa run: {}\n", e.what());
    return kExitFailed;
  }
  const int jobs = std::min<int>(opt.jobs, std::max<int>(1, static_cast<int>(todo.size())));
  fmt::print(stderr, "santa run: {} ({}): {} points to run{} on {} thread(s) -> {}\n", spec->name, spec->kind->name,
             todo.size(), resumed ? fmt::format(" ({} already done)", resumed) : "", jobs, output);

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Finished> finished;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::atomic<int> running{jobs};
  std::vector<std::thread> workers;
  for (int w = 0; w < jobs; ++w) {
    workers.emplace_back([&] {
      while (!stop.load() && !g_interrupted.load()) {
        const std::size_t i = next.fetch_add(1);
        if (i >= todo.size()) break;
        Finished f;
        const auto t0 = std::chrono::steady_clock::now();
        try {
          Row row = runner->run(todo[i], ctx);
          row.set("wall_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
          f.row = std::move(row);
        } catch (const measure::Cancelled&) {
          break;  // abandoned on Ctrl-C; resume reruns it
        } catch (const std::exception& e) {
          f.error = fmt::format("point {} ({}) failed: {}", todo[i].index, todo[i].describe(), e.what());
          stop.store(true);
        }
        std::lock_guard lock(mu);
        finished.push_back(std::move(f));
        cv.notify_one();
      }
      std::lock_guard lock(mu);
      --running;
      cv.notify_one();
    });
  }

  Progress progress(static_cast<int64_t>(points.size()), resumed, stderr, ::isatty(STDERR_FILENO) == 1);
  int64_t done = 0;
  std::string failure;
  bool interrupt_noted = false;
  while (true) {
    std::deque<Finished> batch;
    bool all_stopped = false;
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return !finished.empty() || running == 0; });
      batch.swap(finished);
      all_stopped = running == 0;
    }
    for (auto& f : batch) {
      if (!f.error.empty()) {
        if (failure.empty()) failure = f.error;
        continue;
      }
      try {
        writer->append(*f.row);
        ++done;
      } catch (const std::exception& e) {
        if (failure.empty()) failure = fmt::format("cannot store point {}: {}", f.row->point, e.what());
        stop.store(true);
      }
    }
    if (g_interrupted.load() && !interrupt_noted) {
      interrupt_noted = true;
      progress.finish();
      fmt::print(stderr, "santa run: interrupted; finishing the file (Ctrl-C again to kill; finished points are "
                         "kept either way)\n");
    }
    progress.update(done, !batch.empty() && done == int64_t(todo.size()));
    if (all_stopped && batch.empty()) break;
  }
  for (auto& t : workers) t.join();
  progress.finish();

  const bool interrupted = g_interrupted.load();
  const bool complete = failure.empty() && int64_t(writer->data().rows.size()) >= int64_t(points.size());
  writer->set_attribute("end_time", utc_now());
  writer->set_attribute("status", std::string(complete ? "complete"
                                              : !failure.empty() ? "failed: " + failure
                                              : interrupted ? "interrupted"
                                                            : "incomplete"));
  try {
    writer->finish();
  } catch (const std::exception& e) {
    fmt::print(stderr, "santa run: {}\n", e.what());
    return kExitFailed;
  }
  fmt::print(stderr, "santa run: {} holds {} of {} points ({} run now); workload cache {} hits, {} misses\n", output,
             writer->data().rows.size(), points.size(), done, cache.hits(), cache.misses());
  if (!failure.empty()) {
    fmt::print(stderr, "santa run: {}\n", failure);
    return kExitFailed;
  }
  if (interrupted) {
    fmt::print(stderr, "santa run: interrupted; continue with: santa run {} --resume -o {}{}\n", opt.spec_path,
               output, shard->n > 1 ? " --shard " + shard->label() : "");
    return kExitInterrupted;
  }
  return kExitOk;
}

}  // namespace santa::harness::cli
