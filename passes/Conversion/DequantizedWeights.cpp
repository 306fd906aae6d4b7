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
  Type i32 = b.getI32Type();
  if (auto vector = dyn_cast<VectorType>(q.getType()))
    i32 = vector.clone(i32);
  Value wide = weight.isSigned
                   ? arith::ExtSIOp::create(b, loc, i32, q).getResult()
                   : arith::ExtUIOp::create(b, loc, i32, q).getResult();
  return dequantizeWide(b, loc, weight, wide, scale, zero);
}

Value lowbit::dequantized::dequantizeWide(OpBuilder &b, Location loc,
                                          const Weight &weight, Value wide,
                                          Value scale, Value zero) {
  Type f32 = b.getF32Type();
  if (auto vector = dyn_cast<VectorType>(wide.getType()))
    f32 = vector.clone(f32);
  Value w = arith::SIToFPOp::create(b, loc, f32, wide);
  if (!weight.hasZero)
    return arith::MulFOp::create(b, loc, w, scale);
  if (weight.floatOffset)
    return arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, w, scale),
                                 zero);
  return arith::MulFOp::create(b, loc, arith::SubFOp::create(b, loc, w, zero),
                               scale);
}

bool lowbit::dequantized::fitsNibbles(const Weight &weight) {
  for (int8_t v : weight.q) {
    int value = weight.isSigned ? v : static_cast<uint8_t>(v);
    if (weight.isSigned ? (value < -8 || value > 7) : value > 15)
      return false;
  }
  return true;
}

Value lowbit::dequantized::unpackNibble(OpBuilder &b, Location loc,
                                        const Weight &weight, Value bytes,
                                        bool high) {
  auto type = cast<VectorType>(bytes.getType()).clone(b.getI32Type());
  auto splat = [&](int64_t c) {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, b.getI32IntegerAttr(c)));
  };
  if (weight.isSigned) {
    // Two's complement nibbles: the high one is the byte shifted right with
    // its sign; the low one is moved to the top and shifted back down.
    Value x = arith::ExtSIOp::create(b, loc, type, bytes);
    if (high)
      return arith::ShRSIOp::create(b, loc, x, splat(4));
    Value up = splat(28);
    return arith::ShRSIOp::create(b, loc,
                                  arith::ShLIOp::create(b, loc, x, up), up);
  }
  Value x = arith::ExtUIOp::create(b, loc, type, bytes);
  if (high)
    return arith::ShRUIOp::create(b, loc, x, splat(4));
  return arith::AndIOp::create(b, loc, x, splat(15));
}
