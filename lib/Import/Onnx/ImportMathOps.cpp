//===- ImportMathOps.cpp - split, cumsum, unary math ----------------------===//
//
// Part of the ONNX importer (lib/Import/Onnx/Importer.h): Split, CumSum, Trilu,
// the unary math ops and ConstantOfShape.
//
//===----------------------------------------------------------------------===//
#include "lib/Import/Onnx/Importer.h"

namespace lowbit::onnximport {

LogicalResult Importer::importSplit(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  int64_t axis = attrInt(node, "axis", 0);
  if (failed(normalizeAxis(axis, tx.getRank(), "axis")))
    return failure();
  int64_t dim = tx.getDimSize(axis);
  std::vector<int64_t> splits;
  if (opset >= 13) {
    if (hasInput(node, 1) && failed(constantInts(node, 1, splits)))
      return failure();
  } else {
    splits = attrInts(node, "split");
  }
  int64_t outputs = node.outputs.size();
  if (splits.empty()) {
    int64_t n = opset >= 18 ? attrInt(node, "num_outputs", outputs) : outputs;
    if (n < 1)
      return invalid("Split needs at least one output");
    int64_t chunk = (dim + n - 1) / n;
    if (opset < 18 && dim % n)
      return invalid("Split of " + Twine(dim) + " into " + Twine(n) +
                     " equal parts");
    for (int64_t i = 0; i < n; ++i)
      splits.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  if (static_cast<int64_t>(splits.size()) != outputs)
    return invalid("Split has " + Twine(splits.size()) + " parts for " +
                   Twine(outputs) + " outputs");
  int64_t total = 0;
  for (int64_t s : splits) {
    if (s < 0)
      return invalid("Split part sizes must be non-negative");
    total += s;
  }
  if (total != dim)
    return invalid("Split parts sum to " + Twine(total) + ", not " +
                   Twine(dim));
  int64_t offset = 0;
  for (int64_t i = 0; i < outputs; ++i) {
    SmallVector<OpFoldResult> offsets, sizes, strides;
    SmallVector<int64_t> shape(tx.getShape());
    shape[axis] = splits[i];
    for (int64_t d = 0; d < tx.getRank(); ++d) {
      offsets.push_back(builder.getIndexAttr(d == axis ? offset : 0));
      sizes.push_back(builder.getIndexAttr(shape[d]));
      strides.push_back(builder.getIndexAttr(1));
    }
    Value y = splits[i] == 0
                  ? Value(tensor::EmptyOp::create(builder, loc, shape,
                                                  tx.getElementType()))
                  : Value(tensor::ExtractSliceOp::create(
                        builder, loc,
                        RankedTensorType::get(shape, tx.getElementType()), x,
                        offsets, sizes, strides));
    define(node, i, y);
    offset += splits[i];
  }
  return success();
}

LogicalResult Importer::importCumSum(const ox::Node &node) {
  // out[..., i, ...] = sum over k of x[..., k, ...] where k <= i (k < i when
  // exclusive, >= / > when reversed): one generic with an extra reduction
  // loop over k.
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  std::vector<int64_t> axisV;
  if (failed(constantInts(node, 1, axisV)))
    return failure();
  if (axisV.size() != 1)
    return invalid("CumSum axis must be a scalar");
  auto tx = tensorType(x);
  int64_t rank = tx.getRank(), axis = axisV[0];
  if (rank < 1 || failed(normalizeAxis(axis, rank, "axis")))
    return failure();
  bool exclusive = attrInt(node, "exclusive", 0) != 0;
  bool reverse = attrInt(node, "reverse", 0) != 0;
  Type elem = tx.getElementType();
  if (elem.isInteger(1))
    return invalid("CumSum of bool");
  bool isFloat = isa<FloatType>(elem);
  SmallVector<AffineExpr> inExprs, outExprs;
  for (int64_t d = 0; d < rank; ++d) {
    inExprs.push_back(builder.getAffineDimExpr(d == axis ? rank : d));
    outExprs.push_back(builder.getAffineDimExpr(d));
  }
  SmallVector<AffineMap> maps = {AffineMap::get(rank + 1, 0, inExprs, ctx),
                                 AffineMap::get(rank + 1, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  auto pred = reverse ? (exclusive ? arith::CmpIPredicate::sgt
                                   : arith::CmpIPredicate::sge)
                      : (exclusive ? arith::CmpIPredicate::slt
                                   : arith::CmpIPredicate::sle);
  Value init = fill(loc, tx.getShape(), elem, 0);
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{init.getType()}, ValueRange{x}, ValueRange{init},
      maps, iterators, [&](OpBuilder &b, Location l, ValueRange args) {
        Value i = linalg::IndexOp::create(b, l, axis);
        Value k = linalg::IndexOp::create(b, l, rank);
        Value take = arith::CmpIOp::create(b, l, pred, k, i);
        Value v = arith::SelectOp::create(b, l, take, args[0],
                                          scalarConst(b, l, elem, 0));
        Value r = isFloat ? Value(arith::AddFOp::create(b, l, args[1], v))
                          : Value(arith::AddIOp::create(b, l, args[1], v));
        linalg::YieldOp::create(b, l, r);
      });
  define(node, 0, generic.getResult(0));
  return success();
}

LogicalResult Importer::importTrilu(const ox::Node &node) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  int64_t rank = tx.getRank();
  if (rank < 2)
    return invalid("Trilu input must have rank >= 2");
  int64_t k = 0;
  if (hasInput(node, 1)) {
    std::vector<int64_t> kv;
    if (failed(constantInts(node, 1, kv)))
      return failure();
    if (kv.size() != 1)
      return invalid("Trilu k must be a scalar");
    k = kv[0];
  }
  bool upper = attrInt(node, "upper", 1) != 0;
  Type elem = tx.getElementType();
  define(node, 0,
         broadcastGeneric(
             nodeLoc(node), tx.getShape(), elem, {x},
             [&](OpBuilder &b, Location l, ValueRange a) -> Value {
               Value i = linalg::IndexOp::create(b, l, rank - 2);
               Value j = linalg::IndexOp::create(b, l, rank - 1);
               Value diff = arith::SubIOp::create(b, l, j, i);
               Value kc = arith::ConstantIndexOp::create(b, l, k);
               Value keep = arith::CmpIOp::create(
                   b, l,
                   upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
                   diff, kc);
               return arith::SelectOp::create(b, l, keep, a[0],
                                              scalarConst(b, l, elem, 0));
             }));
  return success();
}

LogicalResult Importer::importMathUnary(const ox::Node &node, StringRef kind) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto t = tensorType(x);
  Type elem = t.getElementType();
  bool isFloat = isa<FloatType>(elem);
  if (!isFloat && kind != "Sign")
    return unsupported(kind + " on " + llvm::formatv("{0}", elem).str() +
                       " tensors");
  double alpha = attrFloat(node, "alpha", kind == "Selu" ? 1.67326319217681884765625f
                                                         : 1.0f);
  double gamma = attrFloat(node, "gamma", 1.05070102214813232421875f);
  std::string approximate = attrString(node, "approximate", "none");
  if (kind == "Gelu" && approximate != "none" && approximate != "tanh")
    return invalid("Gelu approximate must be 'none' or 'tanh'");
  // f32 Gelu is the graph op nn.gelu, the op fuse-gelu forms from the
  // decomposed Erf / Tanh forms, so later passes find it either way.
  if (kind == "Gelu" && elem.isF32()) {
    define(node, 0,
           nn::GeluOp::create(builder, nodeLoc(node), t, x,
                              builder.getStringAttr(approximate)));
    return success();
  }
  // Work in f32 for narrower floats.
  Type work = isFloat && cast<FloatType>(elem).getWidth() < 32
                  ? Type(builder.getF32Type())
                  : elem;
  define(node, 0,
         broadcastGeneric(
             nodeLoc(node), t.getShape(), elem, {x},
             [&](OpBuilder &b, Location l, ValueRange a) -> Value {
               Value v = convertScalar(b, l, a[0], work);
               auto c = [&](double d) { return scalarConst(b, l, work, d); };
               Value r;
               if (kind == "Sign") {
                 if (isFloat) {
                   Value pos = arith::CmpFOp::create(
                       b, l, arith::CmpFPredicate::OGT, v, c(0));
                   Value neg = arith::CmpFOp::create(
                       b, l, arith::CmpFPredicate::OLT, v, c(0));
                   r = arith::SelectOp::create(
                       b, l, pos, c(1),
                       arith::SelectOp::create(b, l, neg, c(-1), c(0)));
                 } else {
                   Value pos = arith::CmpIOp::create(
                       b, l, arith::CmpIPredicate::sgt, v, c(0));
                   Value neg = arith::CmpIOp::create(
                       b, l, arith::CmpIPredicate::slt, v, c(0));
                   r = arith::SelectOp::create(
                       b, l, pos, c(1),
                       arith::SelectOp::create(b, l, neg, c(-1), c(0)));
                 }
               } else if (kind == "Sin")
                 r = math::SinOp::create(b, l, v);
               else if (kind == "Cos")
                 r = math::CosOp::create(b, l, v);
               else if (kind == "Tan")
                 r = math::TanOp::create(b, l, v);
               else if (kind == "Atan")
                 r = math::AtanOp::create(b, l, v);
               else if (kind == "Sinh")
                 r = math::SinhOp::create(b, l, v);
               else if (kind == "Cosh")
                 r = math::CoshOp::create(b, l, v);
               else if (kind == "Floor")
                 r = math::FloorOp::create(b, l, v);
               else if (kind == "Ceil")
                 r = math::CeilOp::create(b, l, v);
               else if (kind == "Round")
                 r = math::RoundEvenOp::create(b, l, v);
               else if (kind == "Softplus") {
                 // log(1 + e^x) = max(x, 0) + log1p(e^-|x|), without overflow.
                 Value m = arith::MaximumFOp::create(b, l, v, c(0));
                 Value na = arith::NegFOp::create(
                     b, l, math::AbsFOp::create(b, l, v));
                 r = arith::AddFOp::create(
                     b, l, m,
                     math::Log1pOp::create(b, l,
                                           math::ExpOp::create(b, l, na)));
               } else if (kind == "Softsign") {
                 Value d = arith::AddFOp::create(
                     b, l, c(1), math::AbsFOp::create(b, l, v));
                 r = arith::DivFOp::create(b, l, v, d);
               } else if (kind == "Elu" || kind == "Selu") {
                 Value neg = arith::MulFOp::create(
                     b, l, c(alpha), math::ExpM1Op::create(b, l, v));
                 Value isNeg = arith::CmpFOp::create(
                     b, l,
                     kind == "Elu" ? arith::CmpFPredicate::OLT
                                   : arith::CmpFPredicate::OLE,
                     v, c(0));
                 r = arith::SelectOp::create(b, l, isNeg, neg, v);
                 if (kind == "Selu")
                   r = arith::MulFOp::create(b, l, r, c(gamma));
               } else { // Gelu
                 Value inner;
                 if (approximate == "tanh") {
                   Value x3 = arith::MulFOp::create(
                       b, l, v, arith::MulFOp::create(b, l, v, v));
                   Value s = arith::AddFOp::create(
                       b, l, v, arith::MulFOp::create(b, l, c(0.044715), x3));
                   inner = math::TanhOp::create(
                       b, l,
                       arith::MulFOp::create(b, l, c(std::sqrt(2.0 / M_PI)),
                                             s));
                 } else {
                   inner = math::ErfOp::create(
                       b, l, arith::MulFOp::create(b, l, v, c(M_SQRT1_2)));
                 }
                 Value h = arith::MulFOp::create(b, l, c(0.5), v);
                 r = arith::MulFOp::create(
                     b, l, h, arith::AddFOp::create(b, l, c(1), inner));
               }
               return convertScalar(b, l, r, elem);
             }));
  return success();
}

LogicalResult Importer::importConstantOfShape(const ox::Node &node) {
  Location loc = nodeLoc(node);
  std::vector<int64_t> shape;
  if (failed(constantInts(node, 0, shape)))
    return failure();
  for (int64_t d : shape)
    if (d < 0)
      return invalid("ConstantOfShape has a negative dimension");
  const ox::Attribute *valueAttr = node.findAttribute("value");
  int32_t dtype = ox::kFloat;
  double v = 0;
  if (valueAttr && valueAttr->kind == ox::Attribute::kTensor) {
    const ox::Tensor &t = *valueAttr->tensor;
    if (t.numElements() != 1)
      return invalid("ConstantOfShape value must have one element");
    dtype = t.dataType;
    if (dtype == ox::kBool) {
      v = t.bytes()[0] != 0;
    } else {
      std::vector<double> vals;
      std::string error;
      if (failed(readConstantAs(t, vals, error)))
        return unsupported("ConstantOfShape value " + error);
      v = vals[0];
    }
  }
  int64_t n = product(shape);
  if ((dtype == ox::kInt64 || dtype == ox::kInt32 || dtype == ox::kBool) &&
      n <= 4096) {
    IntTensor t;
    t.dtype = dtype;
    t.dims = shape;
    t.vals.assign(n, static_cast<int64_t>(v));
    return defineKnown(node, 0, t);
  }
  FailureOr<Type> elem = elementType(dtype, "ConstantOfShape value");
  if (failed(elem))
    return failure();
  auto type = RankedTensorType::get(shape, *elem);
  TypedAttr attr;
  if (auto ft = dyn_cast<FloatType>(*elem))
    attr = builder.getFloatAttr(ft, v);
  else
    attr = builder.getIntegerAttr(
        *elem, APInt((*elem).getIntOrFloatBitWidth(), static_cast<int64_t>(v),
                     /*isSigned=*/true, /*implicitTrunc=*/true));
  define(node, 0,
         arith::ConstantOp::create(builder, loc,
                                   SplatElementsAttr::get(type, attr)));
  return success();
}

} // namespace lowbit::onnximport
