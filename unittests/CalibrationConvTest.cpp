//===- CalibrationConvTest.cpp - conv patch Hessians of lib/Calibration ---===//
//
// accumulateConvHessian against two independent references written here with
// plain loops: (1) the patch Hessian built position by position from the
// ONNX Conv indexing, (2) the identity wᵀ H_g w = Σ over output positions of
// y², y the output of a direct convolution with filter row w.
//
//===----------------------------------------------------------------------===//
#include "lib/Calibration/Statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace lowbit::calibration;

namespace {

struct Case {
  int64_t n, c, h, w;
  ConvGeometry g;
};

int64_t outSize(int64_t in, int64_t padBegin, int64_t padEnd, int64_t k,
                int64_t stride, int64_t dilation) {
  return (in + padBegin + padEnd - dilation * (k - 1) - 1) / stride + 1;
}

std::vector<float> randomInput(const Case &t, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(t.n * t.c * t.h * t.w);
  for (float &v : x)
    v = normal(rng);
  return x;
}

/// Reference (1): for every output position and group, the patch written
/// out as a padded input lookup, then H += p pᵀ element by element.
std::vector<double> referenceHessian(const Case &t, const std::vector<float> &x) {
  const ConvGeometry &g = t.g;
  int64_t cg = t.c / g.groups, kh = g.kernel[0], kw = g.kernel[1];
  int64_t k = cg * kh * kw;
  int64_t oh = outSize(t.h, g.pads[0], g.pads[2], kh, g.strides[0],
                       g.dilations[0]);
  int64_t ow = outSize(t.w, g.pads[1], g.pads[3], kw, g.strides[1],
                       g.dilations[1]);
  // The zero-padded input.
  int64_t ph = t.h + g.pads[0] + g.pads[2], pw = t.w + g.pads[1] + g.pads[3];
  std::vector<double> padded(t.n * t.c * ph * pw, 0.0);
  for (int64_t b = 0; b < t.n; ++b)
    for (int64_t ch = 0; ch < t.c; ++ch)
      for (int64_t y = 0; y < t.h; ++y)
        for (int64_t z = 0; z < t.w; ++z)
          padded[((b * t.c + ch) * ph + y + g.pads[0]) * pw + z + g.pads[1]] =
              x[((b * t.c + ch) * t.h + y) * t.w + z];
  std::vector<double> h(g.groups * k * k, 0.0);
  std::vector<double> p(k);
  for (int64_t grp = 0; grp < g.groups; ++grp)
    for (int64_t b = 0; b < t.n; ++b)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t z = 0; z < ow; ++z) {
          int64_t idx = 0;
          for (int64_t cl = 0; cl < cg; ++cl)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j)
                p[idx++] = padded[((b * t.c + grp * cg + cl) * ph + y *
                                   g.strides[0] + i * g.dilations[0]) *
                                      pw +
                                  z * g.strides[1] + j * g.dilations[1]];
          for (int64_t a = 0; a < k; ++a)
            for (int64_t e = 0; e < k; ++e)
              h[(grp * k + a) * k + e] += p[a] * p[e];
        }
  return h;
}

/// Reference (2): Σ over output positions of (conv output of filter row
/// `filt` [C/G, KH, KW] in group `grp`)², by a direct convolution that skips
/// out-of-range taps.
double directConvEnergy(const Case &t, const std::vector<float> &x,
                        const std::vector<double> &filt, int64_t grp) {
  const ConvGeometry &g = t.g;
  int64_t cg = t.c / g.groups, kh = g.kernel[0], kw = g.kernel[1];
  int64_t oh = outSize(t.h, g.pads[0], g.pads[2], kh, g.strides[0],
                       g.dilations[0]);
  int64_t ow = outSize(t.w, g.pads[1], g.pads[3], kw, g.strides[1],
                       g.dilations[1]);
  double energy = 0;
  for (int64_t b = 0; b < t.n; ++b)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t z = 0; z < ow; ++z) {
        double out = 0;
        for (int64_t cl = 0; cl < cg; ++cl)
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              int64_t iy = y * g.strides[0] + i * g.dilations[0] - g.pads[0];
              int64_t iz = z * g.strides[1] + j * g.dilations[1] - g.pads[1];
              if (iy < 0 || iy >= t.h || iz < 0 || iz >= t.w)
                continue;
              out += filt[(cl * kh + i) * kw + j] *
                     x[((b * t.c + grp * cg + cl) * t.h + iy) * t.w + iz];
            }
        energy += out * out;
      }
  return energy;
}

