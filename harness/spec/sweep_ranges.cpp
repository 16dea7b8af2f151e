#include "harness/spec/sweep_ranges.hpp"

#include <cmath>
#include <fmt/format.h>
#include <regex>

#include "harness/core/suggest.hpp"

namespace santa::harness::spec {
namespace {

const std::vector<std::string> kRangeKinds{"pow2", "linear"};
constexpr int64_t kMaxRangeValues = 1'000'000;

bool read_number(const YAML::Node& n, double& out, bool& is_int) {
  if (!n.IsScalar() || n.Tag() == "!") return false;
  static const std::regex int_re("[+-]?[0-9]+");
  const std::string& s = n.Scalar();
  is_int = std::regex_match(s, int_re);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && std::isfinite(out);
}

}  // namespace

RangeResult expand_range(const YAML::Node& node, const ParamDef& def) {
  RangeResult r;
  if (!node.IsMap() || node.size() != 1) {
    r.error = fmt::format("{}: a range is a map with one key, {{pow2: [a, b]}} or {{linear: [start, stop, step]}}",
                          def.name);
    return r;
  }
  const std::string kind = node.begin()->first.Scalar();
  const YAML::Node args = node.begin()->second;
  if (kind != "pow2" && kind != "linear") {
    r.error = fmt::format("{}: unknown range '{}'{}; allowed: {}", def.name, kind, did_you_mean(kind, kRangeKinds),
                          join(kRangeKinds));
    return r;
  }
  if (def.type != ParamType::integer && def.type != ParamType::real) {
    r.error = fmt::format("{}: a {} range needs a numeric parameter; allowed for {}: {}", def.name, kind, def.name,
                          def.allowed());
    return r;
  }
  const std::size_t want = kind == "pow2" ? 2 : 3;
  std::vector<double> a;
  std::vector<bool> ints;
  if (args.IsSequence() && args.size() == want) {
    for (const auto& x : args) {
      double v = 0;
      bool is_int = false;
      if (!read_number(x, v, is_int)) break;
      a.push_back(v);
      ints.push_back(is_int);
    }
  }
  if (a.size() != want) {
    r.error = kind == "pow2" ? fmt::format("{}: pow2 takes [first_exponent, last_exponent] (integers), got {}",
                                           def.name, args.IsScalar() ? "'" + args.Scalar() + "'" : "something else")
                             : fmt::format("{}: linear takes [start, stop, step] (numbers)", def.name);
    return r;
  }
  if (kind == "pow2") {
    if (!ints[0] || !ints[1] || a[0] < 0 || a[1] > 62 || a[0] > a[1]) {
      r.error = fmt::format("{}: pow2: [{}, {}]; allowed: integer exponents 0 <= first <= last <= 62", def.name,
                            a[0], a[1]);
      return r;
    }
    for (auto e = static_cast<int64_t>(a[0]); e <= static_cast<int64_t>(a[1]); ++e) {
      const int64_t x = int64_t{1} << e;
      r.values.push_back(def.type == ParamType::integer ? Value{x} : Value{double(x)});
    }
    return r;
  }
  const double start = a[0], stop = a[1], step = a[2];
  if (def.type == ParamType::integer && !(ints[0] && ints[1] && ints[2])) {
    r.error = fmt::format("{}: linear: [{}, {}, {}] for an integer parameter; allowed: integer start, stop, step",
                          def.name, start, stop, step);
    return r;
  }
  if (step == 0.0 || (stop - start) / step < 0.0) {
    r.error = fmt::format("{}: linear: step {} never gets from {} to {}; allowed: a non-zero step pointing from "
                          "start to stop",
                          def.name, step, start, stop);
    return r;
  }
  // Inclusive stop with a relative tolerance, so 0.1 steps up to 1.0 include 1.0.
  const double count = std::floor((stop - start) / step + 1e-9) + 1.0;
  if (count > double(kMaxRangeValues)) {
    r.error = fmt::format("{}: linear range has {} values; allowed: at most {}", def.name, count, kMaxRangeValues);
    return r;
  }
  for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) {
    if (def.type == ParamType::integer) {
      r.values.push_back(static_cast<int64_t>(start) + i * static_cast<int64_t>(step));
    } else {
      r.values.push_back(start + double(i) * step);
    }
  }
  return r;
}

}  // namespace santa::harness::spec
