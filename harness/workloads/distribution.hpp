// The attention-distribution generators of PROTOCOLS.md P6, as logits of one head. Each is reproducible
// from (seed, instance, head): see random.hpp for the streams.
//
//   gaussian         s_i = q . k_i / sqrt(d) with q, k_i i.i.d. N(0, 1) (near-uniform at long context)
//   temperature      beta * s, beta found by bisection so that softmax hits target_entropy or target_max_prob
//   sink_plus_local  sink_mass on `sinks` keys at the start, local_mass on the last `window` keys, the rest on
//                    the remainder with Pareto(tail_alpha) weights (heavy-tailed)
//   zipf             p ~ rank^-zipf_exponent over a random permutation of the positions
//   needles          Gaussian background plus needle_count random keys that hold needle_mass together
//   tile_spread      exactly tiles_90 tiles of spread_tile keys hold 90% of the mass (P5's control knob)
//   file             q . k_i / sqrt(d) from a user's HDF5 file (qkv_file.hpp)
#pragma once

#include <cstdint>
#include <string>

#include "estimators/types.hpp"
#include "harness/core/point.hpp"
#include "harness/workloads/temperature.hpp"

namespace santa::harness::workloads {

struct DistributionSpec {
  std::string name = "gaussian";
  TemperatureTarget temperature_target = TemperatureTarget::entropy;
  double target_entropy = 4.0, target_max_prob = 0.1;
  int64_t sinks = 4, window = 256;
  double sink_mass = 0.3, local_mass = 0.4, tail_alpha = 1.5;
  double zipf_exponent = 1.0;
  int64_t needle_count = 4;
  double needle_mass = 0.5;
  int64_t tiles_90 = 4, spread_tile = 256;
  std::string file;

  // The parameters that matter for `name`, canonically: equal keys mean equal workloads (cache keys).
  std::string key() const;
  bool uses_gaussian_scores() const;  // gaussian, temperature, needles build on the head's Gaussian scores
};

// Reads the distribution parameters of a point (the names of spec/schema.cpp's distribution group).
DistributionSpec distribution_from_point(const Point& point);

// Gaussian scores q . k_i / sqrt(d) of one head: q from the head's query stream, the keys row by row from
// its key stream (so a shorter context is a prefix of a longer one).
Vec gaussian_scores(uint64_t seed, uint32_t instance, uint32_t head, int64_t n, int64_t d);

// Logits of one head for every generated distribution except `file`; `gaussian` must hold the head's
// gaussian_scores when dist.uses_gaussian_scores(), else it is ignored.
Vec shape_logits(const DistributionSpec& dist, VecRef gaussian, int64_t n, uint64_t seed, uint32_t instance,
                 uint32_t head);

}  // namespace santa::harness::workloads
