//===- NumericsClipSearchTest.cpp - AWQ clip search and gaussian-mse ------===//

#include "lib/Numerics/ClipSearch.h"
#include "lib/Numerics/Rtn.h"
#include "NumericsTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace lowbit::numerics;

namespace {

// Float64 reference of the per-slot objective for ratio r.
double refSlotError(const std::vector<float> &w, int64_t n, int64_t k,
                    const std::vector<float> *x, int64_t m, int bits,
                    bool sym, int64_t g, int64_t row, int64_t grp, double r) {
  const int lo = sym ? -((1 << (bits - 1)) - 1) : 0;
  const int hi = sym ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  const int64_t c0 = grp * g;
  double mn = 1e300, mx = -1e300;
  for (int64_t c = c0; c < c0 + g; ++c) {
    mn = std::min(mn, double(w[row * k + c]));
    mx = std::max(mx, double(w[row * k + c]));
  }
  mn *= r;
  mx *= r;
  double scale = 1.0;
  int zp = 0;
  if (sym) {
    double amax = std::max(std::fabs(mn), std::fabs(mx));
    scale = amax > 0 ? amax / hi : 1.0;
  } else {
    mn = std::min(mn, 0.0);
    mx = std::max(mx, 0.0);
    scale = (mx - mn) / double(hi - lo);
    zp = int(std::min<double>(hi, std::max<double>(lo, numtest::rhe(-mn / scale))));
  }
  std::vector<double> d(g);
  for (int64_t j = 0; j < g; ++j) {
    double v = w[row * k + c0 + j];
    double q = std::min<double>(hi, std::max<double>(lo, numtest::rhe(v / scale) + zp));
    d[j] = v - (q - zp) * scale;
  }
  (void)n;
  if (!x) {
    double e = 0;
    for (double v : d)
      e += v * v;
    return e;
  }
  double e = 0;
  for (int64_t s = 0; s < m; ++s) {
    double acc = 0;
    for (int64_t j = 0; j < g; ++j)
      acc += d[j] * (*x)[(c0 + j) * m + s];
    e += acc * acc;
  }
  return e;
}

void checkAgainstReference(bool withX, bool sym, int64_t m) {
  const int64_t n = 6, k = 32, g = 8;
  auto w = numtest::randomNormal(n * k, 21, 1.0);
  w[3] = 6.0f; // outliers make clipping worthwhile
  w[k + 9] = -5.0f;
  auto x = numtest::correlatedInputs(k, m, 22);
  ClipSearchOptions opts;
  opts.grid = {3, sym, false};
  opts.groupSize = g;
  ClipSearchResult res;
  std::string err;
  ASSERT_TRUE(clipSearch(w.data(), n, k, withX ? x.data() : nullptr, m, opts,
                         res, err))
      << err;
  ASSERT_EQ(res.ratios.size(), size_t(n * (k / g)));
  int clipped = 0;
  for (int64_t row = 0; row < n; ++row)
    for (int64_t grp = 0; grp < k / g; ++grp) {
      double bestE = 1e300, bestR = 1.0;
      std::vector<double> errs;
      for (int i = 0; i <= 20; ++i) {
        double r = 1.0 - i * 0.5 / 20;
        double e = refSlotError(w, n, k, withX ? &x : nullptr, m, 3, sym, g,
                                row, grp, r);
        errs.push_back(e);
        if (e < bestE) {
          bestE = e;
          bestR = r;
        }
      }
      float got = res.ratios[row * (k / g) + grp];
      int gi = int(std::lround((1.0 - got) / 0.025));
      ASSERT_GE(gi, 0);
      ASSERT_LE(gi, 20);
      // Same ratio, or one whose reference error ties the best (float noise).
      EXPECT_LE(errs[gi], bestE * (1 + 1e-5) + 1e-12)
          << "row " << row << " group " << grp << " got " << got << " ref "
          << bestR;
      clipped += got < 1.0f;
    }
  EXPECT_GT(clipped, 0); // the outlier groups are clipped
  // The result is RTN with the chosen ratios.
  QuantizedWeights rt;
  ASSERT_TRUE(quantizeRtnClipped(w.data(), n, k, opts.grid, g, res.ratios, rt,
                                 err));
  EXPECT_EQ(rt.q, res.weights.q);
  EXPECT_EQ(rt.scales, res.weights.scales);
}

TEST(NumericsClipSearch, OutputMseMatchesReferenceGram) {
  checkAgainstReference(true, true, 24); // m > G: Gram-matrix path
}
TEST(NumericsClipSearch, OutputMseMatchesReferenceDirect) {
  checkAgainstReference(true, false, 5); // m < G: direct D X path
}
TEST(NumericsClipSearch, WeightMseMatchesReference) {
  checkAgainstReference(false, true, 1);
  checkAgainstReference(false, false, 1);
}

TEST(NumericsClipSearch, NeverWorseThanRtnAndPerTensor) {
  const int64_t n = 16, k = 64, m = 32;
  auto w = numtest::randomNormal(n * k, 5, 1.0);
  w[100] = 9.0f;
  auto x = numtest::correlatedInputs(k, m, 6);
  for (int64_t g : {int64_t(0), k, int64_t(16)}) {
    ClipSearchOptions opts;
    opts.grid = {4, true, false};
    opts.groupSize = g;
    ClipSearchResult res;
    QuantizedWeights rtn;
    std::string err;
    ASSERT_TRUE(clipSearch(w.data(), n, k, x.data(), m, opts, res, err)) << err;
    ASSERT_TRUE(quantizeRtn(w.data(), n, k, opts.grid, g, rtn, err));
    auto outErr = [&](const std::vector<float> &wq) {
      double e = 0;
      for (int64_t r = 0; r < n; ++r)
        for (int64_t s = 0; s < m; ++s) {
          double acc = 0;
          for (int64_t c = 0; c < k; ++c)
            acc += (double(w[r * k + c]) - wq[r * k + c]) * x[c * m + s];
          e += acc * acc;
        }
      return e;
    };
    double eClip = outErr(res.weights.dequantize()), eRtn = outErr(rtn.dequantize());
    if (g != 16) { // per-tensor / per-channel objectives are exact
      EXPECT_LE(eClip, eRtn * (1 + 1e-6)) << g;
    }
    EXPECT_LT(eClip, eRtn) << "clipping should help with an outlier, g=" << g;
    if (g == 0) {
      EXPECT_EQ(res.ratios.size(), 1u);
    }
  }
  ClipSearchOptions bad;
  bad.groupSize = 7;
  ClipSearchResult res;
  std::string err;
  EXPECT_FALSE(clipSearch(w.data(), n, k, x.data(), m, bad, res, err));
  EXPECT_EQ(err, "group size 7 does not divide K=64");
  bad.groupSize = 0;
  bad.grid.bits = 12;
  EXPECT_FALSE(clipSearch(w.data(), n, k, x.data(), m, bad, res, err));
  EXPECT_NE(err.find("out of range"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// Gaussian-MSE-optimal clipping
//===----------------------------------------------------------------------===//

// Monte Carlo MSE of a uniform grid on fixed N(0,1) samples (independent of
// the library's integration): levels (i + off) * step, i in [lo, hi].
double mcMse(const std::vector<double> &xs, double step, int lo, int hi,
             double off) {
  double acc = 0;
  for (double x : xs) {
    double i = std::floor(x / step - off + 0.5); // nearest level index
    i = std::min<double>(hi, std::max<double>(lo, i));
    double d = x - (i + off) * step;
    acc += d * d;
  }
  return acc / double(xs.size());
}

TEST(NumericsGaussianMse, KnownValues) {
  double a;
  std::string err;
  // 1 bit mid-rise (levels +-alpha): alpha = E|x| = sqrt(2/pi).
  ASSERT_TRUE(gaussianMseAlpha(1, GaussianGrid::MidRise, a, err)) << err;
  EXPECT_NEAR(a, std::sqrt(2.0 / M_PI), 1e-7);
  // Max (1960) optimum uniform quantizers: N=3 step 1.224, N=4 step 0.9957,
  // N=8 step 0.5860, N=16 step 0.3352; high-precision values (40-digit
  // closed-form cell integrals + root of the derivative) for the mid-rise
  // grids: 1.4935300289, 2.0510680, 2.5140045915, 3.9222044167.
  ASSERT_TRUE(gaussianMseAlpha(2, GaussianGrid::Symmetric, a, err));
  EXPECT_NEAR(a, 1.224, 1e-3);
  ASSERT_TRUE(gaussianMseAlpha(2, GaussianGrid::MidRise, a, err));
  EXPECT_NEAR(a, 1.4935300289, 1e-6);
  EXPECT_NEAR(a / 1.5, 0.9957, 1e-4);
  ASSERT_TRUE(gaussianMseAlpha(3, GaussianGrid::MidRise, a, err));
  EXPECT_NEAR(a / 3.5, 0.5860, 1e-4);
  ASSERT_TRUE(gaussianMseAlpha(4, GaussianGrid::MidRise, a, err));
  EXPECT_NEAR(a, 2.5140045915, 1e-6);
  EXPECT_NEAR(a / 7.5, 0.3352, 1e-4);
  ASSERT_TRUE(gaussianMseAlpha(8, GaussianGrid::MidRise, a, err));
  EXPECT_NEAR(a, 3.9222044167, 1e-5);
  // lowbit's 15-level symmetric 4-bit grid clips a little tighter than the
  // 16-level mid-rise grid.
  double sym4;
  ASSERT_TRUE(gaussianMseAlpha(4, GaussianGrid::Symmetric, sym4, err));
  EXPECT_GT(sym4, 2.3);
  EXPECT_LT(sym4, 2.5140045915);
  // Out-of-range bit widths.
  EXPECT_FALSE(gaussianMseAlpha(1, GaussianGrid::Symmetric, a, err));
  EXPECT_NE(err.find("out of range"), std::string::npos);
  EXPECT_FALSE(gaussianMseAlpha(9, GaussianGrid::MidRise, a, err));
  EXPECT_FALSE(gaussianMseAlpha(0, GaussianGrid::MidRise, a, err));
}

TEST(NumericsGaussianMse, MonteCarloLocalMinimum) {
  std::mt19937 gen(1234);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<double> xs(400000);
  for (auto &x : xs)
    x = nd(gen);
  struct G {
    GaussianGrid grid;
    int minBits;
  } grids[] = {{GaussianGrid::Symmetric, 2},
               {GaussianGrid::SymmetricFullRange, 2},
               {GaussianGrid::MidRise, 1}};
  for (const G &gd : grids)
    for (int b = gd.minBits; b <= 8; ++b) {
      double step;
      std::string err;
      ASSERT_TRUE(gaussianMseStep(b, gd.grid, step, err)) << err;
      int lo, hi;
      double off = 0.0;
      if (gd.grid == GaussianGrid::MidRise) {
        lo = -(1 << (b - 1));
        hi = (1 << (b - 1)) - 1;
        off = 0.5;
      } else {
        hi = (1 << (b - 1)) - 1;
        lo = gd.grid == GaussianGrid::Symmetric ? -hi : -hi - 1;
      }
      double m0 = mcMse(xs, step, lo, hi, off);
      double mLo = mcMse(xs, step * 0.9, lo, hi, off);
      double mHi = mcMse(xs, step * 1.1, lo, hi, off);
      EXPECT_LT(m0, mLo) << "grid " << int(gd.grid) << " bits " << b;
      EXPECT_LT(m0, mHi) << "grid " << int(gd.grid) << " bits " << b;
      // The library's integral agrees with the Monte Carlo estimate.
      double integral = gaussianExpectedMse(b, gd.grid, step);
      EXPECT_NEAR(integral, m0, 0.01 * m0) << "bits " << b;
    }
}

TEST(NumericsGaussianMse, QuantizerUsesStepTimesRms) {
  const int64_t n = 4, k = 32;
  auto w = numtest::randomNormal(n * k, 3, 0.3);
  for (int64_t g : {int64_t(0), k, int64_t(8)}) {
    QuantizedWeights qw;
    std::string err;
    ASSERT_TRUE(quantizeGaussianMse(w.data(), n, k, {4, true, false}, g, qw,
                                    err))
        << err;
    double step;
    ASSERT_TRUE(gaussianMseStep(4, GaussianGrid::Symmetric, step, err));
    const int64_t gs = g == 0 ? n * k : g;
    for (size_t s = 0; s < qw.scales.size(); ++s) {
      double sq = 0;
      for (int64_t j = 0; j < gs; ++j) {
        double v = w[s * gs + j]; // slots are contiguous here
        sq += v * v;
      }
      EXPECT_NEAR(qw.scales[s], step * std::sqrt(sq / gs), 1e-6);
    }
    for (int64_t i = 0; i < n * k; ++i) {
      double v = w[i] / qw.scales[qw.paramIndex(i / k, i % k)];
      if (std::fabs(v - std::floor(v) - 0.5) > 1e-4) {
        EXPECT_EQ(qw.value(i), int(std::min(7.0, std::max(-7.0, numtest::rhe(v)))));
      }
    }
  }
  QuantizedWeights qw;
  std::string err;
  EXPECT_FALSE(quantizeGaussianMse(w.data(), n, k, {4, false, false}, 0, qw, err));
  EXPECT_EQ(err, "gaussian-mse scale needs a symmetric grid");
}

} // namespace
