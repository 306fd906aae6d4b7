//===- WinogradTest.cpp - Toom-Cook construction, point sets, search ------===//
//
// The expected values here are independent of lib/Numerics: hand-derived
// matrices, a float64 direct convolution, and NOVA's published condition
// numbers.
//
//===----------------------------------------------------------------------===//

#include "lib/Numerics/Winograd.h"
#include "lib/Numerics/WinogradSearch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace lowbit::numerics::winograd;

namespace {

std::vector<Rational> pts(std::initializer_list<Rational> l) { return l; }

// Direct float64 2D correlation of an n x n tile with an r x r filter.
std::vector<double> directCorrelation(const std::vector<double> &d,
                                      const std::vector<double> &g, int m,
                                      int r) {
  int n = m + r - 1;
  std::vector<double> y(size_t(m) * m, 0.0);
  for (int i1 = 0; i1 < m; ++i1)
    for (int i2 = 0; i2 < m; ++i2)
      for (int k1 = 0; k1 < r; ++k1)
        for (int k2 = 0; k2 < r; ++k2)
          y[i1 * m + i2] += d[(i1 + k1) * n + i2 + k2] * g[k1 * r + k2];
  return y;
}

// Y = AT [(G g Gᵀ) ⊙ (BT d B)] A in float64, from the double matrices.
std::vector<double> winograd2D(const Transforms &t, const std::vector<double> &d,
                               const std::vector<double> &g) {
  int m = t.m, r = t.r, n = t.n;
  std::vector<double> u(size_t(n) * n, 0.0), v(size_t(n) * n, 0.0),
      y(size_t(m) * m, 0.0);
  for (int a = 0; a < n; ++a)
    for (int b = 0; b < n; ++b) {
      double su = 0, sv = 0;
      for (int k1 = 0; k1 < r; ++k1)
        for (int k2 = 0; k2 < r; ++k2)
          su += t.g[a * r + k1] * g[k1 * r + k2] * t.g[b * r + k2];
      for (int c1 = 0; c1 < n; ++c1)
        for (int c2 = 0; c2 < n; ++c2)
          sv += t.bt[a * n + c1] * d[c1 * n + c2] * t.bt[b * n + c2];
      u[a * n + b] = su * sv;
    }
  for (int i1 = 0; i1 < m; ++i1)
    for (int i2 = 0; i2 < m; ++i2) {
      double s = 0;
      for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b)
          s += t.at[i1 * n + a] * u[a * n + b] * t.at[i2 * n + b];
      y[i1 * m + i2] = s;
    }
  return y;
}

TEST(Winograd, F23UnbalancedMatchesHandDerivation) {
  // Points 0, 1, -1, inf. Derived by hand from the construction rule:
  //   BT rows: (x-1)(x+1), x(x+1), x(x-1), x(x-1)(x+1)
  //   N_j: -1, 2, 2
  Transforms t;
  std::string error;
  ASSERT_TRUE(buildTransforms(2, 3, pts({{0, 1}, {1, 1}, {-1, 1}}),
                              /*balanced=*/false, t, error))
      << error;
  EXPECT_EQ(t.n, 4);
  std::vector<double> at = {1, 1, 1, 0, //
                            0, 1, -1, 1};
  std::vector<double> g = {-1, 0, 0,         //
                           0.5, 0.5, 0.5,    //
                           0.5, -0.5, 0.5,   //
                           0, 0, 1};
  std::vector<double> bt = {-1, 0, 1, 0, //
                            0, 1, 1, 0,  //
                            0, -1, 1, 0, //
                            0, -1, 0, 1};
  EXPECT_EQ(t.at, at);
  EXPECT_EQ(t.g, g);
  EXPECT_EQ(t.bt, bt);
  EXPECT_EQ(t.gExact[3].num, 1);
  EXPECT_EQ(t.gExact[3].den, 2);
}

