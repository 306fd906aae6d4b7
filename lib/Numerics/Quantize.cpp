//===- Quantize.cpp - The one quantization formula of lowbit --------------===//

#include "lib/Numerics/Quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lowbit {
namespace numerics {

int qmin(int bits, bool symmetric, bool fullRange) {
  if (!symmetric)
    return 0;
  int half = 1 << (bits - 1);
  return fullRange ? -half : -(half - 1);
}

int qmax(int bits, bool symmetric, bool /*fullRange*/) {
  if (!symmetric)
    return (1 << bits) - 1;
  return (1 << (bits - 1)) - 1;
}

template <typename T> static T roundHalfToEvenImpl(T x) {
  if (!(std::fabs(x) < T(1) / std::numeric_limits<T>::epsilon()))
    return x; // NaN, inf or already integral.
  T f = std::floor(x);
  T d = x - f; // exact for |x| < 1/eps
  if (d > T(0.5))
    return f + T(1);
  if (d < T(0.5))
    return f;
  // Exact tie: pick the even neighbour.
  return std::fmod(f, T(2)) == T(0) ? f : f + T(1);
}

float roundHalfToEven(float x) { return roundHalfToEvenImpl(x); }
double roundHalfToEven(double x) { return roundHalfToEvenImpl(x); }

int32_t quantizeValue(float x, float scale, int32_t zeroPoint, int qmin,
                      int qmax) {
  float v = x / scale;
  if (std::isnan(v) || scale == 0.0f || !std::isfinite(scale))
    return std::min<int32_t>(std::max<int32_t>(zeroPoint, qmin), qmax);
  float r = roundHalfToEven(v);
  // Clamp in float first so that the conversion to int is always defined.
  const float lim = 1.0e9f;
  r = std::min(std::max(r, -lim), lim);
  int64_t q = int64_t(r) + zeroPoint;
  if (q < qmin)
    q = qmin;
  if (q > qmax)
    q = qmax;
  return int32_t(q);
}

float dequantizeValue(int32_t q, float scale, int32_t zeroPoint) {
  return float(q - zeroPoint) * scale;
}

bool checkBits(int bits, std::string &error, int lo, int hi) {
  if (bits < lo || bits > hi) {
    error = "bit width " + std::to_string(bits) + " is out of range [" +
            std::to_string(lo) + ", " + std::to_string(hi) + "]";
    return false;
  }
  return true;
}

bool checkWeightShape(int64_t n, int64_t k, int64_t groupSize,
                      std::string &error) {
  if (n <= 0 || k <= 0) {
    error = "weight shape [" + std::to_string(n) + ", " + std::to_string(k) +
            "] is empty or negative";
    return false;
  }
  if (groupSize < 0 || (groupSize > 0 && k % groupSize != 0)) {
    error = "group size " + std::to_string(groupSize) +
            " does not divide K=" + std::to_string(k);
    return false;
  }
  return true;
}

bool checkFinite(const float *x, int64_t count, const char *what,
                 std::string &error) {
  for (int64_t i = 0; i < count; ++i)
    if (!std::isfinite(x[i])) {
      error = std::string(what) + " element " + std::to_string(i) +
              " is not finite";
      return false;
    }
  return true;
}

void computeScaleZero(double lo, double hi, const QuantParams &p, float &scale,
                      int32_t &zeroPoint) {
  const int qlo = qmin(p), qhi = qmax(p);
  if (p.symmetric) {
    double amax = std::max(std::fabs(lo), std::fabs(hi));
    zeroPoint = 0;
    scale = amax > 0 ? float(amax / qhi) : 1.0f;
    if (!(scale > 0.0f)) // underflow to 0 for denormal ranges
      scale = 1.0f;
    return;
  }
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if (!(hi > lo)) {
    scale = 1.0f;
    zeroPoint = 0;
    return;
  }
  scale = float((hi - lo) / double(qhi - qlo));
  if (!(scale > 0.0f)) {
    scale = 1.0f;
    zeroPoint = 0;
    return;
  }
  double z = roundHalfToEven(-lo / double(scale));
  zeroPoint = int32_t(std::min<double>(std::max<double>(z, qlo), qhi));
}

float QuantizedWeights::dequantizeAt(int64_t i) const {
  int64_t p = paramIndex(i / k, i % k);
  if (!offsets.empty())
    return float(value(i)) * scales[p] + offsets[p];
  int32_t zp = zeroPoints.empty() ? 0 : zeroPoints[p];
  return dequantizeValue(value(i), scales[p], zp);
}

std::vector<float> QuantizedWeights::dequantize() const {
  std::vector<float> out(static_cast<size_t>(n * k));
  for (int64_t i = 0; i < n * k; ++i)
    out[i] = dequantizeAt(i);
  return out;
}

} // namespace numerics
} // namespace lowbit
