// Instantiations of the sampling kernel for bf16: head_dim {64, 128, 256} x group bound {4, 8}.
#include "kernels/cuda/launchers.cuh"
#include "kernels/detail/sampling_kernel.cuh"

namespace santa::gpu::detail {

template <int D, class T, int kMaxG>
void launch_sampling(const KernelParams& p, dim3 grid, std::size_t smem, cudaStream_t stream) {
  static std::atomic<std::size_t> allowed{0};
  auto kernel = sampling_decode_kernel<D, T, kMaxG>;
  allow_smem(kernel, smem, allowed);
  kernel<<<grid, kThreads, smem, stream>>>(p);
  launch_check("sampling_decode_kernel");
}

#define SANTA_SAMPLING(D)                                                                                   \
  template void launch_sampling<D, __nv_bfloat16, 4>(const KernelParams&, dim3, std::size_t, cudaStream_t); \
  template void launch_sampling<D, __nv_bfloat16, 8>(const KernelParams&, dim3, std::size_t, cudaStream_t);
SANTA_SAMPLING(64)
SANTA_SAMPLING(128)
SANTA_SAMPLING(256)
#undef SANTA_SAMPLING

}  // namespace santa::gpu::detail
