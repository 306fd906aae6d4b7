//===- LowBitToLinalgBuilders.cpp - IR builders of convert-lowbit-to-linalg ===//
//
// The builders the lowbit -> linalg patterns share; the exact integer
// semantics are those of LowBitDialect.td, lib/Numerics/Pack.cpp and
// lib/Numerics/Quantize.cpp.
//
//===----------------------------------------------------------------------===//
#include "passes/Conversion/LowBitToLinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace lowbit::lb;
using utils::IteratorType;

namespace lowbit::lowering {

//===----------------------------------------------------------------------===//
// Small builders
//===----------------------------------------------------------------------===//

Value constI32(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantOp::create(
      b, loc, b.getI32IntegerAttr(static_cast<int32_t>(v)));
}

Value constF32(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// A row scale of quantize_dynamic: `s` where it is positive, else 1 (an
/// all-zero row quantizes to zeros either way; 1 keeps it finite).
Value positiveOrOne(OpBuilder &b, Location l, Value s) {
  Value positive = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, s,
                                         constF32(b, l, 0.0f));
  return arith::SelectOp::create(b, l, positive, s, constF32(b, l, 1.0f));
}

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  Type elem) {
  return tensor::EmptyOp::create(b, loc, shape, elem);
}

Value zeroFilled(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                 Type elem) {
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elem));
  return linalg::FillOp::create(b, loc, zero, emptyTensor(b, loc, shape, elem))
      .getResult(0);
}

SmallVector<IteratorType> parallelIterators(int64_t n) {
  return SmallVector<IteratorType>(n, IteratorType::parallel);
}

SmallVector<AffineExpr> dimExprs(int64_t n, MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < n; ++d)
    exprs.push_back(getAffineDimExpr(d, ctx));
  return exprs;
}

/// `index` as an i32.
Value loopIndexI32(OpBuilder &b, Location loc, int64_t dim) {
  Value index = linalg::IndexOp::create(b, loc, dim);
  return arith::IndexCastUIOp::create(b, loc, b.getI32Type(), index);
}

/// Extends (or truncates) an integer to i32, as a signed or unsigned value.
Value toI32(OpBuilder &b, Location loc, Value v, bool isSigned) {
  Type i32 = b.getI32Type();
  unsigned width = v.getType().getIntOrFloatBitWidth();
  if (width == 32)
    return v;
  if (width > 32)
    return arith::TruncIOp::create(b, loc, i32, v);
  if (isSigned)
    return arith::ExtSIOp::create(b, loc, i32, v);
  return arith::ExtUIOp::create(b, loc, i32, v);
}

/// Converts an i32 to the integer type `type` (truncating).
Value fromI32(OpBuilder &b, Location loc, Value v, Type type) {
  unsigned width = type.getIntOrFloatBitWidth();
  if (width == 32)
    return v;
  if (width < 32)
    return arith::TruncIOp::create(b, loc, type, v);
  return arith::ExtSIOp::create(b, loc, type, v);
}

/// Converts a float to `type` (f32 arithmetic happens on both sides).
Value convertFloat(OpBuilder &b, Location loc, Value v, Type type) {
  unsigned from = v.getType().getIntOrFloatBitWidth();
  unsigned to = type.getIntOrFloatBitWidth();
  if (v.getType() == type)
    return v;
  if (from < to)
    return arith::ExtFOp::create(b, loc, type, v);
  return arith::TruncFOp::create(b, loc, type, v);
}

/// The signless integer type that holds values of a low-bit element type:
/// a quant type's storage type, `iB` for `uiB` / `siB`; other types as they
/// are.
Type storageType(Type elem) {
  if (auto q = dyn_cast<quant::QuantizedType>(elem))
    elem = q.getStorageType();
  if (auto i = dyn_cast<IntegerType>(elem); i && !i.isSignless())
    return IntegerType::get(i.getContext(), i.getWidth());
  return elem;
}

