//===- ImportCastsShapes.cpp - casts, shapes, reductions ------------------===//
//
// Part of the ONNX importer (lib/Import/Onnx/Importer.h): Cast, Shape, Expand,
// Slice, Where, comparisons, logical ops, Range and the reductions.
//
//===----------------------------------------------------------------------===//
#include "lib/Import/Onnx/Importer.h"

namespace lowbit::onnximport {

//===----------------------------------------------------------------------===//
// Casts, comparisons, shape and reduction ops
//===----------------------------------------------------------------------===//

LogicalResult Importer::importCast(const ox::Node &node, Type to,
                                   int32_t toIntType) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto t = tensorType(x);
  auto tracked = intTypes.find(x);
  int32_t fromIntType =
      tracked != intTypes.end() ? tracked->second : int32_t(ox::kUndefined);
  if (fromIntType != ox::kUndefined || toIntType != ox::kUndefined) {
    if (fromIntType == toIntType) {
      define(node, 0, x);
      return success();
    }
    // Integers held in containers (uint8 in i8, int4 in i8, ...): the
    // source widened by its signedness to i32 (exact for all of them), the
    // target wrapped to its bits, ONNX's fixed-point rule; a float source
    // is truncated to int64 first (floatToIntWrapping), so Cast(9.0) to
    // INT4 is -7 (docs/onnx-cast.md).
    Type i32 = builder.getI32Type();
    unsigned bits = ox::subByteBits(toIntType);
    bool toUnsigned = isUnsignedIntType(toIntType);
    Value y = broadcastGeneric(
        nodeLoc(node), t.getShape(), to, {x},
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value v = a[0];
          if (fromIntType != ox::kUndefined)
            v = isUnsignedIntType(fromIntType)
                    ? arith::ExtUIOp::create(b, l, i32, v).getResult()
                    : arith::ExtSIOp::create(b, l, i32, v).getResult();
          if (toIntType == ox::kUndefined)
            return convertScalar(b, l, v, to);
          if (isa<FloatType>(v.getType()))
            v = floatToIntWrapping(b, l, v, b.getI64Type());
          v = convertScalar(b, l, v, to);
          if (bits) {
            Value shift = scalarConst(b, l, to, 8 - bits);
            v = arith::ShLIOp::create(b, l, v, shift);
            v = toUnsigned
                    ? arith::ShRUIOp::create(b, l, v, shift).getResult()
                    : arith::ShRSIOp::create(b, l, v, shift).getResult();
          }
          return v;
        });
    if (toIntType != ox::kUndefined && isTrackedIntType(toIntType))
      intTypes[y] = toIntType;
    define(node, 0, y);
    return success();
  }
  if (t.getElementType() == to) {
    define(node, 0, x);
    return success();
  }
  define(node, 0,
         broadcastGeneric(nodeLoc(node), t.getShape(), to, {x},
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            return convertScalar(b, l, a[0], to);
                          }));
  return success();
}

LogicalResult Importer::importShape(const ox::Node &node) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto shape = tensorType(x).getShape();
  int64_t rank = shape.size();
  IntTensor t;
  if (node.opType == "Size") {
    t.vals = {product(shape)};
    return defineKnown(node, 0, t);
  }
  int64_t start = attrInt(node, "start", 0), end = attrInt(node, "end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  for (int64_t i = start; i < end; ++i)
    t.vals.push_back(shape[i]);
  t.dims = {static_cast<int64_t>(t.vals.size())};
  return defineKnown(node, 0, t);
}

LogicalResult Importer::importExpand(const ox::Node &node) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  std::vector<int64_t> shape;
  if (failed(constantInts(node, 1, shape)))
    return failure();
  auto tx = tensorType(x);
  for (int64_t d : shape)
    if (d < 0)
      return invalid("Expand shape has a negative dimension " + Twine(d));
  auto out = broadcastShape(tx.getShape(), shape);
  if (failed(out))
    return failure();
  if (ArrayRef<int64_t>(*out) == tx.getShape()) {
    define(node, 0, x);
    return success();
  }
  define(node, 0,
         broadcastGeneric(nodeLoc(node), *out, tx.getElementType(), {x},
                          [](OpBuilder &, Location, ValueRange a) {
                            return a[0];
                          }));
  return success();
}

