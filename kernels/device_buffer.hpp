// RAII device memory usable from plain C++ (no CUDA types).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/decode_types.hpp"

namespace santa::gpu {

// One cudaMalloc'd allocation, freed by the destructor. Copies are synchronous; errors throw
// std::runtime_error naming the CUDA error; out-of-range copies throw std::out_of_range.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const { return ptr_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

  void upload(const void* host, std::size_t bytes, std::size_t offset = 0);
  void download(void* host, std::size_t bytes, std::size_t offset = 0) const;
  void fill_bytes(unsigned char value);  // every byte of the buffer

  template <class T>
  void upload(const std::vector<T>& host) {
    upload(host.data(), host.size() * sizeof(T));
  }
  template <class T>
  std::vector<T> download_vector(std::size_t count) const {
    std::vector<T> host(count);
    download(host.data(), count * sizeof(T));
    return host;
  }

 private:
  void* ptr_ = nullptr;
  std::size_t size_ = 0;
};

// A buffer holding a copy of a host vector.
template <class T>
DeviceBuffer to_device(const std::vector<T>& host) {
  DeviceBuffer b(host.size() * sizeof(T));
  b.upload(host);
  return b;
}

// Fills `count` elements of `dst` (bf16 or fp16) with N(0, stddev^2) values from Philox keyed by `seed`,
// on the GPU (for inputs too large to generate on the host).
void fill_normal(void* dst, int64_t count, DType dtype, uint64_t seed, float stddev = 1.0f, void* stream = nullptr);

}  // namespace santa::gpu
