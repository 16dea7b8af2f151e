#include "harness/spec/schema.hpp"

#include <cmath>
#include <fmt/format.h>

#include "estimators/scheme.hpp"
#include "harness/core/suggest.hpp"
#include "harness/core/tile_spread_rule.hpp"

namespace santa::harness::spec {
namespace {

// --- builders for table entries ---------------------------------------------------------------------------

ParamDef integer(std::string name, int64_t def, int64_t min, std::string description, std::string unit = "",
                 std::optional<int64_t> max = std::nullopt) {
  ParamDef p{std::move(name), ParamType::integer, def, {}, Bound{double(min), false}, std::nullopt,
             std::move(unit), std::move(description)};
  if (max) p.max = Bound{double(*max), false};
  return p;
}

ParamDef real(std::string name, double def, std::optional<Bound> min, std::optional<Bound> max,
              std::string description, std::string unit = "") {
  return ParamDef{std::move(name), ParamType::real, def, {}, min, max, std::move(unit), std::move(description)};
}

ParamDef choice(std::string name, std::string def, std::vector<std::string> choices, std::string description) {
  return ParamDef{std::move(name), ParamType::choice, std::move(def), std::move(choices), std::nullopt,
                  std::nullopt, "", std::move(description)};
}

ParamDef text(std::string name, std::string def, std::string description) {
  return ParamDef{std::move(name), ParamType::text, std::move(def), {}, std::nullopt, std::nullopt, "",
                  std::move(description)};
}

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = list.find(", ", start);
    out.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 2;
  }
  return out;
}

std::vector<std::string> scheme_choices() { return split_names(santa::scheme_names()); }

// --- shared parameter groups ------------------------------------------------------------------------------

// The attention distribution (PROTOCOLS.md P6) and the knobs of each generator. Knobs of other
// distributions are ignored (but still recorded in /points, so every row is self-describing).
std::vector<ParamDef> distribution_params(std::string def, std::vector<std::string> allowed) {
  const Bound zero_open{0.0, true}, zero{0.0, false}, one_open{1.0, true};
  return {
      choice("distribution", std::move(def), std::move(allowed), "attention distribution generator (P6)"),
      choice("temperature_target", "entropy", {"entropy", "max_prob"},
             "temperature: which statistic of softmax(beta * s) the bisection hits"),
      real("target_entropy", 4.0, zero_open, std::nullopt, "temperature: target entropy", "nats"),
      real("target_max_prob", 0.1, zero_open, one_open, "temperature: target largest probability"),
      integer("sinks", 4, 0, "sink_plus_local: number of attention-sink keys at the start"),
      integer("window", 256, 0, "sink_plus_local: number of recent keys at the end"),
      real("sink_mass", 0.3, zero, one_open, "sink_plus_local: probability mass on the sinks"),
      real("local_mass", 0.4, zero, one_open, "sink_plus_local: probability mass on the recent window"),
      real("tail_alpha", 1.5, zero_open, std::nullopt, "sink_plus_local: Pareto index of the remainder's weights"),
      real("zipf_exponent", 1.0, zero_open, std::nullopt, "zipf: p of the r-th ranked key ~ r^-exponent"),
      integer("needle_count", 4, 1, "needles: keys aligned with the query"),
      real("needle_mass", 0.5, zero_open, one_open, "needles: probability mass on the needles"),
      integer("tiles_90", 4, 1, "tile_spread: number of spread_tile-key tiles that hold 90% of the mass"),
      integer("spread_tile", 256, 1, "tile_spread: tile size that tiles_90 counts in", "keys"),
      text("file", "", "file: HDF5 file with datasets q [H,d], k and v [n_k,H_kv,d] (float32/float64)"),
  };
}

