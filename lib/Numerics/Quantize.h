//===- Quantize.h - The one quantization formula of lowbit ----------------===//
//
// Every quantizer in lib/Numerics (rtn, clip search, gaussian-mse, gptq,
// decoupleq) and every backend uses the formulas in this header, so that CPU
// and GPU results agree bit for bit on integer parts:
//
//   q = clamp(roundHalfToEven(x / scale) + zeroPoint, qmin, qmax)   (x/scale in fp32)
//   x ≈ (q - zeroPoint) * scale                                      (fp32)
//   decoupleQ form: x ≈ q * scale + offset                           (fp32)
//
// Integer grids (DESIGN.md, "Numerics conventions"):
//   * symmetric signed b-bit:  q in [-(2^(b-1)-1), 2^(b-1)-1], zero point 0;
//     with fullRange:          q in [-2^(b-1),     2^(b-1)-1].
//   * asymmetric unsigned:     q in [0, 2^b-1] with an integer zero point.
//
// Weight layout: weights are [N, K] row-major (N output channels, K the
// reduction dimension). Groups run along K: group g of row n covers columns
// [g*G, (g+1)*G). G must divide K. G == K is per-channel; G == 0 is
// per-tensor (one scale for the whole matrix).
//
// Errors are reported through a `false` return plus a one-line message; the
// library never throws (the project builds with -fno-exceptions).
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_NUMERICS_QUANTIZE_H
#define LOWBIT_LIB_NUMERICS_QUANTIZE_H

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {
namespace numerics {

/// The integer grid of a quantizer.
struct QuantParams {
  int bits = 4;
  /// true: signed grid with zero point 0; false: unsigned grid [0, 2^b-1]
  /// with an integer zero point.
  bool symmetric = true;
  /// Only for symmetric grids: use [-2^(b-1), 2^(b-1)-1] instead of the
  /// restricted, sign-symmetric [-(2^(b-1)-1), 2^(b-1)-1].
  bool fullRange = false;
};

/// Smallest / largest integer of the grid (see the file comment).
int qmin(int bits, bool symmetric, bool fullRange = false);
int qmax(int bits, bool symmetric, bool fullRange = false);
inline int qmin(const QuantParams &p) { return qmin(p.bits, p.symmetric, p.fullRange); }
inline int qmax(const QuantParams &p) { return qmax(p.bits, p.symmetric, p.fullRange); }

/// Round half to even, implemented explicitly (floor + tie test) so that the
/// result does not depend on the floating-point environment's rounding mode.
/// NaN is returned unchanged; |x| >= 2^23 is already integral.
float roundHalfToEven(float x);
double roundHalfToEven(double x);

/// q = clamp(roundHalfToEven(x / scale) + zeroPoint, qmin, qmax). The
/// division is done in fp32. Guards: a zero or non-finite scale, or a NaN x,
/// give clamp(zeroPoint); +-inf clamps to qmax / qmin.
int32_t quantizeValue(float x, float scale, int32_t zeroPoint, int qmin,
                      int qmax);
/// (q - zeroPoint) * scale in fp32.
float dequantizeValue(int32_t q, float scale, int32_t zeroPoint);

/// Checks 2 <= bits <= 8 ("bit width B is out of range [2, 8]").
bool checkBits(int bits, std::string &error, int lo = 2, int hi = 8);
/// Checks the [N, K] shape and the group size: groupSize == 0 (per-tensor) or
/// 0 < groupSize with K % groupSize == 0 ("group size G does not divide K=K").
bool checkWeightShape(int64_t n, int64_t k, int64_t groupSize,
                      std::string &error);

/// Checks that all `count` values are finite ("WHAT element I is not finite").
bool checkFinite(const float *x, int64_t count, const char *what,
                 std::string &error);

/// Scale and zero point that map [lo, hi] onto the grid `p`:
///   symmetric:  scale = max(|lo|, |hi|) / qmax, zeroPoint = 0;
///   asymmetric: the range is first widened to contain 0 (lo = min(lo, 0),
///               hi = max(hi, 0)); scale = (hi - lo) / (2^b - 1),
///               zeroPoint = clamp(roundHalfToEven(-lo / scale), 0, 2^b-1).
/// Zero-scale guard: an all-zero range gives scale 1, zeroPoint 0 (0 stays
/// exact). Computed in double, scale rounded once to fp32.
void computeScaleZero(double lo, double hi, const QuantParams &p, float &scale,
                      int32_t &zeroPoint);

/// Quantized [N, K] weights. `q` holds one int8 per element, row-major. For
/// unsigned (asymmetric) 8-bit grids the value 128..255 is stored as its
/// two's-complement bit pattern; read elements with value().
struct QuantizedWeights {
  int bits = 0;
  /// Signed storage with zero point 0 (symmetric) or unsigned storage with
  /// zeroPoints (asymmetric). decoupleQ results are signed full range
  /// (symmetric = fullRange = true) and carry float `offsets`.
  bool symmetric = true;
  bool fullRange = false;
  int64_t n = 0, k = 0;
  /// Group size along K; == k per-channel; 0 per-tensor.
  int64_t groupSize = 0;
  std::vector<int8_t> q;          ///< [N, K]
  std::vector<float> scales;      ///< [N, K/G], or [1] per-tensor
  std::vector<int32_t> zeroPoints; ///< same shape as scales; empty if symmetric
  std::vector<float> offsets;     ///< decoupleQ z (w ≈ q·s + z); else empty

  /// Number of scale groups per row (1 for per-tensor and per-channel).
  int64_t groupsPerRow() const { return groupSize == 0 ? 1 : k / groupSize; }
  /// Index into scales / zeroPoints / offsets of element (row, col).
  int64_t paramIndex(int64_t row, int64_t col) const {
    return groupSize == 0 ? 0 : row * (k / groupSize) + col / groupSize;
  }
  /// Integer value of element i, interpreting the storage as signed or
  /// unsigned according to `symmetric`.
  int32_t value(int64_t i) const {
    return symmetric ? int32_t(q[i]) : int32_t(uint8_t(q[i]));
  }
  /// Dequantized element i: (q - zp) * s, or q * s + z with offsets (fp32).
  float dequantizeAt(int64_t i) const;
  /// All elements, [N, K] row-major.
  std::vector<float> dequantize() const;
};

} // namespace numerics
} // namespace lowbit

#endif // LOWBIT_LIB_NUMERICS_QUANTIZE_H
