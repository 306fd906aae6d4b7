//===- WinogradTest.cpp - Toom-Cook construction, point sets, search ------===//
//
// The expected values here are independent of lib/Numerics: hand-derived
// matrices, a float64 direct convolution, and NOVA's published condition
// numbers.
//
//===----------------------------------------------------------------------===//

#include "lib/Numerics/Winograd.h"

#include <gtest/gtest.h>

#include <cmath>
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
      {PointSet::Nova, 8, 3}};
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

} // namespace
