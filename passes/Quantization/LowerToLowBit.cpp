//===- LowerToLowBit.cpp - packed weights and lowbit.qlinear --------------===//
#include "passes/Quantization/Passes.h"

#include "dialects/NN/NNDialect.h"
#include "lib/Numerics/Pack.h"
#include "lib/Support/TosaBuilders.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lowbit {
#define GEN_PASS_DEF_LOWERTOLOWBITPASS
#include "passes/Quantization/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;

namespace {

/// The densest layout for `bits` (bit planes for bit-serial kernels), if a
/// row of `k` values fills whole bytes in it.
std::optional<lb::LayoutKind> layoutFor(int64_t bits, int64_t k,
                                        bool bitSerial) {
  auto kind = bitSerial ? lb::LayoutKind::bit_planes
                        : static_cast<lb::LayoutKind>(
                              numerics::defaultPackLayout(bits));
  if (k % lb::getLayoutRowMultiple(kind) != 0)
    return std::nullopt;
  return kind;
}

/// The integer part of `dq` as packed storage (a lowbit.pack that folds into
/// a packed constant), or its i8 containers when the layout cannot hold it.
Value packedIntegerPart(PatternRewriter &rewriter, lb::DequantizeWeightOp dq,
                        bool bitSerial) {
  Value q = dq.getQ();
  if (isa<lb::PackedType>(q.getType()))
    return q;
  auto type = cast<RankedTensorType>(q.getType());
  auto layout = layoutFor(dq.getBits(), type.getShape().back(), bitSerial);
  if (!layout)
    return q;
  auto packedType = lb::PackedType::get(
      rewriter.getContext(), type.getShape(),
      // With an integer zero point the values are unsigned; decoupleQ's
      // float offsets go with signed values.
      dq.getZero() && dq.getZeroKind() == "integer"
          ? rewriter.getIntegerType(dq.getBits(), /*isSigned=*/false)
                   : rewriter.getIntegerType(dq.getBits()),
      *layout);
  return lb::PackOp::create(rewriter, dq.getLoc(), packedType, q);
}

/// A static activation QDQ pair (quantize-activations mode=static):
/// lowbit.dequantize(lowbit.quantize(x)) with a symmetric per-tensor
/// !quant.uniform<i8<-qmax:qmax>:f32, s> type, qmax = 2^(bits-1)-1.
struct StaticActivation {
  lb::QuantizeOp quantize;
  float scale = 1.0f;
  int64_t bits = 0;
};

std::optional<StaticActivation> matchStaticActivation(Value x) {
  auto dq = x.getDefiningOp<lb::DequantizeOp>();
  auto q = dq ? dq.getInput().getDefiningOp<lb::QuantizeOp>() : nullptr;
  if (!q)
    return std::nullopt;
  auto type = dyn_cast<quant::UniformQuantizedType>(
      cast<RankedTensorType>(q.getResult().getType()).getElementType());
  if (!type || type.getZeroPoint() != 0 || !type.isSigned() ||
      type.getStorageTypeIntegralWidth() != 8 ||
      type.getStorageTypeMin() != -type.getStorageTypeMax())
    return std::nullopt;
  for (int64_t bits = 2; bits <= 8; ++bits)
    if (type.getStorageTypeMax() == (int64_t(1) << (bits - 1)) - 1)
      return StaticActivation{q, static_cast<float>(type.getScale()), bits};
  return std::nullopt;
}

/// The i8 integer part of a static pair, shaped like the quantized tensor.
Value staticIntegerPart(PatternRewriter &rewriter, Location loc,
                        StaticActivation a) {
  auto type = cast<RankedTensorType>(a.quantize.getResult().getType());
  return quant::StorageCastOp::create(
      rewriter, loc,
      RankedTensorType::get(type.getShape(), rewriter.getI8Type()),
      a.quantize.getResult());
}

/// A [m, 1] f32 constant holding `scale`.
Value scaleColumn(PatternRewriter &rewriter, Location loc, int64_t m,
                  float scale) {
  auto type = RankedTensorType::get({m, 1}, rewriter.getF32Type());
  return arith::ConstantOp::create(rewriter, loc,
                                   DenseElementsAttr::get(type, scale));
}

/// MergeQuant (migrate-quant-steps): a unit-step static pair on the result
/// of a norm whose gamma already carries the steps. The norm itself then
/// produces the integers: a copy of it with `out_bits` and an i8 result
/// (one per norm and width, shared by the group), the same integers the
/// quantize op would give (scale 1: x / 1 = x).
Value migratedIntegerPart(PatternRewriter &rewriter, StaticActivation a) {
  Operation *norm = a.quantize.getInput().getDefiningOp();
  if (a.scale != 1.0f || !isa_and_nonnull<nn::RMSNormOp, nn::LayerNormOp>(norm) ||
      norm->hasAttr("out_bits"))
    return nullptr;
  auto type = cast<RankedTensorType>(norm->getResult(0).getType());
  auto i8Type = RankedTensorType::get(type.getShape(), rewriter.getI8Type());
  auto bitsAttr = rewriter.getI64IntegerAttr(a.bits);
  for (Operation *user : norm->getOperand(0).getUsers())
    if (user != norm && user->getName() == norm->getName() &&
        llvm::equal(user->getOperands(), norm->getOperands()) &&
        user->getResult(0).getType() == i8Type &&
        user->getAttr("out_bits") == bitsAttr &&
        user->getBlock() == norm->getBlock() && norm->isBeforeInBlock(user) &&
        user->isBeforeInBlock(a.quantize.getOperation()))
      return user->getResult(0);
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointAfter(norm);
  Operation *integer = rewriter.clone(*norm);
  integer->getResult(0).setType(i8Type);
  integer->setAttr("out_bits", bitsAttr);
  return integer->getResult(0);
}

/// Weight-only layers: make dequantize_weight read packed storage.
struct PackWeightOnly : OpRewritePattern<lb::DequantizeWeightOp> {
  PackWeightOnly(MLIRContext *ctx, bool bitSerial)
      : OpRewritePattern(ctx), bitSerial(bitSerial) {}
  LogicalResult matchAndRewrite(lb::DequantizeWeightOp op,
                                PatternRewriter &rewriter) const override {
    if (isa<lb::PackedType>(op.getQ().getType()) ||
        !matchPattern(op.getQ(), m_Constant()))
      return rewriter.notifyMatchFailure(op, "already packed or not constant");
    Value packed = packedIntegerPart(rewriter, op, bitSerial);
    if (packed == op.getQ())
      return rewriter.notifyMatchFailure(op, "layout cannot hold the rows");
    rewriter.modifyOpInPlace(op, [&] { op.getQMutable().assign(packed); });
    return success();
  }
  bool bitSerial;
};

/// nn.linear(dequantize_dynamic(quantize_dynamic(x)), dequantize_weight(...))
/// [+ bias] -> lowbit.qlinear.
struct FormQLinear : OpRewritePattern<nn::LinearOp> {
  FormQLinear(MLIRContext *ctx, bool bitSerial)
      : OpRewritePattern(ctx, /*benefit=*/2), bitSerial(bitSerial) {}
  LogicalResult matchAndRewrite(nn::LinearOp op,
                                PatternRewriter &rewriter) const override {
    auto dqx = op.getInput().getDefiningOp<lb::DequantizeDynamicOp>();
    std::optional<StaticActivation> sx = matchStaticActivation(op.getInput());
    auto dqw = op.getWeight().getDefiningOp<lb::DequantizeWeightOp>();
    if ((!dqx && !sx) || !dqw)
      return rewriter.notifyMatchFailure(op, "not a quantized linear");
    if (dqw.getZero() && dqw.getZeroKind() != "integer")
      return rewriter.notifyMatchFailure(op, "float offsets need float math");
    Location loc = op.getLoc();
    auto xType = op.getInput().getType();
    int64_t k = xType.getShape().back();
    int64_t m = xType.getNumElements() / k;
    Value xq, xs;
    int64_t aBits;
    if (dqx) {
      xq = buildTosaReshape(rewriter, loc, dqx.getQ(), {m, k});
      xs = buildTosaReshape(rewriter, loc, dqx.getScale(), {m, 1});
      aBits = dqx.getBits();
    } else {
      Value integers;
      if (op->hasAttr("lowbit.qsm"))
        integers = migratedIntegerPart(rewriter, *sx);
      if (!integers)
        integers = staticIntegerPart(rewriter, loc, *sx);
      xq = buildTosaReshape(rewriter, loc, integers, {m, k});
      xs = scaleColumn(rewriter, loc, m, sx->scale);
      aBits = sx->bits;
    }
    Value w = packedIntegerPart(rewriter, dqw, bitSerial);
    int64_t n = op.getType().getShape().back();
    auto resultType = RankedTensorType::get({m, n}, rewriter.getF32Type());
    Value y = lb::QLinearOp::create(
        rewriter, loc, resultType, xq, xs, w, dqw.getScale(), dqw.getZero(),
        op.getBias(), rewriter.getI64IntegerAttr(aBits),
        rewriter.getI64IntegerAttr(dqw.getBits()),
        rewriter.getI64IntegerAttr(dqw.getGroupSize()));
    rewriter.replaceOp(op, buildTosaReshape(rewriter, loc, y,
                                            op.getType().getShape()));
    return success();
  }
  bool bitSerial;
};

/// nn.conv2d (groups = 1) whose input is per-tensor quantized and whose
/// filter is a quantized weight -> int8 im2col + lowbit.qlinear + transpose:
/// out[n, f, oh, ow] = qlinear(patches)[(n * OH + oh) * OW + ow, f].
struct FormQConv : OpRewritePattern<nn::Conv2DOp> {
  FormQConv(MLIRContext *ctx, bool bitSerial)
      : OpRewritePattern(ctx, /*benefit=*/2), bitSerial(bitSerial) {}
  LogicalResult matchAndRewrite(nn::Conv2DOp op,
                                PatternRewriter &rewriter) const override {
    auto inReshape = op.getInput().getDefiningOp<tosa::ReshapeOp>();
    auto dqx = inReshape
                   ? inReshape.getInput1().getDefiningOp<lb::DequantizeDynamicOp>()
                   : nullptr;
    std::optional<StaticActivation> sx = matchStaticActivation(op.getInput());
    auto wReshape = op.getFilter().getDefiningOp<tosa::ReshapeOp>();
    auto dqw = wReshape
                   ? wReshape.getInput1().getDefiningOp<lb::DequantizeWeightOp>()
                   : nullptr;
    if ((!dqx && !sx) || !dqw || op.getGroups() != 1 ||
        (dqx && dqx.getScale().getType().getNumElements() != 1))
      return rewriter.notifyMatchFailure(op, "not a quantized dense conv");
    if (dqw.getZero() && dqw.getZeroKind() != "integer")
      return rewriter.notifyMatchFailure(op, "float offsets need float math");
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto xType = op.getInput().getType();
    auto fType = op.getFilter().getType();
    auto outType = op.getType();
    int64_t n = xType.getDimSize(0), c = xType.getDimSize(1);
    int64_t f = fType.getDimSize(0), kh = fType.getDimSize(2),
            kw = fType.getDimSize(3);
    int64_t oh = outType.getDimSize(2), ow = outType.getDimSize(3);
    int64_t m = n * oh * ow, kc = c * kh * kw;
    ArrayRef<int64_t> pads = op.getPads(), strides = op.getStrides(),
                      dil = op.getDilations();

    Value xq = dqx ? buildTosaReshape(rewriter, loc, dqx.getQ(),
                                      xType.getShape())
                   : staticIntegerPart(rewriter, loc, *sx);
    xq = buildNchwZeroPad(rewriter, loc, xq, pads);
    // Patches: row m = (n, oh, ow), column kk = (c, kh, kw).
    AffineExpr dm = getAffineDimExpr(0, ctx), dk = getAffineDimExpr(1, ctx);
    AffineExpr rowH = dm.floorDiv(ow) % oh, rowW = dm % ow;
    AffineExpr colH = dk.floorDiv(kw) % kh, colW = dk % kw;
    AffineMap gather = AffineMap::get(
        2, 0,
        {dm.floorDiv(oh * ow), dk.floorDiv(kh * kw),
         rowH * strides[0] + colH * dil[0], rowW * strides[1] + colW * dil[1]},
        ctx);
    Value patches = buildAffineCopy(rewriter, loc, xq, gather, {m, kc});
    // The per-tensor scale, repeated for every row.
    Value xs;
    if (dqx) {
      Value scale1 = buildTosaReshape(rewriter, loc, dqx.getScale(), {1, 1});
      xs = buildAffineCopy(rewriter, loc, scale1,
                           AffineMap::get(2, 0,
                                          {getAffineConstantExpr(0, ctx),
                                           getAffineConstantExpr(0, ctx)},
                                          ctx),
                           {m, 1});
    } else {
      xs = scaleColumn(rewriter, loc, m, sx->scale);
    }
    Value w = packedIntegerPart(rewriter, dqw, bitSerial);
    Value y = lb::QLinearOp::create(
        rewriter, loc, RankedTensorType::get({m, f}, rewriter.getF32Type()),
        patches, xs, w, dqw.getScale(), dqw.getZero(), op.getBias(),
        rewriter.getI64IntegerAttr(dqx ? dqx.getBits() : sx->bits),
        rewriter.getI64IntegerAttr(dqw.getBits()),
        rewriter.getI64IntegerAttr(dqw.getGroupSize()));
    y = buildTosaReshape(rewriter, loc, y, {n, oh, ow, f});
    y = tosa::TransposeOp::create(rewriter, loc, outType, y,
                                  rewriter.getDenseI32ArrayAttr({0, 3, 1, 2}));
    rewriter.replaceOp(op, y);
    return success();
  }
  bool bitSerial;
};

struct LowerToLowBitPass
    : lowbit::impl::LowerToLowBitPassBase<LowerToLowBitPass> {
  using LowerToLowBitPassBase::LowerToLowBitPassBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FormQLinear, FormQConv, PackWeightOnly>(&getContext(),
                                                         bitSerial);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
