//===- LowBitToLinalgBuilders.h - IR builders of convert-lowbit-to-linalg -*- C++ -*-===//
//
// Private to passes/Conversion: the builders the lowbit -> linalg patterns
// share (constants, iterator lists, the quantization formula of
// lib/Numerics in IR, packed-byte layouts, uniform quant-type parameters),
// and the activation patterns that live in LowBitActivationsToLinalg.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_PASSES_CONVERSION_LOWBITTOLINALGBUILDERS_H
#define LOWBIT_PASSES_CONVERSION_LOWBITTOLINALGBUILDERS_H

#include "dialects/LowBit/LowBitDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/Transforms/DialectConversion.h"

#include <utility>

namespace lowbit::lowering {

using mlir::AffineExpr;
using mlir::AffineMap;
using mlir::Location;
using mlir::OpBuilder;
using mlir::RankedTensorType;
using mlir::Type;
using mlir::Value;

// Small builders.
Value constI32(OpBuilder &b, Location loc, int64_t v);
Value constF32(OpBuilder &b, Location loc, float v);
/// A row scale of quantize_dynamic: `s` where it is positive, else 1.
Value positiveOrOne(OpBuilder &b, Location l, Value s);
Value emptyTensor(OpBuilder &b, Location loc, llvm::ArrayRef<int64_t> shape,
                  Type elem);
Value zeroFilled(OpBuilder &b, Location loc, llvm::ArrayRef<int64_t> shape,
                 Type elem);
llvm::SmallVector<mlir::utils::IteratorType> parallelIterators(int64_t n);
llvm::SmallVector<AffineExpr> dimExprs(int64_t n, mlir::MLIRContext *ctx);
/// `index` as an i32.
Value loopIndexI32(OpBuilder &b, Location loc, int64_t dim);
/// Extends (or truncates) an integer to i32, as a signed or unsigned value.
Value toI32(OpBuilder &b, Location loc, Value v, bool isSigned);
/// Converts an i32 to the integer type `type` (truncating).
Value fromI32(OpBuilder &b, Location loc, Value v, Type type);
/// Converts a float to `type` (f32 arithmetic happens on both sides).
Value convertFloat(OpBuilder &b, Location loc, Value v, Type type);
/// The signless integer type that holds values of a low-bit element type.
Type storageType(Type elem);
/// lib/Numerics quantizeValue in IR (see the definition).
Value buildQuantizeValue(OpBuilder &b, Location loc, Value x, Value s, Value zp,
                         int64_t qmin, int64_t qmax);

// Packed storage.
/// One bit field of a layout (see the definition).
struct Field {
  int64_t byteOffset, perByte, slotBits, valueShift;
};
llvm::SmallVector<Field> layoutFields(lb::PackedType packed);
RankedTensorType bytesType(lb::PackedType packed);
Value buildUnpack(OpBuilder &b, Location loc, Value bytes,
                  lb::PackedType packed, Type elem, bool isSigned);
Value buildPack(OpBuilder &b, Location loc, Value values, lb::PackedType packed,
                bool isSigned);
/// The integer part of a weight as i8 containers, and whether they hold
/// signed values.
std::pair<Value, bool> weightContainers(OpBuilder &b, Location loc,
                                        Value original, Value converted,
                                        bool hasIntegerZero);

// Uniform quant types.
/// Scale and zero point of a uniform quant type: scalars (per tensor) or
/// f32 / i32 tables read through `map` (per axis, sub-channel).
struct UniformParams {
  float scale = 1.0f;
  int64_t zeroPoint = 0;
  Value scales, zeroPoints;
  AffineMap map;
  int64_t qmin = 0, qmax = 0;
  bool isSigned = true;
  Type storage;
};
float toF32(const llvm::APFloat &value);
UniformParams uniformParams(OpBuilder &b, Location loc,
                            mlir::quant::QuantizedType type,
                            llvm::ArrayRef<int64_t> shape);
Value buildUniformGeneric(
    OpBuilder &b, Location loc, Value input, const UniformParams &p,
    llvm::ArrayRef<int64_t> shape, Type outElem,
    llvm::function_ref<Value(OpBuilder &, Location, Value, Value, Value)>
        body);

/// lowbit.hadamard, lowbit.quantize_dynamic and lowbit.dequantize_dynamic
/// (LowBitActivationsToLinalg.cpp).
void populateActivationsToLinalgPatterns(mlir::TypeConverter &converter,
                                         mlir::RewritePatternSet &patterns);

} // namespace lowbit::lowering

#endif // LOWBIT_PASSES_CONVERSION_LOWBITTOLINALGBUILDERS_H
