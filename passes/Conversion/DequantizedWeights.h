//===- DequantizedWeights.h - weight-only layers' integer parts -*- C++ -*-===//
//
// What the f32 kernels (convert-linear-to-gemm-kernel,
// convert-conv-to-direct-kernel) need to run a weight-only quantized layer
// from its integer part instead of the f32 weight lowbit.dequantize_weight
// produces: the constant integer values, their containers' signedness, the
// group structure, and the reference's dequantization formula (one
// definition, used by both kernels; convert-lowbit-to-linalg's lowering is
// the reference).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_PASSES_CONVERSION_DEQUANTIZEDWEIGHTS_H
#define LOWBIT_PASSES_CONVERSION_DEQUANTIZEDWEIGHTS_H

#include "dialects/LowBit/LowBitDialect.h"

#include "mlir/IR/Builders.h"

#include <string>
#include <vector>

namespace lowbit::dequantized {

/// A weight `w = dequantize_weight(q, scale[, zero])` whose integer part is
/// a compile-time constant.
struct Weight {
  mutable lb::DequantizeWeightOp op; ///< (mutable: MLIR accessors are not const)
  std::vector<int8_t> q; ///< [N, K] container values, row-major
  int64_t n = 0, k = 0, groupSize = 0, groups = 1;
  bool isSigned = true; ///< containers are two's complement (else unsigned)
  bool hasZero = false, floatOffset = false;
};

/// Reads the weight `value` produces (through lowbit.dequantize_weight);
/// returns why it cannot (empty when it can).
std::string read(mlir::Value value, Weight &weight);

/// The reference's f32 weight from containers `q` (i8, any shape) and the
/// matching `scale` (and `zero`) values: float(q) * s, (float(q) - z) * s,
/// or float(q) * s + z for float offsets.
mlir::Value dequantize(mlir::OpBuilder &b, mlir::Location loc,
                       const Weight &weight, mlir::Value q, mlir::Value scale,
                       mlir::Value zero);

/// The same formula on containers already widened to i32 (`wide`).
mlir::Value dequantizeWide(mlir::OpBuilder &b, mlir::Location loc,
                           const Weight &weight, mlir::Value wide,
                           mlir::Value scale, mlir::Value zero);

/// Whether every container value fits four bits (-8..7 signed, 0..15
/// unsigned), so that two can share a byte.
bool fitsNibbles(const Weight &weight);

/// The low (`high` false) or high nibbles of a vector of bytes as i32
/// container values, sign-extended for signed containers.
mlir::Value unpackNibble(mlir::OpBuilder &b, mlir::Location loc,
                         const Weight &weight, mlir::Value bytes, bool high);

} // namespace lowbit::dequantized

#endif // LOWBIT_PASSES_CONVERSION_DEQUANTIZEDWEIGHTS_H
