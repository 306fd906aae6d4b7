//===- ImportPoolPad.cpp - pooling, padding, CNN ops ----------------------===//
//
// Part of the ONNX importer (lib/Import/Onnx/Importer.h): pooling, Pad, PRelu,
// Tile and ArgMin/ArgMax.
//
//===----------------------------------------------------------------------===//
#include "lib/Import/Onnx/Importer.h"

namespace lowbit::onnximport {

//===----------------------------------------------------------------------===//
// Pooling, padding and CNN odds and ends
//===----------------------------------------------------------------------===//

LogicalResult Importer::importPool(const ox::Node &node, bool isMax) {
  if (std::optional<LogicalResult> r = importAs2d(
          node, {0}, [&](const ox::Node &n) { return importPool(n, isMax); }))
    return *r;
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  if (tx.getRank() != 4)
    return unsupported("only 1-D and 2-D pooling (rank-3 or rank-4 input) is "
                       "supported, "
                       "got " + shapeString(tx.getShape()));
  if (node.outputs.size() > 1 && !node.outputs[1].empty())
    return unsupported("MaxPool's Indices output");
  Type elem = tx.getElementType();
  bool isFloat = isa<FloatType>(elem);
  if (!isFloat && (!isMax || elem.isInteger(1)))
    return unsupported("pooling of " + llvm::formatv("{0}", elem).str() +
                       " tensors");
  std::vector<int64_t> kernel = attrInts(node, "kernel_shape");
  std::vector<int64_t> strides = windowAttr(node, "strides");
  std::vector<int64_t> dilations = windowAttr(node, "dilations");
  if (kernel.size() != 2 || strides.size() != 2 || dilations.size() != 2)
    return invalid("kernel_shape, strides and dilations need 2 values");
  bool ceilMode = attrInt(node, "ceil_mode", 0) != 0;
  bool countPad = attrInt(node, "count_include_pad", 0) != 0;
  SmallVector<int64_t> pads;
  if (failed(computeConvPads(node, tx.getShape().drop_front(2), kernel,
                             strides, dilations, pads)))
    return failure();
  int64_t in[2] = {tx.getDimSize(2), tx.getDimSize(3)};
  if (failed(checkTensorSize({tx.getDimSize(0), tx.getDimSize(1),
                              in[0] + std::max<int64_t>(0, pads[0]) +
                                  std::max<int64_t>(0, pads[2]),
                              in[1] + std::max<int64_t>(0, pads[1]) +
                                  std::max<int64_t>(0, pads[3])},
                             elem, "its padded input")))
    return failure();
  int64_t out[2], extra[2], span[2];
  for (int i = 0; i < 2; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1)
      return invalid("kernel_shape, strides and dilations must be positive");
    int64_t padded = in[i] + pads[i] + pads[2 + i];
    span[i] = dilations[i] * (kernel[i] - 1) + 1;
    if (padded < span[i])
      return invalid("the pooling window does not fit the padded input");
    if (ceilMode) {
      out[i] = (padded - span[i] + strides[i] - 1) / strides[i] + 1;
      // The last window must start inside the input or its leading padding.
      if ((out[i] - 1) * strides[i] >= in[i] + pads[i])
        --out[i];
    } else {
      out[i] = (padded - span[i]) / strides[i] + 1;
    }
    extra[i] = std::max<int64_t>(0, (out[i] - 1) * strides[i] + span[i] -
                                        padded);
  }
  Type acc = isFloat && cast<FloatType>(elem).getWidth() < 32
                 ? Type(builder.getF32Type())
                 : elem;
  double padValue = 0;
  if (isMax)
    padValue = isFloat ? -INFINITY
                       : -std::ldexp(1.0, elem.getIntOrFloatBitWidth() - 1);
  Value src = x;
  if (pads[0] || pads[1] || pads[2] || pads[3] || extra[0] || extra[1]) {
    SmallVector<int64_t> paddedShape = {
        tx.getDimSize(0), tx.getDimSize(1),
        in[0] + pads[0] + pads[2] + extra[0],
        in[1] + pads[1] + pads[3] + extra[1]};
    Value base = fill(loc, paddedShape, elem, padValue);
    SmallVector<OpFoldResult> offsets = {
        builder.getIndexAttr(0), builder.getIndexAttr(0),
        builder.getIndexAttr(pads[0]), builder.getIndexAttr(pads[1])};
    SmallVector<OpFoldResult> sizes, steps;
    for (int64_t d : tx.getShape()) {
      sizes.push_back(builder.getIndexAttr(d));
      steps.push_back(builder.getIndexAttr(1));
    }
    src = tensor::InsertSliceOp::create(builder, loc, x, base, offsets, sizes,
                                        steps);
  }
  SmallVector<int64_t> outShape = {tx.getDimSize(0), tx.getDimSize(1), out[0],
                                   out[1]};
  auto d = [&](unsigned i) { return builder.getAffineDimExpr(i); };
  SmallVector<AffineMap> maps = {
      AffineMap::get(6, 0,
                     {d(0), d(1), d(2) * strides[0] + d(4) * dilations[0],
                      d(3) * strides[1] + d(5) * dilations[1]},
                     ctx),
      AffineMap::get(6, 0, {d(4), d(5)}, ctx),
      AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx)};
  SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
  iterators.append(2, utils::IteratorType::reduction);
  Value window = tensor::EmptyOp::create(builder, loc, kernel, acc);
  Value init = fill(loc, outShape, acc, isMax ? padValue : 0.0);
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{init.getType()}, ValueRange{src, window},
      ValueRange{init}, maps, iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value v = convertScalar(b, l, args[0], acc), a = args[2];
        Value r;
        if (!isMax)
          r = arith::AddFOp::create(b, l, a, v);
        else if (isFloat)
          r = arith::MaximumFOp::create(b, l, a, v);
        else
          r = arith::MaxSIOp::create(b, l, a, v);
        linalg::YieldOp::create(b, l, r);
      });
  Value y = generic.getResult(0);
  if (!isMax) {
    // Divisors per output position, known statically.
    std::vector<float> counts;
    for (int64_t oh = 0; oh < out[0]; ++oh)
      for (int64_t ow = 0; ow < out[1]; ++ow) {
        int64_t c[2] = {0, 0}, o[2] = {oh, ow};
        for (int i = 0; i < 2; ++i)
          for (int64_t t = 0; t < kernel[i]; ++t) {
            int64_t p = o[i] * strides[i] - pads[i] + t * dilations[i];
            bool inside = countPad ? p >= -pads[i] && p < in[i] + pads[2 + i]
                                   : p >= 0 && p < in[i];
            c[i] += inside;
          }
        counts.push_back(static_cast<float>(std::max<int64_t>(1, c[0] * c[1])));
      }
    Value divisors = makeFloatConstant(
        {1, 1, out[0], out[1]}, counts, acc, loc,
        (node.outputs[0] + "_divisors"));
    y = broadcastGeneric(loc, outShape, elem, {y, divisors},
                         [&](OpBuilder &b, Location l, ValueRange a) {
                           return convertScalar(
                               b, l, arith::DivFOp::create(b, l, a[0], a[1]),
                               elem);
                         });
  } else if (acc != elem) {
    y = broadcastGeneric(loc, outShape, elem, {y},
                         [&](OpBuilder &b, Location l, ValueRange a) {
                           return convertScalar(b, l, a[0], elem);
                         });
  }
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importPad(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  int64_t rank = tx.getRank();
  Type elem = tx.getElementType();
  std::string mode = attrString(node, "mode", "constant");
  std::vector<int64_t> pads, axes;
  double value = 0;
  Value runtimeValue;
  if (opset < 11) {
    pads = attrInts(node, "pads");
    if (pads.empty())
      pads = attrInts(node, "paddings");
    value = attrFloat(node, "value", 0.0f);
  } else {
    if (failed(constantInts(node, 1, pads)))
      return failure();
    if (hasInput(node, 2) && !constantOf(node, 2)) {
      // A value known only at run time: a scalar operand of the generic.
      if (failed(lookup(node, 2, runtimeValue)))
        return failure();
      if (tensorType(runtimeValue).getNumElements() != 1 ||
          tensorType(runtimeValue).getElementType() != elem)
        return invalid("Pad constant_value must be a scalar of the input's "
                       "type");
      runtimeValue = reshape(runtimeValue, {}, loc);
    } else if (hasInput(node, 2)) {
      std::vector<double> v;
      if (failed(constantFloats(node, 2, v)))
        return failure();
      if (v.size() != 1)
        return invalid("Pad constant_value must be a scalar");
      value = v[0];
    }
    if (hasInput(node, 3) && failed(constantInts(node, 3, axes)))
      return failure();
  }
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  if (pads.size() != 2 * axes.size())
    return invalid("Pad pads has " + Twine(pads.size()) + " values for " +
                   Twine(axes.size()) + " axes");
  SmallVector<int64_t> before(rank, 0), after(rank, 0), outShape;
  for (size_t k = 0; k < axes.size(); ++k) {
    int64_t a = axes[k];
    if (failed(normalizeAxis(a, rank, "axis")))
      return failure();
    before[a] = pads[k];
    after[a] = pads[k + axes.size()];
  }
  if (mode != "constant" && mode != "edge" && mode != "reflect" &&
      mode != "wrap")
    return invalid("unknown Pad mode '" + mode + "'");
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = tx.getDimSize(d);
    outShape.push_back(dim + before[d] + after[d]);
    if (outShape.back() < 0)
      return invalid("Pad removes more than dimension " + Twine(d) + " has");
    if (mode == "reflect" && (before[d] >= dim || after[d] >= dim) &&
        (before[d] > 0 || after[d] > 0))
      return unsupported("reflect Pad by at least the dimension's size");
  }
  if (product(outShape) == 0) {
    define(node, 0, tensor::EmptyOp::create(builder, loc, outShape, elem));
    return success();
  }
  define(node, 0,
         broadcastGeneric(
             loc, outShape, elem,
             runtimeValue ? ValueRange{runtimeValue} : ValueRange{},
             [&](OpBuilder &b, Location l, ValueRange args) -> Value {
               SmallVector<Value> coords;
               Value inside;
               Value zero = arith::ConstantIndexOp::create(b, l, 0);
               for (int64_t d = 0; d < rank; ++d) {
                 int64_t dim = tx.getDimSize(d);
                 Value o = linalg::IndexOp::create(b, l, d);
                 Value i = arith::SubIOp::create(
                     b, l, o, arith::ConstantIndexOp::create(b, l, before[d]));
                 Value last = arith::ConstantIndexOp::create(b, l, dim - 1);
                 Value size = arith::ConstantIndexOp::create(b, l, dim);
                 if (mode == "reflect") {
                   Value neg = arith::CmpIOp::create(
                       b, l, arith::CmpIPredicate::slt, i, zero);
                   i = arith::SelectOp::create(
                       b, l, neg, arith::SubIOp::create(b, l, zero, i), i);
                   Value high = arith::CmpIOp::create(
                       b, l, arith::CmpIPredicate::sgt, i, last);
                   Value twice = arith::ConstantIndexOp::create(b, l,
                                                                2 * (dim - 1));
                   i = arith::SelectOp::create(
                       b, l, high, arith::SubIOp::create(b, l, twice, i), i);
                 } else if (mode == "wrap") {
                   Value r = arith::RemSIOp::create(b, l, i, size);
                   Value neg = arith::CmpIOp::create(
                       b, l, arith::CmpIPredicate::slt, r, zero);
                   i = arith::SelectOp::create(
                       b, l, neg, arith::AddIOp::create(b, l, r, size), r);
                 } else {
                   if (mode == "constant") {
                     Value ge = arith::CmpIOp::create(
                         b, l, arith::CmpIPredicate::sge, i, zero);
                     Value le = arith::CmpIOp::create(
                         b, l, arith::CmpIPredicate::sle, i, last);
                     Value in = arith::AndIOp::create(b, l, ge, le);
                     inside = inside ? Value(arith::AndIOp::create(b, l,
                                                                   inside, in))
                                     : in;
                   }
                   i = arith::MaxSIOp::create(b, l, i, zero);
                   i = arith::MinSIOp::create(b, l, i, last);
                 }
                 coords.push_back(i);
               }
               Value v = tensor::ExtractOp::create(b, l, x, coords);
               if (inside)
                 v = arith::SelectOp::create(
                     b, l, inside, v,
                     runtimeValue ? args[0] : scalarConst(b, l, elem, value));
               return v;
             }));
  return success();
}

