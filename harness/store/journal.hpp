// Write-ahead journal next to a result file (<file>.journal): every finished row is appended here (one
// checksummed line, written with one write() call) before the result file is rewritten. A process killed at
// any instant leaves the rows of the last file commit in the file and every later finished row in the
// journal; a line torn by the kill fails its checksum and is ignored. The journal survives process death,
// not power loss (it is not fsync'd per row).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/core/row.hpp"

namespace santa::harness::store {

std::string journal_path(const std::string& result_path);

// One line per row: "<fnv64 hex of payload> <payload>\n"; the payload is tab-separated and exact
// (reals as hex floats).
std::string encode_row(const Row& row);
bool decode_row(const std::string& line, Row& row);  // false on a torn or corrupt line

class Journal {
 public:
  // Opens the journal for appending, writing `header` (an identity line, e.g. the spec digest) when empty.
  Journal(std::string path, std::string header);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  void append(const Row& row);
  void clear();   // after a file commit made every journaled row durable in the file
  void remove();  // at the end of a clean run

  const std::string& path() const { return path_; }

 private:
  void write_all(const std::string& bytes);
  std::string path_, header_;
  int fd_ = -1;
};

struct JournalContents {
  std::string header;
  std::vector<Row> rows;
  int64_t bad_lines = 0;  // torn or corrupt lines skipped
};
JournalContents read_journal(const std::string& path);  // empty when the file does not exist

}  // namespace santa::harness::store