LogicalResult Importer::importSlice(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  SmallVector<int64_t> start, size, step;
  if (failed(sliceParams(node, tx.getShape(), start, size, step)))
    return failure();
  Type elem = tx.getElementType();
  auto outType = RankedTensorType::get(size, elem);
  if (product(size) == 0) {
    define(node, 0, tensor::EmptyOp::create(builder, loc, size, elem));
    return success();
  }
  if (llvm::all_of(step, [](int64_t s) { return s > 0; })) {
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (size_t d = 0; d < size.size(); ++d) {
      offsets.push_back(builder.getIndexAttr(start[d]));
      sizes.push_back(builder.getIndexAttr(size[d]));
      strides.push_back(builder.getIndexAttr(step[d]));
    }
    Value y = tensor::ExtractSliceOp::create(builder, loc, outType, x, offsets,
                                             sizes, strides);
    define(node, 0, y);
    return success();
  }
  // Negative steps: read input[start + step * i] with one linalg.generic.
  int64_t rank = size.size();
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    exprs.push_back(builder.getAffineConstantExpr(start[d]) +
                    builder.getAffineDimExpr(d) * step[d]);
  define(node, 0,
         buildAffineCopy(builder, loc, x, AffineMap::get(rank, 0, exprs, ctx),
                         size));
  return success();
}

LogicalResult Importer::importWhere(const ox::Node &node) {
  Value c, x, y;
  if (failed(lookup(node, 0, c)) || failed(lookup(node, 1, x)) ||
      failed(lookup(node, 2, y)))
    return failure();
  auto tc = tensorType(c), tx = tensorType(x), ty = tensorType(y);
  if (!tc.getElementType().isInteger(1))
    return invalid("Where condition must be bool");
  if (tx.getElementType() != ty.getElementType())
    return invalid("Where X and Y element types differ");
  auto s1 = broadcastShape(tc.getShape(), tx.getShape());
  if (failed(s1))
    return failure();
  auto s2 = broadcastShape(*s1, ty.getShape());
  if (failed(s2))
    return failure();
  define(node, 0,
         broadcastGeneric(nodeLoc(node), *s2, tx.getElementType(), {c, x, y},
                          [](OpBuilder &b, Location l, ValueRange a) -> Value {
                            return arith::SelectOp::create(b, l, a[0], a[1],
                                                           a[2]);
                          }));
  return success();
}

LogicalResult Importer::importCompare(const ox::Node &node, StringRef kind) {
  Value a, b;
  if (failed(lookup(node, 0, a)) || failed(lookup(node, 1, b)))
    return failure();
  auto ta = tensorType(a), tb = tensorType(b);
  if (ta.getElementType() != tb.getElementType())
    return invalid("operand element types differ");
  auto shape = broadcastShape(ta.getShape(), tb.getShape());
  if (failed(shape))
    return failure();
  Type elem = ta.getElementType();
  bool isFloat = isa<FloatType>(elem), isBool = elem.isInteger(1);
  auto fp = llvm::StringSwitch<arith::CmpFPredicate>(kind)
                .Case("Equal", arith::CmpFPredicate::OEQ)
                .Case("Less", arith::CmpFPredicate::OLT)
                .Case("Greater", arith::CmpFPredicate::OGT)
                .Case("LessOrEqual", arith::CmpFPredicate::OLE)
                .Default(arith::CmpFPredicate::OGE);
  auto ip = llvm::StringSwitch<arith::CmpIPredicate>(kind)
                .Case("Equal", arith::CmpIPredicate::eq)
                .Case("Less", isBool ? arith::CmpIPredicate::ult
                                     : arith::CmpIPredicate::slt)
                .Case("Greater", isBool ? arith::CmpIPredicate::ugt
                                        : arith::CmpIPredicate::sgt)
                .Case("LessOrEqual", isBool ? arith::CmpIPredicate::ule
                                            : arith::CmpIPredicate::sle)
                .Default(isBool ? arith::CmpIPredicate::uge
                                : arith::CmpIPredicate::sge);
  define(node, 0,
         broadcastGeneric(nodeLoc(node), *shape, builder.getI1Type(), {a, b},
                          [&](OpBuilder &bb, Location l, ValueRange v) -> Value {
                            if (isFloat)
                              return arith::CmpFOp::create(bb, l, fp, v[0],
                                                           v[1]);
                            return arith::CmpIOp::create(bb, l, ip, v[0], v[1]);
                          }));
  return success();
}

