//===- NumericsQuantizeTest.cpp - The quantization formula and RTN --------===//

#include "lib/Numerics/Quantize.h"
#include "lib/Numerics/Rtn.h"
#include "NumericsTestUtil.h"

#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>
#include <limits>

using namespace lowbit::numerics;

namespace {

TEST(NumericsQuantize, RoundHalfToEvenExactTies) {
  EXPECT_EQ(roundHalfToEven(0.5f), 0.0f);
  EXPECT_EQ(roundHalfToEven(1.5f), 2.0f);
  EXPECT_EQ(roundHalfToEven(2.5f), 2.0f);
  EXPECT_EQ(roundHalfToEven(-0.5f), 0.0f);
  EXPECT_EQ(roundHalfToEven(-1.5f), -2.0f);
  EXPECT_EQ(roundHalfToEven(-2.5f), -2.0f);
  EXPECT_EQ(roundHalfToEven(3.5f), 4.0f);
  EXPECT_EQ(roundHalfToEven(-3.5f), -4.0f);
  EXPECT_EQ(roundHalfToEven(0.49999997f), 0.0f);
  EXPECT_EQ(roundHalfToEven(0.50000006f), 1.0f);
  EXPECT_EQ(roundHalfToEven(-2.4999998f), -2.0f);
  EXPECT_EQ(roundHalfToEven(2.5000002f), 3.0f);
  EXPECT_EQ(roundHalfToEven(16777216.0f), 16777216.0f);
  EXPECT_EQ(roundHalfToEven(8388609.0f), 8388609.0f);
  EXPECT_TRUE(std::isnan(roundHalfToEven(std::nanf(""))));
  EXPECT_EQ(roundHalfToEven(2.5), 2.0);
  EXPECT_EQ(roundHalfToEven(-2.5), -2.0);
  EXPECT_EQ(roundHalfToEven(4503599627370497.0), 4503599627370497.0);
}

TEST(NumericsQuantize, RoundHalfToEvenMatchesNearbyintToNearest) {
  // Every tie k + 0.5 and a spread of random values agree with
  // std::nearbyint under FE_TONEAREST, also when the environment is changed.
  ASSERT_EQ(std::fesetround(FE_TONEAREST), 0);
  std::vector<float> vals;
  for (int i = -2000; i <= 2000; ++i)
    vals.push_back(float(i) + 0.5f);
  auto rnd = numtest::randomNormal(20000, 7, 100.0);
  vals.insert(vals.end(), rnd.begin(), rnd.end());
  std::vector<float> expect;
  for (float v : vals)
    expect.push_back(std::nearbyint(v));
  ASSERT_EQ(std::fesetround(FE_UPWARD), 0);
  for (size_t i = 0; i < vals.size(); ++i)
    ASSERT_EQ(roundHalfToEven(vals[i]), expect[i]) << vals[i];
  std::fesetround(FE_TONEAREST);
}

TEST(NumericsQuantize, GridBounds) {
  for (int b = 2; b <= 8; ++b) {
    EXPECT_EQ(qmin(b, true, false), -((1 << (b - 1)) - 1));
    EXPECT_EQ(qmax(b, true, false), (1 << (b - 1)) - 1);
    EXPECT_EQ(qmin(b, true, true), -(1 << (b - 1)));
    EXPECT_EQ(qmax(b, true, true), (1 << (b - 1)) - 1);
    EXPECT_EQ(qmin(b, false, false), 0);
    EXPECT_EQ(qmax(b, false, false), (1 << b) - 1);
  }
  EXPECT_EQ(qmin(4, true), -7);
  EXPECT_EQ(qmax(4, true), 7);
  EXPECT_EQ(qmin(2, true), -1);
  EXPECT_EQ(qmax(8, false), 255);
}

TEST(NumericsQuantize, QuantizeValue) {
  EXPECT_EQ(quantizeValue(0.5f, 1.0f, 0, -7, 7), 0);
  EXPECT_EQ(quantizeValue(1.5f, 1.0f, 0, -7, 7), 2);
  EXPECT_EQ(quantizeValue(-2.5f, 1.0f, 0, -7, 7), -2);
  EXPECT_EQ(quantizeValue(0.25f, 0.5f, 0, -7, 7), 0); // 0.5 -> 0
  EXPECT_EQ(quantizeValue(0.75f, 0.5f, 0, -7, 7), 2); // 1.5 -> 2
  EXPECT_EQ(quantizeValue(2.5f, 1.0f, 3, 0, 15), 5);  // 2 + 3
  EXPECT_EQ(quantizeValue(100.f, 1.0f, 0, -7, 7), 7);
  EXPECT_EQ(quantizeValue(-100.f, 1.0f, 0, -7, 7), -7);
  EXPECT_EQ(quantizeValue(-100.f, 1.0f, 8, 0, 15), 0);
  EXPECT_EQ(quantizeValue(1e30f, 1e-30f, 0, -8, 7), 7);
  EXPECT_EQ(quantizeValue(std::numeric_limits<float>::infinity(), 1.f, 0, -7,
                          7),
            7);
  EXPECT_EQ(quantizeValue(std::nanf(""), 1.f, 5, 0, 15), 5);
  EXPECT_EQ(quantizeValue(3.f, 0.f, 5, 0, 15), 5);
  EXPECT_EQ(quantizeValue(3.f, 0.f, 50, 0, 15), 15);
  EXPECT_FLOAT_EQ(dequantizeValue(5, 0.25f, 3), 0.5f);
  EXPECT_FLOAT_EQ(dequantizeValue(-7, 0.5f, 0), -3.5f);
}

// Float64 RTN reference following the spec in the dialect docs.
struct RefRtn {
  std::vector<double> scale;
  std::vector<int> zp;
  std::vector<int> q;
  std::vector<int> nearTie; // 1 where x/scale is within 1e-4 of a .5 tie
};

RefRtn referenceRtn(const std::vector<float> &w, int64_t n, int64_t k,
                    int bits, bool sym, bool full, int64_t g) {
  RefRtn ref;
  const int lo = sym ? (full ? -(1 << (bits - 1)) : -((1 << (bits - 1)) - 1))
                     : 0;
  const int hi = sym ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  const int64_t gs = g == 0 ? k : g;
  const int64_t slots = g == 0 ? 1 : n * (k / gs);
  ref.scale.assign(slots, 1.0);
  ref.zp.assign(slots, 0);
  for (int64_t s = 0; s < slots; ++s) {
    double mn = 1e300, mx = -1e300;
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < k; ++c) {
        int64_t slot = g == 0 ? 0 : r * (k / gs) + c / gs;
        if (slot != s)
          continue;
        mn = std::min(mn, double(w[r * k + c]));
        mx = std::max(mx, double(w[r * k + c]));
      }
    if (sym) {
      double amax = std::max(std::fabs(mn), std::fabs(mx));
      ref.scale[s] = amax > 0 ? amax / hi : 1.0;
    } else {
      mn = std::min(mn, 0.0);
      mx = std::max(mx, 0.0);
      if (mx > mn) {
        ref.scale[s] = (mx - mn) / double(hi - lo);
        ref.zp[s] = int(std::min<double>(
            hi, std::max<double>(lo, numtest::rhe(-mn / ref.scale[s]))));
      }
    }
  }
  ref.q.resize(n * k);
  ref.nearTie.resize(n * k);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      int64_t slot = g == 0 ? 0 : r * (k / gs) + c / gs;
      double v = double(w[r * k + c]) / ref.scale[slot];
      double fr = v - std::floor(v);
      ref.nearTie[r * k + c] = std::fabs(fr - 0.5) < 1e-4;
      double q = numtest::rhe(v) + ref.zp[slot];
      ref.q[r * k + c] = int(std::min<double>(hi, std::max<double>(lo, q)));
    }
  return ref;
}

