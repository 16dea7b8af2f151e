// The check every backend's output passes before it is timed (issue 5): exact backends against the fp64
// reference of one sequence (and our dense kernel on every sequence), sampling backends by their error
// against what their scheme's error is known to be (a Monte Carlo of the CPU estimator on the same heads).
// A failed check throws CheckFailed naming the backend, the number and the bound.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "estimators/scheme.hpp"
#include "harness/measure/latency_reference.hpp"
#include "kernels/decode_types.hpp"

namespace santa::harness::measure {

struct CheckFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// u = 2^-p, p the significand precision in bits: 2^-8 for bf16, 2^-11 for fp16.
double unit_roundoff(gpu::DType dtype);

// The output of a whole call, decoded to double, [batch][H][d].
std::vector<double> decode_output(const std::vector<uint16_t>& bits, gpu::DType dtype);

// ||a - b|| / ||b|| over whole outputs (Frobenius).
double rel_l2(const std::vector<double>& a, const std::vector<double>& b);

struct OutputCheck {
  double max_rel_error = std::nan("");    // exact backends: largest per-head ||o - y|| / ||y|| on the reference
  double rel_l2_vs_dense = std::nan("");  // ||o - dense|| / ||dense|| over every sequence and head
  double rel_l2_vs_exact = std::nan("");  // sqrt(sum_h ||o_h - y_h||^2 / sum_h ||y_h||^2) on the reference
  double expected_rel_l2 = std::nan("");  // sampling: the same from the scheme's Monte Carlo MSE
  double z = std::nan("");                // sampling: (error - expected) / its standard deviation
};

// Exact backends. Every element finite; per head of the reference sequence ||o - y|| <= 4u ||y||; and, with
// `dense` (our checked dense output), per head of every sequence ||o - dense|| <= 8.5u ||dense|| (both within
// 4u of the exact output: 8u ||y|| <= 8u ||dense|| / (1 - 4u)).
OutputCheck check_exact(const ReferenceSequence& ref, const std::vector<double>& out,
                        const std::vector<double>* dense, gpu::DType dtype, const std::string& what);

struct SampledCheckSpec {
  santa::Scheme scheme = santa::Scheme::global_systematic;  // what the kernel's draws follow
  int64_t S = 0, tile = 256;
  int replicates = 16;  // Monte Carlo draws per head
  uint64_t seed = 0;
};

// Sampling backends. Every element finite; the recorded real sample total of every head equals the scheme's
// (samples_drawn [batch * H], empty to skip); and the summed squared error over the reference sequence's
// heads agrees with the scheme's Monte Carlo (derivation in latency_check.cpp). `dense` (may be null) only
// gives rel_l2_vs_dense.
OutputCheck check_sampled(const ReferenceSequence& ref, const std::vector<double>& out,
                          const std::vector<double>* dense, const std::vector<int32_t>& samples_drawn,
                          gpu::DType dtype, const SampledCheckSpec& spec, const std::string& what);

}  // namespace santa::harness::measure