TEST(Winograd, ShippedSetsAreExactAndMatchDirectConvolution) {
  struct Case {
    PointSet set;
    int m, r;
  };
  std::vector<Case> cases = {
      {PointSet::Standard, 2, 3}, {PointSet::Standard, 4, 3},
      {PointSet::Standard, 6, 3}, {PointSet::Standard, 8, 3},
      {PointSet::Standard, 2, 5}, {PointSet::Standard, 4, 5},
      {PointSet::Nova, 4, 3},     {PointSet::Nova, 6, 3},
      {PointSet::Nova, 8, 3},     {PointSet::Ours, 2, 3},
      {PointSet::Ours, 4, 3},     {PointSet::Ours, 6, 3},
      {PointSet::Ours, 8, 3},     {PointSet::Ours, 2, 5},
      {PointSet::Ours, 4, 5}};
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> u(-1, 1);
  for (const Case &c : cases)
    for (bool balanced : {false, true}) {
      SCOPED_TRACE("F(" + std::to_string(c.m) + "," + std::to_string(c.r) +
                   ") set " + std::to_string(int(c.set)) +
                   (balanced ? " balanced" : " plain"));
      std::vector<Rational> p;
      std::string error;
      ASSERT_TRUE(getShippedPoints(c.set, c.m, c.r, p, error)) << error;
      ASSERT_EQ(int(p.size()), c.m + c.r - 2);
      Transforms t;
      ASSERT_TRUE(buildTransforms(c.m, c.r, p, balanced, t, error)) << error;
      ASSERT_EQ(t.at.size(), size_t(c.m * t.n));
      ASSERT_EQ(t.g.size(), size_t(t.n * c.r));
      ASSERT_EQ(t.bt.size(), size_t(t.n * t.n));
      // The doubles are the exact entries, rounded.
      for (size_t q = 0; q < t.bt.size(); ++q)
        EXPECT_NEAR(t.bt[q], double(t.btExact[q].num) / t.btExact[q].den,
                    1e-15 * std::fabs(t.bt[q]));
      std::vector<double> d(size_t(t.n) * t.n), g(size_t(c.r) * c.r);
      for (double &v : d)
        v = u(gen);
      for (double &v : g)
        v = u(gen);
      std::vector<double> want = directCorrelation(d, g, c.m, c.r);
      std::vector<double> got = winograd2D(t, d, g);
      double scale = 0, err = 0;
      for (size_t q = 0; q < want.size(); ++q) {
        scale = std::max(scale, std::fabs(want[q]));
        err = std::max(err, std::fabs(want[q] - got[q]));
      }
      EXPECT_LT(err / scale, 1e-9);
    }
}

TEST(Winograd, BadInputGivesErrors) {
  Transforms t;
  std::string error;
  EXPECT_FALSE(buildTransforms(2, 3, pts({{0, 1}, {1, 1}}), true, t, error));
  EXPECT_NE(error.find("needs 3 finite points"), std::string::npos) << error;
  EXPECT_FALSE(
      buildTransforms(2, 3, pts({{0, 1}, {1, 2}, {2, 4}}), true, t, error));
  EXPECT_NE(error.find("repeated point"), std::string::npos) << error;
  EXPECT_FALSE(
      buildTransforms(2, 3, pts({{0, 1}, {1, 0}, {2, 1}}), true, t, error));
  EXPECT_NE(error.find("zero denominator"), std::string::npos) << error;
  EXPECT_FALSE(buildTransforms(0, 3, {}, true, t, error));
  EXPECT_NE(error.find("at least 1"), std::string::npos) << error;
  std::vector<Rational> p;
  EXPECT_FALSE(getShippedPoints(PointSet::Nova, 2, 3, p, error));
  EXPECT_NE(error.find("no nova point set for F(2,3)"), std::string::npos)
      << error;
}

// NOVA's published kappa2 of the finite Vandermonde, reproduced within 0.1%.
TEST(Winograd, KappaReproducesNovaTable) {
  struct Case {
    PointSet set;
    int m;
    double kappa;
  };
  for (const Case &c : std::vector<Case>{{PointSet::Standard, 4, 42.47},
                                         {PointSet::Nova, 4, 14.55},
                                         {PointSet::Standard, 6, 2074.5},
                                         {PointSet::Nova, 6, 76.64},
                                         {PointSet::Standard, 8, 196899.7},
                                         {PointSet::Nova, 8, 474.10}}) {
    std::vector<Rational> p;
    std::string error;
    ASSERT_TRUE(getShippedPoints(c.set, c.m, 3, p, error)) << error;
    EXPECT_NEAR(vandermondeKappa2(p), c.kappa, 1e-3 * c.kappa)
        << "F(" << c.m << ",3) set " << int(c.set);
  }
}

TEST(Winograd, ErrorMeasuresOfF23ByHand) {
  // From the hand-derived F(2,3) matrices above: squared norms per point
  // (A col, G row, BT row) = (1,1,2), (2,3/4,2), (2,3/4,2), (1,1,2) -> 10;
  // the 1D bound: rows of |AT| times |G_j|_1 |BT_j|_1 = (2,3,3,2) -> 8.
  // Both are invariant under the balancing.
  for (bool balanced : {false, true}) {
    Transforms t;
    std::string error;
    ASSERT_TRUE(buildTransforms(2, 3, pts({{0, 1}, {1, 1}, {-1, 1}}),
                                balanced, t, error));
    EXPECT_DOUBLE_EQ(errorModel2D(t), 10.0);
    EXPECT_DOUBLE_EQ(errorBound1D(t), 8.0);
  }
}

