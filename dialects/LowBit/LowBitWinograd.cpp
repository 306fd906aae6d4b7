//===- LowBitWinograd.cpp - verifiers of the Winograd transform ops -------===//
#include "dialects/LowBit/LowBitDialect.h"

#include <cmath>

using namespace mlir;
using namespace lowbit::lb;

namespace {

/// Checks m, r, precision and a rows x cols rational matrix with its doubles.
LogicalResult verifyTransformAttrs(Operation *op, int64_t m, int64_t r,
                                   StringRef precision, StringRef name,
                                   ArrayRef<int64_t> num, ArrayRef<int64_t> den,
                                   ArrayRef<double> values, int64_t rows,
                                   int64_t cols) {
  if (m < 1 || r < 1)
    return op->emitOpError("needs m >= 1 and r >= 1, got m = ")
           << m << ", r = " << r;
  if (precision != "f32" && precision != "f16")
    return op->emitOpError("precision must be \"f32\" or \"f16\", got \"")
           << precision << "\"";
  size_t size = static_cast<size_t>(rows * cols);
  if (num.size() != size || den.size() != size || values.size() != size)
    return op->emitOpError()
           << name << " must have " << rows << "x" << cols << " = " << size
           << " entries for F(" << m << ", " << r << "), got " << num.size()
           << " numerators, " << den.size() << " denominators and "
           << values.size() << " values";
  for (size_t k = 0; k < size; ++k) {
    if (den[k] <= 0)
      return op->emitOpError()
             << name << " denominator " << k << " must be positive, got "
             << den[k];
    double exact = static_cast<double>(num[k]) / static_cast<double>(den[k]);
    if (std::fabs(values[k] - exact) > 1e-12 * std::max(1.0, std::fabs(exact)))
      return op->emitOpError()
             << name << " value " << k << " (" << values[k]
             << ") is not its rational " << num[k] << "/" << den[k];
  }
  return success();
}

/// Number of tiles along a padded input dimension of size `size`, or -1.
int64_t tilesAlong(int64_t size, int64_t m, int64_t r) {
  int64_t covered = size - (r - 1);
  if (covered < m || covered % m != 0)
    return -1;
  return covered / m;
}

} // namespace

LogicalResult WinogradInputTransformOp::verify() {
  int64_t m = getM(), r = getR(), n = m + r - 1;
  if (failed(verifyTransformAttrs(*this, m, r, getPrecision(), "bt",
                                  getBtNum(), getBtDen(), getBt(), n, n)))
    return failure();
  auto in = getInput().getType();
  auto out = getResult().getType();
  if (in.getRank() != 4 || !in.hasStaticShape())
    return emitOpError("input must be a static [N, C, H, W] tensor");
  int64_t th = tilesAlong(in.getDimSize(2), m, r);
  int64_t tw = tilesAlong(in.getDimSize(3), m, r);
  if (th < 0 || tw < 0)
    return emitOpError("input height and width must be tiles * m + r - 1 = ")
           << "tiles * " << m << " + " << r - 1 << ", got "
           << in.getDimSize(2) << "x" << in.getDimSize(3);
  SmallVector<int64_t> expected = {n, n, in.getDimSize(0) * th * tw,
                                   in.getDimSize(1)};
  if (out.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("result must be [n, n, tiles, C] = [")
           << n << ", " << n << ", " << expected[2] << ", " << expected[3]
           << "], got " << out;
  return success();
}

LogicalResult WinogradOutputTransformOp::verify() {
  int64_t m = getM(), r = getR(), n = m + r - 1;
  if (failed(verifyTransformAttrs(*this, m, r, getPrecision(), "at",
                                  getAtNum(), getAtDen(), getAt(), m, n)))
    return failure();
  auto in = getInput().getType();
  auto out = getResult().getType();
  if (in.getRank() != 4 || !in.hasStaticShape() || in.getDimSize(0) != n ||
      in.getDimSize(1) != n)
    return emitOpError("input must be a static [n, n, tiles, F] tensor with "
                       "n = m + r - 1 = ")
           << n << ", got " << in;
  if (out.getRank() != 4 || !out.hasStaticShape())
    return emitOpError("result must be a static [N, F, H, W] tensor");
  int64_t oh = out.getDimSize(2), ow = out.getDimSize(3);
  if (oh % m != 0 || ow % m != 0 || oh == 0 || ow == 0)
    return emitOpError("result height and width must be multiples of m = ")
           << m << ", got " << oh << "x" << ow;
  int64_t tiles = out.getDimSize(0) * (oh / m) * (ow / m);
  if (in.getDimSize(2) != tiles || in.getDimSize(3) != out.getDimSize(1))
    return emitOpError("input has ")
           << in.getDimSize(2) << " tiles of " << in.getDimSize(3)
           << " channels, the result needs " << tiles << " tiles ("
           << out.getDimSize(0) << " x " << oh / m << " x " << ow / m
           << ") of " << out.getDimSize(1);
  return success();
}
