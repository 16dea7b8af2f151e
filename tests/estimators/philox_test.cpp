#include "estimators/philox.hpp"

#include <gtest/gtest.h>

namespace santa {
namespace {

// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
TEST(Philox, KnownAnswerVectors) {
  struct Kat {
    Philox4 ctr;
    uint32_t k0, k1;
    Philox4 expect;
  };
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u,
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const auto& k : kats) {
    const Philox4 out = philox4x32_10(k.ctr, k.k0, k.k1);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(out.v[i], k.expect.v[i]) << "word " << i;
  }
}

TEST(Philox, StreamIsRandomAccessAndSiteSpecific) {
  RngSite a{.seed = 42, .step = 3, .batch = 1, .head = 2, .tile = 7};
  PhiloxStream s(a);
  for (uint32_t k = 0; k < 12; ++k) EXPECT_EQ(s.next_u32(), philox_block(a, k / 4).v[k % 4]);
  RngSite b = a;
  b.step = 4;  // a new decode step must give new numbers
  EXPECT_NE(philox_block(a, 0).v[0], philox_block(b, 0).v[0]);
}

TEST(Philox, UniformsAreInUnitInterval) {
  EXPECT_EQ(u01_float(0u), 0.0f);
  EXPECT_LT(u01_float(0xffffffffu), 1.0f);
  EXPECT_EQ(u01_double(0u, 0u), 0.0);
  EXPECT_LT(u01_double(0xffffffffu, 0xffffffffu), 1.0);
}

// The samplers read a site's systematic offset as the stream's first double; kernels call systematic_offset.
TEST(Philox, SystematicOffsetIsTheStreamsFirstDouble) {
  const RngSite site{.seed = 5, .step = 6, .batch = 7, .head = 8, .tile = kHeadSiteTile};
  PhiloxStream s(site);
  const double first = s.next_double();
  EXPECT_EQ(systematic_offset(site), first);
  EXPECT_GE(first, 0.0);
  EXPECT_LT(first, 1.0);
  RngSite tile0 = site;
  tile0.tile = 0;
  EXPECT_NE(systematic_offset(tile0), first);  // the head site is not tile 0's site
}

}  // namespace
}  // namespace santa
