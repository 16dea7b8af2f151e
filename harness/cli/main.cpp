// The santa command: santa run | validate | list | info | merge | schema (see harness/README.md).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "harness/cli/commands.hpp"
#include "harness/cli/exit_codes.hpp"

int main(int argc, char** argv) {
  using namespace santa::harness::cli;
  CLI::App app{"santa: run stochastic-sparse-attention experiments from YAML specs into HDF5 results"};
  app.require_subcommand(1);

  RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "run a spec's sweep and write its HDF5 result file");
  run_cmd->add_option("spec", run.spec_path, "YAML spec (e.g. experiments/quickstart.yaml)")->required();
  run_cmd->add_option("-o,--output", run.output, "result file (default: the spec's output)");
  run_cmd->add_flag("--resume", run.resume, "continue an interrupted run: skip the points the file already holds");
  run_cmd->add_flag("--force", run.force, "overwrite an existing output");
  run_cmd->add_flag("--dry-run", run.dry_run, "validate and show what would run; write nothing");
  run_cmd->add_option("-j,--jobs", run.jobs, "points run in parallel (threads; one writer)");
  run_cmd->add_option("--shard", run.shard, "run only points with index % N == K (K/N, 0 <= K < N)");
  run_cmd->add_option("--cache-mb", run.cache_mb, "memory for workloads shared between points (MiB)");
  run_cmd->add_option("--commit-interval", run.commit_interval_s,
                      "least seconds between rewrites of the result file (default 0: whenever a rewrite costs under "
                      "5% of the run; finished rows in between are kept in FILE.journal)");

  std::string spec_path;
  auto* validate_cmd = app.add_subcommand("validate", "check a spec (and its workload files); run nothing");
  validate_cmd->add_option("spec", spec_path, "YAML spec")->required();
  auto* list_cmd = app.add_subcommand("list", "print a spec's expanded sweep points as a table");
  list_cmd->add_option("spec", spec_path, "YAML spec")->required();
  auto* info_cmd = app.add_subcommand("info", "build type, compiler, git commit, CPU, GPU, library versions");

  std::string merge_out;
  std::vector<std::string> merge_in;
  bool merge_force = false;
  auto* merge_cmd = app.add_subcommand("merge", "join the shard files of one spec into one file");
  merge_cmd->add_option("output", merge_out, "merged result file")->required();
  merge_cmd->add_option("inputs", merge_in, "shard result files")->required();
  merge_cmd->add_flag("--force", merge_force, "overwrite an existing output");

  std::string schema_kind;
  auto* schema_cmd = app.add_subcommand("schema", "print every kind's parameters, defaults and allowed values");
  schema_cmd->add_option("kind", schema_kind, "only this kind");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitInvalid;
  }

  try {
    if (*run_cmd) {
      for (int i = 0; i < argc; ++i) run.command_line += (i ? " " : "") + std::string(argv[i]);
      return run_command(run);
    }
    if (*validate_cmd) return validate_command(spec_path);
    if (*list_cmd) return list_command(spec_path);
    if (*info_cmd) return info_command();
    if (*merge_cmd) return merge_command(merge_out, merge_in, merge_force);
    if (*schema_cmd) return schema_command(schema_kind);
  } catch (const std::exception& e) {
    fmt::print(stderr, "santa: error: {}\n", e.what());
    return kExitFailed;
  }
  return kExitInvalid;
}
