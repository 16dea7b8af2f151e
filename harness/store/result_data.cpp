#include "harness/store/result_data.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace santa::harness::store {

std::string_view to_string(ColumnRole r) { return r == ColumnRole::parameter ? "parameter" : "metric"; }

int TableLayout::find(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string TableLayout::signature() const {
  std::string s;
  for (const auto& c : columns) s += fmt::format("{}:{}:{};", c.name, type_name(c.type), c.text_size);
  return s;
}

const Value* ResultData::attribute(std::string_view name) const {
  for (const auto& [n, v] : attributes) {
    if (n == name) return &v;
  }
  return nullptr;
}

std::string ResultData::text_attribute(std::string_view name) const {
  const Value* v = attribute(name);
  return v && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : std::string();
}

void ResultData::set_attribute(const std::string& name, Value v) {
  for (auto& [n, value] : attributes) {
    if (n == name) {
      value = std::move(v);
      return;
    }
  }
  attributes.emplace_back(name, std::move(v));
}

Row ResultData::conform(const Row& row) const {
  Row out;
  out.point = row.point;
  out.param_hash = row.param_hash;
  out.arrays = row.arrays;
  out.values.reserve(layout.columns.size());
  for (const auto& col : layout.columns) {
    const Value* v = row.find(col.name);
    if (!v) throw StoreError(fmt::format("row of point {} has no value for column '{}'", row.point, col.name));
    Value value = *v;
    if (col.type == ValueType::real && std::holds_alternative<int64_t>(value))
      value = static_cast<double>(std::get<int64_t>(value));
    if (type_of(value) != col.type)
      throw StoreError(fmt::format("row of point {}: column '{}' holds {} values, got {} {}", row.point, col.name,
                                   type_name(col.type), type_name(type_of(value)), display(value)));
    if (col.type == ValueType::text && std::get<std::string>(value).size() > col.text_size)
      throw StoreError(fmt::format("row of point {}: '{}' = '{}' is longer than the column's {} bytes", row.point,
                                   col.name, display(value), col.text_size));
    out.values.emplace_back(col.name, std::move(value));
  }
  if (out.values.size() != row.values.size()) {
    for (const auto& [name, v] : row.values) {
      if (layout.find(name) < 0)
        throw StoreError(fmt::format("row of point {} has a value '{}' that is not a column of this table", row.point,
                                     name));
    }
  }
  for (const auto& a : row.arrays) {
    int64_t n = 1;
    for (int64_t s : a.shape) n *= s;
    if (a.name.empty() || a.name.find('/') != std::string::npos || n != static_cast<int64_t>(a.data.size()))
      throw StoreError(fmt::format("row of point {}: array '{}' has {} values for shape of {}; need a name without "
                                   "'/' and matching sizes",
                                   row.point, a.name, a.data.size(), n));
  }
  return out;
}

void ResultData::upsert(Row row) {
  auto it = std::lower_bound(rows.begin(), rows.end(), row.point,
                             [](const Row& r, int64_t p) { return r.point < p; });
  if (it != rows.end() && it->point == row.point) {
    *it = std::move(row);
  } else {
    rows.insert(it, std::move(row));
  }
}

bool ResultData::has_point(int64_t point, uint64_t hash) const {
  auto it = std::lower_bound(rows.begin(), rows.end(), point, [](const Row& r, int64_t p) { return r.point < p; });
  return it != rows.end() && it->point == point && it->param_hash == hash;
}

}  // namespace santa::harness::store
