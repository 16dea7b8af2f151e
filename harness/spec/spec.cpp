#include "harness/spec/spec.hpp"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "harness/core/suggest.hpp"
#include "harness/spec/sweep_ranges.hpp"

namespace santa::harness::spec {
namespace {

const std::vector<std::string> kTopKeys{"name", "description", "kind", "seed", "replicates", "output",
                                        "parameters", "sweep"};
const std::vector<std::string> kSweepKeys{"grid", "zip"};
const std::vector<std::string> kReplicateKeys{"min", "max", "rel_se"};
// Many points can break the same rule at the same place; report each place once.
constexpr std::size_t kMaxErrors = 50;

std::string describe_node(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return "'" + n.Scalar() + "'";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return "an undefined value";
  }
}

// Collects errors; every message gets the file and the node's position.
class Parser {
 public:
  Parser(std::string text, std::string path) : text_(std::move(text)), path_(std::move(path)) {}

  Spec run();

 private:
  SourceMark mark(const YAML::Node& n, const SourceMark& fallback = {}) const {
    const YAML::Mark m = n.Mark();
    if (m.line < 0) return fallback.known() ? fallback : SourceMark{path_, 1, 1};
    return SourceMark{path_, m.line + 1, m.column + 1};
  }
  void error(const SourceMark& at, const std::string& msg) {
    if (errors_.size() < kMaxErrors) errors_.push_back(located(at, msg));
  }
  bool failed() const { return !errors_.empty(); }

  // Map entries in order, with duplicate keys reported; returns (key, key mark, value).
  struct Entry {
    std::string key;
    SourceMark key_mark;
    YAML::Node value;
  };
  std::vector<Entry> entries(const YAML::Node& map, const std::string& what);

  std::optional<Value> scalar_value(const YAML::Node& n, const ParamDef& def, const SourceMark& at);
  std::vector<PointParam> axis_values(const YAML::Node& n, const ParamDef& def, const SourceMark& key_mark);
  void parse_replicates(const YAML::Node& n, const SourceMark& key_mark, Spec& spec);
  void parse_parameters(const YAML::Node& n, std::map<std::string, PointParam>& fixed);
  void parse_sweep(const YAML::Node& n, Spec& spec);
  void parse_zip_group(const YAML::Node& n, const SourceMark& at, Spec& spec);
  const ParamDef* param_def(const std::string& name, const SourceMark& at);
  void claim(const std::string& name, const SourceMark& at);
  void check_points(const Spec& spec);

  std::string text_, path_;
  const KindSchema* kind_ = nullptr;
  std::vector<std::string> errors_;
  std::map<std::string, SourceMark> claimed_;  // parameter -> where it was first given
};

std::vector<Parser::Entry> Parser::entries(const YAML::Node& map, const std::string& what) {
  std::vector<Entry> out;
  if (!map.IsMap()) {
    error(mark(map), fmt::format("{} must be a map of 'key: value' entries, got {}", what, describe_node(map)));
    return out;
  }
  std::map<std::string, SourceMark> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const SourceMark km = mark(it->first);
    if (!it->first.IsScalar()) {
      error(km, fmt::format("{}: keys must be plain names, got {}", what, describe_node(it->first)));
      continue;
    }
    const std::string key = it->first.Scalar();
    if (auto [pos, fresh] = seen.emplace(key, km); !fresh) {
      error(km, fmt::format("duplicate key '{}' in {} (first given at {}); allowed: each key once", key, what,
                            pos->second.str()));
      continue;
    }
    out.push_back(Entry{key, km, it->second});
  }
  return out;
}

