//===- LowBitToLinalg.cpp - lowbit ops -> linalg / tensor / arith / math --===//
//
// Every lowbit op becomes linalg.generic ops on tensors with exact integer
// semantics (LowBitDialect.td is the spec; lib/Numerics/Pack.cpp and
// lib/Numerics/Quantize.cpp are the reference implementations these
// lowerings match bit for bit):
//
//   !lowbit.packed<D0x...xK x E, layout>  -> tensor<D0x...x ROW_BYTES x i8>
//   tensor<... x !quant.*<iB ...>>         -> tensor<... x iB>
//   tensor<... x uiB>                      -> tensor<... x iB>
//
// Packed bytes are read with one linalg.generic whose inputs are the byte
// tensor once per bit field of the layout (affine maps `k floordiv per_byte
// + plane offset`), and written with one reduction per field over a
// [rows..., bytes, per_byte] view of the values.
//
//===----------------------------------------------------------------------===//
#include "passes/Conversion/Passes.h"
#include "passes/Conversion/WinogradToLinalg.h"

#include "dialects/LowBit/LowBitDialect.h"

#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <limits>

namespace lowbit {
#define GEN_PASS_DEF_CONVERTLOWBITTOLINALGPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
using namespace lowbit::lb;

namespace {

using utils::IteratorType;

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
struct Field {
  int64_t byteOffset, perByte, slotBits, valueShift;
};

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
struct UniformParams {
  float scale = 1.0f;
  int64_t zeroPoint = 0;
  Value scales, zeroPoints;
  AffineMap map;
  int64_t qmin = 0, qmax = 0;
  bool isSigned = true;
  Type storage;
};

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

//===----------------------------------------------------------------------===//
// What the pass can lower
//===----------------------------------------------------------------------===//

bool isUniform(Type type) {
  return isa<quant::UniformQuantizedType, quant::UniformQuantizedPerAxisType,
             quant::UniformQuantizedSubChannelType>(type);
}

/// Emits an error on `op` and fails when the pass cannot lower it.
LogicalResult checkSupported(Operation *op) {
  if (isWinogradTransformOp(op))
    return success();
  if (!isa<PackedConstantOp, PackOp, UnpackOp, DequantizeWeightOp,
           QuantizeDynamicOp, DequantizeDynamicOp, QLinearOp, QuantizeOp,
           DequantizeOp, ObserveOp, HadamardOp>(op))
    return op->emitOpError("has no lowering to linalg");
  for (Type type :
       llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes())) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (tensor && !tensor.hasStaticShape())
      return op->emitOpError("cannot be lowered to linalg: needs statically "
                             "shaped tensors, got ")
             << type;
  }
  Type quantized;
  if (auto q = dyn_cast<QuantizeOp>(op))
    quantized = q.getResult().getType().getElementType();
  else if (auto d = dyn_cast<DequantizeOp>(op))
    quantized = d.getInput().getType().getElementType();
  if (quantized) {
    if (!isUniform(quantized))
      return op->emitOpError("cannot be lowered to linalg: ")
             << quantized
             << " has no scale and zero point (expected a !quant.uniform "
                "per-tensor, per-axis or sub-channel type)";
    auto q = cast<quant::QuantizedType>(quantized);
    if (!isa<IntegerType>(q.getStorageType()) ||
        q.getStorageTypeIntegralWidth() > 32)
      return op->emitOpError("cannot be lowered to linalg: storage type ")
             << q.getStorageType() << " is not an integer of at most 32 bits";
    if (auto sub = dyn_cast<quant::UniformQuantizedSubChannelType>(q)) {
      auto scaleType = sub.getScales().getType();
      if (!isa<FloatType>(scaleType.getElementType()) ||
          !isa<IntegerType>(sub.getZeroPoints().getType().getElementType()))
        return op->emitOpError("cannot be lowered to linalg: sub-channel "
                               "scales must be floats and zero points "
                               "integers");
      auto zpCount = sub.getZeroPoints().getNumElements();
      if (zpCount != 1 && zpCount != scaleType.getNumElements())
        return op->emitOpError("cannot be lowered to linalg: sub-channel "
                               "zero points do not match the scales");
    }
  }
  if (auto unpack = dyn_cast<UnpackOp>(op)) {
    Type elem = storageType(
        cast<RankedTensorType>(unpack.getResult().getType()).getElementType());
    if (!isa<IntegerType>(elem))
      return op->emitOpError("cannot be lowered to linalg: storage type ")
             << elem << " is not an integer";
  }
  if (auto pack = dyn_cast<PackOp>(op)) {
    Type elem = storageType(pack.getInput().getType().getElementType());
    if (!isa<IntegerType>(elem))
      return op->emitOpError("cannot be lowered to linalg: storage type ")
             << elem << " is not an integer";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

struct PackedConstantLowering : OpConversionPattern<PackedConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PackedConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto value = dyn_cast<TypedAttr>(op.getValue());
    if (!value)
      return rewriter.notifyMatchFailure(op, "value is not a typed attribute");
    rewriter.replaceOp(
        op,
        arith::ConstantOp::create(rewriter, op.getLoc(), value).getResult());
    return success();
  }
};

