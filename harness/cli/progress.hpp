// Progress of a sweep on stderr: a bar with ETA redrawn in place on a terminal, plain periodic lines
// otherwise (logs, CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace santa::harness::cli {

class Progress {
 public:
  // `total` points in this run, `skipped` of them already done (resume).
  Progress(int64_t total, int64_t skipped, std::FILE* out, bool interactive);
  void update(int64_t done_now, bool force = false);  // points finished in this session
  void finish();

 private:
  void draw(int64_t done_now, bool final);
  int64_t total_, skipped_;
  std::FILE* out_;
  bool interactive_;
  std::chrono::steady_clock::time_point start_, last_;
  bool drawn_ = false;
};

std::string format_duration(double seconds);  // "1:05", "1:02:03"

}  // namespace santa::harness::cli
