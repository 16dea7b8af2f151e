// CUDA error checks of the library's host code: every call's status becomes a std::runtime_error that
// names the call and the CUDA error.
#pragma once

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace santa::gpu::detail {

inline void cuda_check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    throw std::runtime_error(std::string(what) + " failed: " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
  }
}

inline void launch_check(const char* kernel) {
  cuda_check(cudaGetLastError(), kernel);
}

}  // namespace santa::gpu::detail

#define SANTA_CUDA(call) ::santa::gpu::detail::cuda_check((call), #call)
