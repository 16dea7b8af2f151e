#include "harness/workloads/cache.hpp"

#include <fmt/format.h>
#include <stdexcept>

namespace santa::harness::workloads {

std::shared_ptr<const void> WorkloadCache::get_erased(const std::string& key, std::type_index type,
                                                      const std::function<std::shared_ptr<const void>()>& make,
                                                      const std::function<std::size_t(const void*)>& bytes) {
  std::promise<std::shared_ptr<const void>> promise;
  {
    std::unique_lock lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      if (it->second.type != type)
        throw std::logic_error(fmt::format("workload cache: key '{}' holds another type", key));
      ++hits_;
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      auto future = it->second.value;
      lock.unlock();
      return future.get();  // waits while another thread builds it
    }
    ++misses_;
    lru_.push_front(key);
    entries_.emplace(key, Entry{promise.get_future().share(), type, 0, false, lru_.begin()});
  }
  std::shared_ptr<const void> value;
  try {
    value = make();
  } catch (...) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    lru_.erase(it->second.lru);
    entries_.erase(it);
    promise.set_exception(std::current_exception());
    throw;
  }
  promise.set_value(value);
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  it->second.ready = true;
  it->second.bytes = bytes(value.get());
  held_ += it->second.bytes;
  evict_locked(key);
  return value;
}

void WorkloadCache::evict_locked(const std::string& keep) {
  auto it = lru_.end();
  while (held_ > budget_ && it != lru_.begin()) {
    --it;
    auto e = entries_.find(*it);
    if (*it == keep || !e->second.ready) continue;
    held_ -= e->second.bytes;
    entries_.erase(e);
    it = lru_.erase(it);
  }
}

int64_t WorkloadCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

int64_t WorkloadCache::misses() const {
  std::lock_guard lock(mu_);
  return misses_;
}

std::size_t WorkloadCache::bytes_held() const {
  std::lock_guard lock(mu_);
  return held_;
}

}  // namespace santa::harness::workloads
