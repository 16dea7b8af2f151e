// Parameter and metric values as they travel from a spec to a result file.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace santa::harness {

// Every parameter, metric and attribute is one of these. (Booleans are spelled as choices: "on"/"off".)
using Value = std::variant<int64_t, double, std::string>;

enum class ValueType { integer, real, text };

ValueType type_of(const Value& v);
std::string_view type_name(ValueType t);  // "integer", "real", "text"

// For people: integers as digits, reals with up to 10 significant digits, text as is.
std::string display(const Value& v);
// Exact and unambiguous (reals with 17 significant digits): used for hashing and equality of points.
std::string canonical(const Value& v);

// Where a value came from in a spec file (1-based line and column); empty file for built-in defaults.
struct SourceMark {
  std::string file;
  int line = 0;
  int column = 0;

  bool known() const { return line > 0; }
  std::string str() const;  // "FILE:LINE:COL", or "(default)" when unknown
};

// 64-bit FNV-1a, the hash behind point identities and spec digests (stable across machines and builds).
uint64_t fnv1a64(std::string_view bytes, uint64_t seed = 0xcbf29ce484222325ull);
std::string hex64(uint64_t x);  // 16 lowercase hex digits

}  // namespace santa::harness
