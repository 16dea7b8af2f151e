// Instantiations of the dense decode kernel: head_dim {64, 128, 256} x {bf16, fp16}.
#include "kernels/cuda/launchers.cuh"
#include "kernels/detail/dense_kernel.cuh"

namespace santa::gpu::detail {

template <int D, class T>
void launch_dense(const KernelParams& p, dim3 grid, std::size_t smem, cudaStream_t stream) {
  constexpr int kMinBlocks = D <= 128 ? 2 : 1;  // d = 256 needs more than 128 registers per thread
  static std::atomic<std::size_t> allowed{0};
  auto kernel = dense_decode_kernel<D, T, kMinBlocks>;
  allow_smem(kernel, smem, allowed);
  kernel<<<grid, kThreads, smem, stream>>>(p);
  launch_check("dense_decode_kernel");
}

#define SANTA_DENSE(D)                                                                        \
  template void launch_dense<D, __nv_bfloat16>(const KernelParams&, dim3, std::size_t, cudaStream_t); \
  template void launch_dense<D, __half>(const KernelParams&, dim3, std::size_t, cudaStream_t);
SANTA_DENSE(64)
SANTA_DENSE(128)
SANTA_DENSE(256)
#undef SANTA_DENSE

}  // namespace santa::gpu::detail