TEST(NumericsQuantize, RtnMatchesReferenceAllBitsAndGranularities) {
  const int64_t n = 12, k = 48;
  auto w = numtest::randomNormal(n * k, 11, 0.7);
  w[5] = 0.0f;
  w[7] = 3.0f; // an outlier
  int checked = 0;
  for (int bits = 2; bits <= 8; ++bits)
    for (int mode = 0; mode < 3; ++mode)
      for (int64_t g : {int64_t(0), k, int64_t(8), int64_t(16)}) {
        const bool sym = mode != 2, full = mode == 1;
        QuantParams p{bits, sym, full};
        QuantizedWeights qw;
        std::string err;
        ASSERT_TRUE(quantizeRtn(w.data(), n, k, p, g, qw, err)) << err;
        RefRtn ref = referenceRtn(w, n, k, bits, sym, full, g);
        ASSERT_EQ(qw.scales.size(), ref.scale.size());
        ASSERT_EQ(qw.zeroPoints.size(), sym ? 0u : ref.scale.size());
        EXPECT_EQ(qw.groupsPerRow(), g == 0 ? 1 : k / g);
        for (size_t s = 0; s < ref.scale.size(); ++s) {
          ASSERT_NEAR(qw.scales[s], ref.scale[s], 1e-6 * ref.scale[s]);
          if (!sym) {
            ASSERT_EQ(qw.zeroPoints[s], ref.zp[s]);
          }
        }
        auto deq = qw.dequantize();
        for (int64_t i = 0; i < n * k; ++i) {
          if (!ref.nearTie[i]) {
            ASSERT_EQ(qw.value(i), ref.q[i])
                << "bits " << bits << " mode " << mode << " g " << g
                << " i " << i;
          }
          int64_t slot = qw.paramIndex(i / k, i % k);
          double expect = (ref.q[i] - ref.zp[slot]) * ref.scale[slot];
          if (!ref.nearTie[i]) {
            ASSERT_NEAR(deq[i], expect, 1e-5 * std::fabs(expect) + 1e-7);
          }
          // RTN never clips: error at most half a step.
          ASSERT_LE(std::fabs(deq[i] - w[i]), 0.5001 * ref.scale[slot]);
          ++checked;
        }
      }
  EXPECT_EQ(checked, 7 * 3 * 4 * n * k);
}

