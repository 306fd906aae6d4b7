//===- Sensitivity.h - per-layer output error of activation bit widths ----===//
//
// FlexQ-style sensitivity: how much one nn.linear's output degrades when its
// input is quantized to B bits (dynamic, symmetric, one scale per token, as
// quantize-activations + lowbit.quantize_dynamic do) and its weight to the
// chosen RTN format (as quantize-weights{method=rtn} does), measured on
// captured calibration rows X [T, K] (the sidecar's `<layer>/samples`):
//
//   err_B = || Q_aB(X) Q_w(W)ᵀ - X Wᵀ ||_F / || X Wᵀ ||_F
//
// All rounding goes through lib/Numerics/Quantize.h (the one formula); the
// products are computed in double. nn.conv2d layers are measured the same way
// on captured im2col patches, with one activation scale per tensor (what
// quantize-activations gives a conv input).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_LIB_CALIBRATION_SENSITIVITY_H
#define LOWBIT_LIB_CALIBRATION_SENSITIVITY_H

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {
namespace calibration {

/// x [rows, k] with every row quantized and dequantized to `bits` (symmetric,
/// scale = max |row| / (2^(bits-1)-1) in f32, 1 for an all-zero row): the
/// values lowbit.quantize_dynamic + dequantize_dynamic produce.
std::vector<float> quantizeRowsDynamic(const float *x, int64_t rows,
                                       int64_t k, int bits);

/// err_B (see the file comment) for every B in `actBits` (0 = float
/// activations): x [rows, k], w [n, k]; weights RTN symmetric `weightBits`
/// in groups of `groupSize` along K (0, or a size that does not divide K:
/// per output channel; weightBits 0 = float weights). A zero reference
/// output gives error 0. Fails on bad bit widths or non-finite inputs.
bool measureOutputErrors(const float *x, int64_t rows, int64_t k,
                         const float *w, int64_t n, int weightBits,
                         int64_t groupSize, const std::vector<int> &actBits,
                         std::vector<double> &errors, std::string &error);

/// x [rows, k] quantized and dequantized to `bits` with one given range per
/// row: scale = absMax[r] / (2^(bits-1)-1) in f32 (1 for absMax 0), values
/// beyond it saturate. Conv inputs are quantized per tensor: absMax[r] is
/// the max |x| of the tensor row r (a patch) came from.
std::vector<float> quantizeRowsWithRange(const float *x, int64_t rows,
                                         int64_t k, int bits,
                                         const float *absMax);

/// err_B for a convolution, measured on im2col patches: x [rows, groups * k]
/// (group g's patch in columns g*k .. g*k+k-1, k = C/groups * KH * KW in
/// the filter's (c, i, j) order), w [n, k] (filter rows, n / groups per
/// group), activations quantized per tensor with rowAbsMax (see
/// quantizeRowsWithRange), weights as in measureOutputErrors.
bool measureConvOutputErrors(const float *x, const float *rowAbsMax,
                             int64_t rows, int64_t groups, int64_t k,
                             const float *w, int64_t n, int weightBits,
                             int64_t groupSize,
                             const std::vector<int> &actBits,
                             std::vector<double> &errors, std::string &error);

} // namespace calibration
} // namespace lowbit

#endif // LOWBIT_LIB_CALIBRATION_SENSITIVITY_H
