// bf16 / fp16 bit conversions on the host (round to nearest even), for building kernel inputs and reading
// outputs in plain C++.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/decode_types.hpp"

namespace santa::gpu {

inline uint16_t float_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if (std::isnan(f)) return static_cast<uint16_t>((x >> 16) | 0x40);
  x += 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

inline float bf16_to_float(uint16_t h) {
  const uint32_t x = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

inline float fp16_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1u, exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu;
  float v;
  if (exp == 0) {
    v = std::ldexp(static_cast<float>(man), -24);
  } else if (exp == 31) {
    v = man ? NAN : INFINITY;
  } else {
    v = std::ldexp(static_cast<float>(man | 0x400u), static_cast<int>(exp) - 25);
  }
  return sign ? -v : v;
}

inline uint16_t float_to_fp16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const float a = std::fabs(f);
  if (std::isnan(f)) return static_cast<uint16_t>(sign | 0x7E00u);
  if (a >= 65520.0f) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds to infinity
  if (a < 6.103515625e-05f) {                                       // subnormal: multiples of 2^-24
    const auto m = static_cast<uint32_t>(std::nearbyint(a * 16777216.0f));  // ties to even (default mode)
    return static_cast<uint16_t>(sign | m);
  }
  int e;
  const float m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  auto mant = static_cast<uint32_t>(std::nearbyint(std::ldexp(m, 11)));  // 11 significant bits
  if (mant == 2048u) {
    mant = 1024u;
    ++e;
  }
  const uint32_t exp = static_cast<uint32_t>(e - 1 + 15);
  return static_cast<uint16_t>(sign | (exp << 10) | (mant & 0x3FFu));
}

inline uint16_t float_to_half_bits(float f, DType t) { return t == DType::bf16 ? float_to_bf16(f) : float_to_fp16(f); }
inline float half_bits_to_float(uint16_t h, DType t) { return t == DType::bf16 ? bf16_to_float(h) : fp16_to_float(h); }

}  // namespace santa::gpu
