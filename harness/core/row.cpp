#include "harness/core/row.hpp"

namespace santa::harness {

void Row::set(std::string name, Value v) {
  for (auto& [n, value] : values) {
    if (n == name) {
      value = std::move(v);
      return;
    }
  }
  values.emplace_back(std::move(name), std::move(v));
}

const Value* Row::find(std::string_view name) const {
  for (const auto& [n, value] : values) {
    if (n == name) return &value;
  }
  return nullptr;
}

Row row_for(const Point& point) {
  Row row;
  row.point = point.index;
  row.param_hash = point.hash;
  row.values.reserve(point.params.size() + 16);
  for (const auto& p : point.params) row.values.emplace_back(p.name, p.value);
  return row;
}

}  // namespace santa::harness
