//===- FuseHardSwish.cpp - x * clip(x + 3, 0, 6) / 6 -> nn.hard_swish ------===//
#include "passes/Fusion/Match.h"
#include "passes/Fusion/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace lowbit {
#define GEN_PASS_DEF_FUSEHARDSWISHPASS
#include "passes/Fusion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
using namespace lowbit::fusion;

namespace {

/// `v` is clamp(x + 3, 0, 6) (Clip imports as tosa.clamp).
bool isRelu6OfXPlus3(Value v, Value x) {
  auto clamp = v.getDefiningOp<tosa::ClampOp>();
  if (!clamp)
    return false;
  auto lo = dyn_cast<FloatAttr>(clamp.getMinValAttr());
  auto hi = dyn_cast<FloatAttr>(clamp.getMaxValAttr());
  if (!lo || !hi || lo.getValueAsDouble() != 0.0 ||
      hi.getValueAsDouble() != 6.0)
    return false;
  auto add = asKind(clamp.getInput(), Kind::Add);
  if (!add)
    return false;
  for (int i = 0; i < 2; ++i)
    if (add->operands[i].tensor == x && near(add->operands[1 - i].constant, 3.0))
      return true;
  return false;
}

/// x when the factors are {x, relu6(x + 3)} (and 1/6 when `withSixth`).
Value hardSwishInput(ArrayRef<Operand> factors, bool withSixth) {
  if (factors.size() != (withSixth ? 3u : 2u))
    return {};
  for (size_t i = 0; i < factors.size(); ++i) {
    Value x = factors[i].tensor;
    if (!x || factors[i].constant)
      continue;
    bool clampSeen = false, sixthSeen = !withSixth;
    for (size_t j = 0; j < factors.size(); ++j) {
      if (j == i)
        continue;
      if (!clampSeen && factors[j].tensor && isRelu6OfXPlus3(factors[j].tensor, x))
        clampSeen = true;
      else if (!sixthSeen && near(factors[j].constant, 1.0 / 6.0))
        sixthSeen = true;
    }
    if (clampSeen && sixthSeen)
      return x;
  }
  return {};
}

LogicalResult replace(PatternRewriter &rewriter, Operation *root, Value x) {
  Type type = root->getResult(0).getType();
  if (!x || x.getType() != type || !isNNFloatTensor(type))
    return failure();
  rewriter.replaceOpWithNewOp<nn::HardSwishOp>(root, type, x);
  return success();
}

/// (x * relu6(x + 3)) / 6, the Div imported as a linalg.generic.
struct DivForm : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (op->getNumResults() != 1)
      return failure();
    auto div = asKind(op->getResult(0), Kind::Div);
    if (!div || !div->operands[0].tensor || !near(div->operands[1].constant, 6.0))
      return failure();
    Value prod = div->operands[0].tensor;
    if (!prod.hasOneUse() || !asKind(prod, Kind::Mul))
      return failure();
    return replace(rewriter, op, hardSwishInput(productFactors(prod), false));
  }
};

/// x * relu6(x + 3) * (1/6), factors in any order.
struct MulForm : OpRewritePattern<tosa::MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tosa::MulOp op,
                                PatternRewriter &rewriter) const override {
    return replace(rewriter, op,
                   hardSwishInput(productFactors(op.getResult()), true));
  }
};

struct FuseHardSwishPass
    : lowbit::impl::FuseHardSwishPassBase<FuseHardSwishPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<DivForm, MulForm>(&getContext());
    if (failed(fusion::applyFusionPatterns(getOperation(),
                                           std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
