// P1: GPU decode-step latency (PROTOCOLS.md P1, issue 5). Per point: the inputs of its (batch, n_k,
// distribution, ...) on the GPU (made once and reused by every backend and S at that point), an fp64 CPU
// reference of one sequence, our dense kernel checked against it, then for the point's backend (one entry of
// latency_backends.cpp; FlashInfer: each of its paths) one untimed call whose output is checked, `warmup`
// untimed calls and `iters` calls each bracketed by CUDA events, with a buffer larger than twice the L2
// overwritten before every call outside the timed region (kernels/timing.hpp). Every sample goes to the
// point's array `samples_us`. The GPU's facts and its streaming-read and copy ceilings are measured once when
// the run starts and stored as root attributes (peak_read_tbps = the better of peak_load_read_tbps and
// peak_bulk_read_tbps, peak_copy_tbps, gpu_*).
//
// A failed check stops the run (the point fails), or with on_check_failure = record the path is left untimed,
// the message goes to stderr and the row says check_failed (one broken backend does not cost the rest of a
// device run). One point at a time: the runner holds a lock around each point, so `--jobs N` never overlaps
// two timings.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "harness/measure/gpu_workload.hpp"
#include "harness/measure/latency_backends.hpp"
#include "harness/measure/latency_check.hpp"
#include "harness/measure/latency_stats.hpp"
#include "harness/measure/runners.hpp"
#include "kernels/device.hpp"
#include "kernels/timing.hpp"

namespace santa::harness::measure {
namespace {

constexpr int kCheckReplicates = 16;                          // Monte Carlo draws per head (latency_check.cpp)
constexpr std::size_t kBandwidthProbeBytes = std::size_t{2} << 30;  // 2 GiB, far beyond any L2
constexpr int kBandwidthProbeIters = 20;

double nan() { return std::nan(""); }

// Inputs of one (batch, n_k, distribution, ...) on the GPU with what every backend's check needs.
struct PreparedInputs {
  std::string key;
  std::unique_ptr<GpuInputs> gpu;
  std::unique_ptr<gpu::DecodeWorkspace> workspace;
  gpu::DeviceBuffer samples_drawn, distinct_rows;  // SamplingRecord of the checked call
  ReferenceSequence ref;
  std::vector<double> dense_out;  // our dense kernel's output (checked against ref); empty if it cannot run
  std::string dense_failure;      // why our dense kernel failed its check ("" if it passed); dense_out is empty
  uint64_t rng_seed = 0;
  double seconds = 0.0;  // to make all of the above
  bool used = false;     // a point has run on them (later points report inputs_s = 0)
};

struct PathResult {
  std::string name;
  std::vector<double> samples_us;
  TimingSummary timing;
  OutputCheck check;
  double extra_meta_bytes = 0.0, num_chunks = nan();
  std::vector<int32_t> drawn, rows;  // sampling backends: recorded per head / per (sequence, KV head)
  bool failed = false;               // its output failed the check (on_check_failure = record): not timed
};

int64_t sum(const std::vector<int32_t>& v) {
  int64_t s = 0;
  for (int32_t x : v) s += x;
  return s;
}

class LatencyRunner final : public Runner {
 public:
  std::vector<MetricDef> metrics() const override {
    std::vector<MetricDef> m{
        {"mean_us", "us", "mean latency of one whole backend call"},
        {"median_us", "us", "median latency"},
        {"ci95_lo_us", "us", "95% CI of the mean (Student t), lower end"},
        {"ci95_hi_us", "us", "95% CI of the mean (Student t), upper end"},
        {"std_us", "us", "sample standard deviation of the latency"},
        {"min_us", "us", "fastest call"},
        {"timed_calls", "", "timed calls (samples in samples_us)"},
        {"bytes_read", "B", "bytes the backend must read: bytes_k + bytes_v + bytes_meta"},
        {"bytes_k", "B", "keys read (all of K)"},
        {"bytes_v", "B", "values read (all of V, or the distinct sampled rows once per sequence and KV head)"},
        {"bytes_meta", "B", "q, sequence lengths, page tables and index structures"},
        {"tbps", "TB/s", "bytes_read / median time"},
        {"fraction_of_peak", "", "tbps / peak_read_tbps (root attribute: streaming-read ceiling of this GPU, the better of "
                                            "16-byte loads and bulk copies)"},
        {"samples_drawn", "samples", "real samples drawn, summed over sequences and query heads (sampling)"},
        {"samples_per_head", "samples", "real samples drawn per query head (sampling)"},
        {"distinct_v_rows", "rows", "V rows read, summed over sequences and KV heads"},
        {"distinct_v_fraction", "", "distinct_v_rows / (batch * n_k * H_kv)"},
        {"max_rel_error", "", "exact backends: largest per-head relative L2 error vs the fp64 reference"},
        {"rel_l2_vs_dense", "", "||out - dense|| / ||dense|| over every sequence and head (our checked dense kernel)"},
        {"rel_l2_vs_exact", "", "relative L2 error vs the fp64 reference over the checked sequence's heads"},
        {"expected_rel_l2", "", "sampling: rel_l2_vs_exact the scheme's Monte Carlo predicts"},
        {"check_z", "", "sampling: (squared error - Monte Carlo mean) / its standard deviation; |z| <= 6 passes"},
        {"attn_entropy_nats", "nats", "attention entropy, mean over the checked sequence's heads"},
        {"attn_max_prob", "", "largest attention probability, mean over the checked sequence's heads"},
        {"num_chunks", "", "our kernels: CTAs per (sequence, KV head) (split-KV factor)"},
        {"inputs_s", "s", "time this point spent making inputs, reference and dense check (0: reused)"},
        {"check_failed", "", "paths of the backend whose output failed its check (on_check_failure = record; "
                             "they are not timed, and with none left every time is NaN)"},
    };
    for (const auto& path : flashinfer_path_names()) {
      m.push_back({"fi_" + path + "_median_us", "us", "flashinfer: median of path " + path + " (NaN: not run)"});
      m.push_back({"fi_" + path + "_mean_us", "us", "flashinfer: mean of path " + path});
    }
    m.push_back({"fi_best_path", "", "flashinfer: index of the fastest path (by median) in fi_* order: " +
                                         fmt::format("{}", fmt::join(flashinfer_path_names(), ", "))});
    return m;
  }

