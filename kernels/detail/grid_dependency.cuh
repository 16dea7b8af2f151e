// Programmatic dependent launch (sm_90+): a kernel launched with cudaLaunchAttributeProgrammaticStreamSerialization
// may start while the previous kernel of its stream still runs, once every CTA of that kernel has called
// pdl_launch_dependents() (or exited), and pdl_wait() then waits until that kernel has finished and its writes are
// visible. Both are no-ops below sm_90 and when the launch did not ask for it (the wait returns at once).
#pragma once

namespace santa::gpu::detail {

__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

}  // namespace santa::gpu::detail
