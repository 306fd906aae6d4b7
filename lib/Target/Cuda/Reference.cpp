//===- Reference.cpp - CPU reference and random problems ------------------===//

#include "lib/Target/Cuda/Reference.h"

#include "lib/Target/Cuda/LowbitDevice.cuh"

#include <random>

namespace lowbit {
namespace cuda {

uint16_t floatToHalf(float v) { return uint16_t(lbk::float_to_half_bits(v)); }
float halfToFloat(uint16_t h) { return lbk::half_bits_to_float(h); }

bool makeRandomGemm(const KernelSpec &spec, int m, int n, int k, int g,
                    uint64_t seed, bool integerA16, HostGemm &p,
                    std::string &error) {
  if (!validateSpec(spec, error) || !checkProblem(spec, m, n, k, g, error))
    return false;
  std::mt19937_64 rng(seed);
  p = HostGemm();
  p.M = m;
  p.N = n;
  p.K = k;
  p.G = g;
  p.aBits = spec.aBits;
  p.wBits = spec.wBits;
  p.wSigned = spec.wSigned;
  const int groups = k / g;
  if (spec.aBits == 16) {
    p.xh.resize(size_t(m) * k);
    std::uniform_int_distribution<int> small(-8, 8);
    std::uniform_real_distribution<float> real(-2.0f, 2.0f);
    for (uint16_t &v : p.xh)
      v = floatToHalf(integerA16 ? float(small(rng)) : real(rng));
  } else {
    const int lo = -(1 << (spec.aBits - 1)), hi = (1 << (spec.aBits - 1)) - 1;
    std::uniform_int_distribution<int> dist(lo, hi);
    p.x.resize(size_t(m) * k);
    for (int8_t &v : p.x)
      v = int8_t(dist(rng));
  }
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  p.xScale.resize(m);
  for (float &s : p.xScale)
    s = scale(rng);
  const int wlo = spec.wSigned ? -(1 << (spec.wBits - 1)) : 0;
  const int whi = spec.wSigned ? (1 << (spec.wBits - 1)) - 1
                               : (1 << spec.wBits) - 1;
  std::uniform_int_distribution<int> wdist(wlo, whi);
  p.wq.resize(size_t(n) * k);
  for (int8_t &v : p.wq)
    v = int8_t(uint8_t(wdist(rng)));
  p.wScale.resize(size_t(n) * groups);
  for (float &s : p.wScale)
    s = scale(rng);
  if (!spec.wSigned) {
    std::uniform_int_distribution<int> zdist(0, whi);
    p.wZero.resize(size_t(n) * groups);
    for (float &z : p.wZero)
      z = float(zdist(rng));
  }
  if (spec.hasBias) {
    std::uniform_real_distribution<float> b(-1.0f, 1.0f);
    p.bias.resize(n);
    for (float &v : p.bias)
      v = b(rng);
  }
  return numerics::pack(spec.layout(), spec.wBits, spec.wSigned, p.wq.data(),
                        n, k, p.wPacked, error);
}

bool referenceGemm(const HostGemm &p, std::vector<float> &y,
                   std::string &error) {
  const int groups = p.K / p.G;
  y.assign(size_t(p.M) * p.N, 0.0f);
  for (int m = 0; m < p.M; ++m)
    for (int n = 0; n < p.N; ++n) {
      float acc = 0.0f;
      for (int g = 0; g < groups; ++g) {
        const int zero = p.wZero.empty() ? 0 : int(p.wZero[size_t(n) * groups + g]);
        const float ws = p.wScale[size_t(n) * groups + g];
        if (p.aBits == 16) {
          double s = 0;
          for (int k = g * p.G; k < (g + 1) * p.G; ++k) {
            const int w = p.wSigned ? int(p.wq[size_t(n) * p.K + k])
                                    : int(uint8_t(p.wq[size_t(n) * p.K + k]));
            s += double(halfToFloat(p.xh[size_t(m) * p.K + k])) * (w - zero);
          }
          acc = acc + float(s) * ws;
        } else {
          int64_t s = 0;
          for (int k = g * p.G; k < (g + 1) * p.G; ++k) {
            const int w = p.wSigned ? int(p.wq[size_t(n) * p.K + k])
                                    : int(uint8_t(p.wq[size_t(n) * p.K + k]));
            s += int64_t(p.x[size_t(m) * p.K + k]) * (w - zero);
          }
          if (s > INT32_MAX || s < INT32_MIN) {
            error = "int32 accumulator overflow at [" + std::to_string(m) +
                    ", " + std::to_string(n) + "] group " + std::to_string(g);
            return false;
          }
          acc = acc + (float(int32_t(s)) * p.xScale[m]) * ws;
        }
      }
      if (!p.bias.empty())
        acc = acc + p.bias[n];
      y[size_t(m) * p.N + n] = acc;
    }
  return true;
}

} // namespace cuda
} // namespace lowbit