  std::string unavailable_reason() const override {
#if defined(SANTA_HAVE_CUDA)
    try {
      gpu::require_gpu();
    } catch (const std::exception& e) {
      return fmt::format("kind latency needs a GPU and none can be used here ({}); run it on a GPU machine; "
                         "nothing was run",
                         e.what());
    }
    return {};
#else
    return "kind latency needs a GPU build: this santa was built without CUDA (configure with nvcc available and "
           "SANTA_ENABLE_CUDA=ON on a GPU machine); nothing was run";
#endif
  }

  void plan(const std::vector<Point>& points) override {
    for (const auto& p : points) flush_mb_.insert(p.real("l2_flush_mb"));
  }

  void check(const Point& point, RunContext& ctx) const override {
    const LatencyBackend* backend = find_latency_backend(point.text("backend"));
    if (!backend)
      throw PointError("backend", fmt::format("unknown backend '{}'; allowed: {}", point.text("backend"),
                                              fmt::join(latency_backend_names(), ", ")));
    if (auto why = backend->why_not(point, latency_inputs_from_point(point, ctx.seed))) throw *why;
  }

  std::vector<std::pair<std::string, Value>> begin_run(RunContext&) override {
    std::lock_guard lock(mu_);
    start();
    const auto& i = facts_->info;
    return {
        {"gpu_name", i.name},
        {"gpu_compute_capability", fmt::format("{}.{}", i.cc_major, i.cc_minor)},
        {"gpu_sm_count", int64_t{i.sm_count}},
        {"gpu_l2_bytes", i.l2_bytes},
        {"gpu_memory_bytes", i.total_memory_bytes},
        {"gpu_sm_clock_mhz", i.sm_clock_khz / 1000.0},
        {"gpu_memory_clock_mhz", i.memory_clock_khz / 1000.0},
        {"gpu_memory_bus_bits", int64_t{i.memory_bus_width_bits}},
        {"gpu_driver_version", fmt::format("{}.{}", i.driver_version / 1000, i.driver_version % 1000 / 10)},
        {"gpu_runtime_version", fmt::format("{}.{}", i.runtime_version / 1000, i.runtime_version % 1000 / 10)},
        {"gpu_nominal_tbps", i.nominal_bandwidth_tbps()},
        {"peak_read_tbps", facts_->peak.ceiling_tbps()},
        {"peak_load_read_tbps", facts_->peak.read_tbps},
        {"peak_bulk_read_tbps", facts_->peak.bulk_read_tbps},
        {"peak_copy_tbps", facts_->peak.copy_tbps},
        {"peak_probe_bytes", static_cast<int64_t>(facts_->peak.bytes)},
        {"peak_probe", fmt::format("median of {} cold-L2 runs over {} bytes: 16-byte streaming loads, bulk copies "
                                   "into shared memory (sm_90+; peak_read_tbps is the better of the two), "
                                   "device-to-device copy counted as read + write (kernels/timing.hpp)",
                                   kBandwidthProbeIters, facts_->peak.bytes)},
        {"flashinfer_in_build", std::string(flashinfer_in_build() ? "yes" : "no")},
        {"latency_check", fmt::format("exact backends: per-head relative L2 error <= 4u vs an fp64 reference of the "
                                      "last sequence, <= 8.5u vs our dense kernel on every sequence; sampling "
                                      "backends: |z| <= 6 against a {}-draw Monte Carlo of their scheme "
                                      "(harness/measure/latency_check.cpp)",
                                      kCheckReplicates)},
    };
  }