LogicalResult Importer::importLogical(const ox::Node &node, StringRef kind) {
  SmallVector<Value> operands;
  size_t n = kind == "Not" ? 1 : 2;
  SmallVector<int64_t> shape;
  for (size_t i = 0; i < n; ++i) {
    Value v;
    if (failed(lookup(node, i, v)))
      return failure();
    if (!tensorType(v).getElementType().isInteger(1))
      return invalid(kind + " needs bool operands");
    auto s = broadcastShape(shape, tensorType(v).getShape());
    if (failed(s))
      return failure();
    shape = *s;
    operands.push_back(v);
  }
  define(node, 0,
         broadcastGeneric(nodeLoc(node), shape, builder.getI1Type(), operands,
                          [&](OpBuilder &b, Location l, ValueRange v) -> Value {
                            if (kind == "Not")
                              return arith::XOrIOp::create(
                                  b, l, v[0],
                                  scalarConst(b, l, b.getI1Type(), 1));
                            if (kind == "And")
                              return arith::AndIOp::create(b, l, v[0], v[1]);
                            if (kind == "Or")
                              return arith::OrIOp::create(b, l, v[0], v[1]);
                            return arith::XOrIOp::create(b, l, v[0], v[1]);
                          }));
  return success();
}

/// Range's element count max(0, ceil((limit - start) / delta)), computed
/// in double so that no int64 difference overflows, and refused when the
/// result would not fit the memory limit (or is not a number).
FailureOr<int64_t> Importer::rangeCount(double start, double limit,
                                        double delta, Type elem) {
  double n = std::ceil((limit - start) / delta);
  if (std::isnan(n))
    return invalid("Range start, limit and delta must be finite");
  if (n > static_cast<double>(ox::kMaxElements))
    return invalid("Range would produce " + llvm::formatv("{0:e}", n).str() +
                   " elements");
  int64_t count = std::max<int64_t>(0, static_cast<int64_t>(n));
  if (failed(checkTensorSize({count}, elem, "its result")))
    return failure();
  return count;
}

LogicalResult Importer::importRange(const ox::Node &node) {
  Location loc = nodeLoc(node);
  const ox::Tensor *t0 = constantOf(node, 0);
  for (size_t i = 0; i < 3; ++i)
    if (!constantOf(node, i))
      return unsupported("input " + Twine(i) + " ('" +
                         (i < node.inputs.size() ? node.inputs[i] : "") +
                         "') must be a constant");
  int32_t dtype = t0->dataType;
  if (dtype == ox::kInt64 || dtype == ox::kInt32) {
    std::vector<int64_t> s, l, d;
    if (failed(constantInts(node, 0, s)) || failed(constantInts(node, 1, l)) ||
        failed(constantInts(node, 2, d)))
      return failure();
    if (s.size() != 1 || l.size() != 1 || d.size() != 1 || d[0] == 0)
      return invalid("Range needs scalar start, limit and a non-zero delta");
    FailureOr<int64_t> n = rangeCount(static_cast<double>(s[0]),
                                      static_cast<double>(l[0]),
                                      static_cast<double>(d[0]),
                                      builder.getIntegerType(64));
    if (failed(n))
      return failure();
    IntTensor t;
    t.dtype = dtype;
    for (int64_t i = 0; i < *n; ++i)
      t.vals.push_back(s[0] + i * d[0]);
    t.dims = {static_cast<int64_t>(t.vals.size())};
    return defineKnown(node, 0, t);
  }
  FailureOr<Type> elem = elementType(dtype, "Range start");
  if (failed(elem))
    return failure();
  if (!isa<FloatType>(*elem))
    return unsupported("Range of this element type");
  // Opset 27 added stash_type, the precision of float16/bfloat16 ranges:
  // FLOAT (the default) or DOUBLE. Earlier opsets compute them as ONNX's
  // reference does, in double.
  int64_t stash = ox::kDouble;
  bool half = elem->isF16() || elem->isBF16();
  if (opset >= 27 && half) {
    stash = attrInt(node, "stash_type", ox::kFloat);
    if (stash != ox::kFloat && stash != ox::kDouble)
      return unsupported("Range with stash_type=" + ox::dataTypeName(stash) +
                         " (FLOAT and DOUBLE are supported)");
  }
  // Start, limit and delta as doubles (float16/bfloat16 bits converted).
  auto scalar = [&](size_t i, std::vector<double> &out) -> LogicalResult {
    const ox::Tensor *t = constantOf(node, i);
    if (!half || t->dataType != dtype)
      return constantFloats(node, i, out);
    out.clear();
    const auto *bits = reinterpret_cast<const uint16_t *>(t->bytes());
    for (int64_t k = 0; k < t->numElements(); ++k)
      out.push_back(
          APFloat(cast<FloatType>(*elem).getFloatSemantics(), APInt(16, bits[k]))
              .convertToDouble());
    return success();
  };
  std::vector<double> s, l, d;
  if (failed(scalar(0, s)) || failed(scalar(1, l)) || failed(scalar(2, d)))
    return failure();
  if (s.size() != 1 || l.size() != 1 || d.size() != 1 || d[0] == 0)
    return invalid("Range needs scalar start, limit and a non-zero delta");
  FailureOr<int64_t> count = rangeCount(s[0], l[0], d[0], *elem);
  if (failed(count))
    return failure();
  int64_t n = *count;
  std::vector<float> vals;
  for (int64_t i = 0; i < n; ++i)
    vals.push_back(stash == ox::kFloat
                       ? float(s[0]) + float(i) * float(d[0])
                       : static_cast<float>(s[0] + i * d[0]));
  define(node, 0,
         makeFloatConstant({n}, vals, *elem, loc,
                           node.outputs.empty() ? "range" : node.outputs[0]));
  return success();
}

