// The content of one result file, in memory: root attributes, the /points column layout, the rows and
// their per-point arrays. The HDF5 reader and writer (result_file.hpp) translate it to and from disk.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "harness/core/row.hpp"
#include "harness/core/value.hpp"

namespace santa::harness::store {

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class ColumnRole { parameter, metric };
std::string_view to_string(ColumnRole r);

// One column of /points besides the two identity columns every table starts with (`point`, int64: the index
// in the expanded sweep; `param_hash`, uint64: hash of the point's parameters).
struct Column {
  std::string name;
  ValueType type = ValueType::real;
  ColumnRole role = ColumnRole::metric;
  std::string unit;
  std::string description;
  std::size_t text_size = 0;  // text columns: fixed length in bytes (HDF5 fixed-length, null-padded)
};

struct TableLayout {
  std::vector<Column> columns;
  int find(std::string_view name) const;  // -1 when absent
  std::string signature() const;          // names, types and text sizes: two files can be merged iff equal
};

struct ResultData {
  std::vector<std::pair<std::string, Value>> attributes;  // root attributes, in order
  TableLayout layout;
  std::vector<Row> rows;  // sorted by point index, one per point; values in layout order

  const Value* attribute(std::string_view name) const;
  std::string text_attribute(std::string_view name) const;  // "" when absent or not text
  void set_attribute(const std::string& name, Value v);
  // Puts the row's values in layout order (converting integers to reals for real columns) and checks that
  // every column is present with the right type and that text fits; throws StoreError otherwise.
  Row conform(const Row& row) const;
  // Inserts (or replaces the row with the same point index), keeping rows sorted.
  void upsert(Row row);
  bool has_point(int64_t point, uint64_t hash) const;
};

}  // namespace santa::harness::store
