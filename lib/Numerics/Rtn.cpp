//===- Rtn.cpp - Round-to-nearest weight quantization ---------------------===//

#include "lib/Numerics/Rtn.h"

#include <algorithm>
#include <cmath>

namespace lowbit {
namespace numerics {
namespace detail {

void initQuantizedWeights(QuantizedWeights &out, const QuantParams &p,
                          int64_t n, int64_t k, int64_t groupSize) {
  out = QuantizedWeights();
  out.bits = p.bits;
  out.symmetric = p.symmetric;
  out.fullRange = p.symmetric && p.fullRange;
  out.n = n;
  out.k = k;
  out.groupSize = groupSize;
  out.q.assign(static_cast<size_t>(n * k), 0);
  size_t slots = groupSize == 0 ? 1 : static_cast<size_t>(n * (k / groupSize));
  out.scales.assign(slots, 1.0f);
  if (!p.symmetric)
    out.zeroPoints.assign(slots, 0);
}

// The rows and columns covered by a parameter slot.
static void slotExtent(int64_t n, int64_t k, int64_t groupSize, int64_t slot,
                       int64_t &r0, int64_t &r1, int64_t &c0, int64_t &c1) {
  if (groupSize == 0) {
    r0 = 0, r1 = n, c0 = 0, c1 = k;
    return;
  }
  int64_t gpr = k / groupSize;
  r0 = slot / gpr;
  r1 = r0 + 1;
  c0 = (slot % gpr) * groupSize;
  c1 = c0 + groupSize;
}

void slotRange(const float *w, int64_t n, int64_t k, int64_t groupSize,
               int64_t slot, double &lo, double &hi) {
  int64_t r0, r1, c0, c1;
  slotExtent(n, k, groupSize, slot, r0, r1, c0, c1);
  float mn = w[r0 * k + c0], mx = mn;
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = c0; c < c1; ++c) {
      float v = w[r * k + c];
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
  lo = mn;
  hi = mx;
}

void quantizeSlot(const float *w, QuantizedWeights &out, int64_t slot) {
  int64_t r0, r1, c0, c1;
  slotExtent(out.n, out.k, out.groupSize, slot, r0, r1, c0, c1);
  const int lo = qmin(out.bits, out.symmetric, out.fullRange);
  const int hi = qmax(out.bits, out.symmetric, out.fullRange);
  const float s = out.scales[slot];
  const int32_t zp = out.zeroPoints.empty() ? 0 : out.zeroPoints[slot];
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = c0; c < c1; ++c)
      out.q[r * out.k + c] =
          int8_t(uint8_t(quantizeValue(w[r * out.k + c], s, zp, lo, hi)));
}

} // namespace detail

bool quantizeRtnClipped(const float *w, int64_t n, int64_t k,
                        const QuantParams &p, int64_t groupSize,
                        const std::vector<float> &rangeScale,
                        QuantizedWeights &out, std::string &error) {
  if (!checkBits(p.bits, error) || !checkWeightShape(n, k, groupSize, error) ||
      !checkFinite(w, n * k, "weight", error))
    return false;
  detail::initQuantizedWeights(out, p, n, k, groupSize);
  int64_t slots = int64_t(out.scales.size());
  if (!rangeScale.empty() && int64_t(rangeScale.size()) != slots) {
    error = "clip ratio table has " + std::to_string(rangeScale.size()) +
            " entries, expected " + std::to_string(slots);
    return false;
  }
  for (int64_t s = 0; s < slots; ++s) {
    double lo, hi;
    detail::slotRange(w, n, k, groupSize, s, lo, hi);
    if (!rangeScale.empty()) {
      lo *= rangeScale[s];
      hi *= rangeScale[s];
    }
    int32_t zp;
    computeScaleZero(lo, hi, p, out.scales[s], zp);
    if (!p.symmetric)
      out.zeroPoints[s] = zp;
    detail::quantizeSlot(w, out, s);
  }
  return true;
}

bool quantizeRtn(const float *w, int64_t n, int64_t k, const QuantParams &p,
                 int64_t groupSize, QuantizedWeights &out,
                 std::string &error) {
  return quantizeRtnClipped(w, n, k, p, groupSize, {}, out, error);
}

} // namespace numerics
} // namespace lowbit
