// S2ANTA-prop in one persistent launch (benchmark variants 70-72; d = 128, bf16 and fp16): prop_fused_kernel.cuh.
#include "kernels/cuda/launchers.cuh"
#include "kernels/detail/prop_fused_kernel.cuh"

namespace santa::gpu::detail {

template <int D, class T>
void launch_prop_fused(const KernelParams& p, int grid, std::size_t smem, cudaStream_t stream) {
  static std::atomic<std::size_t> allowed{0};
  launch_decode(prop_fused_kernel<D, T>, "prop_fused_kernel", p, dim3(static_cast<unsigned>(grid)), smem, stream,
                allowed, kTileThreads);
}

template void launch_prop_fused<128, __nv_bfloat16>(const KernelParams&, int, std::size_t, cudaStream_t);
template void launch_prop_fused<128, __half>(const KernelParams&, int, std::size_t, cudaStream_t);

}  // namespace santa::gpu::detail
