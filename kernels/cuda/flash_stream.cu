// S2ANTA-flash in one key stream (benchmark variant 64; d = 128, bf16 and fp16): flash_stream_kernel.cuh.
#include "kernels/cuda/launchers.cuh"
#include "kernels/detail/flash_stream_kernel.cuh"

namespace santa::gpu::detail {

template <int D, class T>
void launch_flash_stream(const KernelParams& p, dim3 grid, std::size_t smem, cudaStream_t stream) {
  static std::atomic<std::size_t> allowed_one{0}, allowed_two{0};
  if (p.group <= kTileThreads / 32) {  // one query head per warp
    launch_decode(flash_stream_kernel<D, T, 1>, "flash_stream_kernel", p, grid, smem, stream, allowed_one, kTileThreads);
  } else {
    launch_decode(flash_stream_kernel<D, T, 2>, "flash_stream_kernel", p, grid, smem, stream, allowed_two, kTileThreads);
  }
}

template void launch_flash_stream<128, __nv_bfloat16>(const KernelParams&, dim3, std::size_t, cudaStream_t);
template void launch_flash_stream<128, __half>(const KernelParams&, dim3, std::size_t, cudaStream_t);

}  // namespace santa::gpu::detail
