#include "harness/core/point.hpp"

#include <fmt/format.h>

namespace santa::harness {

const PointParam* Point::find(std::string_view name) const {
  for (const auto& p : params) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const PointParam& Point::at(std::string_view name) const {
  if (const auto* p = find(name)) return *p;
  throw std::out_of_range(fmt::format("point {} has no parameter '{}'", index, name));
}

int64_t Point::integer(std::string_view name) const {
  const auto& v = at(name).value;
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  throw std::invalid_argument(fmt::format("parameter '{}' = {} is not an integer", name, display(v)));
}

double Point::real(std::string_view name) const {
  const auto& v = at(name).value;
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  throw std::invalid_argument(fmt::format("parameter '{}' = {} is not a number", name, display(v)));
}

const std::string& Point::text(std::string_view name) const {
  const auto& v = at(name).value;
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  throw std::invalid_argument(fmt::format("parameter '{}' = {} is not text", name, display(v)));
}

std::string Point::describe() const {
  std::string out;
  for (const auto& p : params) {
    if (!out.empty()) out += ", ";
    out += p.name + "=" + display(p.value);
  }
  return out;
}

uint64_t param_hash(const std::vector<PointParam>& params) {
  std::string canon;
  for (const auto& p : params) {
    canon += p.name;
    canon += '=';
    canon += canonical(p.value);
    canon += ';';
  }
  return fnv1a64(canon);
}

}  // namespace santa::harness
