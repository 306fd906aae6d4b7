//===- NumericsGptqTest.cpp - GPTQ against an unblocked float64 reference -===//

#include "lib/Numerics/Gptq.h"
#include "lib/Numerics/Rtn.h"
#include "NumericsTestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace lowbit::numerics;

namespace {

using numtest::cholLower;
using numtest::spdInverse;

struct Ref {
  std::vector<int> q;
  std::vector<double> deq;
};

// The unblocked, column-by-column GPTQ (no lazy batching) in float64 with
// lowbit's grid and lowbit's group semantics (original-order groups, params
// from the current weights when the group's first column is processed).
Ref referenceGptq(const std::vector<float> &w, int64_t n, int64_t k,
                  std::vector<double> h, int bits, bool sym, bool full,
                  int64_t g, bool actOrder, double percDamp = 0.01) {
  const int lo = sym ? (full ? -(1 << (bits - 1)) : -((1 << (bits - 1)) - 1))
                     : 0;
  const int hi = sym ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  std::vector<double> W(w.begin(), w.end());
  std::vector<double> diag(k);
  for (int64_t i = 0; i < k; ++i) {
    if (h[i * k + i] == 0.0) {
      h[i * k + i] = 1.0;
      for (int64_t r = 0; r < n; ++r)
        W[r * k + i] = 0.0;
    }
    diag[i] = h[i * k + i];
  }
  std::vector<int64_t> perm(k);
  std::iota(perm.begin(), perm.end(), 0);
  if (actOrder)
    std::stable_sort(perm.begin(), perm.end(),
                     [&](int64_t a, int64_t b) { return diag[a] > diag[b]; });
  double damp = percDamp * std::accumulate(diag.begin(), diag.end(), 0.0) / k;
  std::vector<double> hp(k * k);
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b < k; ++b)
      hp[a * k + b] = h[perm[a] * k + perm[b]] + (a == b ? damp : 0.0);
  auto hinv = spdInverse(hp, k);
  auto lh = cholLower(hinv, k); // U = lh^T
  auto U = [&](int64_t i, int64_t j) { return lh[j * k + i]; };

  const int64_t gs = g == 0 ? k : g, groups = k / gs;
  std::vector<double> scale(n * groups, 1.0);
  std::vector<int> zp(n * groups, 0);
  auto params = [&](double mn, double mx, double &s, int &z) {
    z = 0;
    s = 1.0;
    if (sym) {
      double amax = std::max(std::fabs(mn), std::fabs(mx));
      if (amax > 0)
        s = amax / hi;
    } else {
      mn = std::min(mn, 0.0);
      mx = std::max(mx, 0.0);
      if (mx > mn) {
        s = (mx - mn) / (hi - lo);
        z = int(std::min<double>(hi, std::max<double>(lo, numtest::rhe(-mn / s))));
      }
    }
  };
  if (g == 0) {
    double mn = *std::min_element(W.begin(), W.end());
    double mx = *std::max_element(W.begin(), W.end());
    double s;
    int z;
    params(mn, mx, s, z);
    std::fill(scale.begin(), scale.end(), s);
    std::fill(zp.begin(), zp.end(), z);
  }
  std::vector<char> seen(groups, 0);
  Ref ref;
  ref.q.assign(n * k, 0);
  ref.deq.assign(n * k, 0.0);
  for (int64_t j = 0; j < k; ++j) {
    const int64_t c = perm[j], grp = c / gs;
    if (g != 0 && !seen[grp]) {
      seen[grp] = 1;
      for (int64_t r = 0; r < n; ++r) {
        double mn = 1e300, mx = -1e300;
        for (int64_t cc = grp * gs; cc < (grp + 1) * gs; ++cc) {
          mn = std::min(mn, W[r * k + cc]);
          mx = std::max(mx, W[r * k + cc]);
        }
        params(mn, mx, scale[r * groups + grp], zp[r * groups + grp]);
      }
    }
    for (int64_t r = 0; r < n; ++r) {
      double s = scale[r * groups + grp];
      int z = zp[r * groups + grp];
      double v = W[r * k + c];
      int q = int(std::min<double>(hi, std::max<double>(lo, numtest::rhe(v / s) + z)));
      double dq = (q - z) * s;
      ref.q[r * k + c] = q;
      ref.deq[r * k + c] = dq;
      double err = (v - dq) / U(j, j);
      for (int64_t l = j + 1; l < k; ++l)
        W[r * k + perm[l]] -= err * U(j, l);
    }
  }
  return ref;
}

