// Appends rows to a result file as points finish, so that a run killed at any moment loses no finished
// point: each row goes to the journal first (one write), then the whole file is rewritten under a temporary
// name and renamed over the old one (result_file.hpp). Rewrites are rationed so they cost at most
// `max_overhead` of the wall time (with small files that is after every row); rows between two rewrites
// live in the journal, and recover() puts them back.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "harness/store/journal.hpp"
#include "harness/store/result_data.hpp"

namespace santa::harness::store {

// The journal's first line: ties it to the run (spec digest attribute) and the column layout.
std::string journal_header(const ResultData& data);

class ResultWriter {
 public:
  // Writes `data` (attributes, layout, any rows already done) to `path` at once, then journals appends.
  // A rewrite is due when the time since the last one is >= max(min_interval_s, last rewrite's duration /
  // max_overhead).
  ResultWriter(std::string path, ResultData data, double max_overhead = 0.05, double min_interval_s = 0.0);

  void append(const Row& row);  // throws StoreError when the row does not fit the layout
  void set_attribute(const std::string& name, Value v) { data_.set_attribute(name, std::move(v)); }
  void commit();  // rewrite the file now and clear the journal
  void finish();  // commit and remove the journal

  const ResultData& data() const { return data_; }
  int64_t commits() const { return commits_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  ResultData data_;
  std::unique_ptr<Journal> journal_;
  double max_overhead_, min_interval_;
  int64_t commits_ = 0, pending_ = 0;
  std::chrono::steady_clock::time_point last_end_;
  double last_seconds_ = 0.0;
};

// What an interrupted run left: the file's rows plus the journal's later ones.
struct Recovery {
  ResultData data;
  int64_t rows_in_file = 0;
  int64_t rows_from_journal = 0;  // journaled rows that the file did not hold yet
  int64_t bad_journal_lines = 0;  // torn or corrupt lines skipped
};
Recovery recover(const std::string& path);  // throws StoreError (unreadable file, foreign journal, ...)

}  // namespace santa::harness::store