std::vector<ParamDef> concat(std::vector<ParamDef> a, const std::vector<ParamDef>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// --- cross-parameter rules --------------------------------------------------------------------------------

std::optional<PointError> distribution_rules(const Point& p) {
  const std::string& dist = p.text("distribution");
  const int64_t n = p.integer("n_k");
  if (dist == "temperature") {
    if (p.text("temperature_target") == "entropy") {
      const double h = p.real("target_entropy"), hmax = std::log(double(n));
      if (!(h < hmax))
        return PointError("target_entropy",
                          fmt::format("target_entropy = {} nats is not reachable with n_k = {}; allowed: 0 < "
                                      "target_entropy < ln(n_k) = {:.6g}",
                                      h, n, hmax));
    } else {
      const double m = p.real("target_max_prob");
      if (!(m > 1.0 / double(n)))
        return PointError("target_max_prob",
                          fmt::format("target_max_prob = {} is not reachable with n_k = {}; allowed: 1/n_k = {:.6g} "
                                      "< target_max_prob < 1",
                                      m, n, 1.0 / double(n)));
    }
  } else if (dist == "sink_plus_local") {
    const int64_t sinks = p.integer("sinks"), window = p.integer("window");
    if (sinks + window >= n)
      return PointError("window", fmt::format("sinks + window = {} + {} leaves no remainder keys with n_k = {}; "
                                              "allowed: sinks + window < n_k",
                                              sinks, window, n));
    const double sm = p.real("sink_mass"), lm = p.real("local_mass");
    if (sm + lm >= 1.0)
      return PointError("local_mass", fmt::format("sink_mass + local_mass = {} + {} leaves no mass for the "
                                                  "remainder; allowed: sink_mass + local_mass < 1",
                                                  sm, lm));
    if (sinks == 0 && sm > 0.0)
      return PointError("sink_mass", fmt::format("sink_mass = {} with sinks = 0; allowed: sink_mass = 0 when "
                                                 "there are no sinks",
                                                 sm));
    if (window == 0 && lm > 0.0)
      return PointError("local_mass", fmt::format("local_mass = {} with window = 0; allowed: local_mass = 0 "
                                                  "when the window is empty",
                                                  lm));
  } else if (dist == "needles") {
    const int64_t k = p.integer("needle_count");
    if (k >= n)
      return PointError("needle_count",
                        fmt::format("needle_count = {} leaves no background keys with n_k = {}; allowed: "
                                    "needle_count < n_k",
                                    k, n));
  } else if (dist == "tile_spread") {
    const int64_t t = p.integer("spread_tile"), m = p.integer("tiles_90");
    const int64_t tiles = (n + t - 1) / t;
    if (!tile_spread_feasible(n, t, m))
      return PointError("tiles_90", fmt::format("tiles_90 = {} cannot be built from n_k = {} keys in {} tiles of "
                                                "spread_tile = {}; allowed: tiles_90 < ceil(n_k / spread_tile) with "
                                                "enough cold tiles to stay lighter than the hot ones "
                                                "(core/tile_spread_rule.hpp)",
                                                m, n, tiles, t));
  } else if (dist == "file") {
    if (p.text("file").empty())
      return PointError("distribution", "distribution = file needs the parameter 'file' (path of an HDF5 file "
                                        "with datasets q, k, v)");
  }
  return std::nullopt;
}

std::optional<PointError> gqa_rules(const Point& p) {
  const int64_t H = p.integer("H"), H_kv = p.integer("H_kv");
  if (H_kv > H || H % H_kv != 0)
    return PointError("H_kv", fmt::format("H_kv = {} does not divide H = {}; allowed: a divisor of H (each KV "
                                          "head serves H / H_kv query heads)",
                                          H_kv, H));
  // Planted distributions solve G linear constraints per key in d dimensions (workloads/decode_problem).
  const std::string& dist = p.text("distribution");
  const bool planted = dist != "gaussian" && dist != "temperature" && dist != "file";
  if (planted && H / H_kv > p.integer("d"))
    return PointError("H_kv", fmt::format("distribution = {} with group size H / H_kv = {} > d = {}; allowed: "
                                          "H / H_kv <= d",
                                          dist, H / H_kv, p.integer("d")));
  return std::nullopt;
}

// --- the table --------------------------------------------------------------------------------------------

std::vector<KindSchema> build() {
  const auto all_dists = distribution_names();
  std::vector<KindSchema> kinds;

  const auto head_problem = [&](std::string scheme, int64_t S, int64_t n_k, std::string dist) {
    return concat(
        {
            choice("scheme", std::move(scheme), scheme_choices(), "value-stage sampling scheme"),
            integer("S", S, 1, "sample budget per head", "samples", int64_t{1} << 30),
            integer("n_k", n_k, 1, "context length (keys)", "keys"),
            integer("d", 128, 1, "head dimension", "", 65536),
            integer("tile", 256, 1, "keys per tile of the tile schemes (flash, prop_reference, global_systematic)",
                    "keys"),
            integer("head", 0, 0, "query head (selects the file's head, or the generator's stream)", "", 65535),
        },
        distribution_params(std::move(dist), all_dists));
  };

  kinds.push_back(KindSchema{
      "variance",
      "P2: E||y_hat - y||^2, bias and error of one head's value-stage estimate vs S (Monte Carlo beside the "
      "closed form)",
      head_problem("iid", 64, 4096, "gaussian"),
      {distribution_rules},
      "independent draws per point (Monte Carlo replicates)",
      ReplicatePolicy::fixed(200)});

  kinds.push_back(KindSchema{
      "fidelity",
      "P5: relative L2 error and cosine of the tile variants vs how many tiles hold 90% of the mass",
      head_problem("flash", 2048, 32768, "tile_spread"),
      {distribution_rules},
      "independent draws per point",
      ReplicatePolicy::fixed(100)});

  kinds.push_back(KindSchema{
      "bernoulli",
      "P3: relative error of Bernoulli (ternary-query) scores vs B, and key-feature access fractions",
      concat(
          {
              choice("mode", "standard", {"standard", "stratified"}, "Bernoulli sampling mode"),
              integer("B", 4, 1, "ternary query samples", "samples", int64_t{1} << 24),
              integer("n_k", 1024, 1, "context length (keys)", "keys"),
              integer("d", 128, 1, "head dimension", "", 65536),
              integer("H", 4, 1, "query heads", "", 65535),
              integer("H_kv", 1, 1, "KV heads (GQA group size H / H_kv)", "", 65535),
          },
          distribution_params("gaussian", all_dists)),
      {gqa_rules, distribution_rules},
      "independent decode instances (q, K drawn afresh)",
      ReplicatePolicy::fixed(100)});

  kinds.push_back(KindSchema{
      "coverage",
      "P4: union of V rows read by i.i.d. SANTA over all causal prefill positions, as % of n_k",
      {
          integer("S", 8, 1, "samples per query position", "samples", 4096),
          integer("n_k", 1024, 1, "prefill length (queries = keys)", "keys", int64_t{1} << 20),
          integer("d", 128, 1, "head dimension", "", 65536),
          integer("H", 32, 1, "query heads", "", 65535),
          integer("H_kv", 32, 1, "KV heads", "", 65535),
          choice("dtype", "fp16", {"fp16", "bf16", "fp32"}, "precision Q and K are rounded to before scoring"),
          choice("distribution", "gaussian", {"gaussian"}, "Q, K i.i.d. N(0,1) (the only prefill generator)"),
      },
      {gqa_rules},
      "independent trials (Q, K drawn afresh)",
      ReplicatePolicy::fixed(10)});

  kinds.push_back(KindSchema{
      "latency",
      "P1: GPU decode-step latency per backend, cold L2, with the GPU's measured bandwidth ceiling (needs a CUDA "
      "build and a GPU; harness/measure/latency.cpp)",
      concat(
          {
              // The names of harness/measure/latency_backends.cpp's table (a test keeps them equal); torch_* rows
              // are appended by scripts/torch_sdpa_baseline.py, santa refuses to run them.
              choice("backend", "dense",
                     {"dense", "flash", "prop", "prop_reference", "prop_two_pass", "flashinfer", "torch_cudnn",
                      "torch_flash"},
                     "decode implementation timed"),
              integer("S", 128, 1, "sample budget per head (sampling backends)", "samples", int64_t{1} << 30),
              integer("tile", 256, 1, "keys per sampling tile (flash, prop, prop_reference, prop_two_pass)", "keys"),
              integer("n_k", 32768, 1, "context length (keys)", "keys"),
              integer("batch", 1, 1, "sequences per call", "", 65535),
              integer("H", 32, 1, "query heads", "", 65535),
              integer("H_kv", 8, 1, "KV heads", "", 65535),
              integer("d", 128, 1, "head dimension", "", 65536),
              choice("dtype", "bf16", {"bf16", "fp16"}, "q, K, V and output precision"),
              choice("cache", "contiguous", {"contiguous", "paged"}, "KV cache layout"),
              integer("page_size", 16, 1, "keys per page (paged cache)", "keys"),
              integer("warmup", 10, 0, "untimed calls before timing"),
              integer("iters", 40, 1, "timed calls"),
              real("l2_flush_mb", 512.0, Bound{0.0, false}, std::nullopt,
                   "buffer overwritten before every timed call (> 2x L2)", "MiB"),
              choice("on_check_failure", "stop", {"stop", "record"},
                     "an output that fails its check before timing: stop the run, or record the point with "
                     "check_failed > 0 and no time"),
          },
          // Inputs are made on the GPU (harness/measure/latency_inputs.hpp): Gaussian, or planted needles.
          distribution_params("gaussian", {"gaussian", "needles"})),
      {gqa_rules, distribution_rules},
      "",
      ReplicatePolicy::fixed(1)});
  return kinds;
}

std::string format_bound(double v, ParamType t) {
  return t == ParamType::integer ? fmt::format("{}", static_cast<int64_t>(v)) : fmt::format("{:g}", v);
}

}  // namespace

