// Shared helpers of the harness tests: temporary directories (tests never write into the source tree) and
// running the real santa binary as a subprocess.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace santa::harness::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "santa-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct ProcResult {
  int code = -1;  // exit code, or 128 + signal
  std::string out, err;
};

// Starts `santa args...` with stdout/stderr going to files in `dir`; returns the pid.
inline pid_t spawn_santa(const std::vector<std::string>& args, const TempDir& dir, const std::string& tag) {
  const std::string out = dir.file(tag + ".stdout"), err = dir.file(tag + ".stderr");
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fo = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fe = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fo, STDOUT_FILENO);
    ::dup2(fe, STDERR_FILENO);
    std::vector<char*> argv;
    std::string exe = SANTA_EXE;
    argv.push_back(exe.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

inline ProcResult wait_santa(pid_t pid, const TempDir& dir, const std::string& tag) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  ProcResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(dir.file(tag + ".stdout"));
  r.err = read_text(dir.file(tag + ".stderr"));
  return r;
}

inline ProcResult run_santa(const std::vector<std::string>& args, const TempDir& dir, const std::string& tag = "run") {
  return wait_santa(spawn_santa(args, dir, tag), dir, tag);
}

}  // namespace santa::harness::testing