std::optional<Value> Parser::scalar_value(const YAML::Node& n, const ParamDef& def, const SourceMark& at) {
  // An empty value has no position of its own (yaml-cpp marks where the next token starts): blame its key.
  const SourceMark where = n.IsNull() && at.known() ? at : mark(n, at);
  if (n.IsNull()) {
    error(where, fmt::format("{} has no value; allowed: {}", def.name, def.allowed()));
    return std::nullopt;
  }
  if (!n.IsScalar()) {
    error(where, fmt::format("{}: expected a single value, got {}; allowed: {} (put lists under 'sweep')",
                             def.name, describe_node(n), def.allowed()));
    return std::nullopt;
  }
  const std::string& s = n.Scalar();
  const bool quoted = n.Tag() == "!";
  Value v;
  switch (def.type) {
    case ParamType::integer: {
      static const std::regex int_re("[+-]?[0-9]+");
      errno = 0;
      char* end = nullptr;
      const long long x = quoted || !std::regex_match(s, int_re) ? 0 : std::strtoll(s.c_str(), &end, 10);
      if (quoted || !std::regex_match(s, int_re) || errno == ERANGE) {
        error(where, fmt::format("{}: expected an integer, got {}{}; allowed: {}", def.name,
                                 quoted ? "the text " : "", "'" + s + "'", def.allowed()));
        return std::nullopt;
      }
      v = static_cast<int64_t>(x);
      break;
    }
    case ParamType::real: {
      errno = 0;
      char* end = nullptr;
      const double x = std::strtod(s.c_str(), &end);
      if (quoted || s.empty() || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(x)) {
        error(where, fmt::format("{}: expected a finite number, got {}'{}'; allowed: {}", def.name,
                                 quoted ? "the text " : "", s, def.allowed()));
        return std::nullopt;
      }
      v = x;
      break;
    }
    case ParamType::text:
    case ParamType::choice:
      v = s;
      break;
  }
  if (auto bad = def.violation(v)) {
    error(where, fmt::format("{}; allowed: {}", *bad, def.allowed()));
    return std::nullopt;
  }
  return v;
}

std::vector<PointParam> Parser::axis_values(const YAML::Node& n, const ParamDef& def, const SourceMark& key_mark) {
  std::vector<PointParam> out;
  const auto add_scalar = [&](const YAML::Node& item) {
    if (auto v = scalar_value(item, def, key_mark)) out.push_back(PointParam{def.name, *v, mark(item, key_mark)});
  };
  const auto add_range = [&](const YAML::Node& item) {
    const SourceMark at = mark(item, key_mark);
    auto range = expand_range(item, def);
    if (!range.error.empty()) {
      error(at, range.error);
      return;
    }
    for (auto& v : range.values) {
      if (auto bad = def.violation(v)) {
        error(at, fmt::format("{} (from this range); allowed: {}", *bad, def.allowed()));
        return;
      }
      out.push_back(PointParam{def.name, std::move(v), at});
    }
  };
  if (n.IsSequence()) {
    if (n.size() == 0) error(mark(n, key_mark), fmt::format("{}: empty list of values; allowed: at least one", def.name));
    for (const auto& item : n) {
      if (item.IsMap()) {
        add_range(item);
      } else {
        add_scalar(item);
      }
    }
  } else if (n.IsMap()) {
    add_range(n);
  } else {
    add_scalar(n);
  }
  return out;
}

const ParamDef* Parser::param_def(const std::string& name, const SourceMark& at) {
  const ParamDef* def = kind_->find(name);
  if (!def)
    error(at, fmt::format("unknown parameter '{}' for kind {}{}; allowed: {}", name, kind_->name,
                          did_you_mean(name, kind_->param_names()), join(kind_->param_names())));
  return def;
}

void Parser::claim(const std::string& name, const SourceMark& at) {
  if (auto [pos, fresh] = claimed_.emplace(name, at); !fresh)
    error(at, fmt::format("parameter '{}' is given twice (first at {}); allowed: fixed under 'parameters' or "
                          "one sweep axis, not both",
                          name, pos->second.str()));
}

void Parser::parse_replicates(const YAML::Node& n, const SourceMark& key_mark, Spec& spec) {
  const SourceMark at = mark(n, key_mark);
  if (kind_ && kind_->replicates_meaning.empty()) {
    error(at, fmt::format("kind {} takes no 'replicates'{}", kind_->name,
                          kind_->name == "latency" ? " (use the parameters warmup and iters)" : ""));
    return;
  }
  const ParamDef count{"replicates", ParamType::integer, int64_t{1}, {}, Bound{1, false}, Bound{1e9, false}, "", ""};
  if (n.IsScalar() || n.IsNull()) {
    if (auto v = scalar_value(n, count, key_mark)) spec.replicates = ReplicatePolicy::fixed(std::get<int64_t>(*v));
    return;
  }
  if (!n.IsMap()) {
    error(at, fmt::format("replicates: expected an integer or {{min: N, max: N, rel_se: x}}, got {}",
                          describe_node(n)));
    return;
  }
  ReplicatePolicy r{0, 0, 0.0};
  const ParamDef rel{"rel_se", ParamType::real, 0.0, {}, Bound{0, true}, Bound{1, true}, "", ""};
  for (const auto& e : entries(n, "replicates")) {
    if (e.key == "min" || e.key == "max") {
      ParamDef c = count;
      c.name = e.key;
      if (auto v = scalar_value(e.value, c, e.key_mark)) (e.key == "min" ? r.min : r.max) = std::get<int64_t>(*v);
    } else if (e.key == "rel_se") {
      if (auto v = scalar_value(e.value, rel, e.key_mark)) r.target_rel_se = std::get<double>(*v);
    } else {
      error(e.key_mark, fmt::format("unknown key '{}' in replicates{}; allowed: {}", e.key,
                                    did_you_mean(e.key, kReplicateKeys), join(kReplicateKeys)));
    }
  }
  if (r.min == 0 || r.max == 0 || r.target_rel_se == 0.0) {
    error(at, "replicates: the adaptive form needs all of min, max and rel_se");
    return;
  }
  if (r.min > r.max) {
    error(at, fmt::format("replicates: min = {} > max = {}; allowed: min <= max", r.min, r.max));
    return;
  }
  spec.replicates = r;
}