/// lib/Numerics quantizeValue in IR: clamp(roundeven(x / s) + zp, qmin,
/// qmax) as i32, with x / s in f32; a NaN quotient, or a zero or non-finite
/// scale, gives clamp(zp, qmin, qmax). `x` and `s` are f32, `zp` i32.
Value buildQuantizeValue(OpBuilder &b, Location loc, Value x, Value s, Value zp,
                         int64_t qmin, int64_t qmax) {
  Type f32 = b.getF32Type();
  Value v = arith::DivFOp::create(b, loc, x, s);
  Value r = math::RoundEvenOp::create(b, loc, v);
  // clamp(r + zp) == clamp(r, qmin - zp, qmax - zp) + zp for integral r,
  // and the bounds are small integers, exact in f32.
  Value lo = arith::SIToFPOp::create(
      b, loc, f32, arith::SubIOp::create(b, loc, constI32(b, loc, qmin), zp));
  Value hi = arith::SIToFPOp::create(
      b, loc, f32, arith::SubIOp::create(b, loc, constI32(b, loc, qmax), zp));
  Value clamped = arith::MinimumFOp::create(
      b, loc, arith::MaximumFOp::create(b, loc, r, lo), hi);
  Value q = arith::AddIOp::create(
      b, loc, arith::FPToSIOp::create(b, loc, b.getI32Type(), clamped), zp);
  // Guards of quantizeValue.
  Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, v, v);
  Value zeroScale = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, s,
                                          constF32(b, loc, 0.0f));
  Value finiteScale = arith::CmpFOp::create(
      b, loc, arith::CmpFPredicate::OLT, math::AbsFOp::create(b, loc, s),
      constF32(b, loc, std::numeric_limits<float>::infinity()));
  Value bad = arith::OrIOp::create(
      b, loc, arith::OrIOp::create(b, loc, isNan, zeroScale),
      arith::XOrIOp::create(
          b, loc, finiteScale,
          arith::ConstantOp::create(b, loc, b.getBoolAttr(true))));
  Value zpClamped = arith::MinSIOp::create(
      b, loc, arith::MaxSIOp::create(b, loc, zp, constI32(b, loc, qmin)),
      constI32(b, loc, qmax));
  return arith::SelectOp::create(b, loc, bad, zpClamped, q);
}

//===----------------------------------------------------------------------===//
// Packed layouts
//===----------------------------------------------------------------------===//

/// One bit field of a layout: element k of a row lives in byte
/// `byteOffset + k / perByte` at bit `(k % perByte) * slotBits`, and those
/// `slotBits` bits are bits [valueShift, valueShift + slotBits) of its value.

SmallVector<Field> layoutFields(PackedType packed) {
  int64_t k = packed.getShape().back();
  switch (packed.getLayout()) {
  case LayoutKind::int2_crumbs:
    return {{0, 4, 2, 0}};
  case LayoutKind::int4_nibbles:
    return {{0, 2, 4, 0}};
  case LayoutKind::int6_planes:
    // 4-bit plane (v & 0xF, nibble order), then 2-bit plane ((v >> 4) & 3).
    return {{0, 2, 4, 0}, {k / 2, 4, 2, 4}};
  case LayoutKind::int8_bytes:
    return {{0, 1, 8, 0}};
  case LayoutKind::bit_planes: {
    SmallVector<Field> planes;
    for (int64_t i = 0; i < packed.getBitWidth(); ++i)
      planes.push_back({i * (k / 8), 8, 1, i});
    return planes;
  }
  }
  return {};
}

RankedTensorType bytesType(PackedType packed) {
  SmallVector<int64_t> shape(packed.getShape().drop_back());
  shape.push_back(packed.getRowBytes());
  return RankedTensorType::get(shape, IntegerType::get(packed.getContext(), 8));
}

/// Unpacks `bytes` (the converted form of `packed`) into a tensor of the
/// packed shape with integer element type `elem`: every value is the low
/// `bits` bits of its fields, sign-extended (isSigned) or zero-extended.
Value buildUnpack(OpBuilder &b, Location loc, Value bytes, PackedType packed,
                  Type elem, bool isSigned) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> shape = packed.getShape();
  int64_t rank = shape.size();
  int64_t bits = packed.getBitWidth();
  SmallVector<Field> fields = layoutFields(packed);
  SmallVector<AffineExpr> dims = dimExprs(rank, ctx);
  SmallVector<AffineMap> maps;
  SmallVector<Value> inputs;
  for (const Field &f : fields) {
    SmallVector<AffineExpr> exprs(dims.begin(), dims.end() - 1);
    exprs.push_back(dims.back().floorDiv(f.perByte) + f.byteOffset);
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
    inputs.push_back(bytes);
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  Value init = emptyTensor(b, loc, shape, elem);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      parallelIterators(rank), [&](OpBuilder &nb, Location l, ValueRange args) {
        Value k, u;
        int64_t fieldBits = 0;
        for (auto [i, f] : llvm::enumerate(fields)) {
          // Bytes are i8: zero-extend so that shifts bring in zeros.
          Value field = arith::ExtUIOp::create(nb, l, nb.getI32Type(), args[i]);
          if (f.perByte > 1) {
            if (!k)
              k = loopIndexI32(nb, l, rank - 1);
            Value shift =
                arith::RemUIOp::create(nb, l, k, constI32(nb, l, f.perByte));
            if (f.slotBits > 1)
              shift = arith::MulIOp::create(nb, l, shift,
                                            constI32(nb, l, f.slotBits));
            field = arith::ShRUIOp::create(nb, l, field, shift);
          }
          fieldBits += f.slotBits;
          if (f.slotBits < 8)
            field = arith::AndIOp::create(
                nb, l, field, constI32(nb, l, (int64_t(1) << f.slotBits) - 1));
          if (f.valueShift)
            field = arith::ShLIOp::create(nb, l, field,
                                          constI32(nb, l, f.valueShift));
          u = u ? arith::OrIOp::create(nb, l, u, field).getResult() : field;
        }
        // A value narrower than its slot: keep its own low `bits` bits.
        if (bits < fieldBits)
          u = arith::AndIOp::create(nb, l, u,
                                    constI32(nb, l, (int64_t(1) << bits) - 1));
        if (isSigned) {
          // Sign-extend from `bits`.
          Value s = constI32(nb, l, 32 - bits);
          u = arith::ShRSIOp::create(nb, l, arith::ShLIOp::create(nb, l, u, s),
                                     s);
        }
        linalg::YieldOp::create(nb, l, fromI32(nb, l, u, elem));
      });
  return generic.getResult(0);
}

