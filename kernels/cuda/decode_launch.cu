// The decode API entry points: validate, plan, then the one runtime -> compile-time dispatch per family.
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include "kernels/cuda/launchers.cuh"
#include "kernels/decode.hpp"
#include "kernels/detail/plan.hpp"

namespace santa::gpu {
namespace {

template <class F>
void with_head_dim(int d, F&& f) {
  switch (d) {
    case 64:
      return f(std::integral_constant<int, 64>{});
    case 128:
      return f(std::integral_constant<int, 128>{});
    case 256:
      return f(std::integral_constant<int, 256>{});
    default:
      throw std::invalid_argument("head_dim " + std::to_string(d) + " has no kernel");  // unreachable after checks
  }
}

template <class F>
void with_dtype(DType t, F&& f) {
  if (t == DType::bf16) return f(__nv_bfloat16{});
  return f(__half{});
}

dim3 grid_of(const DecodeProblem& p, const detail::Plan& plan) {
  return dim3(static_cast<unsigned>(plan.num_chunks), static_cast<unsigned>(p.num_kv_heads),
              static_cast<unsigned>(p.batch));
}

// The multi-head warp tasks of the phases after the key stream pay off only when every warp has several
// (head, tile) tasks; with one or two the bigger kernel costs 1-4 us per call (kernels/NOTES.md, calls 7-8), so
// the host then launches the one-head build (where it exists: d = 128, bf16, G <= 4). Thresholds from call 7.
bool few_phase_tasks(const detail::KernelParams& p, const detail::Plan& plan) {
  const int tasks = p.group * (plan.rows_max / p.tile);
  const bool prop = p.mode == static_cast<int32_t>(detail::SamplingMode::prop_global_systematic) ||
                    p.mode == static_cast<int32_t>(detail::SamplingMode::prop_largest_remainder);
  return tasks < (prop ? 4 : 2) * detail::kWarps;
}

void launch_sampling_family(const DecodeProblem& problem, detail::KernelParams& p, const detail::Plan& plan_in,
                            const LaunchOptions& launch) {
  const int G = problem.num_heads / problem.num_kv_heads;
  if (p.key_ring > 0 && !(problem.head_dim == 128 && problem.dtype == DType::bf16 && G <= 4)) {
    throw std::invalid_argument("the sampling key-ring variants (LaunchOptions::variant " + std::to_string(launch.variant) +
                                ") exist for head_dim = 128, bf16 and num_heads / num_kv_heads <= 4 only");
  }
  detail::Plan plan = plan_in;
  plan.smem_bytes += detail::smem_padding(launch);
  const auto stream = static_cast<cudaStream_t>(launch.stream);
  with_head_dim(problem.head_dim, [&](auto dc) {
    constexpr int D = decltype(dc)::value;
    with_dtype(problem.dtype, [&](auto tv) {
      using T = decltype(tv);
      constexpr int kMinBlocks = D <= 128 ? 2 : 1;
      if constexpr (D == 128 && std::is_same_v<T, __nv_bfloat16>) {
        if (p.key_ring > 0 && G <= 4) {
          return detail::launch_sampling<D, T, 4, 2, 0, true>(p, grid_of(problem, plan), plan.smem_bytes, stream);
        }
        if (launch.variant == 1 && G <= 4) {
          return detail::launch_sampling<D, T, 4, 3>(p, grid_of(problem, plan), plan.smem_bytes, stream);
        }
        if (G <= 4 && (launch.variant == 2 || (launch.variant != 3 && few_phase_tasks(p, plan)))) {
          return detail::launch_sampling<D, T, 4, 2, 1>(p, grid_of(problem, plan), plan.smem_bytes, stream);
        }
      }
      if (G <= 4) {
        detail::launch_sampling<D, T, 4, kMinBlocks>(p, grid_of(problem, plan), plan.smem_bytes, stream);
      } else {
        detail::launch_sampling<D, T, 8, kMinBlocks>(p, grid_of(problem, plan), plan.smem_bytes, stream);
      }
    });
  });
}

void set_rng_and_record(detail::KernelParams& p, const SamplingRng& rng, const SamplingRecord& record) {
  p.seed = rng.seed;
  p.step = rng.step;
  p.step_ptr = rng.step_ptr;
  p.samples_out = record.samples_drawn;
  p.rows_out = record.distinct_rows;
  p.counts_out = record.counts;
  p.phase_clock = record.phase_clock;
}

// Variants 7 and 29: the whole-row dense kernel (dense_rows_kernel.cuh), a CTA per (chunk, sequence) or an
// equal share of the batch's steps per SM.
void dense_rows_decode(const DecodeProblem& problem, DecodeWorkspace& workspace, const LaunchOptions& launch) {
  if (!detail::rows_kernel_supports(problem, workspace.cc_major())) {
    throw std::invalid_argument("the whole-row dense kernel (LaunchOptions::variant " + std::to_string(launch.variant) +
                                ") needs a contiguous cache, num_kv_heads = 8, head_dim = 128 and an sm_90 GPU or newer");
  }
  const detail::RowsSplit split = detail::rows_split(problem, workspace.limits(), workspace.sm_count(), launch);
  detail::Plan plan;
  plan.num_chunks = split.pieces_max;
  plan.unit = 16;
  plan.n_max = max_sequence_length(problem);
  detail::KernelParams p = detail::make_params(problem, workspace, plan, launch, KernelFamily::dense);
  p.rows_steps = split.steps_per_seq;
  p.phase_clock = launch.phase_clock;
  const std::size_t smem = detail::rows_smem_bytes(problem, split);
  const auto stream = static_cast<cudaStream_t>(launch.stream);
  with_dtype(problem.dtype, [&](auto tv) {
    detail::launch_dense_rows<128, decltype(tv)>(p, dim3(static_cast<unsigned>(split.ctas)), smem, stream);
  });
}

// The tile kernels' variants (two-pass prop, one-stream flash) exist for d = 128 on sm_80+.
void require_tile_kernel_shape(const DecodeProblem& problem, const DecodeWorkspace& workspace, const std::string& what) {
  if (problem.head_dim != 128 || workspace.cc_major() < 8) {
    throw std::invalid_argument(what + " needs head_dim = 128 and an sm_80 GPU or newer; got head_dim " +
                                std::to_string(problem.head_dim));
  }
}

// What the prop kernels on the prefix buffer (the two-pass and the persistent one) serve, checked before any launch:
// the shapes and budget rule, the workspace's prefix buffer, and the records they cannot write.
void require_prefix_prop(const DecodeProblem& problem, const PropParams& params, const DecodeWorkspace& workspace,
                         const SamplingRecord& record, const std::string& what) {
  require_tile_kernel_shape(problem, workspace, what);
  if (params.budget != PropBudget::global_systematic) {
    throw std::invalid_argument(what + " implements PropBudget::global_systematic only");
  }
  if (workspace.views().prefix == nullptr) {
    throw std::invalid_argument(what + " needs a workspace made with WorkspaceLimits::score_prefix = true");
  }
  if (record.distinct_rows != nullptr || record.phase_clock != nullptr) {
    throw std::invalid_argument(what + " records samples_drawn and counts only (its pass 2 reads V per query head: "
                                       "SamplingRecord::distinct_rows and phase_clock must be nullptr)");
  }
}

// Variants 61-63, 65: prop in two launches (prop_two_pass.cu).
void prop_two_pass(const DecodeProblem& problem, const PropParams& params, const SamplingRng& rng,
                   DecodeWorkspace& workspace, const SamplingRecord& record, const LaunchOptions& launch) {
  require_prefix_prop(problem, params, workspace, record,
                      "the two-pass prop (LaunchOptions::variant " + std::to_string(launch.variant) + ")");
  const int stages = detail::two_pass_stages(launch);
  const detail::TwoPassPlan tp = detail::two_pass_plan(problem, workspace.limits(), workspace.sm_count(), params.tile,
                                                       params.samples, stages, launch.num_chunks,
                                                       detail::two_pass_pass2(launch));
  detail::KernelParams p = detail::make_params(problem, workspace, tp.pass1, launch, KernelFamily::prop);
  p.mode = static_cast<int32_t>(detail::SamplingMode::prop_global_systematic);
  p.tile = params.tile;
  p.samples = params.samples;
  p.async_mode = 64 | detail::two_pass_prefix_mode(launch);  // tile copies in cuDNN's order (+ v:68 / v:69 bits)
  p.sampled_entries = tp.entries;
  p.sampled_stage = tp.stage;
  set_rng_and_record(p, rng, record);
  const dim3 grid2(static_cast<unsigned>(problem.num_heads), static_cast<unsigned>(problem.batch),
                   static_cast<unsigned>(tp.parts));
  detail::Pass2Shape pass2 = tp.pass2;
  pass2.dependent = workspace.cc_major() >= 9;  // programmatic dependent launch exists from sm_90
  const auto stream = static_cast<cudaStream_t>(launch.stream);
  with_dtype(problem.dtype, [&](auto tv) {
    detail::launch_prop_two_pass<128, decltype(tv)>(p, stages, grid_of(problem, tp.pass1), tp.pass1.smem_bytes, pass2,
                                                    grid2,
                                                    tp.pass2_smem, stream);
  });
}

// Variants 70-72: prop in one persistent launch (prop_fused.cu).
void prop_persistent(const DecodeProblem& problem, const PropParams& params, const SamplingRng& rng,
                     DecodeWorkspace& workspace, const SamplingRecord& record, const LaunchOptions& launch) {
  require_prefix_prop(problem, params, workspace, record,
                      "the persistent prop (LaunchOptions::variant " + std::to_string(launch.variant) + ")");
  const detail::FusedPlan fp = detail::fused_plan(problem, workspace.limits(), workspace.sm_count(), params.tile,
                                                  params.samples, launch.num_chunks);
  detail::KernelParams p = detail::make_params(problem, workspace, fp.stream, launch, KernelFamily::prop);
  p.mode = static_cast<int32_t>(detail::SamplingMode::prop_global_systematic);
  p.tile = params.tile;
  p.samples = params.samples;
  p.async_mode = 64 | detail::prop_fused_mode(launch);  // tile copies in cuDNN's order, L2 policies
  p.sampled_entries = fp.entries;
  p.sampled_stage = fp.stage;
  p.fused_parts = fp.parts;
  p.fused_lag = fp.lag;
  p.fused_slots = fp.slots;
  set_rng_and_record(p, rng, record);
  const auto stream = static_cast<cudaStream_t>(launch.stream);
  with_dtype(problem.dtype, [&](auto tv) {
    detail::launch_prop_fused<128, decltype(tv)>(p, fp.grid, fp.stream.smem_bytes, stream);
  });
}

detail::SamplingMode flash_mode(const FlashParams& params) {
  return params.budget == FlashBudget::exact_total ? detail::SamplingMode::flash_exact
                                                   : detail::SamplingMode::flash_reference;
}

// Variant 64: flash in one key stream (flash_stream.cu). Checked here, before the launch: the shapes it serves and
// the records it cannot write.
void flash_one_stream(const DecodeProblem& problem, const FlashParams& params, const SamplingRng& rng,
                      DecodeWorkspace& workspace, const SamplingRecord& record, const LaunchOptions& launch) {
  const std::string what = "the one-stream flash (LaunchOptions::variant " + std::to_string(launch.variant) + ")";
  require_tile_kernel_shape(problem, workspace, what);
  if (record.distinct_rows != nullptr || record.phase_clock != nullptr) {
    throw std::invalid_argument(what + " records samples_drawn and counts only (each warp gathers its own heads' "
                                       "rows: SamplingRecord::distinct_rows and phase_clock must be nullptr)");
  }
  const detail::Plan plan =
      detail::flash_stream_plan(problem, workspace.limits(), workspace.sm_count(), params.tile, launch.num_chunks);
  detail::KernelParams p = detail::make_params(problem, workspace, plan, launch, KernelFamily::flash);
  p.mode = static_cast<int32_t>(flash_mode(params));
  p.tile = params.tile;
  p.samples = params.samples;
  p.async_mode = 64;  // the tile copies in cuDNN's order (TileCopy's fast paths)
  set_rng_and_record(p, rng, record);
  const auto stream = static_cast<cudaStream_t>(launch.stream);
  with_dtype(problem.dtype, [&](auto tv) {
    detail::launch_flash_stream<128, decltype(tv)>(p, grid_of(problem, plan), plan.smem_bytes, stream);
  });
}

}  // namespace

void dense_decode(const DecodeProblem& problem, DecodeWorkspace& workspace, const LaunchOptions& requested) {
  check_problem(problem);
  check_launch(requested);
  check_fits(problem, workspace.limits());
  const detail::DenseKernel kernel =
      detail::dense_kernel_for(problem, workspace.limits(), workspace.sm_count(), workspace.cc_major(), requested);
  const LaunchOptions& launch = kernel.launch;
  if (detail::use_rows_kernel(launch)) {
    return dense_rows_decode(problem, workspace, launch);
  }
  const detail::Plan& plan = kernel.plan;
  const auto stream = static_cast<cudaStream_t>(launch.stream);
  const int tile_stages = detail::tile_kernel_stages(launch);
  if (detail::use_async_kernel(launch) || tile_stages > 0) {
    if (!detail::async_kernel_supports(problem, workspace.cc_major())) {
      throw std::invalid_argument("the cp.async dense kernels (LaunchOptions::variant " +
                                  std::to_string(launch.variant) + ") need head_dim = 128 and an sm_80 GPU or newer");
    }
    const detail::KernelParams p = detail::make_params(problem, workspace, plan, launch, KernelFamily::dense);
    return with_dtype(problem.dtype, [&](auto tv) {
      using T = decltype(tv);
      if (tile_stages > 0) {
        return detail::launch_dense_tile<128, T>(p, grid_of(problem, plan), plan.smem_bytes, stream, tile_stages);
      }
      detail::launch_dense_async<128, T>(p, grid_of(problem, plan), plan.smem_bytes, stream);
    });
  }
  if (detail::dense_loop(launch) != detail::DenseLoop::plain && problem.head_dim != 128) {
    throw std::invalid_argument("dense variant " + std::to_string(launch.variant) + " (LaunchOptions::variant) needs head_dim = 128, got " +
                                std::to_string(problem.head_dim));
  }
  detail::KernelParams p = detail::make_params(problem, workspace, plan, launch, KernelFamily::dense);
  with_head_dim(problem.head_dim, [&](auto dc) {
    constexpr int D = decltype(dc)::value;
    with_dtype(problem.dtype, [&](auto tv) {
      using T = decltype(tv);
      detail::launch_dense<D, T>(p, grid_of(problem, plan), plan.smem_bytes + detail::smem_padding(launch), stream,
                                 detail::dense_loop(launch));
    });
  });
}

void flash_decode(const DecodeProblem& problem, const FlashParams& params, const SamplingRng& rng,
                  DecodeWorkspace& workspace, const SamplingRecord& record, const LaunchOptions& launch) {
  check_problem(problem);
  check_launch(launch);
  check_fits(problem, workspace.limits());
  check_flash_params(params, workspace.limits());
  if (detail::flash_stream(launch)) return flash_one_stream(problem, params, rng, workspace, record, launch);
  const detail::Plan plan = detail::make_plan(KernelFamily::flash, problem, params.tile, workspace.limits(),
                                              workspace.sm_count(), launch.num_chunks, detail::sampling_key_ring(launch));
  detail::KernelParams p = detail::make_params(problem, workspace, plan, launch, KernelFamily::flash);
  p.mode = static_cast<int32_t>(flash_mode(params));
  p.tile = params.tile;
  p.samples = params.samples;
  set_rng_and_record(p, rng, record);
  launch_sampling_family(problem, p, plan, launch);
}

void prop_decode(const DecodeProblem& problem, const PropParams& params, const SamplingRng& rng,
                 DecodeWorkspace& workspace, const SamplingRecord& record, const LaunchOptions& launch) {
  check_problem(problem);
  check_launch(launch);
  check_fits(problem, workspace.limits());
  check_prop_params(params, workspace.limits());
  if (detail::two_pass_stages(launch) > 0) return prop_two_pass(problem, params, rng, workspace, record, launch);
  if (detail::prop_fused(launch)) return prop_persistent(problem, params, rng, workspace, record, launch);
  const detail::Plan plan = detail::make_plan(KernelFamily::prop, problem, params.tile, workspace.limits(),
                                              workspace.sm_count(), launch.num_chunks, detail::sampling_key_ring(launch));
  detail::KernelParams p = detail::make_params(problem, workspace, plan, launch, KernelFamily::prop);
  p.mode = static_cast<int32_t>(params.budget == PropBudget::global_systematic
                                    ? detail::SamplingMode::prop_global_systematic
                                    : detail::SamplingMode::prop_largest_remainder);
  p.tile = params.tile;
  p.samples = params.samples;
  set_rng_and_record(p, rng, record);
  launch_sampling_family(problem, p, plan, launch);
}

DecodeWorkspace::DecodeWorkspace(const WorkspaceLimits& limits) : limits_(limits) {
  check_limits(limits);
  int device = 0;
  SANTA_CUDA(cudaGetDevice(&device));
  SANTA_CUDA(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device));
  SANTA_CUDA(cudaDeviceGetAttribute(&cc_major_, cudaDevAttrComputeCapabilityMajor, device));
  const std::size_t B = limits.max_batch, H = limits.num_heads, Hkv = limits.num_kv_heads, D = limits.head_dim;
  const std::size_t C = limits.max_chunks;
  const std::size_t tiles = (limits.max_len + limits.min_tile - 1) / limits.min_tile;
  auto align = [](std::size_t x) { return (x + 255) & ~std::size_t{255}; };
  const std::size_t acc_b = align(B * H * C * D * sizeof(float));
  const std::size_t ml_b = align(B * H * C * 2 * sizeof(float));
  const std::size_t cnt_b = align(B * Hkv * C * detail::kCntStride * sizeof(int32_t));
  const std::size_t ts_b = align(B * H * tiles * 2 * sizeof(float));
  const std::size_t ctr_b = align((2 * B * Hkv + 2 + B * H) * sizeof(uint32_t));
  const std::size_t last_b = align(B * H * tiles * sizeof(int32_t));
  const std::size_t prefix_stride = (limits.max_len + kMaxTile - 1) / kMaxTile * kMaxTile;
  const std::size_t prefix_b = limits.score_prefix ? align(B * H * prefix_stride * sizeof(float)) : 0;
  buffer_ = DeviceBuffer(acc_b + ml_b + cnt_b + ts_b + ctr_b + last_b + prefix_b);
  buffer_.fill_bytes(0);
  char* base = buffer_.as<char>();
  views_.part_acc = reinterpret_cast<float*>(base);
  views_.part_ml = reinterpret_cast<float*>(base + acc_b);
  views_.part_cnt = reinterpret_cast<int32_t*>(base + acc_b + ml_b);
  views_.tile_stats = reinterpret_cast<float*>(base + acc_b + ml_b + cnt_b);
  views_.counters = reinterpret_cast<uint32_t*>(base + acc_b + ml_b + cnt_b + ts_b);
  views_.head_counters = views_.counters + 2 * B * Hkv + 2;
  views_.tile_last = reinterpret_cast<int32_t*>(base + acc_b + ml_b + cnt_b + ts_b + ctr_b);
  views_.prefix = limits.score_prefix ? reinterpret_cast<float*>(base + acc_b + ml_b + cnt_b + ts_b + ctr_b + last_b) : nullptr;
  views_.prefix_stride = static_cast<int64_t>(prefix_stride);
  views_.max_tiles = static_cast<int>(tiles);
}

}  // namespace santa::gpu
