//===- ImportIntegerOps.cpp - integer Resize, MatMulInteger ---------------===//
//
// Part of the ONNX importer (lib/Import/Onnx/Importer.h): ResizeLinear on
// integers, MatMulInteger and the quantization arithmetic they share.
//
//===----------------------------------------------------------------------===//
#include "lib/Import/Onnx/Importer.h"

namespace lowbit::onnximport {

/// Resize mode=linear: separable 1-D linear interpolation along every axis
/// whose size changes. Per output index i of such an axis, the import-time
/// tables hold the source coordinate x(i) of coordinate_transformation_mode,
/// i0 = clamp(floor(x)), i1 = clamp(floor(x) + 1) and w = x - floor(x); one
/// linalg.generic per axis computes v[i0] * (1 - w) + v[i1] * w (ONNX's
/// reference formula; clamping the neighbours is its edge padding).
LogicalResult Importer::importResizeLinear(const ox::Node &node, Value x,
                                           ArrayRef<double> scales,
                                           ArrayRef<int64_t> outShape) {
  Location loc = nodeLoc(node);
  auto tx = tensorType(x);
  if (!tx.getElementType().isF32())
    return unsupported("Resize linear of a non-f32 tensor");
  std::string ctm = attrString(node, "coordinate_transformation_mode",
                               opset < 11 ? "asymmetric" : "half_pixel");
  if (ctm != "half_pixel" && ctm != "pytorch_half_pixel" &&
      ctm != "align_corners" && ctm != "asymmetric")
    return unsupported("Resize linear with coordinate_transformation_mode '" +
                       ctm + "'");
  if (attrInt(node, "antialias", 0) != 0)
    return unsupported("Resize linear with antialias=1");
  if (attrString(node, "keep_aspect_ratio_policy", "stretch") != "stretch")
    return unsupported("Resize linear with keep_aspect_ratio_policy");
  Value cur = x;
  for (int64_t d = 0; d < tx.getRank(); ++d) {
    int64_t in = tx.getDimSize(d), out = outShape[d];
    if (out <= 0)
      return invalid("Resize output dimension " + Twine(d) + " is " +
                     Twine(out));
    if (out == in && scales[d] == 1.0)
      continue;
    std::vector<int32_t> lo(out), hi(out);
    std::vector<float> weight(out);
    for (int64_t i = 0; i < out; ++i) {
      double c;
      // ONNX's reference takes the resized length as in * scale (not the
      // floored output size) when scales are given.
      double outLen = scales[d] * in;
      if (ctm == "align_corners")
        c = outLen == 1 ? 0.0 : double(i) * (in - 1) / (outLen - 1);
      else if (ctm == "asymmetric")
        c = i / scales[d];
      else if (ctm == "pytorch_half_pixel" && out == 1)
        c = 0.0;
      else
        c = (i + 0.5) / scales[d] - 0.5;
      double f = std::floor(c);
      lo[i] = static_cast<int32_t>(std::clamp<double>(f, 0, in - 1));
      hi[i] = static_cast<int32_t>(std::clamp<double>(f + 1, 0, in - 1));
      weight[i] = static_cast<float>(c - f);
    }
    auto idxType = RankedTensorType::get({out}, builder.getI32Type());
    Value loT = arith::ConstantOp::create(
        builder, loc, DenseElementsAttr::get(idxType, ArrayRef<int32_t>(lo)));
    Value hiT = arith::ConstantOp::create(
        builder, loc, DenseElementsAttr::get(idxType, ArrayRef<int32_t>(hi)));
    Value wT = arith::ConstantOp::create(
        builder, loc,
        DenseElementsAttr::get(
            RankedTensorType::get({out}, builder.getF32Type()),
            ArrayRef<float>(weight)));
    auto curType = tensorType(cur);
    SmallVector<int64_t> shape(curType.getShape());
    shape[d] = out;
    int64_t rank = shape.size();
    AffineMap along = AffineMap::get(rank, 0, builder.getAffineDimExpr(d));
    SmallVector<AffineMap> maps = {along, along, along,
                                   builder.getMultiDimIdentityMap(rank)};
    Value init =
        tensor::EmptyOp::create(builder, loc, shape, builder.getF32Type());
    Value src = cur;
    auto generic = linalg::GenericOp::create(
        builder, loc, TypeRange{init.getType()}, ValueRange{loT, hiT, wT},
        ValueRange{init}, maps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          SmallVector<Value> coords;
          for (int64_t k = 0; k < rank; ++k)
            coords.push_back(linalg::IndexOp::create(b, l, k));
          coords[d] = arith::IndexCastOp::create(b, l, b.getIndexType(),
                                                 args[0]);
          Value v0 = tensor::ExtractOp::create(b, l, src, coords);
          coords[d] = arith::IndexCastOp::create(b, l, b.getIndexType(),
                                                 args[1]);
          Value v1 = tensor::ExtractOp::create(b, l, src, coords);
          Value one = arith::ConstantOp::create(b, l, b.getF32FloatAttr(1.0f));
          Value w0 = arith::SubFOp::create(b, l, one, args[2]);
          Value y = arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, v0, w0),
              arith::MulFOp::create(b, l, v1, args[2]));
          linalg::YieldOp::create(b, l, y);
        });
    cur = generic.getResult(0);
  }
  define(node, 0, cur);
  return success();
}

