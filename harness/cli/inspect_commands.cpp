// `santa validate`, `santa list`, `santa schema`, `santa info`: look at specs and the build without running.
#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "harness/cli/commands.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/cli/preflight.hpp"
#include "harness/cli/provenance.hpp"
#include "harness/measure/runner.hpp"
#include "harness/spec/spec.hpp"

namespace santa::harness::cli {
namespace {

std::optional<spec::Spec> load_or_report(const std::string& path) {
  try {
    return spec::load_spec(path);
  } catch (const spec::SpecError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return std::nullopt;
  }
}

}  // namespace

int validate_command(const std::string& path) {
  auto spec = load_or_report(path);
  if (!spec) {
    fmt::print(stderr, "santa validate: {} is invalid\n", path);
    return kExitInvalid;
  }
  auto runner = measure::make_runner(spec->kind->name);
  workloads::WorkloadCache cache;
  std::atomic<bool> never{false};
  measure::RunContext ctx{cache, never, spec->seed, spec->replicates};
  const auto points = spec->points();
  runner->plan(points);
  if (const auto errors = preflight(*spec, points, *runner, ctx); !errors.empty()) {
    for (const auto& e : errors) fmt::print(stderr, "{}\n", e);
    fmt::print(stderr, "santa validate: {} is invalid\n", path);
    return kExitInvalid;
  }
  fmt::print("{}: valid ({} kind, {} points, seed {}, replicates {}, output {})\n", path, spec->kind->name,
             spec->point_count(), spec->seed, spec->replicates.describe(), spec->output);
  if (const auto why = runner->unavailable_reason(); !why.empty()) fmt::print("note: {}\n", why);
  return kExitOk;
}

int list_command(const std::string& path) {
  auto spec = load_or_report(path);
  if (!spec) return kExitInvalid;
  fmt::print("# {} ({}): {} points, seed {}, replicates {}\n# fixed:\n", spec->name, spec->kind->name,
             spec->point_count(), spec->seed, spec->replicates.describe());
  for (const auto& f : spec->fixed) fmt::print("#   {} = {}\n", f.name, display(f.value));
  const auto swept = spec->swept_names();
  std::vector<std::size_t> width;
  width.push_back(5);
  for (const auto& n : swept) width.push_back(n.size());
  const auto points = spec->points();
  for (const auto& p : points) {
    for (std::size_t c = 0; c < swept.size(); ++c) width[c + 1] = std::max(width[c + 1], display(p.at(swept[c]).value).size());
  }
  std::string header = fmt::format("{:>{}}", "point", width[0]);
  for (std::size_t c = 0; c < swept.size(); ++c) header += fmt::format("  {:>{}}", swept[c], width[c + 1]);
  fmt::print("{}\n", header);
  for (const auto& p : points) {
    std::string line = fmt::format("{:>{}}", p.index, width[0]);
    for (std::size_t c = 0; c < swept.size(); ++c) line += fmt::format("  {:>{}}", display(p.at(swept[c]).value), width[c + 1]);
    fmt::print("{}\n", line);
  }
  return kExitOk;
}

int schema_command(const std::string& kind) {
  if (!kind.empty() && !spec::find_kind(kind)) {
    fmt::print(stderr, "santa schema: unknown kind '{}'; allowed: {}\n", kind, fmt::join(spec::kind_names(), ", "));
    return kExitInvalid;
  }
  for (const auto& k : spec::kind_schemas()) {
    if (!kind.empty() && k.name != kind) continue;
    fmt::print("kind {}: {}\n", k.name, k.description);
    fmt::print("  replicates: {}\n", k.replicates_meaning.empty()
                                         ? std::string("not used")
                                         : fmt::format("{} (default {})", k.replicates_meaning,
                                                       k.default_replicates.describe()));
    for (const auto& p : k.params) {
      fmt::print("  {:<20} default {:<12} {}{}. {}\n", p.name, display(p.default_value).empty() ? "\"\"" : display(p.default_value),
                 p.allowed(), p.unit.empty() ? "" : " [" + p.unit + "]", p.description);
    }
    auto runner = measure::make_runner(k.name);
    fmt::print("  metrics:");
    for (const auto& m : runner->metrics()) fmt::print(" {}", m.name);
    fmt::print(" wall_s\n\n");
  }
  return kExitOk;
}

int info_command() {
  const Provenance p = collect_provenance();
  fmt::print("santa (santa-bench harness)\n");
  fmt::print("build type:  {}\n", p.build_type);
  fmt::print("compiler:    {}\n", p.compiler);
  fmt::print("git commit:  {}\n", p.git_commit);
  fmt::print("host:        {}\n", p.host);
  fmt::print("CPU:         {} ({} hardware threads)\n", p.cpu, p.cpu_threads);
  fmt::print("libraries:   {}\n", p.libraries);
  fmt::print("CUDA build:  {}\n", p.cuda_build);
  fmt::print("GPU: {}\n", p.gpu);  // HOOK(issue 4/5): cli/gpu_hook.cpp
  return kExitOk;
}

}  // namespace santa::harness::cli
