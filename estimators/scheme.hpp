// The sampling schemes by name, and one dispatch used by the harness and the benchmarks.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "estimators/philox.hpp"
#include "estimators/types.hpp"

namespace santa {

enum class Scheme { iid, strat, sys, flash, prop_reference, global_systematic, topk };

std::string_view to_string(Scheme s);
std::optional<Scheme> parse_scheme(std::string_view name);  // names as in to_string
std::string scheme_names();                                 // "iid, strat, sys, ..." for error messages
bool scheme_uses_tiles(Scheme s);
bool scheme_is_random(Scheme s);  // false only for topk

// One draw of `scheme` with budget S over p; `tile` is used by the tile variants (flash, prop_reference,
// global_systematic). The RNG site is the caller's (site.tile is set per tile by the tile variants).
RowDraw draw(Scheme scheme, VecRef p, int64_t S, int64_t tile, const RngSite& site);

// Closed-form E||y_hat - y||^2 where one exists (iid, strat, flash with iid/strat inside tiles is not the
// default flash, so only iid and strat here); std::nullopt otherwise.
std::optional<double> closed_form_mse(Scheme scheme, VecRef p, MatRef v, int64_t S, int64_t tile);

}  // namespace santa