/// MatMulInteger: int8/uint8 A [..., M, K] and B [K, N] with optional zero
/// points (scalar, per row of A [M], per column of B [N]; constants or
/// computed at run time) -> int32, exact: both operands are widened to i32
/// minus their zero point (one linalg.generic each), then an i32
/// linalg.matmul.
/// Input `idx` of an integer product (MatMulInteger, ConvInteger, the
/// QLinear ops) as i8 bits, and whether those bits are unsigned.
LogicalResult Importer::int8Operand(const ox::Node &node, size_t idx, Value &v,
                                    bool &isUnsigned) {
  int32_t type;
  if (failed(quantOperand(node, idx, v, type)))
    return failure();
  if (type != ox::kInt8 && type != ox::kUint8)
    return invalid(node.opType + " input " + Twine(idx) +
                   " must be int8 or uint8, got " +
                   (type != ox::kUndefined
                        ? ox::dataTypeName(type)
                        : llvm::formatv("{0}", tensorType(v).getElementType())
                              .str()));
  isUnsigned = type == ox::kUint8;
  if (isa<quant::QuantizedType>(tensorType(v).getElementType()))
    v = quant::StorageCastOp::create(
        builder, nodeLoc(node),
        RankedTensorType::get(tensorType(v).getShape(), builder.getI8Type()),
        v);
  return success();
}

/// The zero point input `idx` as i8 bits of its operand's type (null when
/// absent); at most 1-D.
LogicalResult Importer::int8ZeroPoint(const ox::Node &node, size_t idx,
                                      bool isUnsigned, Value &zp) {
  zp = {};
  if (!hasInput(node, idx))
    return success();
  int32_t type;
  if (failed(quantOperand(node, idx, zp, type)))
    return failure();
  if (type != (isUnsigned ? ox::kUint8 : ox::kInt8))
    return invalid("zero point '" + node.inputs[idx] + "' is " +
                   (type != ox::kUndefined
                        ? ox::dataTypeName(type)
                        : llvm::formatv("{0}", tensorType(zp).getElementType())
                              .str()) +
                   ", its operand is " + (isUnsigned ? "UINT8" : "INT8"));
  if (isa<quant::QuantizedType>(tensorType(zp).getElementType()))
    zp = quant::StorageCastOp::create(
        builder, nodeLoc(node),
        RankedTensorType::get(tensorType(zp).getShape(), builder.getI8Type()),
        zp);
  if (tensorType(zp).getRank() > 1)
    return unsupported("zero point '" + node.inputs[idx] + "' of rank " +
                       Twine(tensorType(zp).getRank()));
  return success();
}