/// Packs `values` (the packed shape; the packed element's storage type or
/// i8 containers) into the bytes of `packed`: each field is an OR-reduction
/// over a [rows..., bytes, per_byte] view of the values.
Value buildPack(OpBuilder &b, Location loc, Value values, PackedType packed,
                bool isSigned) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> shape = packed.getShape();
  int64_t rank = shape.size(), k = shape.back();
  Type i8 = b.getI8Type();
  RankedTensorType outType = bytesType(packed);
  Type valueElem = cast<RankedTensorType>(values.getType()).getElementType();
  SmallVector<Field> fields = layoutFields(packed);
  Value result =
      fields.size() > 1 ? emptyTensor(b, loc, outType.getShape(), i8) : Value();
  for (const Field &f : fields) {
    int64_t segmentBytes = k / f.perByte;
    SmallVector<int64_t> viewShape(shape.drop_back());
    viewShape.push_back(segmentBytes);
    SmallVector<int64_t> segmentShape = viewShape;
    viewShape.push_back(f.perByte);
    SmallVector<ReassociationIndices> reassociation;
    for (int64_t d = 0; d < rank - 1; ++d)
      reassociation.push_back({d});
    reassociation.push_back({rank - 1, rank});
    Value view = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(viewShape, valueElem), values,
        reassociation);
    // Loops (rows..., byte, slot); the slot loop is the reduction.
    SmallVector<AffineMap> maps = {
        AffineMap::getMultiDimIdentityMap(rank + 1, ctx),
        AffineMap::getMultiDimIdentityMap(rank + 1, ctx).getMajorSubMap(rank)};
    SmallVector<IteratorType> iterators = parallelIterators(rank);
    iterators.push_back(IteratorType::reduction);
    Value init = zeroFilled(b, loc, segmentShape, i8);
    Value segment =
        linalg::GenericOp::create(
            b, loc, TypeRange{init.getType()}, ValueRange{view},
            ValueRange{init}, maps, iterators,
            [&](OpBuilder &nb, Location l, ValueRange args) {
              Value v = toI32(nb, l, args[0], isSigned);
              if (f.valueShift)
                v = arith::ShRUIOp::create(nb, l, v,
                                           constI32(nb, l, f.valueShift));
              if (f.slotBits < 8)
                v = arith::AndIOp::create(
                    nb, l, v, constI32(nb, l, (int64_t(1) << f.slotBits) - 1));
              if (f.perByte > 1) {
                Value shift = loopIndexI32(nb, l, rank);
                if (f.slotBits > 1)
                  shift = arith::MulIOp::create(nb, l, shift,
                                                constI32(nb, l, f.slotBits));
                v = arith::ShLIOp::create(nb, l, v, shift);
              }
              Value byte = arith::TruncIOp::create(nb, l, nb.getI8Type(), v);
              linalg::YieldOp::create(
                  nb, l,
                  arith::OrIOp::create(nb, l, args[1], byte).getResult());
            })
            .getResult(0);
    if (!result)
      return segment;
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
    offsets.back() = b.getIndexAttr(f.byteOffset);
    SmallVector<OpFoldResult> sizes;
    for (int64_t d : segmentShape)
      sizes.push_back(b.getIndexAttr(d));
    SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
    result = tensor::InsertSliceOp::create(b, loc, segment, result, offsets,
                                           sizes, strides);
  }
  return result;
}

/// The integer part of a weight as i8 containers, and whether they hold
/// signed values. Packed storage is unpacked and its element type says the
/// signedness (`uiB` and unsigned quant types are unsigned); i8 containers
/// are unsigned exactly when an integer zero table comes with them
/// (asymmetric grids are [0, 2^b-1]; 128..255 are stored as bit patterns).
std::pair<Value, bool> weightContainers(OpBuilder &b, Location loc,
                                        Value original, Value converted,
                                        bool hasIntegerZero) {
  auto packed = dyn_cast<PackedType>(original.getType());
  if (!packed)
    return {converted, !hasIntegerZero};
  bool isSigned = isSignedElement(packed.getElementType());
  return {buildUnpack(b, loc, converted, packed, b.getI8Type(), isSigned),
          isSigned};
}

