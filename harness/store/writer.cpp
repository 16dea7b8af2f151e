#include "harness/store/writer.hpp"

#include <filesystem>
#include <fmt/format.h>

#include "harness/store/result_file.hpp"

namespace santa::harness::store {

std::string journal_header(const ResultData& data) {
  return fmt::format("santa-journal v1 digest={} layout={}", data.text_attribute("spec_digest"),
                     hex64(fnv1a64(data.layout.signature())));
}

ResultWriter::ResultWriter(std::string path, ResultData data, double max_overhead, double min_interval_s)
    : path_(std::move(path)), data_(std::move(data)), max_overhead_(max_overhead), min_interval_(min_interval_s) {
  commit();
  journal_ = std::make_unique<Journal>(journal_path(path_), journal_header(data_));
  journal_->clear();
}

void ResultWriter::append(const Row& row) {
  Row conformed = data_.conform(row);
  if (journal_) journal_->append(conformed);
  data_.upsert(std::move(conformed));
  ++pending_;
  const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_end_).count();
  if (since >= min_interval_ && since * max_overhead_ >= last_seconds_) commit();
}

void ResultWriter::commit() {
  const auto start = std::chrono::steady_clock::now();
  write_result_file(path_, data_);
  // The file now holds every journaled row; an empty journal keeps recovery cheap.
  if (journal_) journal_->clear();
  last_end_ = std::chrono::steady_clock::now();
  last_seconds_ = std::chrono::duration<double>(last_end_ - start).count();
  ++commits_;
  pending_ = 0;
}

void ResultWriter::finish() {
  commit();
  if (journal_) journal_->remove();
  journal_.reset();
}

Recovery recover(const std::string& path) {
  Recovery r;
  r.data = read_result_file(path);
  r.rows_in_file = static_cast<int64_t>(r.data.rows.size());
  const std::string jpath = journal_path(path);
  if (!std::filesystem::exists(jpath)) return r;
  JournalContents j = read_journal(jpath);
  r.bad_journal_lines = j.bad_lines;
  if (j.header.empty() && j.rows.empty()) return r;
  if (j.header != journal_header(r.data))
    throw StoreError(fmt::format("{}: the journal belongs to a different run than {} (header '{}', expected '{}'); "
                                 "remove it or start afresh with --force",
                                 jpath, path, j.header, journal_header(r.data)));
  for (const Row& row : j.rows) {
    if (r.data.has_point(row.point, row.param_hash)) continue;
    r.data.upsert(r.data.conform(row));
    ++r.rows_from_journal;
  }
  return r;
}

}  // namespace santa::harness::store