/// v -> ext(v) - ext(zp[index along `zpDim`]) as i32 (zp null: ext(v); zp
/// with one element: the same for every index).
Value Importer::widenInt8(Value v, bool isUnsigned, Value zp, int64_t zpDim,
                          Location loc) {
  Type i32 = builder.getI32Type();
  auto t = tensorType(v);
  int64_t rank = t.getRank();
  SmallVector<Value> ins = {v};
  SmallVector<AffineMap> maps = {builder.getMultiDimIdentityMap(rank)};
  if (zp && tensorType(zp).getNumElements() == 1) {
    ins.push_back(reshape(zp, {}, loc));
    maps.push_back(AffineMap::get(rank, 0, {}, ctx));
  } else if (zp) {
    ins.push_back(zp);
    maps.push_back(AffineMap::get(rank, 0, builder.getAffineDimExpr(zpDim)));
  }
  maps.push_back(builder.getMultiDimIdentityMap(rank));
  Value init = tensor::EmptyOp::create(builder, loc, t.getShape(), i32);
  auto ext = [&](OpBuilder &bb, Location l, Value x) -> Value {
    return isUnsigned ? arith::ExtUIOp::create(bb, l, i32, x).getResult()
                      : arith::ExtSIOp::create(bb, l, i32, x).getResult();
  };
  return linalg::GenericOp::create(
             builder, loc, TypeRange{init.getType()}, ins, ValueRange{init},
             maps,
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &bb, Location l, ValueRange args) {
               Value x = ext(bb, l, args[0]);
               if (args.size() > 2)
                 x = arith::SubIOp::create(bb, l, x, ext(bb, l, args[1]));
               linalg::YieldOp::create(bb, l, x);
             })
      .getResult(0);
}

LogicalResult Importer::importMatMulInteger(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Type i32 = builder.getI32Type();
  Value a, b, aZp, bZp;
  bool aUnsigned = false, bUnsigned = false;
  if (failed(int8Operand(node, 0, a, aUnsigned)) ||
      failed(int8Operand(node, 1, b, bUnsigned)) ||
      failed(int8ZeroPoint(node, 2, aUnsigned, aZp)) ||
      failed(int8ZeroPoint(node, 3, bUnsigned, bZp)))
    return failure();
  auto ta = tensorType(a), tb = tensorType(b);
  if (ta.getRank() < 2 || tb.getRank() != 2)
    return unsupported("MatMulInteger with A of rank " +
                       Twine(ta.getRank()) + " and B of rank " +
                       Twine(tb.getRank()) + " (A rank >= 2, B rank 2)");
  int64_t m = ta.getDimSize(ta.getRank() - 2), k = ta.getShape().back();
  int64_t n = tb.getDimSize(1);
  if (tb.getDimSize(0) != k)
    return invalid("MatMulInteger reduction dimensions differ: " +
                   shapeString(ta.getShape()) + " x " +
                   shapeString(tb.getShape()));
  int64_t aZpSize = aZp ? tensorType(aZp).getNumElements() : 0;
  int64_t bZpSize = bZp ? tensorType(bZp).getNumElements() : 0;
  if (aZpSize > 1 && (aZpSize != m || ta.getRank() != 2))
    return invalid("a_zero_point has " + Twine(aZpSize) +
                   " elements; expected 1 or M=" + Twine(m) +
                   " (for a 2-D A)");
  if (bZpSize > 1 && bZpSize != n)
    return invalid("b_zero_point has " + Twine(bZpSize) +
                   " elements; expected 1 or N=" + Twine(n));
  Value aw = widenInt8(a, aUnsigned, aZp, ta.getRank() - 2, loc);
  Value bw = widenInt8(b, bUnsigned, bZp, 1, loc);
  int64_t rows = ta.getNumElements() / k;
  aw = reshape(aw, {rows, k}, loc);
  Value init = tensor::EmptyOp::create(builder, loc,
                                       SmallVector<int64_t>{rows, n}, i32);
  Value zero = arith::ConstantOp::create(builder, loc,
                                         builder.getI32IntegerAttr(0));
  Value acc = linalg::FillOp::create(builder, loc, ValueRange{zero},
                                     ValueRange{init})
                  .getResult(0);
  Value y = linalg::MatmulOp::create(builder, loc, TypeRange{acc.getType()},
                                     ValueRange{aw, bw}, ValueRange{acc})
                .getResult(0);
  SmallVector<int64_t> outShape(ta.getShape());
  outShape.back() = n;
  define(node, 0, reshape(y, outShape, loc));
  return success();
}