  Row run(const Point& point, RunContext& ctx) const override {
    std::lock_guard lock(mu_);
    throw_if_cancelled(ctx);
    start();
    const LatencyBackend& backend = *find_latency_backend(point.text("backend"));
    if (!backend.run_by_harness || !backend.prepare)
      throw std::logic_error(fmt::format("backend {} is not run by santa (check() rejects it)", backend.name));

    PreparedInputs& in = prepared(point, ctx);
    const double inputs_s = in.used ? 0.0 : in.seconds;
    in.used = true;
    const LatencyInputsSpec& spec = in.gpu->spec();
    if (backend.needs_score_prefix && !in.workspace->limits().score_prefix) {  // reserved once, for these inputs
      in.workspace.reset();
      in.workspace = std::make_unique<gpu::DecodeWorkspace>(workspace_limits(spec, smallest_min_tile(spec), true));
    }

    BackendSetup setup;
    setup.problem = in.gpu->problem();
    setup.workspace = in.workspace.get();
    setup.record = gpu::SamplingRecord{in.samples_drawn.as<int32_t>(), in.distinct_rows.as<int32_t>(), nullptr};
    setup.shape = spec.shape;
    setup.S = point.integer("S");
    setup.tile = point.integer("tile");
    setup.rng_seed = in.rng_seed;
    const std::vector<TimedPath> paths = backend.prepare(setup);
    if (paths.empty()) throw std::runtime_error(fmt::format("backend {} has no path for this point", backend.name));

    gpu::L2Flusher& flusher = flusher_for(point.real("l2_flush_mb"));
    gpu::TimingOptions timing;
    timing.warmup = static_cast<int>(point.integer("warmup"));
    timing.iterations = static_cast<int>(point.integer("iters"));
    timing.flusher = &flusher;

    const bool record_failures = point.text("on_check_failure") == "record";
    if (!in.dense_failure.empty() && !record_failures) throw CheckFailed(in.dense_failure);
    std::vector<PathResult> results;
    for (const TimedPath& path : paths) {
      throw_if_cancelled(ctx);
      PathResult r;
      r.name = path.name;
      r.extra_meta_bytes = path.extra_meta_bytes;
      r.num_chunks = path.num_chunks;
      const std::string what =
          fmt::format("backend {}{} ({})", backend.name, path.name.empty() ? "" : "/" + path.name, point.describe());
      try {
        r.check = checked_call(backend, path, in, setup, what, r);
      } catch (const CheckFailed& e) {
        if (!record_failures) throw;
        fmt::print(stderr, "\nsanta run: point {}: check failed: {}; recorded with check_failed, not timed\n",
                   point.index, e.what());
        r.failed = true;
        results.push_back(std::move(r));
        continue;
      }
      r.samples_us = gpu::time_launch_us([&] { path.call(false); }, timing);
      r.timing = summarize_timing(r.samples_us);
      results.push_back(std::move(r));
    }
    return make_row(point, backend, spec, in, results, inputs_s);
  }

 private:
  struct GpuFacts {
    gpu::DeviceInfo info;
    gpu::BandwidthCeiling peak;
  };

  // Measures the GPU once (under mu_): its facts, and its read/copy ceilings before any input is allocated.
  void start() const {
    if (facts_) return;
    gpu::require_gpu();
    GpuFacts f;
    f.info = gpu::device_info(0);
    for (double mb : flush_mb_) {
      if (!(mb * double(1 << 20) > 2.0 * double(f.info.l2_bytes)))
        throw std::runtime_error(fmt::format("l2_flush_mb = {} MiB is not more than twice the L2 cache of {} ({} MiB); "
                                             "allowed: l2_flush_mb > {}",
                                             mb, f.info.name, f.info.l2_bytes >> 20, 2 * (f.info.l2_bytes >> 20)));
    }
    f.peak = gpu::measure_bandwidth(kBandwidthProbeBytes, kBandwidthProbeIters);
    facts_ = std::move(f);
  }