LogicalResult Importer::importPRelu(const ox::Node &node) {
  Value x, slope;
  if (failed(lookup(node, 0, x)) || failed(lookup(node, 1, slope)))
    return failure();
  auto tx = tensorType(x), ts = tensorType(slope);
  Type elem = tx.getElementType();
  if (ts.getElementType() != elem)
    return invalid("PRelu slope and input element types differ");
  auto shape = broadcastShape(tx.getShape(), ts.getShape());
  if (failed(shape))
    return failure();
  bool isFloat = isa<FloatType>(elem);
  define(node, 0,
         broadcastGeneric(
             nodeLoc(node), *shape, elem, {x, slope},
             [&](OpBuilder &b, Location l, ValueRange a) -> Value {
               Value zero = scalarConst(b, l, elem, 0);
               Value neg =
                   isFloat ? Value(arith::CmpFOp::create(
                                 b, l, arith::CmpFPredicate::OLT, a[0], zero))
                           : Value(arith::CmpIOp::create(
                                 b, l, arith::CmpIPredicate::slt, a[0], zero));
               Value m = isFloat
                             ? Value(arith::MulFOp::create(b, l, a[0], a[1]))
                             : Value(arith::MulIOp::create(b, l, a[0], a[1]));
               return arith::SelectOp::create(b, l, neg, m, a[0]);
             }));
  return success();
}

