// Counter-based random numbers shared by the CPU reference and the CUDA kernels.
//
// Philox4x32-10 (Salmon et al., SC'11). Every random word is a pure function of
//   key     = seed (64 bits)
//   counter = (block, tile, (batch << 16) | head, step)
// so a kernel thread and the CPU reference that name the same (seed, step, batch, head, tile, k)
// get the same bits, and every decode step (or CUDA-graph replay that reads `step` from device
// memory) gets fresh, reproducible randomness.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define SANTA_HD __host__ __device__ __forceinline__
#else
#define SANTA_HD inline
#endif

namespace santa {

struct Philox4 {
  uint32_t v[4];
};

namespace philox_detail {
constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

SANTA_HD uint32_t mulhi(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}
}  // namespace philox_detail

// One Philox4x32-10 block: 4 random words for (key, counter).
SANTA_HD Philox4 philox4x32_10(Philox4 ctr, uint32_t k0, uint32_t k1) {
  using namespace philox_detail;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int r = 0; r < 10; ++r) {
    const uint32_t hi0 = mulhi(kM0, ctr.v[0]), lo0 = kM0 * ctr.v[0];
    const uint32_t hi1 = mulhi(kM1, ctr.v[2]), lo1 = kM1 * ctr.v[2];
    ctr = Philox4{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    k0 += kW0;
    k1 += kW1;
  }
  return ctr;
}

// Uniform in [0, 1) with 24 random bits: exactly representable in float, identical on host and device.
SANTA_HD float u01_float(uint32_t w) { return static_cast<float>(w >> 8) * (1.0f / 16777216.0f); }
// Uniform in [0, 1) with 53 random bits from two words.
SANTA_HD double u01_double(uint32_t hi, uint32_t lo) {
  const uint64_t x = (static_cast<uint64_t>(hi) << 32 | lo) >> 11;
  return static_cast<double>(x) * (1.0 / 9007199254740992.0);
}

// Where a stream of random numbers is used: one (batch, head, tile) of one call (step) of one run (seed).
struct RngSite {
  uint64_t seed = 0;
  uint32_t step = 0;   // decode step / call index; kernels may read it from device memory
  uint32_t batch = 0;  // < 65536
  uint32_t head = 0;   // < 65536
  uint32_t tile = 0;
};

// Random access into the stream of one site: word k is word k%4 of block k/4.
SANTA_HD Philox4 philox_block(const RngSite& s, uint32_t block) {
  const Philox4 ctr{{block, s.tile, (s.batch << 16) | (s.head & 0xFFFFu), s.step}};
  return philox4x32_10(ctr, static_cast<uint32_t>(s.seed), static_cast<uint32_t>(s.seed >> 32));
}

// Tile field of the per-head site from which global-systematic draws its one offset. No real tile uses it
// (a head has far fewer than 2^32 - 1 tiles), so the head offset never collides with a tile's stream.
constexpr uint32_t kHeadSiteTile = 0xFFFFFFFFu;

// The systematic offset of a site, in [0, 1): u01_double of words 0 and 1 of block 0. It is the first number
// PhiloxStream::next_double() returns, so the CPU samplers (which read their offset that way) and a kernel
// that calls this function use the same offset for the same site.
SANTA_HD double systematic_offset(const RngSite& s) {
  const Philox4 b = philox_block(s, 0);
  return u01_double(b.v[0], b.v[1]);
}

// Sequential reader over one site's stream (buffers one block).
class PhiloxStream {
 public:
  SANTA_HD explicit PhiloxStream(const RngSite& site) : site_(site) {}

  SANTA_HD uint32_t next_u32() {
    if (pos_ == 4) {
      buf_ = philox_block(site_, block_++);
      pos_ = 0;
    }
    return buf_.v[pos_++];
  }
  SANTA_HD float next_float() { return u01_float(next_u32()); }
  SANTA_HD double next_double() {
    const uint32_t hi = next_u32();
    return u01_double(hi, next_u32());
  }
  SANTA_HD const RngSite& site() const { return site_; }

 private:
  RngSite site_;
  Philox4 buf_{};
  uint32_t block_ = 0;
  int pos_ = 4;
};

}  // namespace santa
