#include "harness/core/value.hpp"

#include <fmt/format.h>

namespace santa::harness {

ValueType type_of(const Value& v) { return static_cast<ValueType>(v.index()); }

std::string_view type_name(ValueType t) {
  switch (t) {
    case ValueType::integer:
      return "integer";
    case ValueType::real:
      return "real";
    case ValueType::text:
      return "text";
  }
  return "?";
}

std::string display(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return fmt::format("{}", *i);
  if (const auto* d = std::get_if<double>(&v)) return fmt::format("{:.10g}", *d);
  return std::get<std::string>(v);
}

std::string canonical(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return fmt::format("i{}", *i);
  if (const auto* d = std::get_if<double>(&v)) return fmt::format("r{:.17g}", *d);
  const auto& s = std::get<std::string>(v);
  // Length-prefixed so no separator inside a text value can make two points look alike.
  return fmt::format("t{}:{}", s.size(), s);
}

std::string SourceMark::str() const {
  if (!known()) return "(default)";
  return fmt::format("{}:{}:{}", file, line, column);
}

uint64_t fnv1a64(std::string_view bytes, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string hex64(uint64_t x) { return fmt::format("{:016x}", x); }

}  // namespace santa::harness