LogicalResult Importer::importTile(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  std::vector<int64_t> repeats;
  if (failed(constantInts(node, 1, repeats)))
    return failure();
  auto tx = tensorType(x);
  int64_t rank = tx.getRank();
  if (static_cast<int64_t>(repeats.size()) != rank)
    return invalid("Tile repeats has " + Twine(repeats.size()) +
                   " values for rank " + Twine(rank));
  SmallVector<int64_t> outShape;
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d) {
    if (repeats[d] < 0)
      return invalid("Tile repeats must be non-negative");
    int64_t dim = tx.getDimSize(d);
    outShape.push_back(dim * repeats[d]);
    exprs.push_back(dim == 1 ? builder.getAffineConstantExpr(0)
                    : repeats[d] == 1
                        ? builder.getAffineDimExpr(d)
                        : builder.getAffineDimExpr(d) % dim);
  }
  if (product(outShape) == 0) {
    define(node, 0,
           tensor::EmptyOp::create(builder, loc, outShape,
                                   tx.getElementType()));
    return success();
  }
  define(node, 0,
         buildAffineCopy(builder, loc, x, AffineMap::get(rank, 0, exprs, ctx),
                         outShape));
  return success();
}

LogicalResult Importer::importArgMinMax(const ox::Node &node, bool isMax) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  int64_t rank = tx.getRank();
  int64_t axis = attrInt(node, "axis", 0);
  if (rank < 1 || failed(normalizeAxis(axis, rank, "axis")))
    return failure();
  bool keepdims = attrInt(node, "keepdims", 1) != 0;
  bool last = attrInt(node, "select_last_index", 0) != 0;
  Type elem = tx.getElementType();
  if (elem.isInteger(1))
    return unsupported(node.opType + " of bool tensors");
  bool isFloat = isa<FloatType>(elem);
  SmallVector<int64_t> outShape, keepShape(tx.getShape());
  keepShape[axis] = 1;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    iterators.push_back(d == axis ? utils::IteratorType::reduction
                                  : utils::IteratorType::parallel);
    if (d != axis) {
      outShape.push_back(tx.getDimSize(d));
      outExprs.push_back(builder.getAffineDimExpr(d));
    }
  }
  double initValue =
      isFloat ? (isMax ? -INFINITY : INFINITY)
              : (isMax ? -std::ldexp(1.0, elem.getIntOrFloatBitWidth() - 1)
                       : std::ldexp(1.0, elem.getIntOrFloatBitWidth() - 1) - 1);
  Value bestInit = fill(loc, outShape, elem, initValue);
  Value indexInit = fill(loc, outShape, builder.getI64Type(), 0);
  AffineMap outMap = AffineMap::get(rank, 0, outExprs, ctx);
  SmallVector<AffineMap> maps = {builder.getMultiDimIdentityMap(rank), outMap,
                                 outMap};
  auto fp = isMax ? (last ? arith::CmpFPredicate::OGE
                          : arith::CmpFPredicate::OGT)
                  : (last ? arith::CmpFPredicate::OLE
                          : arith::CmpFPredicate::OLT);
  auto ip = isMax ? (last ? arith::CmpIPredicate::sge
                          : arith::CmpIPredicate::sgt)
                  : (last ? arith::CmpIPredicate::sle
                          : arith::CmpIPredicate::slt);
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{bestInit.getType(), indexInit.getType()},
      ValueRange{x}, ValueRange{bestInit, indexInit}, maps, iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value k = arith::IndexCastOp::create(
            b, l, b.getI64Type(), linalg::IndexOp::create(b, l, axis));
        Value better =
            isFloat ? Value(arith::CmpFOp::create(b, l, fp, args[0], args[1]))
                    : Value(arith::CmpIOp::create(b, l, ip, args[0], args[1]));
        // The first element always wins, so that an all -inf (or NaN-free
        // extreme) slice still reports a valid index.
        Value first = arith::CmpIOp::create(
            b, l, arith::CmpIPredicate::eq, k,
            arith::ConstantOp::create(b, l, b.getI64IntegerAttr(0)));
        better = arith::OrIOp::create(b, l, better, first);
        linalg::YieldOp::create(
            b, l,
            ValueRange{arith::SelectOp::create(b, l, better, args[0], args[1]),
                       arith::SelectOp::create(b, l, better, k, args[2])});
      });
  Value y = generic.getResult(1);
  if (keepdims)
    y = reshape(y, keepShape, loc);
  define(node, 0, y);
  return success();
}

