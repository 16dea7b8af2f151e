// The compile-time kernel launchers (one explicit instantiation per supported head_dim / dtype / group
// bound, spread over a few translation units so the build runs in parallel). The runtime -> compile-time
// dispatch of each family lives in dense_launch.cu and sampling_launch.cu.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/detail/kernel_params.hpp"

namespace santa::gpu::detail {

// loop (kernel_params.hpp): anything but DenseLoop::plain is a d = 128 benchmark variant (42, 44, 45).
template <int D, class T>
void launch_dense(const KernelParams& p, dim3 grid, std::size_t smem, cudaStream_t stream,
                  DenseLoop loop = DenseLoop::plain);

// The whole-row dense kernel (benchmark variant 7; d = 128, 8 KV heads, contiguous cache, sm_90).
template <int D, class T>
void launch_dense_rows(const KernelParams& p, dim3 grid, std::size_t smem, cudaStream_t stream);

// The per-KV-head dense kernel streaming through cp.async (benchmark variant 33; d = 128, sm_80+).
template <int D, class T>
void launch_dense_async(const KernelParams& p, dim3 grid, std::size_t smem, cudaStream_t stream);

// The per-KV-head dense kernel with cuDNN's CTA-wide tiles (benchmark variants 52-54; d = 128, sm_80+): `stages`
// tiles in the ring (2 or 3), or 1 for the alternating K / V buffers (variant 54).
template <int D, class T>
void launch_dense_tile(const KernelParams& p, dim3 grid, std::size_t smem, cudaStream_t stream, int stages);

// kMinBlocks: resident CTAs per SM the kernel is compiled for (2, or 1 for d = 256; 3 is a benchmark variant).
// kOneHead = 1: the phases after the key stream take one head per warp task (benchmark variant 2).
// kKeyRing: the fused key stream through a cp.async ring (variants 58-60).
template <int D, class T, int kMaxG, int kMinBlocks, int kOneHead = 0, bool kKeyRing = false>
void launch_sampling(const KernelParams& p, dim3 grid, std::size_t smem, cudaStream_t stream);

// The two-pass prop (variants 61-63, 65; d = 128): pass 1 (`stages` K tiles in its ring) on grid1 (chunks, KV heads, batch), then pass 2 on grid2
// (query heads, batch, parts) in the CTA shape and counting path of `pass2`, both taking p.
template <int D, class T>
void launch_prop_two_pass(const KernelParams& p, int stages, dim3 grid1, std::size_t smem1, Pass2Shape pass2,
                          dim3 grid2, std::size_t smem2, cudaStream_t stream);

// prop in one persistent launch (variants 70-72; d = 128): `grid` CTAs of kTileThreads threads taking work items.
template <int D, class T>
void launch_prop_fused(const KernelParams& p, int grid, std::size_t smem, cudaStream_t stream);

// flash in one key stream (variant 64; d = 128): grid (chunks, KV heads, batch) of kTileThreads threads.
template <int D, class T>
void launch_flash_stream(const KernelParams& p, dim3 grid, std::size_t smem, cudaStream_t stream);

// Raises a kernel's dynamic shared-memory limit once per size increase. Also below 48 KB: the default limit is 48 KB
// of static and dynamic together, so 47.9 KB dynamic on top of static shared memory fails to launch
// (cudaErrorInvalidValue: call 72, pass 2 of v:62 with 49072 + 1408 bytes).
template <class Kernel>
void allow_smem(Kernel kernel, std::size_t bytes, std::atomic<std::size_t>& allowed) {
  if (bytes > allowed.load()) {
    SANTA_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
    allowed.store(bytes);
  }
}

// Launches one decode kernel with `threads` threads per CTA (kThreads but for the CTA-wide-tile kernel) and checks
// the launch; `allowed` is that kernel's own shared-memory limit record (a function-local static at the caller).
// dependent: launched dependent on the previous kernel of the stream (programmatic dependent launch, sm_90+); the
// kernel must then call pdl_wait() before it reads what that kernel writes.
template <class Kernel>
void launch_decode(Kernel kernel, const char* name, const KernelParams& p, dim3 grid, std::size_t smem,
                   cudaStream_t stream, std::atomic<std::size_t>& allowed, int threads = kThreads,
                   bool dependent = false) {
  allow_smem(kernel, smem, allowed);
  if (dependent) {
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = dim3(static_cast<unsigned>(threads));
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
    cuda_check(cudaLaunchKernelEx(&cfg, kernel, p), name);
  } else {
    kernel<<<grid, threads, smem, stream>>>(p);
  }
  launch_check(name);
}

}  // namespace santa::gpu::detail
