//===- FuseLayerNorm.cpp - decomposed LayerNorm -> nn.layer_norm ----------===//
#include "passes/Fusion/Match.h"
#include "passes/Fusion/Passes.h"


namespace lowbit {
#define GEN_PASS_DEF_FUSELAYERNORMPASS
#include "passes/Fusion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
using namespace lowbit::fusion;

namespace {

/// x when `d` is x - mean(x) over the last axis.
Value centredInput(Value d) {
  auto sub = d ? asKind(d, Kind::Sub) : std::nullopt;
  if (!sub || !sub->operands[0].tensor || !sub->operands[1].tensor)
    return {};
  Value x = sub->operands[0].tensor;
  if (meanOverLastAxis(sub->operands[1].tensor) != x ||
      d.getType() != x.getType())
    return {};
  return x;
}

/// x when `prod` is gamma * (x - mean) / sqrt(var + eps) in one of the
/// exported forms; sets gamma and eps.
Value scaledNormalized(Value prod, Value &gamma, double &eps) {
  auto factors = productFactors(prod);
  if (factors.size() == 2) {
    for (int i = 0; i < 2; ++i) {
      Value n = factors[i].tensor, g = factors[1 - i].tensor;
      if (!n || !g)
        continue;
      Value x = centredInput(normalizedByRms(n, eps));
      if (x && isLastAxisVector(g, x)) {
        gamma = g;
        return x;
      }
    }
  } else if (factors.size() == 3) {
    for (int i = 0; i < 3; ++i) {
      Value inv = factors[i].tensor;
      Value d = inv ? inverseRootMeanSquare(inv, eps) : Value();
      Value x = centredInput(d);
      if (!x)
        continue;
      Value a = factors[(i + 1) % 3].tensor, b = factors[(i + 2) % 3].tensor;
      if (a == d && b && isLastAxisVector(b, x)) {
        gamma = b;
        return x;
      }
      if (b == d && a && isLastAxisVector(a, x)) {
        gamma = a;
        return x;
      }
    }
  }
  return {};
}

LogicalResult replaceByLayerNorm(PatternRewriter &rewriter, Operation *root,
                                 Value x, Value gamma, Value beta,
                                 double eps) {
  auto type = cast<RankedTensorType>(x.getType());
  if (root->getResult(0).getType() != type || !isNNFloatTensor(type))
    return failure();
  Location loc = root->getLoc();
  Value scale = buildLastAxisVector(rewriter, loc, gamma);
  Value bias = beta ? buildLastAxisVector(rewriter, loc, beta) : Value();
  rewriter.replaceOpWithNewOp<nn::LayerNormOp>(
      root, type, x, scale, bias,
      rewriter.getI64IntegerAttr(type.getRank() - 1),
      rewriter.getF32FloatAttr(static_cast<float>(eps)));
  return success();
}

/// gamma * normalized + beta.
struct LayerNormWithBias : OpRewritePattern<tosa::AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tosa::AddOp op,
                                PatternRewriter &rewriter) const override {
    for (int i = 0; i < 2; ++i) {
      Value prod = op->getOperand(i), beta = op->getOperand(1 - i);
      if (!prod.hasOneUse() || !asKind(prod, Kind::Mul))
        continue;
      Value gamma;
      double eps = 0;
      Value x = scaledNormalized(prod, gamma, eps);
      if (x && isLastAxisVector(beta, x))
        return replaceByLayerNorm(rewriter, op, x, gamma, beta, eps);
    }
    return failure();
  }
};

/// gamma * normalized, when no bias is added afterwards.
struct LayerNormWithoutBias : OpRewritePattern<tosa::MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tosa::MulOp op,
                                PatternRewriter &rewriter) const override {
    Value gamma;
    double eps = 0;
    Value x = scaledNormalized(op.getResult(), gamma, eps);
    if (!x)
      return failure();
    // A following `+ beta` belongs to LayerNormWithBias.
    if (op->hasOneUse())
      if (auto add = dyn_cast<tosa::AddOp>(*op->user_begin())) {
        Value other = add->getOperand(0) == op.getResult()
                          ? add->getOperand(1)
                          : add->getOperand(0);
        if (isLastAxisVector(other, x))
          return failure();
      }
    return replaceByLayerNorm(rewriter, op, x, gamma, Value(), eps);
  }
};

struct FuseLayerNormPass
    : lowbit::impl::FuseLayerNormPassBase<FuseLayerNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LayerNormWithBias, LayerNormWithoutBias>(&getContext());
    if (failed(fusion::applyFusionPatterns(getOperation(),
                                           std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
