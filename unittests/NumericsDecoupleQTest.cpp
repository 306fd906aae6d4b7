//===- NumericsDecoupleQTest.cpp - decoupleQ ------------------------------===//

#include "lib/Numerics/DecoupleQ.h"
#include "lib/Numerics/Gptq.h"
#include "lib/Numerics/Rtn.h"
#include "NumericsTestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace lowbit::numerics;

namespace {

// Float64 dequantization of the decoupleQ form, independent of the library.
std::vector<double> refDequant(const QuantizedWeights &qw) {
  std::vector<double> out(qw.n * qw.k);
  const int64_t groups = qw.k / qw.groupSize;
  for (int64_t r = 0; r < qw.n; ++r)
    for (int64_t c = 0; c < qw.k; ++c) {
      int64_t slot = r * groups + c / qw.groupSize;
      out[r * qw.k + c] =
          double(qw.q[r * qw.k + c]) * qw.scales[slot] + qw.offsets[slot];
    }
  return out;
}

TEST(NumericsDecoupleQ, BeatsGptqAtTwoBitsOnCorrelatedInputs) {
  numtest::Problem pb = numtest::makeProblem(48, 128, 256, 77);
  for (int64_t g : {int64_t(128), int64_t(32)}) {
    DecoupleQOptions o;
    o.bits = 2;
    o.groupSize = g;
    o.iterations = 12;
    DecoupleQResult dq;
    std::string err;
    ASSERT_TRUE(quantizeDecoupleQ(pb.w.data(), pb.n, pb.k, pb.h, o, dq, err))
        << err;
    const QuantizedWeights &qw = dq.weights;
    ASSERT_EQ(qw.offsets.size(), size_t(pb.n * (pb.k / g)));
    ASSERT_TRUE(qw.zeroPoints.empty());
    for (int64_t i = 0; i < pb.n * pb.k; ++i) {
      ASSERT_GE(qw.value(i), -2);
      ASSERT_LE(qw.value(i), 1);
    }
    auto deq = refDequant(qw);
    double ldq = numtest::referenceLoss(pb.w, deq, pb.href, pb.n, pb.k);
    EXPECT_NEAR(dq.loss, ldq, 1e-4 * ldq);
    // The history is non-increasing and ends at the final loss.
    ASSERT_EQ(dq.lossHistory.size(), size_t(o.iterations + 1));
    for (size_t i = 1; i < dq.lossHistory.size(); ++i)
      EXPECT_LE(dq.lossHistory[i], dq.lossHistory[i - 1] * (1 + 1e-6)) << i;
    EXPECT_NEAR(dq.lossHistory.back(), ldq, 1e-3 * ldq);
    EXPECT_LT(dq.lossHistory.back(), 0.9 * dq.lossHistory.front());

    for (bool sym : {true, false}) {
      GptqOptions go;
      go.grid = {2, sym, false};
      go.groupSize = g;
      GptqResult gr;
      ASSERT_TRUE(quantizeGptq(pb.w.data(), pb.n, pb.k, pb.h, go, gr, err));
      double lg = numtest::referenceLoss(pb.w, gr.weights.dequantize(),
                                         pb.href, pb.n, pb.k);
      EXPECT_LT(ldq, 0.85 * lg) << "g " << g << " sym " << sym << " decoupleq "
                                << ldq << " gptq " << lg;
    }
  }
}

TEST(NumericsDecoupleQ, PerChannelScaleAndOffsetAreLeastSquaresOptimal) {
  // After the last (s, z) step the gradient of the loss with respect to every
  // row's s and z vanishes: q^T H r = 0 and 1^T H r = 0 (r = w - q s - z).
  numtest::Problem pb = numtest::makeProblem(16, 64, 128, 31);
  DecoupleQOptions o;
  o.bits = 3;
  o.groupSize = 64;
  o.iterations = 4;
  DecoupleQResult dq;
  std::string err;
  ASSERT_TRUE(quantizeDecoupleQ(pb.w.data(), pb.n, pb.k, pb.h, o, dq, err))
      << err;
  auto deq = refDequant(dq.weights);
  const int64_t k = pb.k;
  for (int64_t r = 0; r < pb.n; ++r) {
    double gs = 0, gz = 0, scaleS = 0, scaleZ = 0;
    for (int64_t a = 0; a < k; ++a) {
      double hr = 0, hw = 0;
      for (int64_t b = 0; b < k; ++b) {
        hr += pb.href[a * k + b] * (pb.w[r * k + b] - deq[r * k + b]);
        hw += std::fabs(pb.href[a * k + b] * pb.w[r * k + b]);
      }
      gs += dq.weights.q[r * k + a] * hr;
      gz += hr;
      scaleS += std::fabs(double(dq.weights.q[r * k + a])) * hw;
      scaleZ += hw;
    }
    EXPECT_LT(std::fabs(gs), 1e-4 * scaleS) << "row " << r;
    EXPECT_LT(std::fabs(gz), 1e-4 * scaleZ) << "row " << r;
  }
}

TEST(NumericsDecoupleQ, ImprovesWithBitsAndActOrder) {
  numtest::Problem pb = numtest::makeProblem(24, 96, 192, 5);
  double prev = 1e300;
  for (int bits : {2, 3, 4}) {
    DecoupleQOptions o;
    o.bits = bits;
    o.groupSize = 32;
    DecoupleQResult dq, dqAct;
    std::string err;
    ASSERT_TRUE(quantizeDecoupleQ(pb.w.data(), pb.n, pb.k, pb.h, o, dq, err))
        << err;
    EXPECT_LT(dq.loss, 0.5 * prev) << bits;
    prev = dq.loss;
    // The inputs have high-energy channels: act-order helps a lot.
    o.actOrder = true;
    ASSERT_TRUE(
        quantizeDecoupleQ(pb.w.data(), pb.n, pb.k, pb.h, o, dqAct, err));
    EXPECT_LT(dqAct.loss, 0.8 * dq.loss) << bits;
  }
}

TEST(NumericsDecoupleQ, IntegerStepMatchesUnblockedReference) {
  // iterations = 0: the result is the first integer step, a GPTQ sweep with
  // the fixed min/max affine grid of every (row, group). Reference: the
  // unblocked column-by-column sweep in float64.
  numtest::Problem pb = numtest::makeProblem(20, 192, 256, 41);
  const int64_t n = pb.n, k = pb.k, g = 48, groups = k / g;
  for (bool act : {false, true}) {
    DecoupleQOptions o;
    o.bits = 3;
    o.groupSize = g;
    o.iterations = 0;
    o.actOrder = act;
    DecoupleQResult dq;
    std::string err;
    ASSERT_TRUE(quantizeDecoupleQ(pb.w.data(), n, k, pb.h, o, dq, err)) << err;
    ASSERT_EQ(dq.lossHistory.size(), 1u);
    // Initial grid: s = (max - min) / 7, z = min + 4 s.
    std::vector<double> s(n * groups), z(n * groups);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t gg = 0; gg < groups; ++gg) {
        double mn = 1e300, mx = -1e300;
        for (int64_t c = gg * g; c < (gg + 1) * g; ++c) {
          mn = std::min(mn, double(pb.w[r * k + c]));
          mx = std::max(mx, double(pb.w[r * k + c]));
        }
        s[r * groups + gg] = (mx - mn) / 7.0;
        z[r * groups + gg] = mn + 4.0 * s[r * groups + gg];
        EXPECT_NEAR(dq.weights.scales[r * groups + gg], s[r * groups + gg],
                    1e-6 * s[r * groups + gg]);
        EXPECT_NEAR(dq.weights.offsets[r * groups + gg], z[r * groups + gg],
                    1e-6 * (std::fabs(mn) + 4.0 * s[r * groups + gg]));
      }
    // Unblocked sweep.
    std::vector<double> diag(k);
    for (int64_t i = 0; i < k; ++i)
      diag[i] = pb.href[i * k + i];
    std::vector<int64_t> perm(k);
    for (int64_t i = 0; i < k; ++i)
      perm[i] = i;
    if (act)
      std::stable_sort(perm.begin(), perm.end(),
                       [&](int64_t a, int64_t b) { return diag[a] > diag[b]; });
    double damp = 0;
    for (double d : diag)
      damp += d;
    damp *= 0.01 / k;
    std::vector<double> hp(k * k);
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = 0; b < k; ++b)
        hp[a * k + b] = pb.href[perm[a] * k + perm[b]] + (a == b ? damp : 0.0);
    auto lh = numtest::cholLower(numtest::spdInverse(hp, k), k);
    std::vector<double> W(pb.w.begin(), pb.w.end());
    int64_t mismatch = 0;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t c = perm[j];
      for (int64_t r = 0; r < n; ++r) {
        double ss = s[r * groups + c / g], zz = z[r * groups + c / g];
        double v = W[r * k + c];
        double q = std::min(3.0, std::max(-4.0, numtest::rhe((v - zz) / ss)));
        mismatch += int(q) != dq.weights.value(r * k + c);
        double err1 = (v - (q * ss + zz)) / lh[j * k + j];
        for (int64_t l = j + 1; l < k; ++l)
          W[r * k + perm[l]] -= err1 * lh[l * k + j];
      }
    }
    EXPECT_LE(mismatch, n * k / 200) << "act " << act;
  }
}