const std::vector<std::string>& distribution_names() {
  static const std::vector<std::string> names{"gaussian", "temperature", "sink_plus_local", "zipf",
                                              "needles",  "tile_spread", "file"};
  return names;
}

ValueType ParamDef::value_type() const {
  switch (type) {
    case ParamType::integer:
      return ValueType::integer;
    case ParamType::real:
      return ValueType::real;
    default:
      return ValueType::text;
  }
}

std::string ParamDef::allowed() const {
  if (type == ParamType::choice) return "one of: " + join(choices);
  if (type == ParamType::text) return "text";
  std::string what = type == ParamType::integer ? "an integer" : "a real number";
  if (min && max)
    return fmt::format("{} with {} {} {} {} {}", what, format_bound(min->value, type), min->open ? "<" : "<=", name,
                       max->open ? "<" : "<=", format_bound(max->value, type));
  if (min) return fmt::format("{} {} {}", what, min->open ? ">" : ">=", format_bound(min->value, type));
  if (max) return fmt::format("{} {} {}", what, max->open ? "<" : "<=", format_bound(max->value, type));
  return what;
}

std::optional<std::string> ParamDef::violation(const Value& v) const {
  if (type == ParamType::choice) {
    const auto& s = std::get<std::string>(v);
    for (const auto& c : choices) {
      if (c == s) return std::nullopt;
    }
    return fmt::format("unknown {} '{}'{}", name, s, did_you_mean(s, choices));
  }
  if (type == ParamType::text) return std::nullopt;
  const double x = std::holds_alternative<int64_t>(v) ? double(std::get<int64_t>(v)) : std::get<double>(v);
  const bool below = min && (min->open ? !(x > min->value) : !(x >= min->value));
  const bool above = max && (max->open ? !(x < max->value) : !(x <= max->value));
  if (below || above || !std::isfinite(x)) return fmt::format("{} = {} is out of range", name, display(v));
  return std::nullopt;
}

const ParamDef* KindSchema::find(std::string_view param) const {
  for (const auto& p : params) {
    if (p.name == param) return &p;
  }
  return nullptr;
}

std::vector<std::string> KindSchema::param_names() const {
  std::vector<std::string> out;
  for (const auto& p : params) out.push_back(p.name);
  return out;
}

const std::vector<KindSchema>& kind_schemas() {
  static const std::vector<KindSchema> kinds = build();
  return kinds;
}

const KindSchema* find_kind(std::string_view name) {
  for (const auto& k : kind_schemas()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::vector<std::string> kind_names() {
  std::vector<std::string> out;
  for (const auto& k : kind_schemas()) out.push_back(k.name);
  return out;
}

}  // namespace santa::harness::spec
