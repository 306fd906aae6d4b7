//===- FuseAttention.cpp - eager attention chains -> nn.attention ---------===//
#include "passes/Fusion/Match.h"
#include "passes/Fusion/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace lowbit {
#define GEN_PASS_DEF_FUSEATTENTIONPASS
#include "passes/Fusion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
using namespace lowbit::fusion;

namespace {

/// When `x` [B, Hkv * rep, T, D] is the exported repeat_kv of a
/// [B, Hkv, T, D] tensor (Unsqueeze -> Expand -> Reshape, imported as
/// reshape -> broadcasting linalg.generic -> reshape), returns that tensor
/// and sets `rep`; otherwise returns `x` with rep = 1.
Value peelRepeatKv(Value x, int64_t &rep) {
  rep = 1;
  auto outer = x.getDefiningOp<tosa::ReshapeOp>();
  auto g = outer ? outer.getInput1().getDefiningOp<linalg::GenericOp>()
                 : nullptr;
  if (!g || g.getNumDpsInputs() != 1 || g.getNumResults() != 1)
    return x;
  auto yield = cast<linalg::YieldOp>(g.getRegion().front().getTerminator());
  if (yield.getNumOperands() != 1 ||
      yield.getOperand(0) != g.getRegion().front().getArgument(0))
    return x;
  auto inner = g.getDpsInputs()[0].getDefiningOp<tosa::ReshapeOp>();
  if (!inner)
    return x;
  Value base = inner.getInput1();
  auto bt = cast<RankedTensorType>(base.getType());
  auto in5 = cast<RankedTensorType>(inner.getType());
  auto out5 = cast<RankedTensorType>(g.getResult(0).getType());
  auto xt = cast<RankedTensorType>(x.getType());
  if (bt.getRank() != 4 || in5.getRank() != 5 || out5.getRank() != 5)
    return x;
  int64_t b = bt.getDimSize(0), h = bt.getDimSize(1), t = bt.getDimSize(2),
          d = bt.getDimSize(3), r = out5.getDimSize(2);
  if (in5.getShape() != ArrayRef<int64_t>{b, h, 1, t, d} ||
      out5.getShape() != ArrayRef<int64_t>{b, h, r, t, d} ||
      xt.getShape() != ArrayRef<int64_t>{b, h * r, t, d})
    return x;
  // The input is read at (d0, d1, 0, d3, d4): dimension 2 is broadcast.
  MLIRContext *ctx = x.getContext();
  AffineMap expected = AffineMap::get(
      5, 0,
      {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx),
       getAffineConstantExpr(0, ctx), getAffineDimExpr(3, ctx),
       getAffineDimExpr(4, ctx)},
      ctx);
  if (g.getMatchingIndexingMap(g.getDpsInputOperand(0)) != expected ||
      !g.getMatchingIndexingMap(g.getDpsInitOperand(0)).isIdentity())
    return x;
  rep = r;
  return base;
}

