#include "harness/store/journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>

#include "harness/store/result_data.hpp"

namespace santa::harness::store {
namespace {

// Percent-escape the bytes that structure a line.
std::string escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '%' || c == '\t' || c == '\n' || c == '\r' || c == '=' || c == ',' || c == '|' || c < 0x20) {
      out += fmt::format("%{:02X}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool unescape(std::string_view s, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;
    const std::string hex(s.substr(i + 1, 2));
    char* end = nullptr;
    const long v = std::strtol(hex.c_str(), &end, 16);
    if (end != hex.c_str() + 2) return false;
    out += static_cast<char>(v);
    i += 2;
  }
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

std::string encode_real(double x) { return fmt::format("{:a}", x); }

bool parse_real(std::string_view s, double& x) {
  const std::string str(s);
  char* end = nullptr;
  x = std::strtod(str.c_str(), &end);
  return !str.empty() && end == str.c_str() + str.size();
}

bool parse_int(std::string_view s, int64_t& x) {
  const std::string str(s);
  char* end = nullptr;
  errno = 0;
  x = std::strtoll(str.c_str(), &end, 10);
  return !str.empty() && end == str.c_str() + str.size() && errno == 0;
}

std::string payload_of(const Row& row) {
  std::string p = fmt::format("{}\t{:016x}", row.point, row.param_hash);
  for (const auto& [name, v] : row.values) {
    p += '\t';
    p += escape(name);
    p += '=';
    if (const auto* i = std::get_if<int64_t>(&v)) {
      p += fmt::format("i{}", *i);
    } else if (const auto* d = std::get_if<double>(&v)) {
      p += 'r' + encode_real(*d);
    } else {
      p += 't' + escape(std::get<std::string>(v));
    }
  }
  for (const auto& a : row.arrays) {
    p += "\t@" + escape(a.name) + '=';
    for (std::size_t k = 0; k < a.shape.size(); ++k) {
      if (k) p += ',';
      p += std::to_string(a.shape[k]);
    }
    p += '|';
    for (std::size_t k = 0; k < a.data.size(); ++k) {
      if (k) p += ',';
      p += encode_real(a.data[k]);
    }
  }
  return p;
}

}  // namespace

std::string journal_path(const std::string& result_path) { return result_path + ".journal"; }

std::string encode_row(const Row& row) {
  const std::string payload = payload_of(row);
  return fmt::format("{:016x} {}\n", fnv1a64(payload), payload);
}

bool decode_row(const std::string& line, Row& row) {
  if (line.size() < 18 || line[16] != ' ') return false;
  const std::string_view payload = std::string_view(line).substr(17);
  if (fmt::format("{:016x}", fnv1a64(payload)) != line.substr(0, 16)) return false;
  const auto fields = split(payload, '\t');
  if (fields.size() < 2) return false;
  row = Row{};
  if (!parse_int(fields[0], row.point)) return false;
  const std::string hash(fields[1]);
  char* end = nullptr;
  row.param_hash = std::strtoull(hash.c_str(), &end, 16);
  if (hash.size() != 16 || end != hash.c_str() + 16) return false;
  for (std::size_t i = 2; i < fields.size(); ++i) {
    const std::string_view f = fields[i];
    const std::size_t eq = f.find('=');
    if (eq == std::string_view::npos) return false;
    const bool is_array = !f.empty() && f[0] == '@';
    std::string name;
    if (!unescape(f.substr(is_array ? 1 : 0, eq - (is_array ? 1 : 0)), name)) return false;
    const std::string_view body = f.substr(eq + 1);
    if (is_array) {
      const std::size_t bar = body.find('|');
      if (bar == std::string_view::npos) return false;
      NamedArray a;
      a.name = name;
      if (bar > 0) {
        for (auto s : split(body.substr(0, bar), ',')) {
          int64_t x;
          if (!parse_int(s, x)) return false;
          a.shape.push_back(x);
        }
      }
      if (bar + 1 < body.size()) {
        for (auto s : split(body.substr(bar + 1), ',')) {
          double x;
          if (!parse_real(s, x)) return false;
          a.data.push_back(x);
        }
      }
      row.arrays.push_back(std::move(a));
      continue;
    }
    if (body.empty()) return false;
    const std::string_view rest = body.substr(1);
    if (body[0] == 'i') {
      int64_t x;
      if (!parse_int(rest, x)) return false;
      row.values.emplace_back(name, x);
    } else if (body[0] == 'r') {
      double x;
      if (!parse_real(rest, x)) return false;
      row.values.emplace_back(name, x);
    } else if (body[0] == 't') {
      std::string s;
      if (!unescape(rest, s)) return false;
      row.values.emplace_back(name, std::move(s));
    } else {
      return false;
    }
  }
  return true;
}

Journal::Journal(std::string path, std::string header) : path_(std::move(path)), header_(std::move(header)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw StoreError(fmt::format("{}: cannot open the journal: {}", path_, std::strerror(errno)));
  if (::lseek(fd_, 0, SEEK_END) == 0) write_all(header_ + "\n");
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

void Journal::write_all(const std::string& bytes) {
  // One write() per record: a kill between records never splits one; a kill inside a write of a large
  // record leaves a torn last line that the reader's checksum rejects.
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw StoreError(fmt::format("{}: cannot append to the journal: {}", path_, std::strerror(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
}

void Journal::append(const Row& row) { write_all(encode_row(row)); }

void Journal::clear() {
  if (::ftruncate(fd_, 0) != 0)
    throw StoreError(fmt::format("{}: cannot truncate the journal: {}", path_, std::strerror(errno)));
  write_all(header_ + "\n");
}

void Journal::remove() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(path_.c_str());
}

JournalContents read_journal(const std::string& path) {
  JournalContents out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (first) {
      out.header = line;
      first = false;
      continue;
    }
    Row row;
    if (in.eof() || !decode_row(line, row)) {
      // A last line without its newline was torn mid-write.
      ++out.bad_lines;
      continue;
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace santa::harness::store
