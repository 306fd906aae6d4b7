//===- Match.cpp - matchers for the decomposed graphs the fusions find ----===//
#include "passes/Fusion/Match.h"

#include "lib/Support/TosaBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <cmath>

using namespace mlir;

namespace lowbit::fusion {

bool isNNFloatTensor(Type t) {
  auto rt = dyn_cast<RankedTensorType>(t);
  return rt && rt.hasStaticShape() &&
         (rt.getElementType().isF32() || rt.getElementType().isF16() ||
          rt.getElementType().isBF16());
}

Value lookThroughReshape(Value v) {
  while (auto r = v.getDefiningOp<tosa::ReshapeOp>())
    v = r.getInput1();
  return v;
}

static DenseElementsAttr constantAttr(Value v) {
  v = lookThroughReshape(v);
  Operation *op = v.getDefiningOp();
  if (!op)
    return {};
  if (auto c = dyn_cast<arith::ConstantOp>(op))
    return dyn_cast<DenseElementsAttr>(c.getValue());
  if (auto c = dyn_cast<tosa::ConstOp>(op))
    return dyn_cast<DenseElementsAttr>(c.getValues());
  return {};
}

bool isConstant(Value v) {
  Operation *op = lookThroughReshape(v).getDefiningOp();
  return op && (isa<tosa::ConstOp>(op) ||
                (isa<arith::ConstantOp>(op) &&
                 isa<ElementsAttr>(cast<arith::ConstantOp>(op).getValue())));
}

std::optional<double> splatValue(Value v) {
  DenseElementsAttr attr = constantAttr(v);
  if (!attr || !isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  if (attr.isSplat())
    return attr.getSplatValue<APFloat>().convertToDouble();
  auto values = attr.getValues<APFloat>();
  double first = (*values.begin()).convertToDouble();
  for (APFloat x : values)
    if (x.convertToDouble() != first)
      return std::nullopt;
  return first;
}

bool near(std::optional<double> c, double expected) {
  return c && std::abs(*c - expected) <= 1e-4 * std::abs(expected);
}

static std::optional<double> bodyConstant(Value v) {
  if (auto c = v.getDefiningOp<arith::ConstantOp>())
    if (auto f = dyn_cast<FloatAttr>(c.getValue()))
      return f.getValueAsDouble();
  return std::nullopt;
}

static std::optional<Elementwise> genericElementwise(linalg::GenericOp g) {
  if (g.getNumResults() != 1 || g.getNumDpsInits() != 1 ||
      g.getNumReductionLoops() != 0 ||
      !g.getMatchingIndexingMap(g.getDpsInitOperand(0)).isIdentity())
    return std::nullopt;
  Block &body = g.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1)
    return std::nullopt;
  Operation *compute = yield.getOperand(0).getDefiningOp();
  if (!compute || compute->getBlock() != &body)
    return std::nullopt;
  // Nothing else in the body but constants.
  for (Operation &op : body.without_terminator())
    if (&op != compute && !isa<arith::ConstantOp>(op))
      return std::nullopt;
  std::optional<Kind> kind;
  if (isa<arith::AddFOp>(compute))
    kind = Kind::Add;
  else if (isa<arith::SubFOp>(compute))
    kind = Kind::Sub;
  else if (isa<arith::MulFOp>(compute))
    kind = Kind::Mul;
  else if (isa<arith::DivFOp>(compute))
    kind = Kind::Div;
  else if (isa<math::PowFOp>(compute))
    kind = Kind::Pow;
  else if (isa<math::ErfOp>(compute))
    kind = Kind::Erf;
  else if (isa<math::TanhOp>(compute))
    kind = Kind::Tanh;
  else if (isa<math::SqrtOp>(compute))
    kind = Kind::Sqrt;
  else if (isa<math::RsqrtOp>(compute))
    kind = Kind::Rsqrt;
  else if (isa<arith::NegFOp>(compute))
    kind = Kind::Neg;
  if (!kind)
    return std::nullopt;
  Elementwise e{*kind, g, {}};
  unsigned numInputs = g.getNumDpsInputs();
  for (Value operand : compute->getOperands()) {
    if (auto arg = dyn_cast<BlockArgument>(operand)) {
      if (arg.getOwner() != &body || arg.getArgNumber() >= numInputs)
        return std::nullopt;
      Value t = g.getDpsInputs()[arg.getArgNumber()];
      e.operands.push_back({t, splatValue(t)});
    } else if (auto c = bodyConstant(operand)) {
      e.operands.push_back({Value(), c});
    } else {
      return std::nullopt;
    }
  }
  if (e.kind == Kind::Div && e.operands[0].constant &&
      *e.operands[0].constant == 1.0 && e.operands[1].tensor)
    e = Elementwise{Kind::Reciprocal, g, {e.operands[1]}};
  return e;
}

std::optional<Elementwise> asElementwise(Value v) {
  Operation *op = v ? v.getDefiningOp() : nullptr;
  if (!op || op->getNumResults() != 1)
    return std::nullopt;
  if (auto g = dyn_cast<linalg::GenericOp>(op))
    return genericElementwise(g);
  std::optional<Kind> kind;
  unsigned arity = 1;
  if (isa<tosa::AddOp>(op))
    kind = Kind::Add, arity = 2;
  else if (isa<tosa::SubOp>(op))
    kind = Kind::Sub, arity = 2;
  else if (isa<tosa::MulOp>(op))
    kind = Kind::Mul, arity = 2;
  else if (isa<tosa::PowOp>(op))
    kind = Kind::Pow, arity = 2;
  else if (isa<tosa::ErfOp>(op))
    kind = Kind::Erf;
  else if (isa<tosa::TanhOp>(op))
    kind = Kind::Tanh;
  else if (isa<tosa::SigmoidOp>(op))
    kind = Kind::Sigmoid;
  else if (isa<tosa::RsqrtOp>(op))
    kind = Kind::Rsqrt;
  else if (isa<tosa::ReciprocalOp>(op))
    kind = Kind::Reciprocal;
  if (!kind)
    return std::nullopt;
  if (!isa<FloatType>(getElementTypeOrSelf(v.getType())))
    return std::nullopt;
  Elementwise e{*kind, op, {}};
  for (unsigned i = 0; i < arity; ++i) {
    Value t = op->getOperand(i);
    e.operands.push_back({t, splatValue(t)});
  }
  return e;
}

std::optional<Elementwise> asKind(Value v, Kind k) {
  auto e = asElementwise(v);
  if (!e || e->kind != k)
    return std::nullopt;
  return e;
}

static void collectFactors(Value v, bool root, SmallVectorImpl<Operand> &out) {
  auto e = asKind(v, Kind::Mul);
  if (e && (root || v.hasOneUse())) {
    for (const Operand &o : e->operands) {
      if (o.tensor && !o.constant)
        collectFactors(o.tensor, false, out);
      else
        out.push_back(o);
    }
    return;
  }
  out.push_back({v, splatValue(v)});
}

SmallVector<Operand, 4> productFactors(Value v) {
  SmallVector<Operand, 4> out;
  collectFactors(v, true, out);
  return out;
}

bool isSquareOf(Value v, Value x) {
  auto e = asElementwise(v);
  if (!e)
    return false;
  if (e->kind == Kind::Pow)
    return e->operands[0].tensor == x && e->operands[1].constant &&
           *e->operands[1].constant == 2.0;
  if (e->kind == Kind::Mul)
    return e->operands[0].tensor == x && e->operands[1].tensor == x;
  return false;
}

Value meanOverLastAxis(Value v) {
  auto vt = dyn_cast<RankedTensorType>(v.getType());
  auto scaled = asElementwise(lookThroughReshape(v));
  if (!vt || !scaled ||
      (scaled->kind != Kind::Div && scaled->kind != Kind::Mul))
    return {};
  Value sum = scaled->operands[0].tensor;
  std::optional<double> c = scaled->operands[1].constant;
  if (scaled->kind == Kind::Mul && !c && scaled->operands[1].tensor) {
    sum = scaled->operands[1].tensor;
    c = scaled->operands[0].constant;
  }
  auto reduce = sum ? sum.getDefiningOp<linalg::GenericOp>() : nullptr;
  if (!reduce || !c || reduce.getNumDpsInputs() != 1 ||
      reduce.getNumDpsInits() != 1 || reduce.getNumResults() != 1)
    return {};
  Value x = reduce.getDpsInputs()[0];
  auto xt = cast<RankedTensorType>(x.getType());
  int64_t rank = xt.getRank();
  if (rank < 1 || vt.getRank() != rank)
    return {};
  if (!reduce.getMatchingIndexingMap(reduce.getDpsInputOperand(0))
           .isIdentity())
    return {};
  auto iterators = reduce.getIteratorTypesArray();
  if (static_cast<int64_t>(iterators.size()) != rank)
    return {};
  for (int64_t d = 0; d < rank; ++d)
    if ((d == rank - 1) != (iterators[d] == utils::IteratorType::reduction))
      return {};
  // The body adds the input to the accumulator, the accumulator starts at 0.
  Block &body = reduce.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || &body.front() != add.getOperation())
    return {};
  Value in = body.getArgument(0), acc = body.getArgument(1);
  if (!((add.getLhs() == in && add.getRhs() == acc) ||
        (add.getLhs() == acc && add.getRhs() == in)))
    return {};
  auto fill = reduce.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
  if (!fill || !bodyConstant(fill.getInputs()[0]) ||
      *bodyConstant(fill.getInputs()[0]) != 0.0)
    return {};
  double n = static_cast<double>(xt.getShape().back());
  bool countOk = scaled->kind == Kind::Div ? *c == n : near(c, 1.0 / n);
  if (!countOk)
    return {};
  SmallVector<int64_t> keep(xt.getShape());
  keep.back() = 1;
  if (vt.getShape() != ArrayRef<int64_t>(keep))
    return {};
  return x;
}

