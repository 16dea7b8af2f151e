// Device discovery, RAII buffers and the random fill (the CUDA side of device.hpp / device_buffer.hpp).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "estimators/philox.hpp"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/device.hpp"
#include "kernels/device_buffer.hpp"

namespace santa::gpu {

bool gpu_available() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" status
    return false;
  }
  return count > 0;
}

void require_gpu() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw std::runtime_error(std::string("no usable GPU: ") + cudaGetErrorString(err));
  }
  if (count == 0) throw std::runtime_error("no usable GPU: no CUDA device found");
}

double DeviceInfo::nominal_bandwidth_tbps() const {
  return 2.0 * memory_clock_khz * 1e3 * (memory_bus_width_bits / 8.0) / 1e12;
}

DeviceInfo device_info(int device) {
  require_gpu();
  DeviceInfo info;
  info.device = device;
  cudaDeviceProp prop{};
  SANTA_CUDA(cudaGetDeviceProperties(&prop, device));
  info.name = prop.name;
  info.cc_major = prop.major;
  info.cc_minor = prop.minor;
  info.sm_count = prop.multiProcessorCount;
  info.l2_bytes = prop.l2CacheSize;
  info.total_memory_bytes = static_cast<int64_t>(prop.totalGlobalMem);
  info.shared_memory_per_sm_bytes = static_cast<int64_t>(prop.sharedMemPerMultiprocessor);
  SANTA_CUDA(cudaDeviceGetAttribute(&info.sm_clock_khz, cudaDevAttrClockRate, device));
  SANTA_CUDA(cudaDeviceGetAttribute(&info.memory_clock_khz, cudaDevAttrMemoryClockRate, device));
  SANTA_CUDA(cudaDeviceGetAttribute(&info.memory_bus_width_bits, cudaDevAttrGlobalMemoryBusWidth, device));
  SANTA_CUDA(cudaDriverGetVersion(&info.driver_version));
  SANTA_CUDA(cudaRuntimeGetVersion(&info.runtime_version));
  return info;
}

DeviceBuffer::DeviceBuffer(std::size_t bytes) : size_(bytes) {
  if (bytes > 0) SANTA_CUDA(cudaMalloc(&ptr_, bytes));
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_ != nullptr) cudaFree(ptr_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), size_(o.size_) {
  o.ptr_ = nullptr;
  o.size_ = 0;
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (ptr_ != nullptr) cudaFree(ptr_);
    ptr_ = o.ptr_;
    size_ = o.size_;
    o.ptr_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

void DeviceBuffer::upload(const void* host, std::size_t bytes, std::size_t offset) {
  if (offset > size_ || bytes > size_ - offset) {
    throw std::out_of_range("DeviceBuffer::upload: " + std::to_string(bytes) + " bytes at offset " +
                            std::to_string(offset) + " exceed the buffer's " + std::to_string(size_));
  }
  if (bytes > 0) SANTA_CUDA(cudaMemcpy(static_cast<char*>(ptr_) + offset, host, bytes, cudaMemcpyHostToDevice));
}

void DeviceBuffer::download(void* host, std::size_t bytes, std::size_t offset) const {
  if (offset > size_ || bytes > size_ - offset) {
    throw std::out_of_range("DeviceBuffer::download: " + std::to_string(bytes) + " bytes at offset " +
                            std::to_string(offset) + " exceed the buffer's " + std::to_string(size_));
  }
  if (bytes > 0) SANTA_CUDA(cudaMemcpy(host, static_cast<const char*>(ptr_) + offset, bytes, cudaMemcpyDeviceToHost));
}

void DeviceBuffer::fill_bytes(unsigned char value) {
  if (size_ > 0) SANTA_CUDA(cudaMemset(ptr_, value, size_));
}

namespace {

// Four normals per Philox block (Box-Muller on two pairs of 24-bit uniforms).
template <class T>
__global__ void fill_normal_kernel(T* dst, int64_t count, uint64_t seed, float stddev) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; 4 * i < count; i += stride) {
    const santa::Philox4 r = santa::philox4x32_10(
        santa::Philox4{{static_cast<uint32_t>(i), static_cast<uint32_t>(i >> 32), 0x5EEDu, 0u}},
        static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
    float z[4];
#pragma unroll
    for (int k = 0; k < 2; ++k) {
      const float u1 = 1.0f - santa::u01_float(r.v[2 * k]);  // (0, 1]
      const float u2 = santa::u01_float(r.v[2 * k + 1]);
      const float rad = sqrtf(-2.0f * logf(u1));
      float s, c;
      sincospif(2.0f * u2, &s, &c);
      z[2 * k] = rad * c * stddev;
      z[2 * k + 1] = rad * s * stddev;
    }
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      if (4 * i + k < count) {
        if constexpr (std::is_same_v<T, __nv_bfloat16>) {
          dst[4 * i + k] = __float2bfloat16_rn(z[k]);
        } else {
          dst[4 * i + k] = __float2half_rn(z[k]);
        }
      }
    }
  }
}

}  // namespace

void fill_normal(void* dst, int64_t count, DType dtype, uint64_t seed, float stddev, void* stream) {
  if (count < 0) throw std::invalid_argument("fill_normal: count = " + std::to_string(count) + "; must be >= 0");
  if (count == 0) return;
  if (dst == nullptr) throw std::invalid_argument("fill_normal: dst is null");
  auto s = static_cast<cudaStream_t>(stream);
  const int blocks = 1024, threads = 256;
  if (dtype == DType::bf16) {
    fill_normal_kernel<<<blocks, threads, 0, s>>>(static_cast<__nv_bfloat16*>(dst), count, seed, stddev);
  } else if (dtype == DType::fp16) {
    fill_normal_kernel<<<blocks, threads, 0, s>>>(static_cast<__half*>(dst), count, seed, stddev);
  } else {
    throw std::invalid_argument("fill_normal: dtype must be bf16 or fp16");
  }
  detail::launch_check("fill_normal_kernel");
}

}  // namespace santa::gpu