LogicalResult Importer::importReduce(const ox::Node &node, StringRef kind) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  int64_t rank = tx.getRank();
  bool axesFromInput = kind == "ReduceSum" ? opset >= 13 : opset >= 18;
  std::vector<int64_t> axes;
  if (!axesFromInput)
    axes = attrInts(node, "axes");
  else if (hasInput(node, 1) && failed(constantInts(node, 1, axes)))
    return failure();
  bool keepdims = attrInt(node, "keepdims", 1) != 0;
  if (axes.empty()) {
    if (attrInt(node, "noop_with_empty_axes", 0)) {
      define(node, 0, x);
      return success();
    }
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  std::vector<bool> reduced(rank, false);
  for (int64_t a : axes) {
    if (failed(normalizeAxis(a, rank, "axis")))
      return failure();
    reduced[a] = true;
  }
  Type elem = tx.getElementType();
  bool isFloat = isa<FloatType>(elem), isBool = elem.isInteger(1);
  bool isSum = kind == "ReduceSum" || kind == "ReduceMean" ||
               kind == "ReduceSumSquare" || kind == "ReduceL1" ||
               kind == "ReduceL2" || kind == "ReduceLogSum" ||
               kind == "ReduceLogSumExp";
  bool isMax = kind == "ReduceMax", isMin = kind == "ReduceMin";
  bool isProd = kind == "ReduceProd";
  if (isBool && !isMax && !isMin)
    return unsupported(kind + " of bool tensors");
  if (!isFloat && (kind == "ReduceL2" || kind == "ReduceLogSum" ||
                   kind == "ReduceLogSumExp"))
    return unsupported(kind + " of integer tensors");
  // f16/bf16 accumulate in f32.
  Type acc = isFloat && cast<FloatType>(elem).getWidth() < 32
                 ? Type(builder.getF32Type())
                 : elem;
  SmallVector<int64_t> outShape, keepShape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  int64_t count = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (reduced[d]) {
      count *= tx.getDimSize(d);
      keepShape.push_back(1);
      iterators.push_back(utils::IteratorType::reduction);
    } else {
      outShape.push_back(tx.getDimSize(d));
      keepShape.push_back(tx.getDimSize(d));
      outExprs.push_back(builder.getAffineDimExpr(d));
      iterators.push_back(utils::IteratorType::parallel);
    }
  }
  double initValue = 0;
  if (isProd)
    initValue = 1;
  if (isMax || isMin) {
    if (isBool)
      initValue = isMax ? 0 : 1;
    else if (isFloat)
      initValue = isMax ? -INFINITY : INFINITY;
    else {
      unsigned w = elem.getIntOrFloatBitWidth();
      initValue = isMax ? -std::ldexp(1.0, w - 1) : std::ldexp(1.0, w - 1) - 1;
    }
  }
  Value init = fill(loc, outShape, acc, initValue);
  // The sum of exponentials is taken relative to the maximum, for range.
  Value maxValue;
  if (kind == "ReduceLogSumExp") {
    SmallVector<AffineMap> maps = {builder.getMultiDimIdentityMap(rank),
                                   AffineMap::get(rank, 0, outExprs, ctx)};
    auto g = linalg::GenericOp::create(
        builder, loc, TypeRange{init.getType()}, ValueRange{x},
        ValueRange{fill(loc, outShape, acc, -INFINITY)}, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value v = convertScalar(b, l, args[0], acc);
          linalg::YieldOp::create(b, l,
                                  Value(arith::MaximumFOp::create(b, l, v,
                                                                  args[1])));
        });
    maxValue = g.getResult(0);
  }
  SmallVector<Value> ins = {x};
  SmallVector<AffineMap> maps = {builder.getMultiDimIdentityMap(rank)};
  if (maxValue) {
    ins.push_back(maxValue);
    maps.push_back(AffineMap::get(rank, 0, outExprs, ctx));
  }
  maps.push_back(AffineMap::get(rank, 0, outExprs, ctx));
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
      iterators, [&](OpBuilder &b, Location l, ValueRange args) {
        Value v = convertScalar(b, l, args[0], acc), a = args.back();
        Value r;
        if (kind == "ReduceSumSquare" || kind == "ReduceL2")
          v = isFloat ? Value(arith::MulFOp::create(b, l, v, v))
                      : Value(arith::MulIOp::create(b, l, v, v));
        if (kind == "ReduceL1")
          v = isFloat ? Value(math::AbsFOp::create(b, l, v))
                      : Value(math::AbsIOp::create(b, l, v));
        if (kind == "ReduceLogSumExp") {
          // exp(-inf - -inf) would be NaN: an all -inf slice adds 0.
          Value m = args[1];
          Value finite = arith::CmpFOp::create(
              b, l, arith::CmpFPredicate::ONE, m,
              scalarConst(b, l, acc, -INFINITY));
          Value shifted = arith::SubFOp::create(b, l, v, m);
          Value e = math::ExpOp::create(b, l, shifted);
          v = arith::SelectOp::create(b, l, finite, e,
                                      math::ExpOp::create(b, l, v));
        }
        if (isSum)
          r = isFloat ? Value(arith::AddFOp::create(b, l, a, v))
                      : Value(arith::AddIOp::create(b, l, a, v));
        else if (isProd)
          r = isFloat ? Value(arith::MulFOp::create(b, l, a, v))
                      : Value(arith::MulIOp::create(b, l, a, v));
        else if (isBool)
          r = isMax ? Value(arith::OrIOp::create(b, l, a, v))
                    : Value(arith::AndIOp::create(b, l, a, v));
        else if (isFloat)
          r = isMax ? Value(arith::MaximumFOp::create(b, l, a, v))
                    : Value(arith::MinimumFOp::create(b, l, a, v));
        else
          r = isMax ? Value(arith::MaxSIOp::create(b, l, a, v))
                    : Value(arith::MinSIOp::create(b, l, a, v));
        linalg::YieldOp::create(b, l, r);
      });
  Value y = generic.getResult(0);
  if (kind == "ReduceMean" || kind == "ReduceL2" || kind == "ReduceLogSum" ||
      kind == "ReduceLogSumExp" || acc != elem) {
    SmallVector<Value> post = {y};
    if (maxValue)
      post.push_back(maxValue);
    y = broadcastGeneric(
        loc, outShape, elem, post,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value v = a[0];
          if (kind == "ReduceMean")
            v = isFloat ? Value(arith::DivFOp::create(
                              b, l, v, scalarConst(b, l, acc, count)))
                        : Value(arith::DivSIOp::create(
                              b, l, v, scalarConst(b, l, acc, count)));
          else if (kind == "ReduceL2")
            v = math::SqrtOp::create(b, l, v);
          else if (kind == "ReduceLogSum")
            v = math::LogOp::create(b, l, v);
          else if (kind == "ReduceLogSumExp") {
            Value m = a[1];
            Value finite = arith::CmpFOp::create(
                b, l, arith::CmpFPredicate::ONE, m,
                scalarConst(b, l, acc, -INFINITY));
            Value lg = math::LogOp::create(b, l, v);
            v = arith::SelectOp::create(
                b, l, finite, arith::AddFOp::create(b, l, lg, m), lg);
          }
          return convertScalar(b, l, v, elem);
        });
  }
  if (keepdims)
    y = product(keepShape) == 0
            ? Value(tensor::EmptyOp::create(builder, loc, keepShape, elem))
            : reshape(y, keepShape, loc);
  define(node, 0, y);
  return success();
}

} // namespace lowbit::onnximport