TEST(Winograd, RoundToHalfMatchesIeee) {
  // Hand-picked: ties to even, subnormals, overflow.
  EXPECT_EQ(roundToHalf(1.0f + 0x1p-11f), 1.0f);               // tie -> even
  EXPECT_EQ(roundToHalf(1.0f + 3 * 0x1p-11f), 1.0f + 0x1p-9f); // tie -> even
  EXPECT_EQ(roundToHalf(1.0f + 0x1p-11f + 0x1p-20f), 1.0f + 0x1p-10f);
  EXPECT_EQ(roundToHalf(0x1p-25f), 0.0f);          // tie with 0 -> 0
  EXPECT_EQ(roundToHalf(0x1.8p-25f), 0x1p-24f);    // smallest subnormal
  EXPECT_EQ(roundToHalf(3 * 0x1p-25f), 0x1p-23f);  // 1.5 quanta: tie -> 2
  EXPECT_EQ(roundToHalf(65504.0f), 65504.0f);
  EXPECT_EQ(roundToHalf(65519.0f), 65504.0f);
  EXPECT_TRUE(std::isinf(roundToHalf(65520.0f)));
  EXPECT_EQ(roundToHalf(-2.5f), -2.5f);
  EXPECT_EQ(roundToHalf(0.1f), 0.0999755859375f);
#ifdef __FLT16_MAX__
  // The compiler's float -> _Float16 conversion (IEEE, round to nearest
  // even) on many values across the whole range.
  std::mt19937 gen(3);
  std::uniform_int_distribution<uint32_t> bits;
  for (int q = 0; q < 200000; ++q) {
    uint32_t b = bits(gen);
    float x;
    std::memcpy(&x, &b, 4);
    if (std::isnan(x))
      continue; // NaN payloads are not specified to survive the conversion
    // Concentrate on the fp16 range: exponents -30 .. 17.
    int e = 0;
    x = std::ldexp(std::frexp(x, &e), int(b % 48) - 30);
    float want = float(_Float16(x));
    float got = roundToHalf(x);
    ASSERT_EQ(std::memcmp(&want, &got, 4), 0) << x;
  }
#endif
}

TEST(Winograd, SimulationAgreesWithPublishedFp16Errors) {
  // The numbers: F(6,3) about 7e-3 with {0,±1,±2,±1/2} and about
  // 5e-2 with NOVA's points (fp16 storage, fp32 arithmetic).
  std::vector<Rational> wincnn, nova;
  std::string error;
  ASSERT_TRUE(getWincnnPoints(6, 3, wincnn, error)) << error;
  ASSERT_TRUE(getShippedPoints(PointSet::Nova, 6, 3, nova, error));
  Transforms tw, tn;
  ASSERT_TRUE(buildTransforms(6, 3, wincnn, true, tw, error));
  ASSERT_TRUE(buildTransforms(6, 3, nova, true, tn, error));
  double ew = simulateRelError(tw, SimPrecision::FP16, 2000, 5);
  double en = simulateRelError(tn, SimPrecision::FP16, 2000, 5);
  EXPECT_GT(ew, 5e-3);
  EXPECT_LT(ew, 1e-2);
  EXPECT_GT(en, 3e-2);
  EXPECT_LT(en, 8e-2);
  // fp32 storage: orders of magnitude smaller.
  EXPECT_LT(simulateRelError(tw, SimPrecision::FP32, 500, 5), 1e-5);
  // A transform with one wrong entry must show up as a large error.
  Transforms bad = tw;
  bad.bt[3] += 0.25;
  EXPECT_GT(simulateRelError(bad, SimPrecision::FP32, 200, 5), 1e-2);
}

TEST(Winograd, OursNotWorseThanStandardOrNovaInFp16) {
  for (int m : {4, 6, 8}) {
    SCOPED_TRACE("F(" + std::to_string(m) + ",3)");
    std::string error;
    auto err = [&](PointSet set) {
      std::vector<Rational> p;
      Transforms t;
      EXPECT_TRUE(getShippedPoints(set, m, 3, p, error)) << error;
      EXPECT_TRUE(buildTransforms(m, 3, p, true, t, error)) << error;
      return simulateRelError(t, SimPrecision::FP16, 1000, 11);
    };
    double ours = err(PointSet::Ours);
    EXPECT_LT(ours, err(PointSet::Standard));
    EXPECT_LT(ours, err(PointSet::Nova));
  }
}

