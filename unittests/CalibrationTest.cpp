//===- CalibrationTest.cpp - lib/Calibration statistics and sidecar -------===//
#include "lib/Calibration/Statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

using namespace lowbit::calibration;

namespace {

TEST(CalibrationStatistics, PerChannelAlongTheLastAxis) {
  // x [2, 3]: channels are columns.
  std::vector<float> x = {1, -2, 0.5f, -3, 4, 0};
  TensorStatistics s;
  std::string error;
  ASSERT_TRUE(accumulate(s, x.data(), {2, 3}, 1, false, error)) << error;
  EXPECT_EQ(s.channels, 3);
  EXPECT_EQ(s.count, 2);
  EXPECT_EQ(s.absMax, (std::vector<float>{3, 4, 0.5f}));
  EXPECT_EQ(s.meanAbs(), (std::vector<float>{2, 3, 0.25f}));
  EXPECT_EQ(s.tensorAbsMax(), 4.0f);
  EXPECT_TRUE(s.hessian.empty());
  double total = 0;
  for (double c : s.histogram)
    total += c;
  EXPECT_EQ(total, 6);
  EXPECT_EQ(s.histogramMax, 4.0);
}

TEST(CalibrationStatistics, ChannelsInTheMiddle) {
  // x [2, 3, 2] with channels along axis 1: channel c holds c + 1 everywhere
  // in sample 0 and -(c + 1) * 2 in sample 1.
  std::vector<float> x;
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int w = 0; w < 2; ++w)
        x.push_back(n == 0 ? float(c + 1) : -2.0f * float(c + 1));
  TensorStatistics s;
  std::string error;
  ASSERT_TRUE(accumulate(s, x.data(), {2, 3, 2}, 1, false, error)) << error;
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.absMax, (std::vector<float>{2, 4, 6}));
  EXPECT_EQ(s.meanAbs(), (std::vector<float>{1.5f, 3, 4.5f}));
}

TEST(CalibrationStatistics, HessianIsTheSumOfOuterProducts) {
  std::vector<float> a = {1, 2, 3, 4}; // rows (1, 2), (3, 4)
  std::vector<float> b = {-1, 0};      // row (-1, 0)
  TensorStatistics s;
  std::string error;
  ASSERT_TRUE(accumulate(s, a.data(), {2, 2}, 1, true, error)) << error;
  ASSERT_TRUE(accumulate(s, b.data(), {1, 2}, 1, true, error)) << error;
  EXPECT_EQ(s.count, 3);
  // 1+9+1, 2+12, 2+12, 4+16
  EXPECT_EQ(s.hessian, (std::vector<double>{11, 14, 14, 20}));
}

TEST(CalibrationStatistics, HistogramWidensAndKeepsCounts) {
  TensorStatistics s;
  std::string error;
  // 1000 values spread over [0, 1), then one at 3.5: the range doubles twice.
  std::vector<float> first(1000);
  for (int i = 0; i < 1000; ++i)
    first[i] = (i + 0.5f) / 1000.0f;
  ASSERT_TRUE(accumulate(s, first.data(), {1000, 1}, 1, false, error));
  EXPECT_FLOAT_EQ(s.histogramMax, 0.9995f);
  float big = 3.5f;
  ASSERT_TRUE(accumulate(s, &big, {1, 1}, 1, false, error));
  EXPECT_FLOAT_EQ(s.histogramMax, 4 * 0.9995f);
  double total = 0;
  for (double c : s.histogram)
    total += c;
  EXPECT_EQ(total, 1001);
  EXPECT_EQ(s.percentile(100), 3.5);
  // The 50th percentile of |x| is ~0.5; the estimate is the upper edge of
  // its bin (width 4 * 0.9995 / 2048).
  double width = s.histogramMax / kHistogramBins;
  double p50 = s.percentile(50);
  EXPECT_GE(p50, 0.5005 - 1e-6);
  EXPECT_LE(p50, 0.5005 + width + 1e-6);
  // Nothing lies between ~1 and 3.5: the 99.95th percentile is 3.5's bin.
  EXPECT_GT(s.percentile(99.95), 3.49);
}

TEST(CalibrationStatistics, Errors) {
  std::string error;
  TensorStatistics s;
  std::vector<float> x = {1, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_FALSE(accumulate(s, x.data(), {1, 2}, 1, false, error));
  EXPECT_NE(error.find("not finite"), std::string::npos) << error;
  TensorStatistics t;
  std::vector<float> y = {1, 2, 3, 4, 5, 6};
  EXPECT_FALSE(accumulate(t, y.data(), {2, 3}, 2, false, error));
  EXPECT_NE(error.find("out of range"), std::string::npos) << error;
  EXPECT_FALSE(accumulate(t, y.data(), {2, 3}, 0, true, error));
  EXPECT_NE(error.find("last dimension"), std::string::npos) << error;
  ASSERT_TRUE(accumulate(t, y.data(), {2, 3}, 1, false, error));
  EXPECT_FALSE(accumulate(t, y.data(), {3, 2}, 1, false, error));
  EXPECT_NE(error.find("does not match"), std::string::npos) << error;
}

TEST(CalibrationStatistics, KeysSplitAtTheLastSlash) {
  std::string layer, stat;
  EXPECT_TRUE(splitStatisticsKey("/enc/layer.0/MatMul/hessian", layer, stat));
  EXPECT_EQ(layer, "/enc/layer.0/MatMul");
  EXPECT_EQ(stat, "hessian");
  EXPECT_FALSE(splitStatisticsKey("/enc/layer.0/MatMul", layer, stat));
  EXPECT_FALSE(splitStatisticsKey("fc1", layer, stat));
  EXPECT_FALSE(splitStatisticsKey("/absmax", layer, stat));
}

TEST(CalibrationStatistics, SidecarRoundTrip) {
  Statistics stats;
  std::string error;
  std::vector<float> x = {1, -2, 0.5f, -3, 4, 0.25f};
  ASSERT_TRUE(accumulate(stats["a/fc"], x.data(), {2, 3}, 1, true, error));
  ASSERT_TRUE(accumulate(stats["conv"], x.data(), {1, 2, 3}, 1, false, error));
  std::string path = ::testing::TempDir() + "calibration_round_trip.npz";
  ASSERT_TRUE(writeStatistics(path, stats, error)) << error;
  Statistics back;
  ASSERT_TRUE(readStatistics(path, back, error)) << error;
  std::remove(path.c_str());
  ASSERT_EQ(back.size(), 2u);
  for (const auto &[name, s] : stats) {
    const TensorStatistics &r = back[name];
    EXPECT_EQ(r.channels, s.channels) << name;
    EXPECT_EQ(r.count, s.count) << name;
    EXPECT_EQ(r.absMax, s.absMax) << name;
    EXPECT_EQ(r.histogram, s.histogram) << name;
    EXPECT_EQ(r.histogramMax, s.histogramMax) << name;
    EXPECT_EQ(r.hessian, s.hessian) << name;
    for (int64_t c = 0; c < s.channels; ++c)
      EXPECT_NEAR(r.sumAbs[c], s.sumAbs[c], 1e-6) << name;
    EXPECT_EQ(r.percentile(99.9), s.percentile(99.9)) << name;
  }
  EXPECT_FALSE(readStatistics(path, back, error));
}

} // namespace