void expectNear(const std::vector<double> &a, const std::vector<double> &b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], b[i], 1e-9 * (1.0 + std::fabs(b[i]))) << "entry " << i;
}

Case strided() {
  // Stride 2, asymmetric padding, dilation 2 in height, 3 input channels,
  // 2 images.
  Case t{2, 3, 9, 8, {}};
  t.g.kernel[0] = 3, t.g.kernel[1] = 2;
  t.g.strides[0] = 2, t.g.strides[1] = 2;
  t.g.pads[0] = 1, t.g.pads[1] = 0, t.g.pads[2] = 2, t.g.pads[3] = 1;
  t.g.dilations[0] = 2, t.g.dilations[1] = 1;
  return t;
}

TEST(CalibrationConvHessian, DenseConvMatchesLoopsOverPatches) {
  Case t = strided();
  std::vector<float> x1 = randomInput(t, 1), x2 = randomInput(t, 2);
  TensorStatistics s;
  std::string error;
  std::vector<int64_t> shape = {t.n, t.c, t.h, t.w};
  ASSERT_TRUE(accumulateConvHessian(s, x1.data(), shape, t.g, error)) << error;
  ASSERT_TRUE(accumulateConvHessian(s, x2.data(), shape, t.g, error)) << error;
  EXPECT_TRUE(s.conv);
  EXPECT_EQ(s.hessianGroups, 1);
  EXPECT_EQ(s.hessianSize, 3 * 3 * 2);
  int64_t oh = outSize(9, 1, 2, 3, 2, 2), ow = outSize(8, 0, 1, 2, 2, 1);
  EXPECT_EQ(s.hessianCount, 2 * 2 * oh * ow);
  std::vector<double> ref = referenceHessian(t, x1), ref2 =
                                                         referenceHessian(t, x2);
  for (size_t i = 0; i < ref.size(); ++i)
    ref[i] += ref2[i];
  expectNear(s.hessian, ref);
}

TEST(CalibrationConvHessian, QuadraticFormIsTheDirectConvOutputEnergy) {
  // Grouped (2 groups of 2 channels) and depthwise (4 groups of 1), with
  // padding, stride and dilation: for a random filter row w of group g,
  // wᵀ H_g w equals Σ y² of a direct convolution.
  for (int64_t groups : {2, 4}) {
    Case t{1, 4, 7, 6, {}};
    t.g.kernel[0] = 3, t.g.kernel[1] = 3;
    t.g.strides[0] = 1, t.g.strides[1] = 2;
    t.g.pads[0] = 1, t.g.pads[1] = 1, t.g.pads[2] = 1, t.g.pads[3] = 0;
    t.g.dilations[0] = 1, t.g.dilations[1] = 2;
    t.g.groups = groups;
    std::vector<float> x = randomInput(t, 7);
    TensorStatistics s;
    std::string error;
    ASSERT_TRUE(accumulateConvHessian(s, x.data(), {1, 4, 7, 6}, t.g, error))
        << error;
    int64_t k = 4 / groups * 9;
    ASSERT_EQ(s.hessianSize, k);
    ASSERT_EQ(s.hessianGroups, groups);
    ASSERT_EQ(s.hessian.size(), size_t(groups * k * k));
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> u(-1, 1);
    for (int64_t grp = 0; grp < groups; ++grp) {
      std::vector<double> w(k);
      for (double &v : w)
        v = u(rng);
      double form = 0;
      for (int64_t a = 0; a < k; ++a)
        for (int64_t e = 0; e < k; ++e)
          form += w[a] * s.hessian[(grp * k + a) * k + e] * w[e];
      double energy = directConvEnergy(t, x, w, grp);
      EXPECT_NEAR(form, energy, 1e-9 * energy) << "groups " << groups
                                               << ", group " << grp;
    }
    expectNear(s.hessian, referenceHessian(t, x));
  }
}

TEST(CalibrationConvHessian, SamplesArePatchesWithTheirTensorMax) {
  Case t = strided();
  std::vector<float> x = randomInput(t, 3);
  TensorStatistics s;
  std::string error;
  ASSERT_TRUE(accumulateConvHessian(s, x.data(), {t.n, t.c, t.h, t.w}, t.g,
                                    error))
      << error;
  int64_t positions = s.hessianCount; // fewer than kSampleRows: all kept
  ASSERT_LT(positions, kSampleRows);
  ASSERT_EQ(s.sampleRows, positions);
  int64_t width = t.c * 3 * 2;
  ASSERT_EQ(s.sampleWidth, width);
  float absMax = 0;
  for (float v : x)
    absMax = std::max(absMax, std::fabs(v));
  // Each sample row is the patch of one distinct position: its Σ p pᵀ over
  // all rows is the full Hessian (groups == 1).
  std::vector<double> h(width * width, 0.0);
  for (int64_t r = 0; r < s.sampleRows; ++r) {
    EXPECT_EQ(s.samplesAbsMax[r], absMax);
    for (int64_t a = 0; a < width; ++a)
      for (int64_t e = 0; e < width; ++e)
        h[a * width + e] += double(s.samples[r * width + a]) *
                            s.samples[r * width + e];
  }
  expectNear(h, referenceHessian(t, x));
}

