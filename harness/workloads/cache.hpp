// Workloads shared between sweep points (the P2 sweep changes S far more often than n_k): built once per
// key, by whichever thread asks first while the others wait, and evicted least-recently-used beyond a byte
// budget. Values are immutable and handed out as shared_ptr, so eviction never pulls one from under a user.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <typeindex>
#include <unordered_map>

namespace santa::harness::workloads {

class WorkloadCache {
 public:
  explicit WorkloadCache(std::size_t budget_bytes = std::size_t{1536} << 20) : budget_(budget_bytes) {}

  // The value for `key`, made by `make` on a miss; `bytes` is its approximate size. An exception from `make`
  // reaches every waiter and the key is forgotten (the next call tries again).
  template <class T>
  std::shared_ptr<const T> get(const std::string& key, const std::function<std::shared_ptr<const T>()>& make,
                               const std::function<std::size_t(const T&)>& bytes) {
    auto erased = get_erased(
        key, std::type_index(typeid(T)), [&] { return std::shared_ptr<const void>(make()); },
        [&](const void* p) { return bytes(*static_cast<const T*>(p)); });
    return std::static_pointer_cast<const T>(erased);
  }

  int64_t hits() const;
  int64_t misses() const;
  std::size_t bytes_held() const;

 private:
  struct Entry {
    std::shared_future<std::shared_ptr<const void>> value;
    std::type_index type;
    std::size_t bytes = 0;
    bool ready = false;
    std::list<std::string>::iterator lru;
  };
  std::shared_ptr<const void> get_erased(const std::string& key, std::type_index type,
                                         const std::function<std::shared_ptr<const void>()>& make,
                                         const std::function<std::size_t(const void*)>& bytes);
  void evict_locked(const std::string& keep);

  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // front = most recent
  std::size_t budget_, held_ = 0;
  int64_t hits_ = 0, misses_ = 0;
};

}  // namespace santa::harness::workloads