struct PackLowering : OpConversionPattern<PackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    PackedType packed = op.getResult().getType();
    rewriter.replaceOp(op, buildPack(rewriter, op.getLoc(), adaptor.getInput(),
                                     packed,
                                     isSignedElement(packed.getElementType())));
    return success();
  }
};

struct UnpackLowering : OpConversionPattern<UnpackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(UnpackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = dyn_cast_if_present<RankedTensorType>(
        getTypeConverter()->convertType(op.getResult().getType()));
    if (!resultType || !isa<IntegerType>(resultType.getElementType()))
      return rewriter.notifyMatchFailure(op, "result is not an integer tensor");
    PackedType packed = op.getInput().getType();
    rewriter.replaceOp(op,
                       buildUnpack(rewriter, op.getLoc(), adaptor.getInput(),
                                   packed, resultType.getElementType(),
                                   isSignedElement(packed.getElementType())));
    return success();
  }
};

struct DequantizeWeightLowering : OpConversionPattern<DequantizeWeightOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeWeightOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    bool hasZero = static_cast<bool>(op.getZero());
    bool floatOffset = op.getZeroKind() == "float_offset";
    Value q;
    bool isSigned;
    std::tie(q, isSigned) = weightContainers(
        rewriter, loc, op.getQ(), adaptor.getQ(), hasZero && !floatOffset);
    auto outType = op.getResult().getType();
    int64_t k = outType.getDimSize(1), groupSize = op.getGroupSize();
    AffineExpr dn, dk;
    bindDims(ctx, dn, dk);
    AffineExpr group =
        groupSize == k ? getAffineConstantExpr(0, ctx) : dk.floorDiv(groupSize);
    AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
    AffineMap tableMap = AffineMap::get(2, 0, {dn, group}, ctx);
    SmallVector<Value> inputs = {q, adaptor.getScale()};
    SmallVector<AffineMap> maps = {identity, tableMap};
    if (hasZero) {
      inputs.push_back(adaptor.getZero());
      maps.push_back(tableMap);
    }
    maps.push_back(identity);
    Value init = emptyTensor(rewriter, loc, outType.getShape(),
                             outType.getElementType());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{outType}, inputs, ValueRange{init}, maps,
        parallelIterators(2), [&](OpBuilder &b, Location l, ValueRange args) {
          Value qf = arith::SIToFPOp::create(b, l, b.getF32Type(),
                                             toI32(b, l, args[0], isSigned));
          Value scale = args[1];
          Value w;
          if (!hasZero)
            w = arith::MulFOp::create(b, l, qf, scale);
          else if (floatOffset)
            w = arith::AddFOp::create(
                b, l, arith::MulFOp::create(b, l, qf, scale), args[2]);
          else
            w = arith::MulFOp::create(
                b, l, arith::SubFOp::create(b, l, qf, args[2]), scale);
          linalg::YieldOp::create(b, l, w);
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// quantize_dynamic's Gaussian-MSE scale of each row of `x`:
/// f32(rmsClip * sqrt(sum_k x^2 / K) / qmax) with the sum, root, product and
/// quotient in f64 (so the result does not depend on the summation order
/// beyond f64 rounding), 1 where that is not positive.
Value buildRmsClipScale(OpBuilder &b, Location loc, Value x,
                        RankedTensorType scaleType, double rmsClip,
                        int64_t qmax) {
  MLIRContext *ctx = b.getContext();
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t rank = xType.getRank(), k = xType.getShape().back();
  Type f64 = b.getF64Type();
  SmallVector<int64_t> rowShape(xType.getShape().drop_back());
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  SmallVector<IteratorType> iterators = parallelIterators(rank - 1);
  iterators.push_back(IteratorType::reduction);
  // sumsq[r] = sum_k f64(x[r, k])^2
  Value sumsq =
      linalg::GenericOp::create(
          b, loc, TypeRange{RankedTensorType::get(rowShape, f64)},
          ValueRange{x}, ValueRange{zeroFilled(b, loc, rowShape, f64)},
          {identity, identity.getMajorSubMap(rank - 1)}, iterators,
          [](OpBuilder &nb, Location l, ValueRange args) {
            Value v = arith::ExtFOp::create(nb, l, nb.getF64Type(), args[0]);
            Value sq = arith::MulFOp::create(nb, l, v, v);
            linalg::YieldOp::create(
                nb, l, arith::AddFOp::create(nb, l, args[1], sq).getResult());
          })
          .getResult(0);
  auto constF64 = [](OpBuilder &nb, Location l, double v) -> Value {
    return arith::ConstantOp::create(nb, l, nb.getF64FloatAttr(v));
  };
  return linalg::GenericOp::create(
             b, loc, TypeRange{scaleType}, ValueRange{sumsq},
             ValueRange{emptyTensor(b, loc, scaleType.getShape(),
                                    b.getF32Type())},
             {identity.getMajorSubMap(rank - 1), identity},
             parallelIterators(rank),
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value meanSq = arith::DivFOp::create(
                   nb, l, args[0], constF64(nb, l, double(k)));
               Value rms = math::SqrtOp::create(nb, l, meanSq);
               Value clip = arith::MulFOp::create(
                   nb, l, constF64(nb, l, rmsClip), rms);
               Value s64 = arith::DivFOp::create(nb, l, clip,
                                                 constF64(nb, l, double(qmax)));
               Value s = arith::TruncFOp::create(nb, l, nb.getF32Type(), s64);
               linalg::YieldOp::create(nb, l, positiveOrOne(nb, l, s));
             })
      .getResult(0);
}