void Parser::parse_parameters(const YAML::Node& n, std::map<std::string, PointParam>& fixed) {
  for (const auto& e : entries(n, "parameters")) {
    const ParamDef* def = param_def(e.key, e.key_mark);
    if (!def) continue;
    claim(e.key, e.key_mark);
    if (auto v = scalar_value(e.value, *def, e.key_mark)) fixed[e.key] = PointParam{e.key, *v, mark(e.value, e.key_mark)};
  }
}

void Parser::parse_zip_group(const YAML::Node& n, const SourceMark& at, Spec& spec) {
  Axis axis;
  std::vector<SourceMark> marks;
  for (const auto& e : entries(n, "zip")) {
    const ParamDef* def = param_def(e.key, e.key_mark);
    if (!def) continue;
    claim(e.key, e.key_mark);
    auto values = axis_values(e.value, *def, e.key_mark);
    if (!axis.names.empty() && values.size() != axis.values.size()) {
      error(e.key_mark, fmt::format("zip: '{}' has {} values but '{}' has {}; allowed: lists of equal length", e.key,
                                    values.size(), axis.names.front(), axis.values.size()));
      return;
    }
    if (axis.names.empty()) axis.values.resize(values.size());
    axis.names.push_back(e.key);
    for (std::size_t i = 0; i < values.size(); ++i) axis.values[i].push_back(std::move(values[i]));
  }
  if (axis.names.empty()) {
    if (!failed()) error(at, "zip: empty group; allowed: a map of parameter: [values...] of equal length");
    return;
  }
  if (!axis.values.empty()) spec.axes.push_back(std::move(axis));
}

void Parser::parse_sweep(const YAML::Node& n, Spec& spec) {
  for (const auto& e : entries(n, "sweep")) {
    if (e.key == "grid") {
      for (const auto& a : entries(e.value, "sweep.grid")) {
        const ParamDef* def = param_def(a.key, a.key_mark);
        if (!def) continue;
        claim(a.key, a.key_mark);
        Axis axis;
        axis.names = {a.key};
        for (auto& v : axis_values(a.value, *def, a.key_mark)) axis.values.push_back({std::move(v)});
        if (!axis.values.empty()) spec.axes.push_back(std::move(axis));
      }
    } else if (e.key == "zip") {
      if (e.value.IsSequence()) {
        for (const auto& group : e.value) parse_zip_group(group, mark(group, e.key_mark), spec);
      } else {
        parse_zip_group(e.value, e.key_mark, spec);
      }
    } else {
      error(e.key_mark, fmt::format("unknown key '{}' in sweep{}; allowed: {} (grid: cartesian product of every "
                                    "axis; zip: lists that move together)",
                                    e.key, did_you_mean(e.key, kSweepKeys), join(kSweepKeys)));
    }
  }
}

void Parser::check_points(const Spec& spec) {
  if (kind_->checks.empty()) return;
  std::map<std::string, int64_t> seen;  // message -> how many points repeat it
  std::vector<std::string> order;
  const int64_t n = spec.point_count();
  for (int64_t i = 0; i < n; ++i) {
    const Point p = spec.point(i);
    for (const auto& check : kind_->checks) {
      auto bad = check(p);
      if (!bad) continue;
      const PointParam& blamed = p.at(bad->param);
      const SourceMark at = blamed.mark.known() ? blamed.mark : SourceMark{path_, 1, 1};
      std::string msg = located(at, fmt::format("{}{}", bad->what(), blamed.mark.known() ? "" : " (default value)"));
      if (seen[msg]++ == 0) order.push_back(msg);
      break;
    }
  }
  for (const auto& msg : order) {
    const int64_t count = seen[msg];
    if (errors_.size() < kMaxErrors)
      errors_.push_back(count > 1 ? fmt::format("{} (in {} points)", msg, count) : msg);
  }
}