TEST(CalibrationConvHessian, SampleRowsAreCappedAndSidecarRoundTrips) {
  Case t{1, 2, 40, 40, {}};
  t.g.kernel[0] = t.g.kernel[1] = 3;
  t.g.pads[0] = t.g.pads[1] = t.g.pads[2] = t.g.pads[3] = 1;
  t.g.groups = 2;
  std::vector<float> x = randomInput(t, 5);
  TensorStatistics s;
  std::string error;
  ASSERT_TRUE(accumulate(s, x.data(), {1, 2, 40, 40}, 1, false, error));
  ASSERT_TRUE(accumulateConvHessian(s, x.data(), {1, 2, 40, 40}, t.g, error))
      << error;
  ASSERT_TRUE(accumulateConvHessian(s, x.data(), {1, 2, 40, 40}, t.g, error))
      << error;
  EXPECT_EQ(s.sampleRows, kSampleRows);
  EXPECT_EQ(s.hessianCount, 2 * 1600);
  std::string path = ::testing::TempDir() + "/conv_stats.npz";
  Statistics stats;
  stats["conv/dw"] = s;
  ASSERT_TRUE(writeStatistics(path, stats, error)) << error;
  Statistics back;
  ASSERT_TRUE(readStatistics(path, back, error)) << error;
  std::remove(path.c_str());
  const TensorStatistics &r = back["conv/dw"];
  EXPECT_TRUE(r.conv);
  EXPECT_TRUE(r.geometry == t.g);
  EXPECT_EQ(r.hessianGroups, 2);
  EXPECT_EQ(r.hessianSize, 9);
  EXPECT_EQ(r.hessianCount, 3200);
  EXPECT_EQ(r.hessian, s.hessian);
  EXPECT_EQ(r.samples, s.samples);
  EXPECT_EQ(r.samplesAbsMax, s.samplesAbsMax);
  EXPECT_EQ(r.sampleWidth, 18);
  EXPECT_EQ(r.channels, 2);
  EXPECT_EQ(r.absMax, s.absMax);
}

TEST(CalibrationConvHessian, BadInputIsAnError) {
  std::vector<float> x(2 * 4 * 4, 1.0f);
  std::string error;
  ConvGeometry g;
  g.kernel[0] = g.kernel[1] = 3;
  {
    TensorStatistics s;
    g.groups = 3; // does not divide 2 channels
    EXPECT_FALSE(accumulateConvHessian(s, x.data(), {1, 2, 4, 4}, g, error));
    EXPECT_NE(error.find("groups 3"), std::string::npos) << error;
    g.groups = 1;
  }
  {
    TensorStatistics s;
    EXPECT_FALSE(accumulateConvHessian(s, x.data(), {2, 4, 4}, g, error));
    EXPECT_NE(error.find("NCHW"), std::string::npos) << error;
  }
  {
    TensorStatistics s;
    ASSERT_TRUE(accumulateConvHessian(s, x.data(), {1, 2, 4, 4}, g, error));
    ConvGeometry other = g;
    other.strides[0] = 2;
    EXPECT_FALSE(
        accumulateConvHessian(s, x.data(), {1, 2, 4, 4}, other, error));
    EXPECT_NE(error.find("does not match"), std::string::npos) << error;
  }
  {
    TensorStatistics s;
    std::vector<float> big(1 * 500 * 3 * 3, 0.0f);
    EXPECT_FALSE(accumulateConvHessian(s, big.data(), {1, 500, 3, 3}, g,
                                       error)); // K = 4500
    EXPECT_NE(error.find("above"), std::string::npos) << error;
  }
  {
    TensorStatistics s;
    x[5] = std::nanf("");
    EXPECT_FALSE(accumulateConvHessian(s, x.data(), {1, 2, 4, 4}, g, error));
    EXPECT_NE(error.find("not finite"), std::string::npos) << error;
  }
}

} // namespace
