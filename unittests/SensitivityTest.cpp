//===- SensitivityTest.cpp - calibration samples and sensitivity math -----===//
#include "lib/Calibration/Sensitivity.h"
#include "lib/Calibration/Statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace lowbit::calibration;

namespace {

TEST(CalibrationSamples, FirstRowsOfHessianTapsAreKept) {
  // Two batches of 200 rows x 2 channels; row r = [r, -r].
  TensorStatistics s;
  std::string error;
  for (int batch = 0; batch < 2; ++batch) {
    std::vector<float> x;
    for (int r = 0; r < 200; ++r) {
      x.push_back(float(batch * 200 + r));
      x.push_back(-float(batch * 200 + r));
    }
    ASSERT_TRUE(accumulate(s, x.data(), {200, 2}, 1, true, error)) << error;
  }
  ASSERT_EQ(s.sampleRows, kSampleRows);
  ASSERT_EQ(s.samples.size(), size_t(kSampleRows * 2));
  for (int64_t r = 0; r < kSampleRows; ++r) {
    EXPECT_EQ(s.samples[2 * r], float(r));
    EXPECT_EQ(s.samples[2 * r + 1], -float(r));
  }
  // Without the Hessian nothing is kept.
  TensorStatistics plain;
  std::vector<float> x = {1, 2};
  ASSERT_TRUE(accumulate(plain, x.data(), {1, 2}, 1, false, error)) << error;
  EXPECT_EQ(plain.sampleRows, 0);

  // The sidecar round trip keeps them.
  std::string path = ::testing::TempDir() + "/samples_stats.npz";
  Statistics stats;
  stats["fc"] = s;
  ASSERT_TRUE(writeStatistics(path, stats, error)) << error;
  Statistics back;
  ASSERT_TRUE(readStatistics(path, back, error)) << error;
  EXPECT_EQ(back["fc"].sampleRows, kSampleRows);
  EXPECT_EQ(back["fc"].samples, s.samples);
  std::remove(path.c_str());
}

TEST(Sensitivity, PerTokenQuantizationOnTheOneGrid) {
  // 6 bits: scale = 31 / 31 = 1; 0.5 rounds half to even (0), 1.5 to 2.
  std::vector<float> x = {31, 0.5f, 1.5f, 0, 0, 0};
  std::vector<float> q = quantizeRowsDynamic(x.data(), 2, 3, 6);
  EXPECT_EQ(q, (std::vector<float>{31, 0, 2, 0, 0, 0}));
}

TEST(Sensitivity, HandComputedOutputErrors) {
  // W = identity (exact on any per-channel grid): err = |Q(x) - x| / |x|.
  std::vector<float> x = {31, 0.5f};
  std::vector<float> w = {1, 0, 0, 1};
  std::vector<double> errors;
  std::string error;
  ASSERT_TRUE(measureOutputErrors(x.data(), 1, 2, w.data(), 2, 6, 0,
                                  {0, 6, 8}, errors, error))
      << error;
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0], 0.0);
  EXPECT_NEAR(errors[1], 0.5 / std::sqrt(961.25), 1e-12);
  // 8 bits: scale = 31/127 in f32; 0.5 / scale = 2.048 -> 2.
  double s8 = double(31.0f / 127.0f);
  EXPECT_NEAR(errors[2], std::fabs(2 * s8 - 0.5) / std::sqrt(961.25), 1e-7);

  // Weight error alone (float activations): w = [1, 0.3] at 6 bits per
  // channel has scale 1/31, 0.3 * 31 = 9.3 -> 9; x = [1, 1].
  std::vector<float> x2 = {1, 1}, w2 = {1, 0.3f};
  ASSERT_TRUE(measureOutputErrors(x2.data(), 1, 2, w2.data(), 1, 6, 128, {0},
                                  errors, error))
      << error;
  EXPECT_NEAR(errors[0], std::fabs(1 + 9.0 / 31 - 1.3) / 1.3, 1e-6);

  EXPECT_FALSE(measureOutputErrors(x.data(), 1, 2, w.data(), 2, 6, 0, {9},
                                   errors, error));
  EXPECT_NE(error.find("out of range"), std::string::npos) << error;
}

} // namespace