Spec Parser::run() {
  Spec spec;
  spec.path = path_;
  spec.text = text_;
  YAML::Node root;
  try {
    root = YAML::Load(text_);
  } catch (const YAML::ParserException& e) {
    error(SourceMark{path_, e.mark.line + 1, e.mark.column + 1}, "YAML syntax: " + e.msg);
    throw SpecError(errors_);
  }
  if (!root.IsMap()) {
    error(SourceMark{path_, 1, 1}, fmt::format("a spec must be a map with the keys {}, got {}", join(kTopKeys),
                                               describe_node(root)));
    throw SpecError(errors_);
  }
  const auto top = entries(root, "the spec");
  const auto find = [&](std::string_view key) -> const Entry* {
    for (const auto& e : top) {
      if (e.key == key) return &e;
    }
    return nullptr;
  };
  for (const auto& e : top) {
    if (std::find(kTopKeys.begin(), kTopKeys.end(), e.key) == kTopKeys.end())
      error(e.key_mark, fmt::format("unknown key '{}'{}; allowed: {}", e.key, did_you_mean(e.key, kTopKeys),
                                    join(kTopKeys)));
  }

  const auto text_def = [](const char* key) {
    return ParamDef{key, ParamType::text, std::string(), {}, std::nullopt, std::nullopt, "", ""};
  };
  if (const Entry* e = find("name")) {
    if (auto v = scalar_value(e->value, text_def("name"), e->key_mark)) {
      static const std::regex name_re("[A-Za-z0-9_.-]+");
      spec.name = std::get<std::string>(*v);
      if (!std::regex_match(spec.name, name_re))
        error(mark(e->value), fmt::format("name '{}' is not a plain name; allowed: letters, digits, '_', '-', '.'",
                                          spec.name));
    }
  } else {
    error(SourceMark{path_, 1, 1}, "missing required key 'name' (the experiment's name, used for the output file)");
  }
  if (const Entry* e = find("description")) {
    if (auto v = scalar_value(e->value, text_def("description"), e->key_mark))
      spec.description = std::get<std::string>(*v);
  }
  if (const Entry* e = find("kind")) {
    const ParamDef kind_def{"kind", ParamType::choice, std::string(), kind_names(), std::nullopt, std::nullopt,
                            "", ""};
    if (auto v = scalar_value(e->value, kind_def, e->key_mark)) kind_ = find_kind(std::get<std::string>(*v));
  } else {
    error(SourceMark{path_, 1, 1}, fmt::format("missing required key 'kind'; allowed: {}", join(kind_names())));
  }
  if (const Entry* e = find("seed")) {
    const SourceMark at = mark(e->value, e->key_mark);
    static const std::regex seed_re("[0-9]+");
    errno = 0;
    const std::string s = e->value.IsScalar() ? e->value.Scalar() : std::string();
    const unsigned long long x = std::regex_match(s, seed_re) ? std::strtoull(s.c_str(), nullptr, 10) : 0;
    if (!e->value.IsScalar() || e->value.Tag() == "!" || !std::regex_match(s, seed_re) || errno == ERANGE)
      error(at, fmt::format("seed: expected a non-negative integer below 2^64, got {}", describe_node(e->value)));
    else
      spec.seed = x;
  }
  if (const Entry* e = find("output")) {
    if (auto v = scalar_value(e->value, text_def("output"), e->key_mark)) {
      spec.output = std::get<std::string>(*v);
      if (spec.output.empty()) error(mark(e->value), "output is empty; allowed: a file path");
    }
  }
  if (!kind_) throw SpecError(errors_);  // parameters cannot be checked without the kind

  spec.kind = kind_;
  spec.replicates = kind_->default_replicates;
  if (const Entry* e = find("replicates")) parse_replicates(e->value, e->key_mark, spec);
  std::map<std::string, PointParam> given;
  if (const Entry* e = find("parameters")) parse_parameters(e->value, given);
  if (const Entry* e = find("sweep")) parse_sweep(e->value, spec);
  if (failed()) throw SpecError(errors_);

  for (const auto& def : kind_->params) {
    if (claimed_.count(def.name) && !given.count(def.name)) continue;  // swept
    if (auto it = given.find(def.name); it != given.end()) {
      spec.fixed.push_back(it->second);
    } else {
      spec.fixed.push_back(PointParam{def.name, def.default_value, SourceMark{}});
    }
  }
  if (spec.output.empty()) spec.output = "results/" + spec.name + ".h5";
  if (spec.point_count() > (int64_t{1} << 31))
    error(SourceMark{path_, 1, 1}, fmt::format("the sweep has {} points; allowed: at most 2^31", spec.point_count()));
  if (failed()) throw SpecError(errors_);
  check_points(spec);
  if (failed()) throw SpecError(errors_);
  return spec;
}

}  // namespace

