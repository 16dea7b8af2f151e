#include "harness/measure/latency_backends.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#if defined(SANTA_HAVE_FLASHINFER)
#include "kernels/flashinfer/flashinfer_decode.hpp"
#endif

namespace santa::harness::measure {
namespace {

// The checks of kernels/ only look at shapes and at pointers being set and aligned; this stands in for the
// device pointers when a point is checked before anything is allocated.
alignas(16) unsigned char g_placeholder[16];

gpu::DecodeProblem placeholder_problem(const LatencyInputsSpec& in) {
  gpu::DecodeProblem p;
  p.batch = static_cast<int>(in.shape.batch);
  p.num_heads = static_cast<int>(in.shape.H);
  p.num_kv_heads = static_cast<int>(in.shape.H_kv);
  p.head_dim = static_cast<int>(in.shape.d);
  p.dtype = in.dtype;
  p.q = p.kv.k = p.kv.v = g_placeholder;
  p.out = g_placeholder;
  p.kv.seq_lens = reinterpret_cast<const int32_t*>(g_placeholder);
  if (in.shape.paged) {
    p.kv.paged = true;
    p.kv.page_size = static_cast<int>(in.shape.page_size);
    p.kv.max_pages_per_seq = static_cast<int>(in.max_len() / in.shape.page_size);
    p.kv.page_table = reinterpret_cast<const int32_t*>(g_placeholder);
  } else {
    p.kv.max_len = in.max_len();
  }
  return p;
}

// kernels/ says which field is wrong; the spec's parameter of the same meaning gets the blame.
std::string blamed_parameter(const std::string& message) {
  for (const auto& [field, param] : std::vector<std::pair<std::string, std::string>>{
           {"group size", "H_kv"}, {"head_dim", "d"}, {"tile", "tile"}, {"samples", "S"}, {"page_size", "page_size"},
           {"batch", "batch"}, {"max_len", "n_k"}, {"dtype", "dtype"}}) {
    if (message.find(field) != std::string::npos) return param;
  }
  return "backend";
}

std::optional<PointError> kernel_error(const std::string& backend, const std::exception& e) {
  const std::string msg = e.what();
  return PointError(blamed_parameter(msg), fmt::format("backend {} cannot run this point: {}", backend, msg));
}

// --- our kernels ------------------------------------------------------------------------------------------------

std::optional<PointError> ours_why_not(const Point& point, const LatencyInputsSpec& in) {
  const std::string backend = point.text("backend");
  try {
    const int64_t tile = point.integer("tile");
    const auto limits = workspace_limits(in, smallest_min_tile(in));  // the workspace the runner makes
    gpu::check_limits(limits);
    gpu::check_problem(placeholder_problem(in));
    gpu::check_fits(placeholder_problem(in), limits);
    if (backend == "flash") gpu::check_flash_params(gpu::FlashParams{point.integer("S"), int(tile)}, limits);
    if (backend == "prop" || backend == "prop_reference" || backend == "prop_two_pass")
      gpu::check_prop_params(gpu::PropParams{point.integer("S"), int(tile)}, limits);
    if (backend == "prop_two_pass" && in.shape.d != 128) {
      return PointError("d", fmt::format("backend prop_two_pass cannot run this point: d = {}; the two-pass kernel "
                                         "serves d = 128 only (use backend prop)",
                                         in.shape.d));
    }
  } catch (const std::invalid_argument& e) {
    return kernel_error(backend, e);
  }
  return std::nullopt;
}

std::vector<TimedPath> dense_prepare(const BackendSetup& s) {
  TimedPath path;
  path.call = [s](bool) { gpu::dense_decode(s.problem, *s.workspace); };
  path.num_chunks = gpu::split_info(gpu::KernelFamily::dense, s.problem, int(s.tile), *s.workspace).num_chunks;
  return {path};
}

gpu::SamplingRng rng_of(const BackendSetup& s) { return gpu::SamplingRng{s.rng_seed, 0, nullptr}; }

std::vector<TimedPath> flash_prepare(const BackendSetup& s) {
  const gpu::FlashParams params{s.S, int(s.tile), gpu::FlashBudget::exact_total};
  TimedPath path;
  path.call = [s, params](bool record) {
    gpu::flash_decode(s.problem, params, rng_of(s), *s.workspace, record ? s.record : gpu::SamplingRecord{});
  };
  path.num_chunks = gpu::split_info(gpu::KernelFamily::flash, s.problem, int(s.tile), *s.workspace).num_chunks;
  return {path};
}

std::vector<TimedPath> prop_with(const BackendSetup& s, gpu::PropBudget budget) {
  const gpu::PropParams params{s.S, int(s.tile), budget};
  TimedPath path;
  path.call = [s, params](bool record) {
    gpu::prop_decode(s.problem, params, rng_of(s), *s.workspace, record ? s.record : gpu::SamplingRecord{});
  };
  path.num_chunks = gpu::split_info(gpu::KernelFamily::prop, s.problem, int(s.tile), *s.workspace).num_chunks;
  return {path};
}
std::vector<TimedPath> prop_prepare(const BackendSetup& s) { return prop_with(s, gpu::PropBudget::global_systematic); }
// Variant 63 writes no distinct-rows record: the recording call first runs the one-pass prop with the full record
// (the same counts, so the same distinct rows: tested in tests/kernels/prop_two_pass_test.cpp), then the two-pass
// kernel, whose output and samples_drawn are the ones the runner checks.
std::vector<TimedPath> prop_two_pass_prepare(const BackendSetup& s) {
  const gpu::PropParams params{s.S, int(s.tile), gpu::PropBudget::global_systematic};
  gpu::LaunchOptions two_pass;
  two_pass.variant = 63;
  TimedPath path;
  path.call = [s, params, two_pass](bool record) {
    if (record) gpu::prop_decode(s.problem, params, rng_of(s), *s.workspace, s.record);
    const gpu::SamplingRecord drawn{record ? s.record.samples_drawn : nullptr, nullptr, nullptr};
    gpu::prop_decode(s.problem, params, rng_of(s), *s.workspace, drawn, two_pass);
  };
  path.num_chunks =
      gpu::split_info(gpu::KernelFamily::prop, s.problem, int(s.tile), *s.workspace, two_pass).num_chunks;
  return {path};
}
std::vector<TimedPath> prop_reference_prepare(const BackendSetup& s) {
  return prop_with(s, gpu::PropBudget::largest_remainder);
}

// --- FlashInfer -------------------------------------------------------------------------------------------------

const char* const kNoFlashInfer =
    "backend flashinfer is not in this build: santa was built without CUDA or without the FlashInfer headers "
    "(run scripts/fetch_flashinfer.sh, or carry third_party/flashinfer to the GPU machine, and reconfigure; "
    "kernels/flashinfer/README.md)";

#if defined(SANTA_HAVE_FLASHINFER)
gpu::FlashInferOptions options_of(const std::string& path) {
  gpu::FlashInferOptions o;
  o.path = gpu::flashinfer_path_from_string(path);
  return o;
}
#endif

std::optional<PointError> flashinfer_why_not(const Point& point, const LatencyInputsSpec& in) {
#if defined(SANTA_HAVE_FLASHINFER)
  std::string reasons;
  for (const auto& path : flashinfer_path_names()) {
    try {
      gpu::check_flashinfer_supported(placeholder_problem(in), options_of(path));
      return std::nullopt;  // one path is enough
    } catch (const std::invalid_argument& e) {
      reasons += fmt::format("{}{}: {}", reasons.empty() ? "" : "; ", path, e.what());
    }
  }
  return PointError(blamed_parameter(reasons), "backend flashinfer cannot run this point on any path: " + reasons);
#else
  (void)in;
  (void)point;
  return PointError("backend", kNoFlashInfer);
#endif
}

std::vector<TimedPath> flashinfer_prepare(const BackendSetup& s) {
#if defined(SANTA_HAVE_FLASHINFER)
  std::vector<TimedPath> paths;
  for (const auto& name : flashinfer_path_names()) {
    const auto options = options_of(name);
    try {
      gpu::check_flashinfer_supported(s.problem, options);
    } catch (const std::invalid_argument&) {
      continue;  // e.g. the single-request path at batch > 1: that path's columns stay NaN
    }
    auto decoder = std::make_shared<gpu::FlashInferDecoder>(options);
    decoder->plan(s.problem);
    TimedPath path;
    path.name = name;
    path.call = [decoder, problem = s.problem](bool) { decoder->run(problem); };
    // The single-request kernel reads the contiguous cache directly; the batch paths read page tables.
    if (options.path != gpu::FlashInferPath::cuda_core_single)
      path.extra_meta_bytes =
          flashinfer_index_bytes(s.shape, s.shape.paged ? s.shape.page_size : options.contiguous_page_size);
    paths.push_back(std::move(path));
  }
  return paths;
#else
  (void)s;
  throw std::logic_error(kNoFlashInfer);
#endif
}

// --- torch (rows from the script) -------------------------------------------------------------------------------

std::optional<PointError> script_only(const Point& point, const LatencyInputsSpec&) {
  return PointError("backend", fmt::format("backend {} is measured by scripts/torch_sdpa_baseline.py, which appends "
                                           "its rows to santa's result file (--h5); santa does not run it. Leave it "
                                           "out of the spec's backends",
                                           point.text("backend")));
}

std::vector<LatencyBackend> build_table() {
  using F = BackendFamily;
  return {
      {"dense", "our exact split-KV decode kernel", F::exact, std::nullopt, true, ours_why_not, dense_prepare},
      {"flash", "S2ANTA-flash, exact-total per-tile budget", F::sampled, santa::Scheme::flash, true, ours_why_not,
       flash_prepare},
      {"prop", "S2ANTA-prop, global-systematic budgets (exactly S)", F::sampled, santa::Scheme::global_systematic,
       true, ours_why_not, prop_prepare},
      {"prop_reference", "S2ANTA-prop, the reference kernel's largest-remainder budgets", F::sampled,
       santa::Scheme::prop_reference, true, ours_why_not, prop_reference_prepare},
      {"prop_two_pass", "S2ANTA-prop, global-systematic, in two launches (kernel variant 63; d = 128)", F::sampled,
       santa::Scheme::global_systematic, true, ours_why_not, prop_two_pass_prepare, true},
      {"flashinfer", "FlashInfer decode, fastest of its paths", F::exact, std::nullopt, true, flashinfer_why_not,
       flashinfer_prepare},
      {"torch_cudnn", "torch SDPA, cuDNN backend (scripts/torch_sdpa_baseline.py)", F::exact, std::nullopt, false,
       script_only, nullptr},
      {"torch_flash", "torch SDPA, flash backend (scripts/torch_sdpa_baseline.py)", F::exact, std::nullopt, false,
       script_only, nullptr},
  };
}

}  // namespace

const std::vector<LatencyBackend>& latency_backends() {
  static const std::vector<LatencyBackend> table = build_table();
  return table;
}

const LatencyBackend* find_latency_backend(std::string_view name) {
  for (const auto& b : latency_backends()) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

std::vector<std::string> latency_backend_names() {
  std::vector<std::string> out;
  for (const auto& b : latency_backends()) out.push_back(b.name);
  return out;
}

const std::vector<std::string>& flashinfer_path_names() {
  static const std::vector<std::string> names{"cuda_core", "cuda_core_single", "tensor_core"};
  return names;
}

bool flashinfer_in_build() {
#if defined(SANTA_HAVE_FLASHINFER)
  return true;
#else
  return false;
#endif
}

int64_t smallest_min_tile(const LatencyInputsSpec& inputs) {
  int64_t t = 32;  // kernels' kMinTile; sequences of more than 4096 * 32 keys need larger tiles
  while (t < 1024 && (inputs.max_len() + t - 1) / t > 4096) t *= 2;
  return t;
}

gpu::WorkspaceLimits workspace_limits(const LatencyInputsSpec& inputs, int64_t min_tile, bool score_prefix) {
  gpu::WorkspaceLimits l;
  l.max_batch = static_cast<int>(inputs.shape.batch);
  l.num_heads = static_cast<int>(inputs.shape.H);
  l.num_kv_heads = static_cast<int>(inputs.shape.H_kv);
  l.head_dim = static_cast<int>(inputs.shape.d);
  l.max_len = inputs.max_len();
  l.min_tile = static_cast<int>(min_tile);
  l.score_prefix = score_prefix;
  return l;
}

}  // namespace santa::harness::measure
