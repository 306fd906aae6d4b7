//===- NumericsTestUtil.h - Shared helpers of the Numerics* unit tests ----===//
//
// Deterministic data (fixed-seed mt19937) and float64 reference helpers. The
// references here are written independently of lib/Numerics on purpose.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_UNITTESTS_NUMERICSTESTUTIL_H
#define LOWBIT_UNITTESTS_NUMERICSTESTUTIL_H

#include "lib/Numerics/Gptq.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace numtest {

inline std::vector<float> randomNormal(size_t count, unsigned seed,
                                       double sigma = 1.0) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> nd(0.0, sigma);
  std::vector<float> v(count);
  for (auto &x : v)
    x = float(nd(gen));
  return v;
}

/// Strongly correlated calibration inputs X [K, m] (row-major): a rank-r
/// factor model plus small noise, with a few high-energy channels.
inline std::vector<float> correlatedInputs(int64_t k, int64_t m, unsigned seed,
                                           int64_t rank = 0) {
  if (rank <= 0)
    rank = std::max<int64_t>(2, k / 8);
  std::mt19937 gen(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<double> b(static_cast<size_t>(k * rank)),
      f(static_cast<size_t>(rank * m));
  for (auto &x : b)
    x = nd(gen);
  for (auto &x : f)
    x = nd(gen);
  std::vector<float> x(static_cast<size_t>(k * m));
  for (int64_t i = 0; i < k; ++i) {
    double chanScale = (i % 17 == 3) ? 4.0 : 1.0;
    for (int64_t j = 0; j < m; ++j) {
      double acc = 0.0;
      for (int64_t r = 0; r < rank; ++r)
        acc += b[i * rank + r] * f[r * m + j];
      x[i * m + j] = float(chanScale * (acc / std::sqrt(double(rank)) +
                                        0.05 * nd(gen)));
    }
  }
  return x;
}

/// H = 2/m X X^T in float64, [K, K] row-major.
inline std::vector<double> referenceHessian(const std::vector<float> &x,
                                            int64_t k, int64_t m) {
  std::vector<double> h(static_cast<size_t>(k * k), 0.0);
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b < k; ++b) {
      double acc = 0.0;
      for (int64_t j = 0; j < m; ++j)
        acc += double(x[a * m + j]) * double(x[b * m + j]);
      h[a * k + b] = 2.0 * acc / double(m);
    }
  return h;
}

/// tr((W - Wq) H (W - Wq)^T) in float64.
template <typename WT, typename QT>
double referenceLoss(const std::vector<WT> &w, const std::vector<QT> &wq,
                     const std::vector<double> &h, int64_t n, int64_t k) {
  double total = 0.0;
  std::vector<double> d(static_cast<size_t>(k));
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < k; ++c)
      d[c] = double(w[r * k + c]) - double(wq[r * k + c]);
    for (int64_t a = 0; a < k; ++a) {
      if (d[a] == 0.0)
        continue;
      double acc = 0.0;
      for (int64_t b = 0; b < k; ++b)
        acc += h[a * k + b] * d[b];
      total += d[a] * acc;
    }
  }
  return total;
}

/// Round half to even in float64 (reference).
inline double rhe(double x) {
  double f = std::floor(x), d = x - f;
  if (d > 0.5)
    return f + 1;
  if (d < 0.5)
    return f;
  return std::fmod(f, 2.0) == 0.0 ? f : f + 1;
}

// Plain Cholesky (lower) of a symmetric positive definite matrix.
inline std::vector<double> cholLower(const std::vector<double> &a, int64_t k) {
  std::vector<double> l(k * k, 0.0);
  for (int64_t j = 0; j < k; ++j) {
    double s = a[j * k + j];
    for (int64_t p = 0; p < j; ++p)
      s -= l[j * k + p] * l[j * k + p];
    l[j * k + j] = std::sqrt(s);
    for (int64_t i = j + 1; i < k; ++i) {
      double t = a[i * k + j];
      for (int64_t p = 0; p < j; ++p)
        t -= l[i * k + p] * l[j * k + p];
      l[i * k + j] = t / l[j * k + j];
    }
  }
  return l;
}

// Inverse of an SPD matrix through its Cholesky factor.
inline std::vector<double> spdInverse(const std::vector<double> &a, int64_t k) {
  auto l = cholLower(a, k);
  std::vector<double> linv(k * k, 0.0);
  for (int64_t c = 0; c < k; ++c) { // forward substitution L x = e_c
    for (int64_t i = c; i < k; ++i) {
      double t = i == c ? 1.0 : 0.0;
      for (int64_t p = c; p < i; ++p)
        t -= l[i * k + p] * linv[p * k + c];
      linv[i * k + c] = t / l[i * k + i];
    }
  }
  std::vector<double> inv(k * k, 0.0); // L^-T L^-1
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) {
      double t = 0;
      for (int64_t p = std::max(i, j); p < k; ++p)
        t += linv[p * k + i] * linv[p * k + j];
      inv[i * k + j] = t;
    }
  return inv;
}

/// A layer problem for the Hessian-based quantizers: weights [n, k],
/// correlated calibration inputs [k, m], the library's Hessian of them and
/// the independent float64 reference Hessian.
struct Problem {
  int64_t n, k, m;
  std::vector<float> w, x;
  std::vector<double> href;
  lowbit::numerics::Hessian h;
};

inline Problem makeProblem(int64_t n, int64_t k, int64_t m, unsigned seed) {
  Problem p;
  p.n = n;
  p.k = k;
  p.m = m;
  p.w = randomNormal(n * k, seed, 0.5);
  p.x = correlatedInputs(k, m, seed + 1);
  p.href = referenceHessian(p.x, k, m);
  std::string err;
  EXPECT_TRUE(lowbit::numerics::accumulateHessian(p.h, p.x.data(), k, m, err))
      << err;
  return p;
}

} // namespace numtest

#endif // LOWBIT_UNITTESTS_NUMERICSTESTUTIL_H