  gpu::L2Flusher& flusher_for(double mb) const {
    const auto bytes = static_cast<std::size_t>(mb * double(1 << 20));
    if (!flusher_ || flusher_->bytes() != bytes) {
      if (!(double(bytes) > 2.0 * double(facts_->info.l2_bytes)))
        throw std::runtime_error(fmt::format("l2_flush_mb = {} MiB is not more than twice the L2 cache ({} MiB)", mb,
                                             facts_->info.l2_bytes >> 20));
      flusher_.reset();
      flusher_ = std::make_unique<gpu::L2Flusher>(bytes);
    }
    return *flusher_;
  }

  // The point's inputs: the ones of the previous point when the key matches (one set lives on the GPU at a
  // time), else made afresh, with the reference of the last sequence and our dense kernel checked against it.
  PreparedInputs& prepared(const Point& point, const RunContext& ctx) const {
    const LatencyInputsSpec spec = latency_inputs_from_point(point, ctx.seed);
    if (inputs_ && inputs_->key == spec.key()) return *inputs_;
    inputs_.reset();  // free the old set's GPU memory first
    const auto t0 = std::chrono::steady_clock::now();
    auto p = std::make_unique<PreparedInputs>();
    p->key = spec.key();
    p->gpu = std::make_unique<GpuInputs>(spec);
    p->workspace = std::make_unique<gpu::DecodeWorkspace>(workspace_limits(spec, smallest_min_tile(spec)));
    p->samples_drawn = gpu::DeviceBuffer(static_cast<std::size_t>(spec.shape.batch * spec.shape.H) * 4);
    p->distinct_rows = gpu::DeviceBuffer(static_cast<std::size_t>(spec.shape.batch * spec.shape.H_kv) * 4);
    p->rng_seed = fnv1a64("sampling-kernels", spec.value_seed);

    // The last sequence, so that a wrong batch stride cannot hide behind sequence 0.
    const int64_t b = spec.shape.batch - 1;
    std::vector<uint16_t> k, v;
    p->gpu->download_sequence(b, k, v);
    const auto& q = p->gpu->queries();
    const auto q_begin = q.begin() + b * spec.shape.H * spec.shape.d;
    const std::vector<uint16_t> qb(q_begin, q_begin + spec.shape.H * spec.shape.d);
    p->ref = build_reference(b, qb, k, v, spec.shape.n_k, spec.shape.H, spec.shape.H_kv, spec.shape.d, spec.dtype,
                             spec.scale());

    const gpu::DecodeProblem problem = p->gpu->problem();
    bool dense_fits = true;
    try {
      gpu::check_limits(p->workspace->limits());
      gpu::check_problem(problem);
    } catch (const std::invalid_argument&) {
      dense_fits = false;  // e.g. a group size only FlashInfer has: exact backends are checked against ref alone
    }
    if (dense_fits) {
      p->gpu->poison_output();
      gpu::dense_decode(problem, *p->workspace);
      p->dense_out = decode_output(p->gpu->download_output(), spec.dtype);
      try {
        check_exact(p->ref, p->dense_out, nullptr, spec.dtype, "dense (the reference of the other backends)");
      } catch (const CheckFailed& e) {
        p->dense_failure = e.what();  // run() stops or, recording failures, checks against ref alone
        p->dense_out.clear();
      }
    }
    p->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    inputs_ = std::move(p);
    return *inputs_;
  }

  // One untimed call that records what a sampling kernel drew, its output checked before any timing.
  OutputCheck checked_call(const LatencyBackend& backend, const TimedPath& path, PreparedInputs& in,
                           const BackendSetup& setup, const std::string& what, PathResult& r) const {
    const auto dtype = in.gpu->spec().dtype;
    const std::vector<double>* dense = in.dense_out.empty() ? nullptr : &in.dense_out;
    in.gpu->poison_output();
    in.samples_drawn.fill_bytes(0xFF);  // -1: an unwritten record cannot pass
    in.distinct_rows.fill_bytes(0xFF);
    path.call(true);
    const std::vector<double> out = decode_output(in.gpu->download_output(), dtype);
    if (backend.family == BackendFamily::exact) return check_exact(in.ref, out, dense, dtype, what);
    const auto& sh = in.gpu->spec().shape;
    r.drawn = in.samples_drawn.download_vector<int32_t>(static_cast<std::size_t>(sh.batch * sh.H));
    r.rows = in.distinct_rows.download_vector<int32_t>(static_cast<std::size_t>(sh.batch * sh.H_kv));
    SampledCheckSpec s;
    s.scheme = *backend.scheme;
    s.S = setup.S;
    s.tile = setup.tile;
    s.replicates = kCheckReplicates;
    s.seed = fnv1a64(fmt::format("check {} S={} tile={}", backend.name, setup.S, setup.tile), in.rng_seed);
    return check_sampled(in.ref, out, dense, r.drawn, dtype, s, what);
  }

