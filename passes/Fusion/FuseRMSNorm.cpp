//===- FuseRMSNorm.cpp - decomposed RMSNorm -> nn.rms_norm ----------------===//
#include "passes/Fusion/Match.h"
#include "passes/Fusion/Passes.h"


namespace lowbit {
#define GEN_PASS_DEF_FUSERMSNORMPASS
#include "passes/Fusion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
using namespace lowbit::fusion;

namespace {

/// Rooted at the product with gamma: its factors are {gamma, x, 1/rms(x)}
/// or {gamma, x / rms(x)} (a nested x * 1/rms(x) is flattened already).
struct RMSNormPattern : OpRewritePattern<tosa::MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tosa::MulOp op,
                                PatternRewriter &rewriter) const override {
    auto factors = productFactors(op.getResult());
    if (factors.size() != 2 && factors.size() != 3)
      return failure();
    Value x, gamma;
    double eps = 0;
    if (factors.size() == 2) {
      for (int i = 0; i < 2 && !x; ++i) {
        Value n = factors[i].tensor, g = factors[1 - i].tensor;
        if (!n || !g)
          continue;
        Value cand = normalizedByRms(n, eps);
        if (cand && isLastAxisVector(g, cand))
          x = cand, gamma = g;
      }
    } else {
      // Pick the 1/rms factor, then x among the other two, gamma the last.
      for (int i = 0; i < 3 && !x; ++i) {
        Value inv = factors[i].tensor;
        Value cand = inv ? inverseRootMeanSquare(inv, eps) : Value();
        if (!cand)
          continue;
        Value a = factors[(i + 1) % 3].tensor, b = factors[(i + 2) % 3].tensor;
        if (a == cand && b && isLastAxisVector(b, cand))
          x = cand, gamma = b;
        else if (b == cand && a && isLastAxisVector(a, cand))
          x = cand, gamma = a;
      }
    }
    if (!x || x.getType() != op.getType() || !isNNFloatTensor(x.getType()))
      return failure();
    auto type = cast<RankedTensorType>(x.getType());
    Value scale = buildLastAxisVector(rewriter, op.getLoc(), gamma);
    rewriter.replaceOpWithNewOp<nn::RMSNormOp>(
        op, type, x, scale, rewriter.getI64IntegerAttr(type.getRank() - 1),
        rewriter.getF32FloatAttr(static_cast<float>(eps)));
    return success();
  }
};

struct FuseRMSNormPass : lowbit::impl::FuseRMSNormPassBase<FuseRMSNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RMSNormPattern>(&getContext());
    if (failed(fusion::applyFusionPatterns(getOperation(),
                                           std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