/// lowbit.hadamard as a fast Walsh-Hadamard transform in radix-r stages
/// (r <= 16, log2(block) radix-2 levels in all), each one linalg.generic
/// over the input's own shape. A stage of radix r and stride h writes
/// element k = q*r*h + t*h + l from its r partners x[base + j*h], j < r,
/// base = (k floordiv r*h) * r*h + k mod h (affine maps), by the radix-2
/// butterflies that lead to output t: level i adds or subtracts neighbours
/// as bit i of t is 0 or 1. That is exactly the arithmetic of the radix-2
/// transform (bit-identical results) with r - 1 additions per element and
/// stage instead of log2(r) stages. The last stage also multiplies by
/// 1/sqrt(block). No matrix and no reshapes (an expand/collapse pair would
/// be propagated into the consuming matmul by element-wise fusion); few
/// stages because LLVM's IndVarSimplify / LoopRotate time grows faster than
/// linearly with the number of loop nests in one function.
struct HadamardLowering : OpConversionPattern<HadamardOp> {
  static constexpr int64_t kMaxRadix = 16;
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(HadamardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto type = op.getInput().getType();
    int64_t rank = type.getRank(), block = op.getBlock();
    float norm = static_cast<float>(1.0 / std::sqrt(double(block)));
    SmallVector<AffineExpr> dims = dimExprs(rank, ctx);
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    Value y = adaptor.getInput();
    for (int64_t h = 1; h < block;) {
      int64_t r = std::min(kMaxRadix, block / h);
      bool last = h * r == block;
      AffineExpr k = dims.back();
      AffineExpr base = k.floorDiv(r * h) * (r * h) + k % h;
      SmallVector<AffineMap> maps;
      for (int64_t j = 0; j < r; ++j) {
        SmallVector<AffineExpr> exprs(dims);
        exprs.back() = base + j * h;
        maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
      }
      maps.push_back(identity);
      int64_t shift = llvm::Log2_64(static_cast<uint64_t>(h));
      y = linalg::GenericOp::create(
              rewriter, loc, TypeRange{type}, SmallVector<Value>(r, y),
              ValueRange{emptyTensor(rewriter, loc, type.getShape(),
                                     type.getElementType())},
              maps, parallelIterators(rank),
              [&](OpBuilder &b, Location l, ValueRange args) {
                auto index = [&](int64_t v) -> Value {
                  return arith::ConstantIndexOp::create(b, l, v);
                };
                // t = (k >> log2(h)) mod r: this element's row of H_r.
                Value t = linalg::IndexOp::create(b, l, rank - 1);
                if (shift)
                  t = arith::ShRUIOp::create(b, l, t, index(shift));
                SmallVector<Value> v(args.begin(), args.begin() + r);
                for (int64_t bit = 1; v.size() > 1; bit *= 2) {
                  Value first = arith::CmpIOp::create(
                      b, l, arith::CmpIPredicate::eq,
                      arith::AndIOp::create(b, l, t, index(bit)), index(0));
                  SmallVector<Value> next;
                  for (size_t m = 0; m + 1 < v.size(); m += 2) {
                    Value sum = arith::AddFOp::create(b, l, v[m], v[m + 1]);
                    Value diff = arith::SubFOp::create(b, l, v[m], v[m + 1]);
                    next.push_back(
                        arith::SelectOp::create(b, l, first, sum, diff));
                  }
                  v = std::move(next);
                }
                Value out = v.front();
                if (last)
                  out = arith::MulFOp::create(b, l, out, constF32(b, l, norm));
                linalg::YieldOp::create(b, l, out);
              })
              .getResult(0);
      h *= r;
    }
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct QuantizeDynamicLowering : OpConversionPattern<QuantizeDynamicOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizeDynamicOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    ArrayRef<int64_t> shape = xType.getShape();
    int64_t rank = shape.size();
    int64_t qmax = (int64_t(1) << (op.getBits() - 1)) - 1;
    Type f32 = rewriter.getF32Type();
    SmallVector<AffineExpr> dims = dimExprs(rank, ctx);
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    SmallVector<int64_t> rowShape(shape.drop_back());

    SmallVector<int64_t> scaleShape(rowShape);
    scaleShape.push_back(1);
    Value scale;
    if (FloatAttr rmsClip = op.getRmsClipAttr()) {
      scale = buildRmsClipScale(rewriter, loc, x, op.getScale().getType(),
                                rmsClip.getValueAsDouble(), qmax);
    } else {
      // absmax[r] = max_k |x[r, k]|
      SmallVector<IteratorType> iterators = parallelIterators(rank - 1);
      iterators.push_back(IteratorType::reduction);
      Value absmax =
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{RankedTensorType::get(rowShape, f32)},
              ValueRange{x},
              ValueRange{zeroFilled(rewriter, loc, rowShape, f32)},
              {identity, identity.getMajorSubMap(rank - 1)}, iterators,
              [](OpBuilder &b, Location l, ValueRange args) {
                Value a = math::AbsFOp::create(b, l, args[0]);
                linalg::YieldOp::create(
                    b, l,
                    arith::MaximumFOp::create(b, l, args[1], a).getResult());
              })
              .getResult(0);
      // scale[r, 0] = absmax / qmax, 1 where that is not positive (an
      // all-zero row).
      scale =
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{op.getScale().getType()},
              ValueRange{absmax},
              ValueRange{emptyTensor(rewriter, loc, scaleShape, f32)},
              {identity.getMajorSubMap(rank - 1), identity},
              parallelIterators(rank),
              [&](OpBuilder &b, Location l, ValueRange args) {
                Value s = arith::DivFOp::create(b, l, args[0],
                                                constF32(b, l, float(qmax)));
                linalg::YieldOp::create(b, l, positiveOrOne(b, l, s));
              })
              .getResult(0);
    }

    // q = clamp(roundeven(x / scale), -qmax, qmax)
    SmallVector<AffineExpr> scaleExprs(dims.begin(), dims.end() - 1);
    scaleExprs.push_back(getAffineConstantExpr(0, ctx));
    Value q =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{op.getQ().getType()}, ValueRange{x, scale},
            ValueRange{emptyTensor(rewriter, loc, shape, rewriter.getI8Type())},
            {identity, AffineMap::get(rank, 0, scaleExprs, ctx), identity},
            parallelIterators(rank),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value v = buildQuantizeValue(b, l, args[0], args[1],
                                           constI32(b, l, 0), -qmax, qmax);
              linalg::YieldOp::create(
                  b, l,
                  arith::TruncIOp::create(b, l, b.getI8Type(), v).getResult());
            })
            .getResult(0);
    rewriter.replaceOp(op, {q, scale});
    return success();
  }
};

