//===- TosaBuilders.h - small helpers to emit tosa ops ----------*- C++ -*-===//
//
// TOSA 1.0 ops want shapes as !tosa.shape values and a shift operand on mul;
// these helpers keep that ceremony (and NCHW padding) in one place for the
// importer and the passes.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_SUPPORT_TOSABUILDERS_H
#define LOWBIT_SUPPORT_TOSABUILDERS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace lowbit {

/// A !tosa.shape constant holding `shape`.
inline mlir::Value buildTosaShape(mlir::OpBuilder &b, mlir::Location loc,
                                  llvm::ArrayRef<int64_t> shape) {
  auto type = mlir::tosa::shapeType::get(b.getContext(), shape.size());
  auto attr = mlir::DenseIntElementsAttr::get(
      mlir::RankedTensorType::get({static_cast<int64_t>(shape.size())},
                                  b.getIndexType()),
      shape);
  return mlir::tosa::ConstShapeOp::create(b, loc, type, attr);
}

/// tosa.reshape of `v` to `shape` (returns `v` when already of that shape).
inline mlir::Value buildTosaReshape(mlir::OpBuilder &b, mlir::Location loc,
                                    mlir::Value v,
                                    llvm::ArrayRef<int64_t> shape) {
  auto type = mlir::cast<mlir::RankedTensorType>(v.getType());
  if (type.getShape() == shape)
    return v;
  return mlir::tosa::ReshapeOp::create(
      b, loc, mlir::RankedTensorType::get(shape, type.getElementType()), v,
      buildTosaShape(b, loc, shape));
}

/// Prepends unit dimensions until `v` has rank `rank`.
inline mlir::Value buildTosaExpandRank(mlir::OpBuilder &b, mlir::Location loc,
                                       mlir::Value v, int64_t rank) {
  auto type = mlir::cast<mlir::RankedTensorType>(v.getType());
  if (type.getRank() >= rank)
    return v;
  llvm::SmallVector<int64_t> shape(rank - type.getRank(), 1);
  llvm::append_range(shape, type.getShape());
  return buildTosaReshape(b, loc, v, shape);
}

/// tosa.mul of same-rank operands (the shift operand is 0 for floats).
inline mlir::Value buildTosaMul(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::Type resultType, mlir::Value lhs,
                                mlir::Value rhs) {
  auto shiftType = mlir::RankedTensorType::get({1}, b.getI8Type());
  mlir::Value shift = mlir::tosa::ConstOp::create(
      b, loc, shiftType, mlir::DenseElementsAttr::get(shiftType, int8_t(0)));
  return mlir::tosa::MulOp::create(b, loc, resultType, lhs, rhs, shift);
}

/// A splat float/int constant of the given shape.
inline mlir::Value buildSplat(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Type elemType,
                              llvm::ArrayRef<int64_t> shape, double value) {
  auto type = mlir::RankedTensorType::get(shape, elemType);
  mlir::TypedAttr attr;
  if (auto ft = mlir::dyn_cast<mlir::FloatType>(elemType))
    attr = b.getFloatAttr(ft, value);
  else
    attr = b.getIntegerAttr(elemType, static_cast<int64_t>(value));
  return mlir::tosa::ConstOp::create(
      b, loc, type, mlir::SplatElementsAttr::get(type, attr));
}

/// A new tensor of `shape` whose element at index i is `input[map(i)]`: one
/// parallel linalg.generic that only copies (gathers, strided or repeated
/// reads, broadcasts).
inline mlir::Value buildAffineCopy(mlir::OpBuilder &b, mlir::Location loc,
                                   mlir::Value input, mlir::AffineMap map,
                                   llvm::ArrayRef<int64_t> shape) {
  auto elem = mlir::cast<mlir::RankedTensorType>(input.getType())
                  .getElementType();
  mlir::Value init = mlir::tensor::EmptyOp::create(b, loc, shape, elem);
  unsigned rank = shape.size();
  return mlir::linalg::GenericOp::create(
             b, loc, mlir::TypeRange{init.getType()}, mlir::ValueRange{input},
             mlir::ValueRange{init},
             llvm::ArrayRef<mlir::AffineMap>{
                 map, b.getMultiDimIdentityMap(rank)},
             llvm::SmallVector<mlir::utils::IteratorType>(
                 rank, mlir::utils::IteratorType::parallel),
             [](mlir::OpBuilder &nb, mlir::Location l, mlir::ValueRange args) {
               mlir::linalg::YieldOp::create(nb, l, args[0]);
             })
      .getResult(0);
}

/// Zero-pads the spatial dimensions of an NCHW tensor by ONNX-style `pads`
/// ([top, left, bottom, right]); returns `v` when all pads are zero.
inline mlir::Value buildNchwZeroPad(mlir::OpBuilder &b, mlir::Location loc,
                                    mlir::Value v,
                                    llvm::ArrayRef<int64_t> pads) {
  if (llvm::all_of(pads, [](int64_t p) { return p == 0; }))
    return v;
  auto type = mlir::cast<mlir::RankedTensorType>(v.getType());
  llvm::SmallVector<int64_t> padded(type.getShape());
  padded[2] += pads[0] + pads[2];
  padded[3] += pads[1] + pads[3];
  llvm::SmallVector<mlir::OpFoldResult> low = {
      b.getIndexAttr(0), b.getIndexAttr(0), b.getIndexAttr(pads[0]),
      b.getIndexAttr(pads[1])};
  llvm::SmallVector<mlir::OpFoldResult> high = {
      b.getIndexAttr(0), b.getIndexAttr(0), b.getIndexAttr(pads[2]),
      b.getIndexAttr(pads[3])};
  mlir::Value zero = mlir::arith::ConstantOp::create(
      b, loc, b.getZeroAttr(type.getElementType()));
  return mlir::tensor::PadOp::create(
      b, loc, mlir::RankedTensorType::get(padded, type.getElementType()), v,
      low, high, zero);
}

} // namespace lowbit

#endif // LOWBIT_SUPPORT_TOSABUILDERS_H
