#include "harness/cli/preflight.hpp"

#include <fmt/format.h>
#include <map>

namespace santa::harness::cli {

std::vector<std::string> preflight(const spec::Spec& spec, const std::vector<Point>& points,
                                   const measure::Runner& runner, measure::RunContext& ctx) {
  std::map<std::string, int64_t> count;
  std::vector<std::string> order;
  for (const auto& p : points) {
    std::string msg;
    try {
      runner.check(p, ctx);
      continue;
    } catch (const PointError& e) {
      const PointParam* blamed = p.find(e.param);
      const SourceMark at = blamed && blamed->mark.known() ? blamed->mark : SourceMark{spec.path, 0, 0};
      msg = spec::located(at, e.what());
    } catch (const std::exception& e) {
      msg = spec::located(SourceMark{spec.path, 0, 0}, fmt::format("point {}: {}", p.index, e.what()));
    }
    if (count[msg]++ == 0) order.push_back(msg);
  }
  std::vector<std::string> out;
  for (const auto& m : order) out.push_back(count[m] > 1 ? fmt::format("{} (in {} points)", m, count[m]) : m);
  return out;
}

}  // namespace santa::harness::cli