Value rootMeanSquare(Value v, double &epsilon) {
  auto sqrt = asKind(v, Kind::Sqrt);
  if (!sqrt || !sqrt->operands[0].tensor)
    return {};
  auto add = asKind(sqrt->operands[0].tensor, Kind::Add);
  if (!add)
    return {};
  for (int i = 0; i < 2; ++i) {
    const Operand &eps = add->operands[1 - i];
    Value mean = add->operands[i].tensor;
    if (!eps.constant || *eps.constant < 0 || !mean || eps.tensor == mean)
      continue;
    // eps must be a scalar-like constant ([], [1], [1, 1, 1], ...).
    if (eps.tensor &&
        cast<ShapedType>(eps.tensor.getType()).getNumElements() != 1)
      continue;
    Value sq = meanOverLastAxis(mean);
    if (!sq)
      continue;
    auto square = asElementwise(sq);
    if (!square || !square->operands[0].tensor ||
        !isSquareOf(sq, square->operands[0].tensor))
      continue;
    epsilon = *eps.constant;
    return square->operands[0].tensor;
  }
  return {};
}

Value inverseRootMeanSquare(Value v, double &epsilon) {
  auto e = asElementwise(v);
  if (!e)
    return {};
  if (e->kind == Kind::Rsqrt && e->operands[0].tensor) {
    // rsqrt(mean + eps): wrap the check around a virtual sqrt.
    auto add = asKind(e->operands[0].tensor, Kind::Add);
    if (!add)
      return {};
    for (int i = 0; i < 2; ++i) {
      const Operand &eps = add->operands[1 - i];
      Value mean = add->operands[i].tensor;
      if (!eps.constant || !mean || eps.tensor == mean)
        continue;
      Value sq = meanOverLastAxis(mean);
      auto square = sq ? asElementwise(sq) : std::nullopt;
      if (square && square->operands[0].tensor &&
          isSquareOf(sq, square->operands[0].tensor)) {
        epsilon = *eps.constant;
        return square->operands[0].tensor;
      }
    }
    return {};
  }
  if (e->kind == Kind::Reciprocal && e->operands[0].tensor)
    return rootMeanSquare(e->operands[0].tensor, epsilon);
  if (e->kind == Kind::Div && e->operands[0].constant &&
      *e->operands[0].constant == 1.0 && e->operands[1].tensor)
    return rootMeanSquare(e->operands[1].tensor, epsilon);
  return {};
}

