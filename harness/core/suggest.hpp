// "Did you mean ...?" for unknown names in specs and on the command line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace santa::harness {

// Edit distance (insert, delete, substitute; case-insensitive).
std::size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate when it is close enough to be a plausible typo (distance <= max(2, len/3), or the
// name is a prefix of it), else "". Ties go to the earlier candidate.
std::string closest_name(std::string_view name, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);
// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");

}  // namespace santa::harness
