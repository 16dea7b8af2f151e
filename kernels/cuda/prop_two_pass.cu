// The two-pass S2ANTA-prop (benchmark variants 61-63, 65; d = 128, bf16 and fp16): pass 1 (score_prefix_kernel.cuh)
// with 3 K tiles in its ring (65: 2), then pass 2 (prop_sampled_kernel.cuh) in CTAs of 256 or 128 threads, on one stream.
#include "kernels/cuda/launchers.cuh"
#include "kernels/detail/prop_sampled_kernel.cuh"
#include "kernels/detail/score_prefix_kernel.cuh"

namespace santa::gpu::detail {
namespace {

template <int D, class T, int kNT, int kMinBlocks, bool kSearch>
void launch_prop_sampled(const KernelParams& p, dim3 grid, std::size_t smem, cudaStream_t stream, bool dependent) {
  static std::atomic<std::size_t> allowed{0};
  launch_decode(prop_sampled_kernel<D, T, kNT, kMinBlocks, kSearch>, "prop_sampled_kernel", p, grid, smem, stream,
                allowed, kNT, dependent);
}

}  // namespace

template <int D, class T>
void launch_prop_two_pass(const KernelParams& p, int stages, dim3 grid1, std::size_t smem1, Pass2Shape pass2,
                          dim3 grid2, std::size_t smem2, cudaStream_t stream) {
  static std::atomic<std::size_t> allowed2{0}, allowed3{0};
  if (stages == 2) {
    launch_decode(score_prefix_kernel<D, T, 2>, "score_prefix_kernel", p, grid1, smem1, stream, allowed2, kTileThreads);
  } else {
    launch_decode(score_prefix_kernel<D, T, 3>, "score_prefix_kernel", p, grid1, smem1, stream, allowed3, kTileThreads);
  }
  if (pass2.threads == 0) return;  // diagnostics: pass 1 alone
  if (pass2.search) {
    launch_prop_sampled<D, T, 256, 4, true>(p, grid2, smem2, stream, pass2.dependent);
  } else if (pass2.threads == 128) {
    launch_prop_sampled<D, T, 128, 4, false>(p, grid2, smem2, stream, pass2.dependent);
  } else {
    launch_prop_sampled<D, T, 256, 2, false>(p, grid2, smem2, stream, pass2.dependent);
  }
}

template void launch_prop_two_pass<128, __nv_bfloat16>(const KernelParams&, int, dim3, std::size_t, Pass2Shape,
                                                       dim3, std::size_t, cudaStream_t);
template void launch_prop_two_pass<128, __half>(const KernelParams&, int, dim3, std::size_t, Pass2Shape, dim3,
                                                std::size_t, cudaStream_t);

}  // namespace santa::gpu::detail