Value normalizedByRms(Value v, double &epsilon) {
  if (auto div = asKind(v, Kind::Div)) {
    Value x = div->operands[0].tensor, d = div->operands[1].tensor;
    if (x && d && !div->operands[0].constant && rootMeanSquare(d, epsilon) == x)
      return x;
    return {};
  }
  if (auto mul = asKind(v, Kind::Mul)) {
    for (int i = 0; i < 2; ++i) {
      Value x = mul->operands[i].tensor, inv = mul->operands[1 - i].tensor;
      if (x && inv && inverseRootMeanSquare(inv, epsilon) == x)
        return x;
    }
  }
  return {};
}

bool isLastAxisVector(Value v, Value like) {
  auto lt = dyn_cast<RankedTensorType>(like.getType());
  auto vt = dyn_cast<RankedTensorType>(lookThroughReshape(v).getType());
  auto ut = dyn_cast<RankedTensorType>(v.getType());
  if (!lt || !vt || !ut || lt.getRank() < 1 ||
      vt.getElementType() != lt.getElementType())
    return false;
  int64_t n = lt.getShape().back();
  // The value as used must broadcast along everything but the last axis.
  if (ut.getRank() > lt.getRank() || ut.getNumElements() != n ||
      (ut.getRank() > 0 && ut.getShape().back() != n))
    return false;
  return vt.getNumElements() == n && vt.getRank() >= 1 &&
         vt.getShape().back() == n;
}

Value buildLastAxisVector(OpBuilder &b, Location loc, Value v) {
  v = lookThroughReshape(v);
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getRank() == 1)
    return v;
  return buildTosaReshape(b, loc, v, {t.getNumElements()});
}

LogicalResult applyFusionPatterns(Operation *root,
                                  RewritePatternSet &&patterns) {
  return applyPatternsGreedily(
      root, std::move(patterns),
      GreedyRewriteConfig().enableFolding(false).enableConstantCSE(false));
}

} // namespace lowbit::fusion