std::optional<LogicalResult> Importer::importAs2d(
    const ox::Node &node, ArrayRef<size_t> spatialInputs,
    llvm::function_ref<LogicalResult(const ox::Node &)> import2d) {
  // A 1-D node is its 2-D form with H = 1: inputs [N, C, L] as [N, C, 1, L],
  // kernel_shape / strides / dilations with a leading 1, pads with a 0
  // before and after H; the result [N, F, 1, L'] back to [N, F, L'].
  Value first;
  if (!hasInput(node, 0) || failed(lookup(node, 0, first)) ||
      tensorType(first).getRank() != 3)
    return std::nullopt;
  Location loc = nodeLoc(node);
  ox::Node lifted = node;
  const std::string tag = "#" + node.outputs[0] + ".2d";
  for (size_t index : spatialInputs) {
    if (!hasInput(node, index))
      continue;
    Value v;
    if (failed(lookup(node, index, v)))
      return failure();
    auto type = tensorType(v);
    if (type.getRank() != 3)
      return LogicalResult(
          invalid("input " + Twine(index) + " has shape " +
                  shapeString(type.getShape()) + ", expected rank 3 as input 0"));
    SmallVector<int64_t> shape = {type.getDimSize(0), type.getDimSize(1), 1,
                                  type.getDimSize(2)};
    auto type4 = RankedTensorType::get(shape, type.getElementType());
    // A constant (a filter) stays a constant, so that the kernels take it.
    const ox::Tensor *t = constantOf(node, index);
    Value v4 = t && t->buffer
                   ? makeResourceConstant(type4, t->buffer, t->offset, t->size,
                                          t->name + "_2d", loc)
                   : reshape(v, shape, loc);
    lifted.inputs[index] = node.inputs[index] + tag;
    values[lifted.inputs[index]] = v4;
  }
  for (ox::Attribute &a : lifted.attributes) {
    if (a.kind != ox::Attribute::kInts)
      continue;
    if (a.name == "kernel_shape" || a.name == "strides" ||
        a.name == "dilations") {
      if (a.ints.size() != 1)
        return LogicalResult(invalid(a.name + " needs 1 value for a 1-D " +
                                     node.opType));
      a.ints.insert(a.ints.begin(), 1);
    } else if (a.name == "pads") {
      if (a.ints.size() != 2)
        return LogicalResult(
            invalid("pads needs 2 values for a 1-D " + node.opType));
      a.ints = {0, a.ints[0], 0, a.ints[1]};
    }
  }
  for (std::string &out : lifted.outputs)
    if (!out.empty())
      out += tag;
  if (failed(import2d(lifted)))
    return failure();
  Value y4 = values.lookup(lifted.outputs[0]);
  auto t4 = tensorType(y4);
  define(node, 0,
         reshape(y4, {t4.getDimSize(0), t4.getDimSize(1), t4.getDimSize(3)},
                 loc));
  return success();
}