/// The scale (and zero point) layout of a Quantize/DequantizeLinear node on
/// an input of `shape`: per tensor (both reshaped to rank 0), per `axis`, or
/// blocked along `axis` (index i reads entry i / block_size). Checks the
/// shapes and returns the indexing map that reads scale and zero point.
FailureOr<AffineMap> Importer::quantParamMap(const ox::Node &node,
                                             ArrayRef<int64_t> shape,
                                             Value &scale, Value &zp) {
  Location loc = nodeLoc(node);
  auto ts = tensorType(scale);
  int64_t rank = shape.size();
  if (zp && tensorType(zp).getShape() != ts.getShape() &&
      !(ts.getNumElements() == 1 && tensorType(zp).getNumElements() == 1))
    return invalid("zero point of shape " +
                   shapeString(tensorType(zp).getShape()) +
                   " differs from the scale's " + shapeString(ts.getShape()));
  int64_t block = attrInt(node, "block_size", 0);
  int64_t axis = attrInt(node, "axis", 1);
  if (ts.getNumElements() == 1 && block == 0) {
    scale = reshape(scale, {}, loc);
    if (zp)
      zp = reshape(zp, {}, loc);
    return AffineMap::get(rank, 0, {}, ctx);
  }
  if (rank == 0 || failed(normalizeAxis(axis, rank, "axis")))
    return failure();
  if (block < 0)
    return invalid("block_size=" + Twine(block) + " must be positive");
  SmallVector<int64_t> expected = {shape[axis]};
  AffineMap map = AffineMap::get(rank, 0, builder.getAffineDimExpr(axis));
  if (block > 0) {
    expected.assign(shape.begin(), shape.end());
    expected[axis] = (shape[axis] + block - 1) / block;
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < rank; ++d)
      exprs.push_back(d == axis ? builder.getAffineDimExpr(d).floorDiv(block)
                                : builder.getAffineDimExpr(d));
    map = AffineMap::get(rank, 0, exprs, ctx);
  }
  if (ts.getShape() != ArrayRef<int64_t>(expected))
    return invalid(Twine(block ? "blocked " : "") + "scale of shape " +
                   shapeString(ts.getShape()) + " does not fit input " +
                   shapeString(shape) +
                   (block ? " with block_size=" + std::to_string(block)
                          : std::string()) +
                   " along axis " + Twine(axis) + " (expected " +
                   shapeString(expected) + ")");
  return map;
}