SpecError::SpecError(std::vector<std::string> errs)
    : std::runtime_error([&] {
        std::string all;
        for (const auto& e : errs) {
          if (!all.empty()) all += '\n';
          all += e;
        }
        return all;
      }()),
      errors(std::move(errs)) {}

std::string located(const SourceMark& mark, const std::string& message) {
  if (!mark.known()) return fmt::format("{}: error: {}", mark.file.empty() ? "(spec)" : mark.file, message);
  return fmt::format("{}: error: {}", mark.str(), message);
}

int64_t Spec::point_count() const {
  int64_t n = 1;
  for (const auto& a : axes) n *= static_cast<int64_t>(a.values.size());
  return n;
}

Point Spec::point(int64_t index) const {
  if (index < 0 || index >= point_count())
    throw std::out_of_range(fmt::format("point {} is outside the sweep of {} points", index, point_count()));
  // Mixed-radix digits, the last axis fastest.
  std::vector<std::size_t> digit(axes.size());
  int64_t rest = index;
  for (std::size_t a = axes.size(); a-- > 0;) {
    const auto n = static_cast<int64_t>(axes[a].values.size());
    digit[a] = static_cast<std::size_t>(rest % n);
    rest /= n;
  }
  Point p;
  p.index = index;
  p.params.reserve(kind->params.size());
  for (const auto& def : kind->params) {
    const PointParam* found = nullptr;
    for (const auto& f : fixed) {
      if (f.name == def.name) found = &f;
    }
    for (std::size_t a = 0; a < axes.size() && !found; ++a) {
      for (std::size_t j = 0; j < axes[a].names.size(); ++j) {
        if (axes[a].names[j] == def.name) found = &axes[a].values[digit[a]][j];
      }
    }
    p.params.push_back(*found);  // every parameter is fixed or swept (checked when parsing)
  }
  p.hash = param_hash(p.params);
  return p;
}

std::vector<Point> Spec::points() const {
  std::vector<Point> out;
  const int64_t n = point_count();
  out.reserve(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(point(i));
  return out;
}

uint64_t Spec::digest() const {
  std::string canon = fmt::format("kind={};name={};seed={};replicates={};", kind->name, name, seed,
                                  replicates.describe());
  uint64_t h = fnv1a64(canon);
  const int64_t n = point_count();
  for (int64_t i = 0; i < n; ++i) h = fnv1a64(hex64(point(i).hash), h);
  return h;
}

std::vector<std::string> Spec::swept_names() const {
  std::vector<std::string> out;
  for (const auto& a : axes) out.insert(out.end(), a.names.begin(), a.names.end());
  return out;
}

std::string Spec::describe_parameters() const {
  std::string out;
  for (const auto& f : fixed) {
    out += fmt::format("{} = {} ({})\n", f.name, display(f.value), f.mark.known() ? f.mark.str() : "default");
  }
  return out;
}

std::string Spec::describe_sweep() const {
  std::string out;
  for (const auto& a : axes) {
    out += a.names.size() > 1 ? fmt::format("zip({}): ", join(a.names)) : a.names.front() + ": ";
    std::vector<std::string> steps;
    for (const auto& step : a.values) {
      std::vector<std::string> parts;
      for (const auto& v : step) parts.push_back(display(v.value));
      steps.push_back(parts.size() > 1 ? fmt::format("({})", join(parts)) : parts.front());
    }
    out += fmt::format("[{}]\n", join(steps));
  }
  return out;
}

Spec parse_spec(const std::string& text, const std::string& display_path) { return Parser(text, display_path).run(); }

Spec load_spec(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SpecError({fmt::format("{}: error: cannot read the spec file (does it exist?)", path)});
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_spec(buf.str(), path);
}

}  // namespace santa::harness::spec