  Row make_row(const Point& point, const LatencyBackend& backend, const LatencyInputsSpec& spec,
               const PreparedInputs& in, const std::vector<PathResult>& results, double inputs_s) const {
    Row row = row_for(point);
    for (const auto& m : metrics()) row.set(m.name, nan());
    std::optional<std::size_t> fastest;
    int failed = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (results[i].failed) {
        ++failed;
      } else if (!fastest || results[i].timing.median_us < results[*fastest].timing.median_us) {
        fastest = i;
      }
    }
    row.set("check_failed", double(failed));
    row.set("attn_entropy_nats", in.ref.entropy_nats);
    row.set("attn_max_prob", in.ref.max_prob);
    row.set("inputs_s", inputs_s);
    if (!fastest) return row;  // nothing passed its check: no time, no bytes
    const PathResult& r = results[*fastest];
    const TimingSummary& t = r.timing;
    row.set("mean_us", t.mean_us);
    row.set("median_us", t.median_us);
    row.set("ci95_lo_us", t.ci95_lo_us);
    row.set("ci95_hi_us", t.ci95_hi_us);
    row.set("std_us", t.std_us);
    row.set("min_us", t.min_us);
    row.set("timed_calls", double(t.count));

    const bool sampled = backend.family == BackendFamily::sampled;
    const int64_t rows_read = sampled ? sum(r.rows) : spec.shape.kv_rows();
    const BytesRead bytes = sampled ? sampled_bytes(spec.shape, rows_read) : dense_bytes(spec.shape, r.extra_meta_bytes);
    const double tbps = bytes.total() / (t.median_us * 1e-6) / 1e12;
    row.set("bytes_read", bytes.total());
    row.set("bytes_k", bytes.k);
    row.set("bytes_v", bytes.v);
    row.set("bytes_meta", bytes.meta);
    row.set("tbps", tbps);
    row.set("fraction_of_peak", tbps / facts_->peak.ceiling_tbps());
    row.set("distinct_v_rows", double(rows_read));
    row.set("distinct_v_fraction", double(rows_read) / double(spec.shape.kv_rows()));
    if (sampled) {
      row.set("samples_drawn", double(sum(r.drawn)));
      row.set("samples_per_head", double(sum(r.drawn)) / double(r.drawn.size()));
    }
    row.set("max_rel_error", r.check.max_rel_error);
    row.set("rel_l2_vs_dense", r.check.rel_l2_vs_dense);
    row.set("rel_l2_vs_exact", r.check.rel_l2_vs_exact);
    row.set("expected_rel_l2", r.check.expected_rel_l2);
    row.set("check_z", r.check.z);
    row.set("num_chunks", r.num_chunks);
    row.arrays.push_back(NamedArray{"samples_us", {int64_t(r.samples_us.size())}, r.samples_us});

    if (backend.name == "flashinfer") {
      const auto& names = flashinfer_path_names();
      for (const PathResult& p : results) {
        if (p.failed) continue;
        row.set("fi_" + p.name + "_median_us", p.timing.median_us);
        row.set("fi_" + p.name + "_mean_us", p.timing.mean_us);
        row.arrays.push_back(NamedArray{"samples_us_" + p.name, {int64_t(p.samples_us.size())}, p.samples_us});
      }
      const auto at = std::find(names.begin(), names.end(), r.name);
      row.set("fi_best_path", double(at - names.begin()));
    }
    return row;
  }

  std::set<double> flush_mb_;  // every l2_flush_mb of the run (plan)
  mutable std::mutex mu_;
  mutable std::optional<GpuFacts> facts_;
  mutable std::unique_ptr<gpu::L2Flusher> flusher_;
  mutable std::unique_ptr<PreparedInputs> inputs_;
};

}  // namespace

std::unique_ptr<Runner> make_latency_runner() { return std::make_unique<LatencyRunner>(); }

}  // namespace santa::harness::measure