TEST(NumericsQuantize, RtnZeroGroupAndUnsignedEightBit) {
  const int64_t n = 2, k = 8;
  std::vector<float> w(n * k, 0.0f);
  for (int c = 0; c < 4; ++c)
    w[k + c] = float(c) * 2.0f; // row 1 group 0: 0,2,4,6
  QuantizedWeights qw;
  std::string err;
  ASSERT_TRUE(quantizeRtn(w.data(), n, k, {8, false, false}, 4, qw, err));
  // All-zero groups: scale 1, zero point 0, exact zeros.
  EXPECT_EQ(qw.scales[0], 1.0f);
  EXPECT_EQ(qw.zeroPoints[0], 0);
  auto deq = qw.dequantize();
  for (int c = 0; c < k; ++c)
    EXPECT_EQ(deq[c], 0.0f);
  // Group (1, 0): range [0, 6] -> scale 6/255, 6 maps to 255 (stored 0xFF).
  EXPECT_FLOAT_EQ(qw.scales[2], 6.0f / 255.0f);
  EXPECT_EQ(qw.value(k + 3), 255);
  EXPECT_EQ(qw.q[k + 3], int8_t(-1));
  EXPECT_NEAR(deq[k + 3], 6.0f, 1e-5);
  ASSERT_TRUE(quantizeRtn(w.data(), n, k, {4, true, false}, 0, qw, err));
  EXPECT_FLOAT_EQ(qw.scales[0], 6.0f / 7.0f);
  EXPECT_EQ(qw.value(k + 3), 7);
  EXPECT_EQ(qw.value(k + 1), 2); // 2 / (6/7) = 2.333
}

TEST(NumericsQuantize, RtnRejectsBadInput) {
  std::vector<float> w(4 * 12, 0.5f);
  QuantizedWeights qw;
  std::string err;
  EXPECT_FALSE(quantizeRtn(w.data(), 4, 12, {1, true, false}, 0, qw, err));
  EXPECT_NE(err.find("bit width 1 is out of range"), std::string::npos) << err;
  EXPECT_FALSE(quantizeRtn(w.data(), 4, 12, {9, true, false}, 0, qw, err));
  EXPECT_NE(err.find("bit width 9"), std::string::npos) << err;
  EXPECT_FALSE(quantizeRtn(w.data(), 4, 12, {4, true, false}, 5, qw, err));
  EXPECT_EQ(err, "group size 5 does not divide K=12");
  EXPECT_FALSE(quantizeRtn(w.data(), 4, 12, {4, true, false}, 24, qw, err));
  EXPECT_EQ(err, "group size 24 does not divide K=12");
  EXPECT_FALSE(quantizeRtn(w.data(), 4, 12, {4, true, false}, -1, qw, err));
  EXPECT_NE(err.find("does not divide"), std::string::npos);
  EXPECT_FALSE(quantizeRtn(w.data(), 0, 12, {4, true, false}, 0, qw, err));
  w[17] = std::nanf("");
  EXPECT_FALSE(quantizeRtn(w.data(), 4, 12, {4, true, false}, 0, qw, err));
  EXPECT_EQ(err, "weight element 17 is not finite");
  w[17] = 0.0f;
  EXPECT_TRUE(quantizeRtn(w.data(), 4, 12, {4, true, false}, 6, qw, err));
  EXPECT_EQ(qw.scales.size(), 8u);
}

} // namespace
