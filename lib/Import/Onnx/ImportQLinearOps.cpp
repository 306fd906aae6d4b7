//===- ImportQLinearOps.cpp - ConvInteger, QLinearConv, QLinearMatMul -----===//
//
// Part of the ONNX importer (lib/Import/Onnx/Importer.h): the integer
// convolution and onnxruntime's QOperator-format ops (quantize_static with
// QuantFormat.QOperator writes QLinearConv and QLinearMatMul). The products
// are exact int32 sums of (x - x_zp)(w - w_zp); the QLinear ops then
// requantize as onnxruntime does: y = saturate(round_half_even(float(acc) *
// m) + y_zp) with m = x_scale * w_scale / y_scale computed in f32 per output
// channel.
//
//===----------------------------------------------------------------------===//
#include "lib/Import/Onnx/Importer.h"

namespace lowbit::onnximport {


/// The int32 convolution of ConvInteger / QLinearConv: x [N, C, H, W] and
/// w [F, C / group, kh, kw] widened to i32 minus their zero points (x's per
/// tensor, w's per tensor or per output channel), x padded with zeros (the
/// zero point, after the subtraction), then linalg's convolution.
FailureOr<Value> Importer::convInt32(const ox::Node &node, size_t xIdx,
                                     size_t xZpIdx, size_t wIdx,
                                     size_t wZpIdx) {
  Location loc = nodeLoc(node);
  Value x, w, xZp, wZp;
  bool xUnsigned = false, wUnsigned = false;
  if (failed(int8Operand(node, xIdx, x, xUnsigned)) ||
      failed(int8Operand(node, wIdx, w, wUnsigned)) ||
      failed(int8ZeroPoint(node, xZpIdx, xUnsigned, xZp)) ||
      failed(int8ZeroPoint(node, wZpIdx, wUnsigned, wZp)))
    return failure();
  auto tx = tensorType(x), tw = tensorType(w);
  if (tx.getRank() != 4 || tw.getRank() != 4)
    return unsupported(node.opType + " on rank " + Twine(tx.getRank()) +
                       " input and rank " + Twine(tw.getRank()) +
                       " filter (2-D convolutions only)");
  if (xZp && tensorType(xZp).getNumElements() != 1)
    return invalid("x_zero_point must be a scalar (per tensor)");
  int64_t f = tw.getDimSize(0);
  if (wZp && tensorType(wZp).getNumElements() != 1 &&
      tensorType(wZp).getNumElements() != f)
    return invalid("w_zero_point has " +
                   Twine(tensorType(wZp).getNumElements()) +
                   " elements; expected 1 or " + Twine(f));
  std::vector<int64_t> strides = windowAttr(node, "strides");
  std::vector<int64_t> dilations = windowAttr(node, "dilations");
  SmallVector<int64_t> pads;
  if (failed(computeConvPads(node, tx.getShape().drop_front(2),
                             tw.getShape().drop_front(2), strides, dilations,
                             pads)))
    return failure();
  if (llvm::any_of(pads, [](int64_t p) { return p < 0; }))
    return invalid("pads must be non-negative");
  int64_t groups = attrInt(node, "group", 1);
  int64_t n = tx.getDimSize(0), c = tx.getDimSize(1);
  if (groups < 1 || c % groups || f % groups || tw.getDimSize(1) * groups != c)
    return invalid("group = " + Twine(groups) + " does not fit input channels " +
                   Twine(c) + " and filter " + shapeString(tw.getShape()));
  SmallVector<int64_t> padded = {n, c, tx.getDimSize(2) + pads[0] + pads[2],
                                 tx.getDimSize(3) + pads[1] + pads[3]};
  if (failed(checkTensorSize(padded, builder.getI32Type(),
                             "its padded input")))
    return failure();
  SmallVector<int64_t> outShape = {n, f};
  for (int i = 0; i < 2; ++i) {
    int64_t span = dilations[i] * (tw.getDimSize(2 + i) - 1) + 1;
    if (padded[2 + i] < span)
      return invalid("the kernel does not fit the padded input " +
                     shapeString(tx.getShape()));
    outShape.push_back((padded[2 + i] - span) / strides[i] + 1);
  }
  Type i32 = builder.getI32Type();
  Value xw = widenInt8(x, xUnsigned, xZp, 1, loc);
  Value ww = widenInt8(w, wUnsigned, wZp, 0, loc);
  if (llvm::any_of(pads, [](int64_t p) { return p != 0; })) {
    Value zero =
        arith::ConstantOp::create(builder, loc, builder.getI32IntegerAttr(0));
    SmallVector<OpFoldResult> low = {builder.getIndexAttr(0),
                                     builder.getIndexAttr(0),
                                     builder.getIndexAttr(pads[0]),
                                     builder.getIndexAttr(pads[1])};
    SmallVector<OpFoldResult> high = {builder.getIndexAttr(0),
                                      builder.getIndexAttr(0),
                                      builder.getIndexAttr(pads[2]),
                                      builder.getIndexAttr(pads[3])};
    xw = tensor::PadOp::create(builder, loc,
                               RankedTensorType::get(padded, i32), xw, low,
                               high, zero);
  }
  auto stridesAttr = builder.getI64TensorAttr(strides);
  auto dilationsAttr = builder.getI64TensorAttr(dilations);
  auto zeros = [&](ArrayRef<int64_t> shape) -> Value {
    Value init = tensor::EmptyOp::create(builder, loc, shape, i32);
    Value zero =
        arith::ConstantOp::create(builder, loc, builder.getI32IntegerAttr(0));
    return linalg::FillOp::create(builder, loc, ValueRange{zero},
                                  ValueRange{init})
        .getResult(0);
  };
  if (groups == 1)
    return linalg::Conv2DNchwFchwOp::create(
               builder, loc, TypeRange{RankedTensorType::get(outShape, i32)},
               ValueRange{xw, ww}, ValueRange{zeros(outShape)}, stridesAttr,
               dilationsAttr)
        .getResult(0);
  // Grouped: [N, G, C/G, H, W] x [G, F/G, C/G, kh, kw] -> [N, G, F/G, OH, OW].
  int64_t cg = c / groups, fg = f / groups;
  Value xg = reshape(xw, {n, groups, cg, padded[2], padded[3]}, loc);
  Value wg = reshape(ww, {groups, fg, cg, tw.getDimSize(2), tw.getDimSize(3)},
                     loc);
  SmallVector<int64_t> groupedOut = {n, groups, fg, outShape[2], outShape[3]};
  Value y = linalg::Conv2DNgchwGfchwOp::create(
                builder, loc, TypeRange{RankedTensorType::get(groupedOut, i32)},
                ValueRange{xg, wg}, ValueRange{zeros(groupedOut)}, stridesAttr,
                dilationsAttr)
                .getResult(0);
  return reshape(y, outShape, loc);
}

LogicalResult Importer::importConvInteger(const ox::Node &node) {
  FailureOr<Value> y = convInt32(node, 0, 2, 1, 3);
  if (failed(y))
    return failure();
  define(node, 0, *y);
  return success();
}

/// acc requantized per index of `channelDim`: saturate(round_half_even(
/// float(acc) * m) + y_zp) into y's range, with m = x_scale * w_scale[c] /
/// y_scale computed in the scales' type (f32 or f16) and widened to f32, as
/// onnxruntime computes its multiplier once. Scales and zero point may be
/// constants or run-time values. The result is tracked as INT8 / UINT8: y's
/// zero-point type, else x's.
LogicalResult Importer::requantize(const ox::Node &node, Value acc,
                                   int64_t channelDim, size_t xScaleIdx,
                                   size_t wScaleIdx, size_t yScaleIdx,
                                   size_t yZpIdx, bool xUnsigned) {
  Location loc = nodeLoc(node);
  auto ta = tensorType(acc);
  int64_t rank = ta.getRank(), channels = ta.getDimSize(channelDim);
  Value xs, ws, ys;
  if (failed(lookup(node, xScaleIdx, xs)) ||
      failed(lookup(node, wScaleIdx, ws)) ||
      failed(lookup(node, yScaleIdx, ys)))
    return failure();
  Type scaleType = tensorType(xs).getElementType();
  if ((!scaleType.isF32() && !scaleType.isF16()) ||
      tensorType(ws).getElementType() != scaleType ||
      tensorType(ys).getElementType() != scaleType)
    return unsupported(node.opType + " with scales of another type than f32 "
                                     "or f16 (all three alike)");
  if (tensorType(xs).getNumElements() != 1 ||
      tensorType(ys).getNumElements() != 1)
    return invalid("the input and output scales must be scalars (per tensor)");
  int64_t wCount = tensorType(ws).getNumElements();
  if (wCount != 1 && (wCount != channels || tensorType(ws).getRank() != 1))
    return invalid("the weight scale has " + Twine(wCount) +
                   " elements; expected 1 or " + Twine(channels));
  int32_t yType = xUnsigned ? ox::kUint8 : ox::kInt8;
  Value yZp;
  if (hasInput(node, yZpIdx)) {
    if (failed(quantOperand(node, yZpIdx, yZp, yType)))
      return failure();
    if (yType != ox::kInt8 && yType != ox::kUint8)
      return invalid("y_zero_point must be int8 or uint8, got " +
                     ox::dataTypeName(yType));
    if (tensorType(yZp).getNumElements() != 1)
      return invalid("y_zero_point must be a scalar (per tensor)");
    if (auto q = dyn_cast<quant::QuantizedType>(
            tensorType(yZp).getElementType()))
      yZp = quant::StorageCastOp::create(
          builder, loc, RankedTensorType::get({}, q.getStorageType()),
          reshape(yZp, {}, loc));
    yZp = reshape(yZp, {}, loc);
  }
  AffineMap scalar = AffineMap::get(rank, 0, {}, ctx);
  SmallVector<Value> ins = {acc, reshape(xs, {}, loc),
                            wCount == 1 ? reshape(ws, {}, loc) : ws,
                            reshape(ys, {}, loc)};
  SmallVector<AffineMap> maps = {
      builder.getMultiDimIdentityMap(rank), scalar,
      wCount == 1
          ? scalar
          : AffineMap::get(rank, 0, builder.getAffineDimExpr(channelDim)),
      scalar};
  if (yZp) {
    ins.push_back(yZp);
    maps.push_back(scalar);
  }
  maps.push_back(builder.getMultiDimIdentityMap(rank));
  bool yUnsigned = yType == ox::kUint8;
  int64_t lo, hi;
  intTypeRange(yType, lo, hi);
  Type f32 = builder.getF32Type(), i32 = builder.getI32Type(),
       i8 = builder.getI8Type();
  Value init = tensor::EmptyOp::create(builder, loc, ta.getShape(), i8);
  Value y =
      linalg::GenericOp::create(
          builder, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value m = arith::MulFOp::create(b, l, args[1], args[2]);
            m = arith::DivFOp::create(b, l, m, args[3]);
            if (!scaleType.isF32())
              m = arith::ExtFOp::create(b, l, f32, m);
            Value v = arith::SIToFPOp::create(b, l, f32, args[0]);
            v = math::RoundEvenOp::create(b, l,
                                          arith::MulFOp::create(b, l, v, m));
            if (yZp) {
              Value z = yUnsigned
                            ? arith::ExtUIOp::create(b, l, i32, args[4])
                                  .getResult()
                            : arith::ExtSIOp::create(b, l, i32, args[4])
                                  .getResult();
              v = arith::AddFOp::create(b, l, v,
                                        arith::SIToFPOp::create(b, l, f32, z));
            }
            v = arith::MaximumFOp::create(b, l, v,
                                          scalarConst(b, l, f32, double(lo)));
            v = arith::MinimumFOp::create(b, l, v,
                                          scalarConst(b, l, f32, double(hi)));
            Value q = arith::FPToSIOp::create(b, l, i32, v);
            linalg::YieldOp::create(b, l,
                                    arith::TruncIOp::create(b, l, i8, q)
                                        .getResult());
          })
          .getResult(0);
  intTypes[y] = yType;
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importQLinearConv(const ox::Node &node) {
  // x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
  // y_zero_point, B (int32).
  if (node.inputs.size() < 8)
    return invalid("QLinearConv needs 8 or 9 inputs, got " +
                   Twine(node.inputs.size()));
  FailureOr<Value> acc = convInt32(node, 0, 2, 3, 5);
  if (failed(acc))
    return failure();
  Location loc = nodeLoc(node);
  auto ta = tensorType(*acc);
  int64_t f = ta.getDimSize(1);
  if (hasInput(node, 8)) {
    Value bias;
    if (failed(lookup(node, 8, bias)))
      return failure();
    auto tb = tensorType(bias);
    if (!tb.getElementType().isInteger(32) || tb.getRank() != 1 ||
        tb.getDimSize(0) != f)
      return invalid("bias must be int32 [" + Twine(f) + "], got " +
                     shapeString(tb.getShape()));
    int64_t rank = ta.getRank();
    SmallVector<AffineMap> maps = {
        builder.getMultiDimIdentityMap(rank),
        AffineMap::get(rank, 0, builder.getAffineDimExpr(1)),
        builder.getMultiDimIdentityMap(rank)};
    Value init = tensor::EmptyOp::create(builder, loc, ta.getShape(),
                                         ta.getElementType());
    *acc = linalg::GenericOp::create(
               builder, loc, TypeRange{init.getType()}, ValueRange{*acc, bias},
               ValueRange{init}, maps,
               SmallVector<utils::IteratorType>(rank,
                                                utils::IteratorType::parallel),
               [&](OpBuilder &b, Location l, ValueRange args) {
                 linalg::YieldOp::create(
                     b, l, arith::AddIOp::create(b, l, args[0], args[1])
                               .getResult());
               })
               .getResult(0);
  }
  Value x;
  int32_t xType;
  if (failed(quantOperand(node, 0, x, xType)))
    return failure();
  return requantize(node, *acc, 1, 1, 4, 6, 7, xType == ox::kUint8);
}

LogicalResult Importer::importQLinearMatMul(const ox::Node &node) {
  // a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale,
  // y_zero_point: MatMulInteger(a, b, a_zp, b_zp), then requantized.
  if (node.inputs.size() < 8)
    return invalid("QLinearMatMul needs 8 inputs, got " +
                   Twine(node.inputs.size()));
  ox::Node product;
  product.name = node.name;
  product.opType = "MatMulInteger";
  product.inputs = {node.inputs[0], node.inputs[3], node.inputs[2],
                    node.inputs[5]};
  product.outputs = {node.outputs[0] + "#int32"};
  if (failed(importMatMulInteger(product)))
    return failure();
  Value acc = values.lookup(product.outputs[0]);
  Value a;
  int32_t aType;
  if (failed(quantOperand(node, 0, a, aType)))
    return failure();
  return requantize(node, acc, tensorType(acc).getRank() - 1, 1, 4, 6, 7,
                    aType == ox::kUint8);
}

} // namespace lowbit::onnximport
