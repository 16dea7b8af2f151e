#include "estimators/scheme.hpp"

#include <array>
#include <utility>

#include "estimators/closed_forms.hpp"
#include "estimators/samplers.hpp"
#include "estimators/tiles.hpp"
#include "estimators/validation.hpp"

namespace santa {
namespace {

constexpr std::array<std::pair<Scheme, std::string_view>, 7> kNames{{
    {Scheme::iid, "iid"},
    {Scheme::strat, "strat"},
    {Scheme::sys, "sys"},
    {Scheme::flash, "flash"},
    {Scheme::prop_reference, "prop_reference"},
    {Scheme::global_systematic, "global_systematic"},
    {Scheme::topk, "topk"},
}};

}  // namespace

std::string_view to_string(Scheme s) {
  for (const auto& [scheme, name] : kNames) {
    if (scheme == s) return name;
  }
  check::fail("to_string(Scheme)", "scheme = ", static_cast<int>(s), "; allowed: ", scheme_names());
}

std::optional<Scheme> parse_scheme(std::string_view name) {
  for (const auto& [scheme, n] : kNames) {
    if (n == name) return scheme;
  }
  return std::nullopt;
}

std::string scheme_names() {
  std::string out;
  for (const auto& [scheme, name] : kNames) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

bool scheme_uses_tiles(Scheme s) {
  return s == Scheme::flash || s == Scheme::prop_reference || s == Scheme::global_systematic;
}

bool scheme_is_random(Scheme s) { return s != Scheme::topk; }

RowDraw draw(Scheme scheme, VecRef p, int64_t S, int64_t tile, const RngSite& site) {
  switch (scheme) {
    case Scheme::iid: {
      PhiloxStream rng(site);
      return sample_iid(p, S, rng);
    }
    case Scheme::strat: {
      PhiloxStream rng(site);
      return sample_strat(p, S, rng);
    }
    case Scheme::sys: {
      PhiloxStream rng(site);
      return sample_sys(p, S, rng);
    }
    case Scheme::flash:
      return sample_flash(p, S, tile, site);
    case Scheme::prop_reference:
      return sample_prop_reference(p, S, tile, site);
    case Scheme::global_systematic:
      return sample_global_systematic(p, S, tile, site);
    case Scheme::topk:
      return select_topk(p, S);
  }
  check::fail("draw", "scheme = ", static_cast<int>(scheme), "; allowed: ", scheme_names());
}

std::optional<double> closed_form_mse(Scheme scheme, VecRef p, MatRef v, int64_t S, int64_t tile) {
  switch (scheme) {
    case Scheme::iid:
      return mse_iid(p, v, S);
    case Scheme::strat:
      return mse_strat(p, v, S);
    default:
      return std::nullopt;
  }
}

}  // namespace santa
