// The subcommands of `santa` (main.cpp wires them to CLI11). Each returns an exit code (exit_codes.hpp)
// and writes messages to stderr, results to stdout.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace santa::harness::cli {

struct RunOptions {
  std::string spec_path;
  std::string output;  // "" = the spec's output (with a .shard-K-of-N suffix when sharded)
  bool resume = false, force = false, dry_run = false;
  int jobs = 1;
  std::string shard;  // "K/N", 0 <= K < N; "" = every point
  std::size_t cache_mb = 1536;
  double commit_interval_s = 0.0;  // least time between rewrites of the result file (rows in between: journal)
  std::string command_line;  // recorded in the result file
};

int run_command(const RunOptions& options);
int validate_command(const std::string& spec_path);
int list_command(const std::string& spec_path);
int info_command();
int merge_command(const std::string& output, const std::vector<std::string>& inputs, bool force);
int schema_command(const std::string& kind);  // "" = every kind

}  // namespace santa::harness::cli
