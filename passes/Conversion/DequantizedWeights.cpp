//===- DequantizedWeights.cpp - weight-only layers' integer parts ---------===//
#include "passes/Conversion/DequantizedWeights.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace lowbit;

std::string lowbit::dequantized::read(Value value, Weight &weight) {
  auto op = value.getDefiningOp<lb::DequantizeWeightOp>();
  if (!op)
    return "the weight is not from lowbit.dequantize_weight";
  weight.op = op;
  auto type = cast<RankedTensorType>(op.getResult().getType());
  weight.n = type.getDimSize(0);
  weight.k = type.getDimSize(1);
  weight.hasZero = static_cast<bool>(op.getZero());
  weight.floatOffset = weight.hasZero && op.getZeroKind() == "float_offset";
  weight.groupSize = op.getGroupSize();
  if (weight.groupSize <= 0 || weight.k % weight.groupSize != 0)
    return "the group size does not divide K";
  weight.groups = weight.k / weight.groupSize;
  Value q = op.getQ();
  // Containers as convert-lowbit-to-linalg reads them: packed storage by its
  // element type; i8 containers unsigned with an integer zero.
  if (auto packed = dyn_cast<lb::PackedType>(q.getType())) {
    auto constant = q.getDefiningOp<lb::PackedConstantOp>();
    if (!constant || !lb::getUnpackedValues(constant, weight.q))
      return "the weight's integer part is not a compile-time constant";
    weight.isSigned = lb::isSignedElement(packed.getElementType());
  } else {
    ElementsAttr dense;
    if (!matchPattern(q, m_Constant(&dense)) ||
        !lb::getConstantBytes(dense, weight.q))
      return "the weight's integer part is not a compile-time constant";
    weight.isSigned = !(weight.hasZero && !weight.floatOffset);
  }
  if (weight.q.size() != static_cast<size_t>(weight.n * weight.k))
    return "the weight's integer part does not match its shape";
  return "";
}

Value lowbit::dequantized::dequantize(OpBuilder &b, Location loc,
                                      const Weight &weight, Value q,
                                      Value scale, Value zero) {
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  if (auto vector = dyn_cast<VectorType>(q.getType())) {
    i32 = vector.clone(i32);
    f32 = vector.clone(f32);
  }
  Value wide = weight.isSigned
                   ? arith::ExtSIOp::create(b, loc, i32, q).getResult()
                   : arith::ExtUIOp::create(b, loc, i32, q).getResult();
  Value w = arith::SIToFPOp::create(b, loc, f32, wide);
  if (!weight.hasZero)
    return arith::MulFOp::create(b, loc, w, scale);
  if (weight.floatOffset)
    return arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, w, scale),
                                 zero);
  return arith::MulFOp::create(b, loc, arith::SubFOp::create(b, loc, w, zero),
                               scale);
}