struct DequantizeDynamicLowering : OpConversionPattern<DequantizeDynamicOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeDynamicOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto outType = op.getResult().getType();
    int64_t rank = outType.getRank();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    SmallVector<AffineExpr> scaleExprs = dimExprs(rank - 1, ctx);
    scaleExprs.push_back(getAffineConstantExpr(0, ctx));
    // x[r, k] = float(q[r, k]) * scale[r, 0]
    Value x =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{outType},
            ValueRange{adaptor.getQ(), adaptor.getScale()},
            ValueRange{emptyTensor(rewriter, loc, outType.getShape(),
                                   outType.getElementType())},
            {identity, AffineMap::get(rank, 0, scaleExprs, ctx), identity},
            parallelIterators(rank),
            [](OpBuilder &b, Location l, ValueRange args) {
              Value q = arith::SIToFPOp::create(b, l, b.getF32Type(), args[0]);
              linalg::YieldOp::create(
                  b, l, arith::MulFOp::create(b, l, q, args[1]).getResult());
            })
            .getResult(0);
    rewriter.replaceOp(op, x);
    return success();
  }
};

struct QLinearLowering : OpConversionPattern<QLinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QLinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value zero = adaptor.getWZero();
    Value w;
    bool wSigned;
    std::tie(w, wSigned) = weightContainers(
        rewriter, loc, op.getWQ(), adaptor.getWQ(), static_cast<bool>(zero));
    auto xType = op.getXQ().getType();
    int64_t m = xType.getDimSize(0), k = xType.getDimSize(1);
    int64_t n = op.getResult().getType().getDimSize(1);
    int64_t groupSize = op.getGroupSize(), groups = k / groupSize;
    Type i32 = rewriter.getI32Type(), f32 = rewriter.getF32Type();

    // [M, K] -> [M, K/G, G] and [N, K] -> [N, K/G, G]: element (g, kk) is
    // column g*G + kk. (A map `g*G + kk` on the [., K] tensors would leave
    // kk without a plain dimension, which linalg rejects as non-invertible.)
    SmallVector<ReassociationIndices> reassociation = {{0}, {1, 2}};
    Value x3 = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get({m, groups, groupSize}, rewriter.getI8Type()),
        adaptor.getXQ(), reassociation);
    Value w3 = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get({n, groups, groupSize}, rewriter.getI8Type()), w,
        reassociation);

    // acc[m, n, g] = sum_kk x[m, g, kk] * (w[n, g, kk] - zero[n, g]) in i32.
    AffineExpr dm, dn, dg, dkk;
    bindDims(ctx, dm, dn, dg, dkk);
    SmallVector<Value> inputs = {x3, w3};
    SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {dm, dg, dkk}, ctx),
                                   AffineMap::get(4, 0, {dn, dg, dkk}, ctx)};
    if (zero) {
      inputs.push_back(zero);
      maps.push_back(AffineMap::get(4, 0, {dn, dg}, ctx));
    }
    maps.push_back(AffineMap::get(4, 0, {dm, dn, dg}, ctx));
    SmallVector<int64_t> accShape = {m, n, groups};
    Value acc =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{RankedTensorType::get(accShape, i32)},
            inputs, ValueRange{zeroFilled(rewriter, loc, accShape, i32)}, maps,
            {IteratorType::parallel, IteratorType::parallel,
             IteratorType::parallel, IteratorType::reduction},
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value xi = toI32(b, l, args[0], /*isSigned=*/true);
              Value wi = toI32(b, l, args[1], wSigned);
              if (zero)
                wi = arith::SubIOp::create(
                    b, l, wi, arith::FPToSIOp::create(b, l, i32, args[2]));
              Value prod = arith::MulIOp::create(b, l, xi, wi);
              linalg::YieldOp::create(
                  b, l,
                  arith::AddIOp::create(b, l, args.back(), prod).getResult());
            })
            .getResult(0);

    // y[m, n] = sum_g (float(acc[m, n, g]) * x_scale[m, 0]) * w_scale[n, g]
    AffineExpr em, en, eg;
    bindDims(ctx, em, en, eg);
    SmallVector<int64_t> outShape = {m, n};
    Value y =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{RankedTensorType::get(outShape, f32)},
            ValueRange{acc, adaptor.getXScale(), adaptor.getWScale()},
            ValueRange{zeroFilled(rewriter, loc, outShape, f32)},
            {AffineMap::get(3, 0, {em, en, eg}, ctx),
             AffineMap::get(3, 0, {em, getAffineConstantExpr(0, ctx)}, ctx),
             AffineMap::get(3, 0, {en, eg}, ctx),
             AffineMap::get(3, 0, {em, en}, ctx)},
            {IteratorType::parallel, IteratorType::parallel,
             IteratorType::reduction},
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value a = arith::SIToFPOp::create(b, l, f32, args[0]);
              Value t = arith::MulFOp::create(
                  b, l, arith::MulFOp::create(b, l, a, args[1]), args[2]);
              linalg::YieldOp::create(
                  b, l, arith::AddFOp::create(b, l, args[3], t).getResult());
            })
            .getResult(0);

    if (Value bias = adaptor.getBias()) {
      AffineExpr bm, bn;
      bindDims(ctx, bm, bn);
      AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
      y = linalg::GenericOp::create(
              rewriter, loc, TypeRange{y.getType()}, ValueRange{y, bias},
              ValueRange{emptyTensor(rewriter, loc, outShape, f32)},
              {identity, AffineMap::get(2, 0, {bn}, ctx), identity},
              parallelIterators(2),
              [](OpBuilder &b, Location l, ValueRange args) {
                linalg::YieldOp::create(
                    b, l,
                    arith::AddFOp::create(b, l, args[0], args[1]).getResult());
              })
              .getResult(0);
    }
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct QuantizeLowering : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    auto qType = dyn_cast<quant::QuantizedType>(resultType.getElementType());
    if (!qType || !isUniform(qType))
      return rewriter.notifyMatchFailure(op, "not a uniform quant type");
    Location loc = op.getLoc();
    UniformParams p =
        uniformParams(rewriter, loc, qType, resultType.getShape());
    Value q = buildUniformGeneric(
        rewriter, loc, adaptor.getInput(), p, resultType.getShape(), p.storage,
        [&](OpBuilder &b, Location l, Value x, Value s, Value zp) {
          Value xf = convertFloat(b, l, x, b.getF32Type());
          Value v = buildQuantizeValue(b, l, xf, s, zp, p.qmin, p.qmax);
          return fromI32(b, l, v, p.storage);
        });
    rewriter.replaceOp(op, q);
    return success();
  }
};