//===----------------------------------------------------------------------===//
// Quantization parameters of !quant.uniform types
//===----------------------------------------------------------------------===//

/// Scale and zero point of a uniform quant type: scalars (per tensor) or
/// f32 / i32 tables read through `map` (per axis, sub-channel).

float toF32(const APFloat &value) {
  APFloat v = value;
  bool lost = false;
  v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
  return v.convertToFloat();
}

/// Reads the parameters of `type` for a tensor of `shape`; the caller has
/// checked (checkSupported) that the type is a uniform quant type.
UniformParams uniformParams(OpBuilder &b, Location loc,
                            quant::QuantizedType type,
                            ArrayRef<int64_t> shape) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = shape.size();
  UniformParams p;
  p.qmin = type.getStorageTypeMin();
  p.qmax = type.getStorageTypeMax();
  p.isSigned = type.isSigned();
  p.storage = type.getStorageType();
  auto makeTables = [&](ArrayRef<int64_t> tableShape, ArrayRef<float> scales,
                        ArrayRef<int32_t> zps) {
    auto f32Type = RankedTensorType::get(tableShape, b.getF32Type());
    auto i32Type = RankedTensorType::get(tableShape, b.getI32Type());
    p.scales = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(f32Type, scales));
    p.zeroPoints =
        arith::ConstantOp::create(b, loc, DenseElementsAttr::get(i32Type, zps));
  };
  if (auto t = dyn_cast<quant::UniformQuantizedType>(type)) {
    p.scale = static_cast<float>(t.getScale());
    p.zeroPoint = t.getZeroPoint();
    return p;
  }
  if (auto t = dyn_cast<quant::UniformQuantizedPerAxisType>(type)) {
    SmallVector<float> scales;
    for (double s : t.getScales())
      scales.push_back(static_cast<float>(s));
    SmallVector<int32_t> zps;
    for (int64_t z : t.getZeroPoints())
      zps.push_back(static_cast<int32_t>(z));
    makeTables({static_cast<int64_t>(scales.size())}, scales, zps);
    p.map = AffineMap::get(rank, 0,
                           getAffineDimExpr(t.getQuantizedDimension(), ctx));
    return p;
  }
  auto t = cast<quant::UniformQuantizedSubChannelType>(type);
  DenseElementsAttr scaleAttr = t.getScales(), zpAttr = t.getZeroPoints();
  ArrayRef<int64_t> tableShape = scaleAttr.getType().getShape();
  SmallVector<float> scales;
  for (APFloat s : scaleAttr.getValues<APFloat>())
    scales.push_back(toF32(s));
  SmallVector<int32_t> zps;
  unsigned storageWidth = type.getStorageTypeIntegralWidth();
  for (APInt z : zpAttr.getValues<APInt>())
    zps.push_back(static_cast<int32_t>(
        !p.isSigned && z.getBitWidth() <= storageWidth ? z.getZExtValue()
                                                       : z.getSExtValue()));
  if (zps.size() == 1 && scales.size() > 1)
    zps.assign(scales.size(), zps.front()); // splat
  makeTables(tableShape, scales, zps);
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t block = shape[d] / tableShape[d];
    AffineExpr dim = getAffineDimExpr(d, ctx);
    exprs.push_back(tableShape[d] == 1 ? getAffineConstantExpr(0, ctx)
                                       : dim.floorDiv(block));
  }
  p.map = AffineMap::get(rank, 0, exprs, ctx);
  return p;
}

/// Builds an element-wise linalg.generic over `shape` producing `outElem`
/// from `input` and the parameters of `p`; `body` gets (value, scale f32,
/// zero point i32) and returns the result element.
Value buildUniformGeneric(
    OpBuilder &b, Location loc, Value input, const UniformParams &p,
    ArrayRef<int64_t> shape, Type outElem,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)> body) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = shape.size();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  SmallVector<Value> inputs = {input};
  SmallVector<AffineMap> maps = {identity};
  if (p.scales) {
    inputs.append({p.scales, p.zeroPoints});
    maps.append({p.map, p.map});
  }
  maps.push_back(identity);
  Value init = emptyTensor(b, loc, shape, outElem);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
             parallelIterators(rank),
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value s = p.scales ? args[1] : constF32(nb, l, p.scale);
               Value zp = p.scales ? args[2] : constI32(nb, l, p.zeroPoint);
               linalg::YieldOp::create(nb, l, body(nb, l, args[0], s, zp));
             })
      .getResult(0);
}


} // namespace lowbit::lowering
