//===- NumericsPackTest.cpp - Packed layouts ------------------------------===//

#include "lib/Numerics/Pack.h"

#include <gtest/gtest.h>

#include <random>

using namespace lowbit::numerics;

namespace {

std::vector<int8_t> randomValues(int64_t count, int bits, bool isSigned,
                                 unsigned seed) {
  std::mt19937 gen(seed);
  int lo = isSigned ? -(1 << (bits - 1)) : 0;
  int hi = isSigned ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int8_t> v(count);
  for (auto &x : v)
    x = int8_t(uint8_t(unsigned(d(gen)) & 0xFFu));
  if (count >= 2) { // make sure both ends occur
    v[0] = int8_t(uint8_t(unsigned(lo) & 0xFFu));
    v[1] = int8_t(uint8_t(unsigned(hi) & 0xFFu));
  }
  return v;
}

// Independent bit-by-bit reference of the dialect's bit order: within a
// plane, bit j of element k sits at plane bit index k * width + j, i.e.
// byte (k*width + j) / 8, bit (k*width + j) % 8.
std::vector<uint8_t> referencePack(PackLayout layout, int bits,
                                   const std::vector<int8_t> &q, int64_t n,
                                   int64_t k) {
  auto planeBytes = [&](int width) { return (k * width + 7) / 8; };
  std::vector<std::pair<int, int>> planes; // (width, first value bit)
  switch (layout) {
  case PackLayout::Int2Crumbs:
    planes = {{2, 0}};
    break;
  case PackLayout::Int4Nibbles:
    planes = {{4, 0}};
    break;
  case PackLayout::Int6Planes:
    planes = {{4, 0}, {2, 4}};
    break;
  case PackLayout::Int8Bytes:
    planes = {{8, 0}};
    break;
  case PackLayout::BitPlanes:
    for (int b = 0; b < bits; ++b)
      planes.push_back({1, b});
    break;
  }
  int64_t row = 0;
  for (auto &pl : planes)
    row += planeBytes(pl.first);
  std::vector<uint8_t> out(n * row, 0);
  for (int64_t r = 0; r < n; ++r) {
    int64_t base = r * row;
    for (auto &pl : planes) {
      for (int64_t c = 0; c < k; ++c) {
        unsigned u = uint8_t(q[r * k + c]);
        for (int j = 0; j < pl.first; ++j) {
          int64_t bit = c * pl.first + j;
          if ((u >> (pl.second + j)) & 1u)
            out[base + bit / 8] |= uint8_t(1u << (bit % 8));
        }
      }
      base += planeBytes(pl.first);
    }
  }
  return out;
}

TEST(NumericsPack, ExplicitBitPatterns) {
  std::vector<uint8_t> out;
  std::string err;
  std::vector<int8_t> crumbs = {1, -1, 0, -2};
  ASSERT_TRUE(pack(PackLayout::Int2Crumbs, 2, true, crumbs.data(), 1, 4, out, err));
  EXPECT_EQ(out, std::vector<uint8_t>({0x8D}));
  std::vector<int8_t> nib = {3, -3};
  ASSERT_TRUE(pack(PackLayout::Int4Nibbles, 4, true, nib.data(), 1, 2, out, err));
  EXPECT_EQ(out, std::vector<uint8_t>({0xD3}));
  std::vector<int8_t> int3 = {-4, 2, -3};
  ASSERT_TRUE(pack(PackLayout::Int4Nibbles, 3, true, int3.data(), 1, 3, out, err));
  EXPECT_EQ(out, std::vector<uint8_t>({0x2C, 0x0D})); // full 4-bit two's compl.
  std::vector<int8_t> six = {-32, 31, 5, -1};
  ASSERT_TRUE(pack(PackLayout::Int6Planes, 6, true, six.data(), 1, 4, out, err));
  EXPECT_EQ(out, std::vector<uint8_t>({0xF0, 0xF5, 0xC6}));
  std::vector<int8_t> planes = {0, 1, 2, 3, -4, -3, -2, -1};
  ASSERT_TRUE(pack(PackLayout::BitPlanes, 3, true, planes.data(), 1, 8, out, err));
  EXPECT_EQ(out, std::vector<uint8_t>({0xAA, 0xCC, 0xF0}));
  std::vector<int8_t> bytes = {-128, 127, int8_t(uint8_t(200))};
  ASSERT_TRUE(pack(PackLayout::Int8Bytes, 8, false, bytes.data() + 2, 1, 1, out, err));
  EXPECT_EQ(out, std::vector<uint8_t>({200}));
  ASSERT_TRUE(pack(PackLayout::Int8Bytes, 8, true, bytes.data(), 1, 2, out, err));
  EXPECT_EQ(out, std::vector<uint8_t>({0x80, 0x7F}));
  // Unsigned 4-bit 15 and signed -1 share a nibble pattern but unpack apart.
  std::vector<int8_t> u4 = {15, 9};
  ASSERT_TRUE(pack(PackLayout::Int4Nibbles, 4, false, u4.data(), 1, 2, out, err));
  EXPECT_EQ(out, std::vector<uint8_t>({0x9F}));
  std::vector<int8_t> back;
  ASSERT_TRUE(unpack(PackLayout::Int4Nibbles, 4, false, out.data(), 1, 1, 2, back, err));
  EXPECT_EQ(back, std::vector<int8_t>({15, 9}));
  ASSERT_TRUE(unpack(PackLayout::Int4Nibbles, 4, true, out.data(), 1, 1, 2, back, err));
  EXPECT_EQ(back, std::vector<int8_t>({-1, -7}));
}

TEST(NumericsPack, RowBytes) {
  std::string err;
  EXPECT_EQ(packedRowBytes(PackLayout::Int2Crumbs, 2, 128, err), 32);
  EXPECT_EQ(packedRowBytes(PackLayout::Int4Nibbles, 4, 128, err), 64);
  EXPECT_EQ(packedRowBytes(PackLayout::Int6Planes, 6, 128, err), 96);
  EXPECT_EQ(packedRowBytes(PackLayout::Int8Bytes, 8, 128, err), 128);
  EXPECT_EQ(packedRowBytes(PackLayout::BitPlanes, 6, 128, err), 96);
  EXPECT_EQ(packedRowBytes(PackLayout::BitPlanes, 8, 128, err), 128);
  EXPECT_EQ(packedRowBytes(PackLayout::Int6Planes, 5, 13, err), 7 + 4);
  EXPECT_EQ(packedRowBytes(PackLayout::Int2Crumbs, 3, 128, err), -1);
  EXPECT_EQ(err, "3-bit values do not fit layout int2_crumbs (1..2 bits)");
}

TEST(NumericsPack, RoundTripsEveryLayoutAndWidthAgainstReference) {
  const PackLayout layouts[] = {PackLayout::Int2Crumbs, PackLayout::Int4Nibbles,
                                PackLayout::Int6Planes, PackLayout::Int8Bytes,
                                PackLayout::BitPlanes};
  const int slot[] = {2, 4, 6, 8, 8};
  int combos = 0;
  for (int li = 0; li < 5; ++li)
    for (int bits = 1; bits <= slot[li]; ++bits)
      for (bool isSigned : {true, false})
        for (int64_t k : {int64_t(64), int64_t(13), int64_t(1)}) {
          const int64_t n = 5;
          auto q = randomValues(n * k, bits, isSigned, 1000u + li * 97 + bits);
          std::vector<uint8_t> packed;
          std::string err;
          ASSERT_TRUE(pack(layouts[li], bits, isSigned, q.data(), n, k, packed,
                           err))
              << err;
          ASSERT_EQ(int64_t(packed.size()),
                    n * packedRowBytes(layouts[li], bits, k, err));
          ASSERT_EQ(packed, referencePack(layouts[li], bits, q, n, k))
              << packLayoutName(layouts[li]) << " bits " << bits << " k " << k;
          std::vector<int8_t> back;
          ASSERT_TRUE(unpack(layouts[li], bits, isSigned, packed.data(),
                             int64_t(packed.size()), n, k, back, err))
              << err;
          ASSERT_EQ(back, q) << packLayoutName(layouts[li]) << " bits " << bits
                             << " signed " << isSigned;
          ++combos;
        }
  EXPECT_EQ(combos, (2 + 4 + 6 + 8 + 8) * 2 * 3);
  // Every width 2..8 through its default layout (INT3 in nibbles, INT5 in
  // int6 planes, INT7 in bytes).
  for (int bits = 2; bits <= 8; ++bits) {
    PackLayout l = defaultPackLayout(bits);
    auto q = randomValues(3 * 40, bits, true, 7u + bits);
    std::vector<uint8_t> packed;
    std::vector<int8_t> back;
    std::string err;
    ASSERT_TRUE(pack(l, bits, true, q.data(), 3, 40, packed, err));
    ASSERT_TRUE(unpack(l, bits, true, packed.data(), int64_t(packed.size()), 3,
                       40, back, err));
    EXPECT_EQ(back, q) << bits;
  }
  EXPECT_EQ(defaultPackLayout(3), PackLayout::Int4Nibbles);
  EXPECT_EQ(defaultPackLayout(5), PackLayout::Int6Planes);
}

TEST(NumericsPack, NamesAndErrors) {
  PackLayout l;
  for (int i = 0; i <= 4; ++i) {
    ASSERT_TRUE(parsePackLayout(packLayoutName(PackLayout(i)), l));
    EXPECT_EQ(int(l), i);
  }
  EXPECT_FALSE(parsePackLayout("int3_triples", l));
  EXPECT_STREQ(packLayoutName(PackLayout::Int6Planes), "int6_planes");
  std::vector<int8_t> q = {7, 8};
  std::vector<uint8_t> out;
  std::string err;
  EXPECT_FALSE(pack(PackLayout::Int4Nibbles, 4, true, q.data(), 1, 2, out, err));
  EXPECT_EQ(err, "value 8 at [0, 1] does not fit signed 4 bits");
  q = {-1, 0};
  EXPECT_FALSE(pack(PackLayout::Int2Crumbs, 2, false, q.data(), 1, 2, out, err));
  EXPECT_EQ(err, "value 255 at [0, 0] does not fit unsigned 2 bits");
  EXPECT_FALSE(pack(PackLayout::Int4Nibbles, 5, true, q.data(), 1, 2, out, err));
  EXPECT_FALSE(pack(PackLayout::BitPlanes, 0, true, q.data(), 1, 2, out, err));
  std::vector<uint8_t> data(5, 0);
  std::vector<int8_t> back;
  EXPECT_FALSE(unpack(PackLayout::Int4Nibbles, 4, true, data.data(), 5, 2, 8, back, err));
  EXPECT_EQ(err, "packed buffer has 5 bytes, expected 2 rows x 4 bytes for "
                 "layout int4_nibbles");
}

} // namespace