/// quant.scast of a quantized tensor to its storage integers (static
/// activations in front of lowbit.qlinear): the converted operand already
/// is that tensor.
struct StorageCastLowering : OpConversionPattern<quant::StorageCastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(quant::StorageCastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    // Both directions: quantized -> storage, and storage -> quantized (an
    // imported DequantizeLinear of integer data); either way the converted
    // operand already is the storage tensor.
    if (adaptor.getInput().getType() !=
        getTypeConverter()->convertType(op.getResult().getType()))
      return rewriter.notifyMatchFailure(op, "not a cast to the storage type");
    rewriter.replaceOp(op, adaptor.getInput());
    return success();
  }
};

/// A calibration tap left in an ordinary compilation records nothing.
struct ObserveLowering : OpConversionPattern<ObserveOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ObserveOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.eraseOp(op);
    return success();
  }
};

struct DequantizeLowering : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto inputType = cast<RankedTensorType>(op.getInput().getType());
    auto qType = dyn_cast<quant::QuantizedType>(inputType.getElementType());
    if (!qType || !isUniform(qType))
      return rewriter.notifyMatchFailure(op, "not a uniform quant type");
    Location loc = op.getLoc();
    Type outElem = op.getResult().getType().getElementType();
    UniformParams p = uniformParams(rewriter, loc, qType, inputType.getShape());
    Value x = buildUniformGeneric(
        rewriter, loc, adaptor.getInput(), p, inputType.getShape(), outElem,
        [&](OpBuilder &b, Location l, Value q, Value s, Value zp) {
          Value centered =
              arith::SubIOp::create(b, l, toI32(b, l, q, p.isSigned), zp);
          Value f = arith::SIToFPOp::create(b, l, b.getF32Type(), centered);
          return convertFloat(b, l, arith::MulFOp::create(b, l, f, s), outElem);
        });
    rewriter.replaceOp(op, x);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct LowBitTypeConverter : TypeConverter {
  LowBitTypeConverter() {
    addConversion([](Type type) { return type; });
    addConversion([](PackedType type) -> Type { return bytesType(type); });
    addConversion([](RankedTensorType type) -> Type {
      return RankedTensorType::get(type.getShape(),
                                   storageType(type.getElementType()),
                                   type.getEncoding());
    });
    // Values still used by ops outside the lowbit dialect are bridged with
    // unrealized casts (reconcile-unrealized-casts removes matching pairs).
    auto cast = [](OpBuilder &b, Type type, ValueRange inputs,
                   Location loc) -> Value {
      if (inputs.size() != 1)
        return Value();
      return UnrealizedConversionCastOp::create(b, loc, type, inputs)
          .getResult(0);
    };
    addSourceMaterialization(cast);
    addTargetMaterialization(cast);
  }
};

