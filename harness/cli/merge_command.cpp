// `santa merge OUT IN...`: join shard files of one spec into one file.
#include <filesystem>
#include <fmt/format.h>

#include "harness/cli/commands.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/store/journal.hpp"
#include "harness/store/merge.hpp"
#include "harness/store/result_file.hpp"

namespace santa::harness::cli {

int merge_command(const std::string& output, const std::vector<std::string>& inputs, bool force) {
  if (std::filesystem::exists(output) && !force) {
    fmt::print(stderr, "santa merge: {} already exists; use --force to overwrite it\n", output);
    return kExitOutputConflict;
  }
  try {
    std::vector<store::ResultData> data;
    for (const auto& in : inputs) {
      if (std::filesystem::exists(store::journal_path(in)))
        fmt::print(stderr, "santa merge: warning: {} has a journal (an unfinished run); rows only in the journal "
                           "are not merged (finish it with santa run ... --resume)\n",
                   in);
      data.push_back(store::read_result_file(in));
    }
    const store::ResultData merged = store::merge_results(data, inputs);
    store::write_result_file(output, merged);
    fmt::print(stderr, "santa merge: {} holds {} rows from {} file(s); status {}\n", output, merged.rows.size(),
               inputs.size(), merged.text_attribute("status"));
    return kExitOk;
  } catch (const std::exception& e) {
    fmt::print(stderr, "santa merge: {}\n", e.what());
    return kExitFailed;
  }
}

}  // namespace santa::harness::cli