TEST(Winograd, SearchIsDeterministicAndReachesNovaKappa) {
  SearchOptions o;
  o.m = 4;
  o.r = 3;
  o.objective = Objective::Kappa;
  o.restarts = 3;
  o.generations = 60;
  o.seed = 9;
  SearchResult a, b;
  std::string error;
  ASSERT_TRUE(searchPoints(o, a, error)) << error;
  ASSERT_TRUE(searchPoints(o, b, error)) << error;
  ASSERT_EQ(a.finite.size(), 5u);
  for (size_t q = 0; q < a.finite.size(); ++q) {
    EXPECT_EQ(a.finite[q].num, b.finite[q].num);
    EXPECT_EQ(a.finite[q].den, b.finite[q].den);
  }
  EXPECT_LE(vandermondeKappa2(a.finite), 14.55 * 1.001);
  Transforms t;
  EXPECT_TRUE(buildTransforms(4, 3, a.finite, true, t, error)) << error;
}

TEST(Winograd, Fp16SearchBeatsStandardPoints) {
  SearchOptions o;
  o.m = 4;
  o.r = 3;
  o.objective = Objective::FP16;
  o.restarts = 2;
  o.generations = 40;
  o.simTiles = 100;
  SearchResult res;
  std::string error;
  ASSERT_TRUE(searchPoints(o, res, error)) << error;
  std::vector<Rational> standard;
  ASSERT_TRUE(getShippedPoints(PointSet::Standard, 4, 3, standard, error));
  PointReport found, base;
  ASSERT_TRUE(evaluatePoints(4, 3, res.finite, 1000, 21, found, error));
  ASSERT_TRUE(evaluatePoints(4, 3, standard, 1000, 21, base, error));
  EXPECT_TRUE(found.verified);
  // Standard {0,±1,±2}: about 3.8e-3; the search finds about 1.7e-3.
  EXPECT_LT(found.fp16Error, 0.6 * base.fp16Error);
}

// The shipped 'ours' table is what the documented search command prints:
// lowbit-nova --m M --r R --objective fp16 --reciprocal --max-den 8.
TEST(Winograd, ShippedOursIsReproducedBySearch) {
  for (auto [m, r] : std::vector<std::pair<int, int>>{
           {2, 3}, {4, 3}, {6, 3}, {8, 3}, {2, 5}, {4, 5}}) {
    SCOPED_TRACE("F(" + std::to_string(m) + "," + std::to_string(r) + ")");
    SearchOptions o;
    o.m = m;
    o.r = r;
    o.objective = Objective::FP16;
    o.reciprocal = true;
    o.maxDen = 8;
    o.seed = 1;
    SearchResult res;
    std::vector<Rational> shipped;
    std::string error;
    ASSERT_TRUE(searchPoints(o, res, error)) << error;
    ASSERT_TRUE(getShippedPoints(PointSet::Ours, m, r, shipped, error));
    ASSERT_EQ(res.finite.size(), shipped.size());
    for (size_t q = 0; q < shipped.size(); ++q)
      EXPECT_TRUE(res.finite[q].num == shipped[q].num &&
                  res.finite[q].den == shipped[q].den)
          << q;
  }
}

TEST(Winograd, ParsePoints) {
  std::vector<Rational> p;
  std::string error;
  ASSERT_TRUE(parsePoints(" 0, 1/2,-1/2 ,4/2", p, error)) << error;
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[1].num, 1);
  EXPECT_EQ(p[1].den, 2);
  EXPECT_EQ(p[2].num, -1);
  EXPECT_EQ(p[3].num, 2); // reduced
  EXPECT_EQ(p[3].den, 1);
  EXPECT_FALSE(parsePoints("0,,1", p, error));
  EXPECT_NE(error.find("empty entry"), std::string::npos) << error;
  EXPECT_FALSE(parsePoints("1/-2", p, error));
  EXPECT_FALSE(parsePoints("0.5", p, error));
  EXPECT_FALSE(parsePoints("3/0", p, error));
  EXPECT_NE(error.find("zero denominator"), std::string::npos) << error;
  std::vector<Rational> w;
  ASSERT_TRUE(getWincnnPoints(6, 3, w, error));
  ASSERT_TRUE(parsePoints("0,1,-1,2,-2,1/2,-1/2", p, error));
  ASSERT_EQ(w.size(), p.size());
  for (size_t q = 0; q < w.size(); ++q)
    EXPECT_TRUE(w[q].num == p[q].num && w[q].den == p[q].den) << q;
}

} // namespace