/// DequantizeLinear as arithmetic: y = (float(x) - float(zp)) * scale, x and
/// zp widened by their signedness; scale/zp per tensor, per axis, or blocked
/// along `axis` (index i reads entry i / block_size).
LogicalResult Importer::dequantizeArith(const ox::Node &node, Value q,
                                        bool isUnsigned, Value scale,
                                        Value zp) {
  Location loc = nodeLoc(node);
  auto tq = tensorType(q), ts = tensorType(scale);
  ArrayRef<int64_t> shape = tq.getShape();
  int64_t rank = shape.size();
  if (!isa<IntegerType>(tq.getElementType()) ||
      tq.getElementType().isInteger(1))
    return unsupported("DequantizeLinear of " +
                       llvm::formatv("{0}", tq.getElementType()).str());
  if (!ts.getElementType().isF32())
    return unsupported("DequantizeLinear with a non-f32 scale");
  FailureOr<AffineMap> paramMap = quantParamMap(node, shape, scale, zp);
  if (failed(paramMap))
    return failure();
  SmallVector<Value> ins = {q, scale};
  SmallVector<AffineMap> maps = {builder.getMultiDimIdentityMap(rank),
                                 *paramMap};
  if (zp) {
    ins.push_back(zp);
    maps.push_back(*paramMap);
  }
  maps.push_back(builder.getMultiDimIdentityMap(rank));
  Type f32 = builder.getF32Type(), i32 = builder.getI32Type();
  Value init = tensor::EmptyOp::create(builder, loc, shape, f32);
  auto widen = [&](OpBuilder &b, Location l, Value v) -> Value {
    unsigned w = v.getType().getIntOrFloatBitWidth();
    if (w < 32)
      v = isUnsigned ? arith::ExtUIOp::create(b, l, i32, v).getResult()
                     : arith::ExtSIOp::create(b, l, i32, v).getResult();
    return isUnsigned && w < 32
               ? arith::UIToFPOp::create(b, l, f32, v).getResult()
               : arith::SIToFPOp::create(b, l, f32, v).getResult();
  };
  Value y =
      linalg::GenericOp::create(
          builder, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value x = widen(b, l, args[0]);
            if (args.size() > 3)
              x = arith::SubFOp::create(b, l, x, widen(b, l, args[2]));
            linalg::YieldOp::create(
                b, l, arith::MulFOp::create(b, l, x, args[1]).getResult());
          })
          .getResult(0);
  define(node, 0, y);
  return success();
}

/// QuantizeLinear as arithmetic: q = saturate(round_half_even(x / scale) +
/// zp) into qType's container (i8 or i16; sub-byte types one value per i8);
/// scale/zp per tensor, per axis or blocked, as in dequantizeArith.
LogicalResult Importer::quantizeArith(const ox::Node &node, Value x,
                                      int32_t qType, Value scale, Value zp) {
  bool isUnsigned = isUnsignedIntType(qType);
  Location loc = nodeLoc(node);
  auto tx = tensorType(x), ts = tensorType(scale);
  ArrayRef<int64_t> shape = tx.getShape();
  int64_t rank = shape.size();
  if (!ts.getElementType().isF32())
    return unsupported("QuantizeLinear with a non-f32 scale");
  FailureOr<AffineMap> paramMap = quantParamMap(node, shape, scale, zp);
  if (failed(paramMap))
    return failure();
  SmallVector<Value> ins = {x, scale};
  SmallVector<AffineMap> maps = {builder.getMultiDimIdentityMap(rank),
                                 *paramMap};
  if (zp) {
    ins.push_back(zp);
    maps.push_back(*paramMap);
  }
  maps.push_back(builder.getMultiDimIdentityMap(rank));
  Type f32 = builder.getF32Type(), i32 = builder.getI32Type(),
       iN = builder.getIntegerType(containerWidth(qType));
  int64_t lo, hi;
  intTypeRange(qType, lo, hi);
  // Exact in f32: every bound is at most 16 bits wide.
  float qmin = float(lo), qmax = float(hi);
  Value init = tensor::EmptyOp::create(builder, loc, shape, iN);
  Value y =
      linalg::GenericOp::create(
          builder, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value v = arith::DivFOp::create(b, l, args[0], args[1]);
            v = math::RoundEvenOp::create(b, l, v);
            if (args.size() > 3) {
              Value z = isUnsigned
                            ? arith::ExtUIOp::create(b, l, i32, args[2])
                                  .getResult()
                            : arith::ExtSIOp::create(b, l, i32, args[2])
                                  .getResult();
              v = arith::AddFOp::create(
                  b, l, v, arith::SIToFPOp::create(b, l, f32, z));
            }
            v = arith::MaximumFOp::create(
                b, l, v,
                arith::ConstantOp::create(b, l, b.getF32FloatAttr(qmin)));
            v = arith::MinimumFOp::create(
                b, l, v,
                arith::ConstantOp::create(b, l, b.getF32FloatAttr(qmax)));
            Value q = arith::FPToSIOp::create(b, l, i32, v);
            linalg::YieldOp::create(b, l,
                                    arith::TruncIOp::create(b, l, iN, q)
                                        .getResult());
          })
          .getResult(0);
  if (isTrackedIntType(qType))
    intTypes[y] = qType;
  define(node, 0, y);
  return success();
}