LogicalResult Importer::importGlobalAveragePool(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  if (tx.getRank() < 3)
    return invalid("GlobalAveragePool needs rank >= 3");
  SmallVector<int64_t> shape(tx.getShape());
  int64_t count = 1;
  Value y = x;
  for (int64_t d = 2; d < tx.getRank(); ++d) {
    count *= shape[d];
    shape[d] = 1;
    y = tosa::ReduceSumOp::create(
        builder, loc, RankedTensorType::get(shape, tx.getElementType()), y,
        builder.getI32IntegerAttr(d));
  }
  auto outType = RankedTensorType::get(shape, tx.getElementType());
  y = tosa::MulOp::create(
      builder, loc, outType, y,
      splat(tx.getElementType(), SmallVector<int64_t>(shape.size(), 1),
            1.0 / count, loc),
      shift(loc));
  define(node, 0, y);
  return success();
}

/// GlobalMaxPool: the maximum over every spatial dimension (2 and up), kept
/// as dimensions of size 1.
LogicalResult Importer::importGlobalMaxPool(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  if (tx.getRank() < 3)
    return invalid("GlobalMaxPool needs rank >= 3, got " +
                   shapeString(tx.getShape()));
  if (!isa<FloatType>(tx.getElementType()))
    return unsupported("GlobalMaxPool of a non-float tensor");
  SmallVector<int64_t> shape(tx.getShape());
  Value y = x;
  for (int64_t d = 2; d < tx.getRank(); ++d) {
    shape[d] = 1;
    y = tosa::ReduceMaxOp::create(
        builder, loc, RankedTensorType::get(shape, tx.getElementType()), y,
        builder.getI32IntegerAttr(d));
  }
  define(node, 0, y);
  return success();
}

} // namespace lowbit::onnximport
