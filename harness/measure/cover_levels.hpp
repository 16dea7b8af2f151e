// The core of the coverage kind (P4): i.i.d. SANTA draws of every causal query position of one head.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "estimators/philox.hpp"
#include "harness/workloads/prefill.hpp"

namespace santa::harness::measure {

constexpr uint16_t kNeverCovered = 0xFFFF;

// Row i of Q attends keys 0..i of K with softmax(q_i . k_j / sqrt(d)) and draws `cap` i.i.d. indices; draw m
// uses word m of the Philox stream `base` with tile = i (so the first S draws do not depend on cap). On return
// level[j] is the smallest m + 1 at which some row drew key j (kNeverCovered if none did): key j is read
// under budget S iff level[j] <= S. Scores come from float GEMMs over blocks of 128 query rows.
// Throws measure::Cancelled when `cancel` is set.
void causal_cover_levels(const workloads::MatRMf& Q, const workloads::MatRMf& K, int64_t cap, const RngSite& base,
                         std::vector<uint16_t>& level, const std::atomic<bool>& cancel);

}  // namespace santa::harness::measure