TEST(NumericsGptq, HessianStreamingMatchesDirect) {
  const int64_t k = 24, m = 40;
  auto x = numtest::correlatedInputs(k, m, 3);
  auto href = numtest::referenceHessian(x, k, m);
  // Three batches of 10, 17 and 13 samples (columns of X).
  Hessian h;
  std::string err;
  int64_t start = 0;
  for (int64_t len : {10, 17, 13}) {
    std::vector<float> batch(k * len);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < len; ++j)
        batch[i * len + j] = x[i * m + start + j];
    ASSERT_TRUE(accumulateHessian(h, batch.data(), k, len, err)) << err;
    start += len;
  }
  EXPECT_EQ(h.samples, m);
  for (int64_t i = 0; i < k * k; ++i)
    ASSERT_NEAR(h.h[i], href[i], 1e-9 * (std::fabs(href[i]) + 1.0)) << i;
  std::vector<float> wrong(10 * 5, 1.0f);
  EXPECT_FALSE(accumulateHessian(h, wrong.data(), 10, 5, err));
  EXPECT_EQ(err, "calibration batch has K=10 but the Hessian has K=24");
}

struct Case {
  int bits;
  bool sym, full;
  int64_t g;
  bool act;
};

TEST(NumericsGptq, MatchesUnblockedReference) {
  numtest::Problem pb = numtest::makeProblem(24, 256, 384, 100);
  const Case cases[] = {{4, true, false, 32, false}, {3, false, false, 64, true},
                        {4, true, true, 256, true},  {2, false, false, 0, false},
                        {8, true, false, 32, true},  {2, true, false, 256, false},
                        {5, false, false, 16, true}};
  for (const Case &c : cases) {
    GptqOptions o;
    o.grid = {c.bits, c.sym, c.full};
    o.groupSize = c.g;
    o.actOrder = c.act;
    GptqResult res;
    std::string err;
    ASSERT_TRUE(quantizeGptq(pb.w.data(), pb.n, pb.k, pb.h, o, res, err)) << err;
    Ref ref = referenceGptq(pb.w, pb.n, pb.k, pb.href, c.bits, c.sym, c.full,
                            c.g, c.act);
    int64_t mismatch = 0;
    for (int64_t i = 0; i < pb.n * pb.k; ++i)
      mismatch += res.weights.value(i) != ref.q[i];
    // Same Q up to float rounding (a rounding flip near a .5 tie may
    // propagate along its row): allow a tiny fraction.
    EXPECT_LE(mismatch, pb.n * pb.k / 200)
        << "bits " << c.bits << " g " << c.g << " act " << c.act;
    double lossRef = numtest::referenceLoss(pb.w, ref.deq, pb.href, pb.n, pb.k);
    auto deq = res.weights.dequantize();
    double lossLib = numtest::referenceLoss(pb.w, deq, pb.href, pb.n, pb.k);
    EXPECT_NEAR(lossLib, lossRef, 0.01 * lossRef) << "bits " << c.bits;
    // The reported loss is the undamped-Hessian proxy.
    EXPECT_NEAR(res.loss, lossLib, 1e-4 * lossLib);
    EXPECT_GT(res.gptqLoss, 0.0);
  }
}

TEST(NumericsGptq, BlockSizeAndThreadsInvariant) {
  numtest::Problem pb = numtest::makeProblem(300, 192, 256, 7); // 2 row chunks
  GptqOptions o;
  o.grid = {3, true, false};
  o.groupSize = 48;
  o.actOrder = true;
  GptqResult a, b, c, d;
  std::string err;
  o.blockSize = 1;
  ASSERT_TRUE(quantizeGptq(pb.w.data(), pb.n, pb.k, pb.h, o, a, err)) << err;
  o.blockSize = 128;
  ASSERT_TRUE(quantizeGptq(pb.w.data(), pb.n, pb.k, pb.h, o, b, err));
  o.blockSize = 37;
  o.threads = 1;
  ASSERT_TRUE(quantizeGptq(pb.w.data(), pb.n, pb.k, pb.h, o, c, err));
  o.threads = 3;
  ASSERT_TRUE(quantizeGptq(pb.w.data(), pb.n, pb.k, pb.h, o, d, err));
  auto diff = [&](const GptqResult &x, const GptqResult &y) {
    int64_t m = 0;
    for (size_t i = 0; i < x.weights.q.size(); ++i)
      m += x.weights.q[i] != y.weights.q[i];
    return m;
  };
  EXPECT_LE(diff(a, b), pb.n * pb.k / 200);
  EXPECT_LE(diff(b, c), pb.n * pb.k / 200);
  EXPECT_EQ(diff(c, d), 0); // threads never change the result
  EXPECT_EQ(c.loss, d.loss);
  EXPECT_NEAR(a.loss, b.loss, 0.01 * b.loss);
}

