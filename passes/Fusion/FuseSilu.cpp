//===- FuseSilu.cpp - x * sigmoid(x) -> nn.silu ---------------------------===//
#include "passes/Fusion/Match.h"
#include "passes/Fusion/Passes.h"


namespace lowbit {
#define GEN_PASS_DEF_FUSESILUPASS
#include "passes/Fusion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
using namespace lowbit::fusion;

namespace {

struct SiluPattern : OpRewritePattern<tosa::MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tosa::MulOp op,
                                PatternRewriter &rewriter) const override {
    for (int i = 0; i < 2; ++i) {
      Value x = op->getOperand(i);
      auto sigmoid = asKind(op->getOperand(1 - i), Kind::Sigmoid);
      if (!sigmoid || sigmoid->operands[0].tensor != x ||
          x.getType() != op.getType() || !isNNFloatTensor(x.getType()))
        continue;
      rewriter.replaceOpWithNewOp<nn::SiluOp>(op, op.getType(), x);
      return success();
    }
    return failure();
  }
};

struct FuseSiluPass : lowbit::impl::FuseSiluPassBase<FuseSiluPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<SiluPattern>(&getContext());
    if (failed(fusion::applyFusionPatterns(getOperation(),
                                           std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