TEST(NumericsDecoupleQ, GroupScaleAndOffsetConvergeToLeastSquares) {
  // With many Jacobi sweeps the (s, z) step reaches the joint least-squares
  // optimum over all groups of a row: every group's gradient vanishes.
  numtest::Problem pb = numtest::makeProblem(8, 64, 128, 13);
  const int64_t k = pb.k, g = 16, groups = k / g;
  DecoupleQOptions o;
  o.bits = 2;
  o.groupSize = g;
  o.iterations = 1;
  o.szSweeps = 300;
  DecoupleQResult dq;
  std::string err;
  ASSERT_TRUE(quantizeDecoupleQ(pb.w.data(), pb.n, k, pb.h, o, dq, err)) << err;
  auto deq = refDequant(dq.weights);
  for (int64_t r = 0; r < pb.n; ++r) {
    std::vector<double> hr(k, 0.0), hw(k, 0.0);
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = 0; b < k; ++b) {
        hr[a] += pb.href[a * k + b] * (pb.w[r * k + b] - deq[r * k + b]);
        hw[a] += std::fabs(pb.href[a * k + b] * pb.w[r * k + b]);
      }
    for (int64_t gg = 0; gg < groups; ++gg) {
      double gs = 0, gz = 0, sc = 0;
      for (int64_t c = gg * g; c < (gg + 1) * g; ++c) {
        gs += dq.weights.q[r * k + c] * hr[c];
        gz += hr[c];
        sc += 2.0 * hw[c];
      }
      EXPECT_LT(std::fabs(gs), 1e-3 * sc) << "row " << r << " group " << gg;
      EXPECT_LT(std::fabs(gz), 1e-3 * sc) << "row " << r << " group " << gg;
    }
  }
}

TEST(NumericsDecoupleQ, RejectsBadInput) {
  numtest::Problem pb = numtest::makeProblem(4, 64, 32, 2);
  DecoupleQOptions o;
  DecoupleQResult dq;
  std::string err;
  o.groupSize = 64;
  o.bits = 1;
  EXPECT_FALSE(quantizeDecoupleQ(pb.w.data(), pb.n, pb.k, pb.h, o, dq, err));
  EXPECT_EQ(err, "bit width 1 is out of range [2, 8]");
  o.bits = 2;
  o.groupSize = 24;
  EXPECT_FALSE(quantizeDecoupleQ(pb.w.data(), pb.n, pb.k, pb.h, o, dq, err));
  EXPECT_EQ(err, "group size 24 does not divide K=64");
  o.groupSize = 0;
  EXPECT_FALSE(quantizeDecoupleQ(pb.w.data(), pb.n, pb.k, pb.h, o, dq, err));
  EXPECT_NE(err.find("per-tensor"), std::string::npos);
}

} // namespace