TEST(NumericsGptq, BeatsRtnOnCorrelatedInputs) {
  numtest::Problem pb = numtest::makeProblem(32, 128, 256, 55);
  for (int bits : {2, 3, 4, 6})
    for (int64_t g : {int64_t(0), int64_t(128), int64_t(32)})
      for (bool sym : {true, false}) {
        QuantParams p{bits, sym, false};
        QuantizedWeights rtn;
        GptqOptions o;
        o.grid = p;
        o.groupSize = g;
        GptqResult res;
        std::string err;
        ASSERT_TRUE(quantizeRtn(pb.w.data(), pb.n, pb.k, p, g, rtn, err));
        ASSERT_TRUE(quantizeGptq(pb.w.data(), pb.n, pb.k, pb.h, o, res, err));
        double lr = numtest::referenceLoss(pb.w, rtn.dequantize(), pb.href,
                                           pb.n, pb.k);
        double lg = numtest::referenceLoss(pb.w, res.weights.dequantize(),
                                           pb.href, pb.n, pb.k);
        EXPECT_LT(lg, 0.9 * lr) << "bits " << bits << " g " << g << " sym "
                                << sym << " rtn " << lr << " gptq " << lg;
      }
}

TEST(NumericsGptq, DeadColumnsQuantizeToZero) {
  const int64_t n = 8, k = 64, m = 128;
  auto w = numtest::randomNormal(n * k, 9, 1.0);
  auto x = numtest::correlatedInputs(k, m, 10);
  for (int64_t j = 0; j < m; ++j) {
    x[5 * m + j] = 0.0f;
    x[40 * m + j] = 0.0f;
  }
  Hessian h;
  std::string err;
  ASSERT_TRUE(accumulateHessian(h, x.data(), k, m, err));
  GptqOptions o;
  o.grid = {4, false, false};
  o.groupSize = 16;
  o.actOrder = true;
  GptqResult res;
  ASSERT_TRUE(quantizeGptq(w.data(), n, k, h, o, res, err)) << err;
  auto deq = res.weights.dequantize();
  for (int64_t r = 0; r < n; ++r) {
    EXPECT_EQ(deq[r * k + 5], 0.0f);
    EXPECT_EQ(deq[r * k + 40], 0.0f);
  }
  EXPECT_TRUE(std::isfinite(res.loss));
  auto href = numtest::referenceHessian(x, k, m);
  Ref ref = referenceGptq(w, n, k, href, 4, false, false, 16, true);
  int64_t mismatch = 0;
  for (int64_t i = 0; i < n * k; ++i)
    mismatch += res.weights.value(i) != ref.q[i];
  EXPECT_LE(mismatch, n * k / 100);
}

TEST(NumericsGptq, RejectsBadInput) {
  numtest::Problem pb = numtest::makeProblem(4, 64, 32, 1);
  GptqOptions o;
  GptqResult res;
  std::string err;
  o.grid.bits = 9;
  EXPECT_FALSE(quantizeGptq(pb.w.data(), pb.n, pb.k, pb.h, o, res, err));
  EXPECT_EQ(err, "bit width 9 is out of range [2, 8]");
  o.grid.bits = 4;
  o.groupSize = 48;
  EXPECT_FALSE(quantizeGptq(pb.w.data(), pb.n, pb.k, pb.h, o, res, err));
  EXPECT_EQ(err, "group size 48 does not divide K=64");
  o.groupSize = 0;
  Hessian small;
  ASSERT_TRUE(accumulateHessian(small, pb.x.data(), 32, 64, err));
  EXPECT_FALSE(quantizeGptq(pb.w.data(), pb.n, pb.k, small, o, res, err));
  EXPECT_EQ(err, "Hessian is 32 x 32 but the weight has K=64");
  o.percDamp = -1;
  EXPECT_FALSE(quantizeGptq(pb.w.data(), pb.n, pb.k, pb.h, o, res, err));
  Hessian bad = pb.h;
  bad.h[3 * 64 + 3] = -50.0; // not a Gram matrix, no longer PD
  bad.h[0] = -50.0;
  o.percDamp = 0.0;
  EXPECT_FALSE(quantizeGptq(pb.w.data(), pb.n, pb.k, bad, o, res, err));
  EXPECT_NE(err.find("not positive definite"), std::string::npos) << err;
}

} // namespace