/// DynamicQuantizeLinear, as ONNX defines it (uint8): with lo = min(0,
/// min x) and hi = max(0, max x), y_scale = (hi - lo) / 255, y_zero_point =
/// saturate(round_half_even(0 - lo / y_scale)) and y =
/// saturate(round_half_even(x / y_scale) + y_zero_point), through
/// quantizeArith. An all-zero x (hi = lo) takes y_scale 1, as onnxruntime
/// does (the formula would divide by 0): y and y_zero_point are 0.
LogicalResult Importer::importDynamicQuantizeLinear(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  if (!tx.getElementType().isF32())
    return unsupported("DynamicQuantizeLinear of a non-f32 input");
  int64_t count = tx.getNumElements();
  if (count == 0)
    return invalid("DynamicQuantizeLinear of an empty tensor");
  Type f32 = builder.getF32Type(), i8 = builder.getI8Type();
  auto one = RankedTensorType::get({1}, f32);
  Value flat = reshape(x, {count}, loc);
  Value hi = tosa::ReduceMaxOp::create(builder, loc, one, flat,
                                       builder.getI32IntegerAttr(0));
  Value lo = tosa::ReduceMinOp::create(builder, loc, one, flat,
                                       builder.getI32IntegerAttr(0));
  // [1] tensors: the scale and the zero point (uint8 in an i8 container).
  SmallVector<Value> inits = {
      tensor::EmptyOp::create(builder, loc, ArrayRef<int64_t>{1}, f32),
      tensor::EmptyOp::create(builder, loc, ArrayRef<int64_t>{1}, i8)};
  AffineMap id = builder.getMultiDimIdentityMap(1);
  auto params = linalg::GenericOp::create(
      builder, loc, TypeRange{inits[0].getType(), inits[1].getType()},
      ValueRange{hi, lo}, inits, SmallVector<AffineMap>(4, id),
      SmallVector<utils::IteratorType>(1, utils::IteratorType::parallel),
      [&](OpBuilder &b, Location l, ValueRange args) {
        auto c = [&](float v) {
          return arith::ConstantOp::create(b, l, b.getF32FloatAttr(v));
        };
        Value h = arith::MaximumFOp::create(b, l, args[0], c(0));
        Value m = arith::MinimumFOp::create(b, l, args[1], c(0));
        Value range = arith::DivFOp::create(
            b, l, arith::SubFOp::create(b, l, h, m), c(255));
        Value empty = arith::CmpFOp::create(
            b, l, arith::CmpFPredicate::OEQ, range, c(0));
        Value scale = arith::SelectOp::create(b, l, empty, c(1), range);
        Value z = math::RoundEvenOp::create(
            b, l,
            arith::SubFOp::create(b, l, c(0),
                                  arith::DivFOp::create(b, l, m, scale)));
        z = arith::MinimumFOp::create(
            b, l, arith::MaximumFOp::create(b, l, z, c(0)), c(255));
        Value zi = arith::TruncIOp::create(
            b, l, b.getI8Type(),
            arith::FPToSIOp::create(b, l, b.getI32Type(), z));
        linalg::YieldOp::create(b, l, ValueRange{scale, zi});
      });
  Value zp = params.getResult(1);
  intTypes[zp] = ox::kUint8;
  if (failed(quantizeArith(node, x, ox::kUint8, params.getResult(0), zp)))
    return failure();
  Value scale0 = reshape(params.getResult(0), {}, loc);
  Value zp0 = reshape(zp, {}, loc);
  intTypes[zp0] = ox::kUint8;
  define(node, 1, scale0);
  define(node, 2, zp0);
  return success();
}

} // namespace lowbit::onnximport