struct ConvertLowBitToLinalgPass
    : lowbit::impl::ConvertLowBitToLinalgPassBase<ConvertLowBitToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    func::FuncOp func = getOperation();

    // Reject what cannot be lowered up front, with one error per op.
    bool supported = true;
    func.walk([&](Operation *op) {
      if (isa_and_present<LowBitDialect>(op->getDialect()) &&
          failed(checkSupported(op)))
        supported = false;
    });
    if (!supported)
      return signalPassFailure();

    LowBitTypeConverter converter;
    ConversionTarget target(*ctx);
    target.addIllegalDialect<LowBitDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return converter.isSignatureLegal(op.getFunctionType()) &&
             converter.isLegal(&op.getBody());
    });
    target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp,
                                 quant::StorageCastOp>(
        [&](Operation *op) { return converter.isLegal(op); });

    RewritePatternSet patterns(ctx);
    patterns.add<PackedConstantLowering, PackLowering, UnpackLowering,
                 DequantizeWeightLowering, QuantizeDynamicLowering,
                 DequantizeDynamicLowering, QLinearLowering, QuantizeLowering,
                 DequantizeLowering, ObserveLowering, StorageCastLowering,
                 HadamardLowering>(
        converter, ctx);
    populateWinogradToLinalgPatterns(converter, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                   converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    populateCallOpTypeConversionPattern(patterns, converter);
    if (failed(applyPartialConversion(func, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
