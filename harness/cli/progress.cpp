#include "harness/cli/progress.hpp"

#include <fmt/format.h>

#include <cmath>
#include <string>

namespace santa::harness::cli {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

Progress::Progress(int64_t total, int64_t skipped, std::FILE* out, bool interactive)
    : total_(total), skipped_(skipped), out_(out), interactive_(interactive),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::update(int64_t done_now, bool force) {
  const auto now = std::chrono::steady_clock::now();
  // A terminal is redrawn up to 10 times a second; a log gets a line every 10 s.
  const auto period = interactive_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(10000);
  if (!force && drawn_ && now - last_ < period) return;
  last_ = now;
  draw(done_now, false);
}

void Progress::finish() {
  if (interactive_ && drawn_) std::fputc('\n', out_);
  std::fflush(out_);
}

void Progress::draw(int64_t done_now, bool final) {
  drawn_ = true;
  const int64_t done = skipped_ + done_now, todo = total_ - skipped_;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double eta = done_now > 0 ? elapsed / double(done_now) * double(todo - done_now) : NAN;
  const double frac = total_ > 0 ? double(done) / double(total_) : 1.0;
  if (interactive_) {
    constexpr int kWidth = 30;
    const int fill = static_cast<int>(frac * kWidth);
    fmt::print(out_, "\r[{}{}] {}/{} ({:3.0f}%)  elapsed {}  ETA {}   ", std::string(fill, '#'),
               std::string(kWidth - fill, '.'), done, total_, 100.0 * frac, format_duration(elapsed),
               format_duration(eta));
  } else {
    fmt::print(out_, "progress: {}/{} points ({:.0f}%), elapsed {}, ETA {}\n", done, total_, 100.0 * frac,
               format_duration(elapsed), format_duration(eta));
  }
  (void)final;
  std::fflush(out_);
}

}  // namespace santa::harness::cli