/// Rooted at the product with V: matmul(softmax(matmul(q, kT) [* c | / c]
/// [+ mask], axis = last), v), every intermediate used once.
struct AttentionPattern : OpRewritePattern<nn::MatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(nn::MatMulOp op,
                                PatternRewriter &rewriter) const override {
    auto type = op.getType();
    if (type.getRank() != 4)
      return failure();
    auto softmax = op.getLhs().getDefiningOp<nn::SoftmaxOp>();
    if (!softmax || !softmax->hasOneUse() || softmax.getAxis() != 3)
      return failure();
    Value x = softmax.getInput(), mask;
    auto scoresType = cast<RankedTensorType>(x.getType());
    if (auto add = x.getDefiningOp<tosa::AddOp>()) {
      if (!add->hasOneUse())
        return failure();
      // The scores are the operand with their own (full) shape that
      // comes from the scale or the Q·Kᵀ product.
      for (int i = 0; i < 2 && !mask; ++i) {
        Value s = add->getOperand(i), m = add->getOperand(1 - i);
        if (s.getType() == scoresType &&
            (s.getDefiningOp<nn::MatMulOp>() || asKind(s, Kind::Mul) ||
             asKind(s, Kind::Div)))
          x = s, mask = m;
      }
      if (!mask)
        return failure();
    }
    double scale = 1.0;
    if (auto e = asElementwise(x); e && (e->kind == Kind::Mul ||
                                         e->kind == Kind::Div)) {
      if (!e->op->hasOneUse())
        return failure();
      Value s;
      std::optional<double> c;
      for (int i = 0; i < 2 && !s; ++i)
        if (e->operands[i].tensor &&
            e->operands[i].tensor.getDefiningOp<nn::MatMulOp>() &&
            e->operands[1 - i].constant &&
            (e->kind == Kind::Mul || i == 0))
          s = e->operands[i].tensor, c = e->operands[1 - i].constant;
      if (!s || *c == 0.0)
        return failure();
      scale = e->kind == Kind::Mul ? *c : 1.0 / *c;
      x = s;
    }
    auto qk = x.getDefiningOp<nn::MatMulOp>();
    if (!qk || !qk->hasOneUse() || qk.getType() != scoresType)
      return failure();
    Value q = qk.getLhs(), kT = qk.getRhs(), v = op.getRhs();
    auto qt = cast<RankedTensorType>(q.getType());
    auto kTt = cast<RankedTensorType>(kT.getType());
    auto vt = cast<RankedTensorType>(v.getType());
    if (qt.getRank() != 4 || kTt.getRank() != 4 || vt.getRank() != 4 ||
        kTt.getShape() != ArrayRef<int64_t>{qt.getDimSize(0), qt.getDimSize(1),
                                            qt.getDimSize(3),
                                            vt.getDimSize(2)} ||
        vt.getDimSize(0) != qt.getDimSize(0) ||
        vt.getDimSize(1) != qt.getDimSize(1))
      return failure();
    Type elem = qt.getElementType();
    if (kTt.getElementType() != elem || vt.getElementType() != elem ||
        type.getElementType() != elem)
      return failure();
    if (mask) {
      auto mt = dyn_cast<RankedTensorType>(mask.getType());
      if (!mt || mt.getRank() != 4 || !isNNFloatTensor(mt) ||
          mt.getElementType() != elem)
        return failure();
      for (int i = 0; i < 4; ++i)
        if (mt.getDimSize(i) != 1 &&
            mt.getDimSize(i) != scoresType.getDimSize(i))
          return failure();
    }
    // K in [B, H, T, D]: the transposed operand's source, or a transpose.
    Location loc = op.getLoc();
    Value k;
    auto tr = kT.getDefiningOp<tosa::TransposeOp>();
    if (tr && tr.getPerms() == ArrayRef<int32_t>{0, 1, 3, 2})
      k = tr.getInput1();
    int64_t repK = 1, repV = 1;
    Value kBase = k ? peelRepeatKv(k, repK) : Value();
    Value vBase = peelRepeatKv(v, repV);
    if (k && repK == repV && repK > 1) {
      k = kBase;
      v = vBase;
    }
    if (!k) {
      auto kTy = RankedTensorType::get({kTt.getDimSize(0), kTt.getDimSize(1),
                                        kTt.getDimSize(3), kTt.getDimSize(2)},
                                       kTt.getElementType());
      k = tosa::TransposeOp::create(rewriter, loc, kTy, kT,
                                    rewriter.getDenseI32ArrayAttr({0, 1, 3, 2}));
    }
    rewriter.replaceOpWithNewOp<nn::AttentionOp>(
        op, type, q, k, v, mask,
        rewriter.getF32FloatAttr(static_cast<float>(scale)));
    return success();
  }
};

struct FuseAttentionPass
    : lowbit::impl::FuseAttentionPassBase<FuseAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<AttentionPattern>(&getContext());
    if (failed(fusion::applyFusionPatterns(getOperation(),
                                           std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
