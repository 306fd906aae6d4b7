//===- NNToLinalg.cpp - nn ops -> linalg / tensor / tosa ------------------===//
#include "passes/Conversion/Passes.h"

#include "dialects/NN/NNDialect.h"
#include "lib/Support/TosaBuilders.h"

#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

namespace lowbit {
#define GEN_PASS_DEF_CONVERTNNTOLINALGPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;

namespace {

RankedTensorType tensorType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

Value zeroFilled(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                 Type elem) {
  Value empty = tensor::EmptyOp::create(b, loc, shape, elem);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elem));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// The accumulator's starting value: the bias broadcast along dimension
/// `channelDim` of `shape`, or zeros. Starting from the bias saves a pass.
Value initialAccumulator(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                         Type elem, Value bias, int64_t channelDim) {
  if (!bias)
    return zeroFilled(b, loc, shape, elem);
  Value empty = tensor::EmptyOp::create(b, loc, shape, elem);
  SmallVector<int64_t> dims;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i)
    if (i != channelDim)
      dims.push_back(i);
  return linalg::BroadcastOp::create(b, loc, bias, empty, dims).getResult()[0];
}

Value multiplyAdd(OpBuilder &b, Location loc, Value lhs, Value rhs,
                  Value acc) {
  Value mul = arith::MulFOp::create(b, loc, lhs, rhs);
  return arith::AddFOp::create(b, loc, acc, mul);
}

struct LinearLowering : OpConversionPattern<nn::LinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto xType = tensorType(adaptor.getInput());
    auto wType = tensorType(adaptor.getWeight());
    Type elem = xType.getElementType();
    int64_t k = wType.getDimSize(1), n = wType.getDimSize(0);
    int64_t m = xType.getNumElements() / k;
    Value x = buildTosaReshape(rewriter, loc, adaptor.getInput(), {m, k});
    Value init = initialAccumulator(rewriter, loc, {m, n}, elem,
                                    adaptor.getBias(), /*channelDim=*/1);
    // y[m, n] += x[m, k] * w[n, k]
    MLIRContext *ctx = rewriter.getContext();
    AffineExpr dm, dn, dk;
    bindDims(ctx, dm, dn, dk);
    SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {dm, dk}, ctx),
                                   AffineMap::get(3, 0, {dn, dk}, ctx),
                                   AffineMap::get(3, 0, {dm, dn}, ctx)};
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{init.getType()},
        ValueRange{x, adaptor.getWeight()}, ValueRange{init}, maps,
        {utils::IteratorType::parallel, utils::IteratorType::parallel,
         utils::IteratorType::reduction},
        [](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(b, l,
                                  multiplyAdd(b, l, args[0], args[1], args[2]));
        });
    rewriter.replaceOp(op, buildTosaReshape(rewriter, loc, generic.getResult(0),
                                            op.getType().getShape()));
    return success();
  }
};

struct MatMulLowering : OpConversionPattern<nn::MatMulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::MatMulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto out = op.getType();
    int64_t rank = out.getRank(), batch = rank - 2;
    MLIRContext *ctx = rewriter.getContext();
    // Loops: (batch..., m, n, k). A broadcast batch dimension of an operand
    // reads index 0; missing leading dimensions are dropped.
    auto operandMap = [&](RankedTensorType t, bool isLhs) {
      SmallVector<AffineExpr> exprs;
      int64_t lead = batch - (t.getRank() - 2);
      for (int64_t i = 0; i < t.getRank() - 2; ++i)
        exprs.push_back(t.getDimSize(i) == 1 && out.getDimSize(lead + i) != 1
                            ? getAffineConstantExpr(0, ctx)
                            : getAffineDimExpr(lead + i, ctx));
      AffineExpr m = getAffineDimExpr(batch, ctx);
      AffineExpr n = getAffineDimExpr(batch + 1, ctx);
      AffineExpr k = getAffineDimExpr(batch + 2, ctx);
      exprs.push_back(isLhs ? m : k);
      exprs.push_back(isLhs ? k : n);
      return AffineMap::get(rank + 1, 0, exprs, ctx);
    };
    SmallVector<AffineMap> maps = {
        operandMap(tensorType(adaptor.getLhs()), true),
        operandMap(tensorType(adaptor.getRhs()), false),
        AffineMap::getMultiDimIdentityMap(rank + 1, ctx).getMajorSubMap(rank)};
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);
    Value init =
        zeroFilled(rewriter, loc, out.getShape(), out.getElementType());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{out}, ValueRange{adaptor.getLhs(),
                                                  adaptor.getRhs()},
        ValueRange{init}, maps, iterators,
        [](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(b, l,
                                  multiplyAdd(b, l, args[0], args[1], args[2]));
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct Conv2DLowering : OpConversionPattern<nn::Conv2DOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::Conv2DOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput(), filter = adaptor.getFilter();
    auto inType = tensorType(input), fType = tensorType(filter);
    auto resultType = op.getType();
    // f16 / bf16 convolutions sum in f32 (the named convolutions extend
    // their operands to the accumulator's type) and round once at the end:
    // summed in f16 a 1-D fp16 conv was 0.5% off the ONNX reference.
    Type elem = inType.getElementType();
    if (isa<FloatType>(elem) && elem.getIntOrFloatBitWidth() < 32)
      elem = rewriter.getF32Type();
    auto outType = resultType.clone(elem);
    Value bias = adaptor.getBias();
    if (bias && tensorType(bias).getElementType() != elem)
      bias = tosa::CastOp::create(rewriter, loc,
                                  tensorType(bias).clone(elem), bias);
    auto finish = [&](Value y) {
      if (y.getType() != resultType)
        y = tosa::CastOp::create(rewriter, loc, resultType, y);
      rewriter.replaceOp(op, y);
    };
    ArrayRef<int64_t> pads = op.getPads();
    input = buildNchwZeroPad(rewriter, loc, input, pads);
    inType = tensorType(input);
    auto strides = rewriter.getI64TensorAttr(op.getStrides());
    auto dilations = rewriter.getI64TensorAttr(op.getDilations());
    int64_t groups = op.getGroups();
    if (groups == 1) {
      Value init = initialAccumulator(rewriter, loc, outType.getShape(), elem,
                                      bias, 1);
      finish(linalg::Conv2DNchwFchwOp::create(
                 rewriter, loc, TypeRange{outType}, ValueRange{input, filter},
                 ValueRange{init}, strides, dilations)
                 .getResult(0));
      return success();
    }
    // Grouped (and depthwise): make the group an explicit dimension of
    // input [N, G, C/G, H, W], filter [G, F/G, C/G, KH, KW] and output.
    int64_t n = inType.getDimSize(0), c = inType.getDimSize(1);
    int64_t f = fType.getDimSize(0);
    Value in5 = buildTosaReshape(
        rewriter, loc, input,
        {n, groups, c / groups, inType.getDimSize(2), inType.getDimSize(3)});
    Value f5 = buildTosaReshape(rewriter, loc, filter,
                                {groups, f / groups, fType.getDimSize(1),
                                 fType.getDimSize(2), fType.getDimSize(3)});
    SmallVector<int64_t> out5 = {n, groups, f / groups, outType.getDimSize(2),
                                 outType.getDimSize(3)};
    Value init;
    if (bias) {
      // The bias becomes [G, F/G] and is broadcast over batch and space.
      Value empty = tensor::EmptyOp::create(rewriter, loc, out5, elem);
      init = linalg::BroadcastOp::create(
                 rewriter, loc,
                 buildTosaReshape(rewriter, loc, bias, {groups, f / groups}),
                 empty, ArrayRef<int64_t>{0, 3, 4})
                 .getResult()[0];
    } else {
      init = zeroFilled(rewriter, loc, out5, elem);
    }
    Value y = linalg::Conv2DNgchwGfchwOp::create(
                  rewriter, loc, TypeRange{RankedTensorType::get(out5, elem)},
                  ValueRange{in5, f5}, ValueRange{init}, strides, dilations)
                  .getResult(0);
    finish(buildTosaReshape(rewriter, loc, y, outType.getShape()));
    return success();
  }
};

/// Sums `x` over dimensions [from, rank) keeping them as size 1.
Value reduceTrailing(OpBuilder &b, Location loc, Value x, int64_t from,
                     bool useMax = false) {
  auto type = tensorType(x);
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t d = from; d < type.getRank(); ++d) {
    shape[d] = 1;
    auto t = RankedTensorType::get(shape, type.getElementType());
    if (useMax)
      x = tosa::ReduceMaxOp::create(b, loc, t, x, b.getI32IntegerAttr(d));
    else
      x = tosa::ReduceSumOp::create(b, loc, t, x, b.getI32IntegerAttr(d));
  }
  return x;
}

/// The mean of `x` over dimensions [from, rank), kept as size 1: the sum
/// times 1/count (the order the exported graphs use).
Value meanTrailing(OpBuilder &b, Location loc, Value x, int64_t from) {
  auto type = tensorType(x);
  int64_t count = 1;
  for (int64_t d = from; d < type.getRank(); ++d)
    count *= type.getDimSize(d);
  SmallVector<int64_t> ones(type.getRank(), 1);
  Value invCount = buildSplat(b, loc, type.getElementType(), ones, 1.0 / count);
  Value sum = reduceTrailing(b, loc, x, from);
  return buildTosaMul(b, loc, sum.getType(), sum, invCount);
}

/// x * rsqrt(meanSq + eps) * scale, scale broadcast over the leading
/// dimensions: the common tail of layer_norm and rms_norm.
Value normalizeAndScale(OpBuilder &b, Location loc, Value x, Value meanSq,
                        const APFloat &epsilon, Value scale) {
  auto type = tensorType(x);
  SmallVector<int64_t> ones(type.getRank(), 1);
  Value eps = buildSplat(b, loc, type.getElementType(), ones,
                         epsilon.convertToFloat());
  Value var = tosa::AddOp::create(b, loc, meanSq.getType(), meanSq, eps);
  Value inv = tosa::RsqrtOp::create(b, loc, var.getType(), var);
  Value y = buildTosaMul(b, loc, type, x, inv);
  return buildTosaMul(b, loc, type, y,
                      buildTosaExpandRank(b, loc, scale, type.getRank()));
}

/// The `out_bits` result of a normalisation: y on the symmetric grid with
/// step 1, clamp(round_half_even(y), -qmax, qmax) as i8 (lib/Numerics
/// quantizeValue with scale 1; NaN gives 0). Rounding is explicit (truncate,
/// then compare the exact remainder with 1/2), so it does not depend on the
/// floating-point rounding mode; clamping first is the same because the
/// bounds are integers.
Value roundToUnitGrid(OpBuilder &b, Location loc, Value y, int64_t bits) {
  auto type = tensorType(y);
  int64_t rank = type.getRank();
  float qmax = static_cast<float>((int64_t(1) << (bits - 1)) - 1);
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), b.getI8Type());
  AffineMap id = b.getMultiDimIdentityMap(rank);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{y},
             ValueRange{init}, ArrayRef<AffineMap>{id, id}, iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Type f32 = nb.getF32Type(), i32 = nb.getI32Type();
               auto cf = [&](float v) -> Value {
                 return arith::ConstantOp::create(nb, l,
                                                  nb.getF32FloatAttr(v));
               };
               auto ci = [&](int32_t v) -> Value {
                 return arith::ConstantOp::create(nb, l,
                                                  nb.getI32IntegerAttr(v));
               };
               Value x = args[0];
               if (x.getType() != f32)
                 x = arith::ExtFOp::create(nb, l, f32, x);
               Value c = arith::MinimumFOp::create(
                   nb, l, arith::MaximumFOp::create(nb, l, x, cf(-qmax)),
                   cf(qmax));
               Value isNan =
                   arith::CmpFOp::create(nb, l, arith::CmpFPredicate::UNO, c, c);
               Value safe = arith::SelectOp::create(nb, l, isNan, cf(0.0f), c);
               Value t = arith::FPToSIOp::create(nb, l, i32, safe);
               Value frac = arith::SubFOp::create(
                   nb, l, safe, arith::SIToFPOp::create(nb, l, f32, t));
               Value odd = arith::CmpIOp::create(
                   nb, l, arith::CmpIPredicate::ne,
                   arith::AndIOp::create(nb, l, t, ci(1)), ci(0));
               auto cmp = [&](arith::CmpFPredicate p, float v) -> Value {
                 return arith::CmpFOp::create(nb, l, p, frac, cf(v));
               };
               Value up = arith::OrIOp::create(
                   nb, l, cmp(arith::CmpFPredicate::OGT, 0.5f),
                   arith::AndIOp::create(
                       nb, l, cmp(arith::CmpFPredicate::OEQ, 0.5f), odd));
               Value down = arith::OrIOp::create(
                   nb, l, cmp(arith::CmpFPredicate::OLT, -0.5f),
                   arith::AndIOp::create(
                       nb, l, cmp(arith::CmpFPredicate::OEQ, -0.5f), odd));
               Value r = arith::SelectOp::create(
                   nb, l, up, arith::AddIOp::create(nb, l, t, ci(1)), t);
               r = arith::SelectOp::create(
                   nb, l, down, arith::SubIOp::create(nb, l, t, ci(1)), r);
               linalg::YieldOp::create(
                   nb, l,
                   Value(arith::TruncIOp::create(nb, l, nb.getI8Type(), r)));
             })
      .getResult(0);
}

struct LayerNormLowering : OpConversionPattern<nn::LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto type = tensorType(x);
    int64_t axis = op.getAxis();
    // Mean and variance run over the normalised dimensions axis..rank-1.
    Value mean = meanTrailing(rewriter, loc, x, axis);
    Value centered = tosa::SubOp::create(rewriter, loc, type, x, mean);
    Value sq = buildTosaMul(rewriter, loc, type, centered, centered);
    Value var = meanTrailing(rewriter, loc, sq, axis);
    Value y = normalizeAndScale(rewriter, loc, centered, var, op.getEpsilon(),
                                adaptor.getScale());
    if (Value bias = adaptor.getBias())
      y = tosa::AddOp::create(
          rewriter, loc, type, y,
          buildTosaExpandRank(rewriter, loc, bias, type.getRank()));
    if (std::optional<uint64_t> bits = op.getOutBits())
      y = roundToUnitGrid(rewriter, loc, y, static_cast<int64_t>(*bits));
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct SoftmaxLowering : OpConversionPattern<nn::SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto type = tensorType(x);
    int32_t axis = static_cast<int32_t>(op.getAxis());
    SmallVector<int64_t> reduced(type.getShape());
    reduced[axis] = 1;
    auto reducedType = RankedTensorType::get(reduced, type.getElementType());
    // Subtracting the max keeps exp() finite; the result is unchanged.
    Value max = tosa::ReduceMaxOp::create(rewriter, loc, reducedType, x,
                                          rewriter.getI32IntegerAttr(axis));
    Value shifted = tosa::SubOp::create(rewriter, loc, type, x, max);
    Value e = tosa::ExpOp::create(rewriter, loc, type, shifted);
    Value sum = tosa::ReduceSumOp::create(rewriter, loc, reducedType, e,
                                          rewriter.getI32IntegerAttr(axis));
    Value inv = tosa::ReciprocalOp::create(rewriter, loc, reducedType, sum);
    rewriter.replaceOp(op, buildTosaMul(rewriter, loc, type, e, inv));
    return success();
  }
};

struct RMSNormLowering : OpConversionPattern<nn::RMSNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::RMSNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto type = tensorType(x);
    // mean(x * x) + eps, then x / sqrt(.) * scale: the operations and order
    // of the decomposed graph, so the fused op rounds the same way.
    Value sq = buildTosaMul(rewriter, loc, type, x, x);
    Value meanSq = meanTrailing(rewriter, loc, sq, op.getAxis());
    Value y = normalizeAndScale(rewriter, loc, x, meanSq, op.getEpsilon(),
                                adaptor.getScale());
    if (std::optional<uint64_t> bits = op.getOutBits())
      y = roundToUnitGrid(rewriter, loc, y, static_cast<int64_t>(*bits));
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct GeluLowering : OpConversionPattern<nn::GeluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::GeluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto type = tensorType(x);
    Type elem = type.getElementType();
    SmallVector<int64_t> ones(type.getRank(), 1);
    auto splat = [&](double v) {
      return buildSplat(rewriter, loc, elem, ones, v);
    };
    Value inner;
    if (op.getApproximate() == "tanh") {
      // tanh(sqrt(2/pi) * (x + 0.044715 * x^3))
      Value x3 = buildTosaMul(rewriter, loc, type,
                              buildTosaMul(rewriter, loc, type, x, x), x);
      Value t = tosa::AddOp::create(
          rewriter, loc, type, x,
          buildTosaMul(rewriter, loc, type, x3, splat(0.044715)));
      t = buildTosaMul(rewriter, loc, type, t, splat(std::sqrt(2.0 / M_PI)));
      inner = tosa::TanhOp::create(rewriter, loc, type, t);
    } else {
      inner = tosa::ErfOp::create(
          rewriter, loc, type,
          buildTosaMul(rewriter, loc, type, x, splat(M_SQRT1_2)));
    }
    Value y = tosa::AddOp::create(rewriter, loc, type, inner, splat(1.0));
    y = buildTosaMul(rewriter, loc, type, x, y);
    rewriter.replaceOp(op, buildTosaMul(rewriter, loc, type, y, splat(0.5)));
    return success();
  }
};

struct SiluLowering : OpConversionPattern<nn::SiluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::SiluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto type = tensorType(x);
    Value s = tosa::SigmoidOp::create(rewriter, loc, type, x);
    rewriter.replaceOp(op, buildTosaMul(rewriter, loc, type, x, s));
    return success();
  }
};

struct HardSwishLowering : OpConversionPattern<nn::HardSwishOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::HardSwishOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    // x * clamp(x + 3, 0, 6) / 6, in the order of the decomposed graph.
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto type = tensorType(x);
    Type elem = type.getElementType();
    int64_t rank = type.getRank();
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(), elem);
    AffineMap id = rewriter.getMultiDimIdentityMap(rank);
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    Value y =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{type}, ValueRange{x}, ValueRange{init},
            ArrayRef<AffineMap>{id, id}, iterators,
            [&](OpBuilder &b, Location l, ValueRange args) {
              auto c = [&](double v) -> Value {
                return arith::ConstantOp::create(b, l,
                                                 b.getFloatAttr(elem, v));
              };
              Value t = arith::AddFOp::create(b, l, args[0], c(3.0));
              t = arith::MaximumFOp::create(b, l, t, c(0.0));
              t = arith::MinimumFOp::create(b, l, t, c(6.0));
              Value m = arith::MulFOp::create(b, l, args[0], t);
              linalg::YieldOp::create(
                  b, l, Value(arith::DivFOp::create(b, l, m, c(6.0))));
            })
            .getResult(0);
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// Repeats each of the Hkv heads of `x` [B, Hkv, R, C] `rep` times:
/// [B, Hkv * rep, R, C], head h reading head h / rep.
Value repeatHeads(OpBuilder &b, Location loc, Value x, int64_t rep) {
  if (rep == 1)
    return x;
  auto t = tensorType(x);
  SmallVector<int64_t> shape5 = {t.getDimSize(0), t.getDimSize(1), rep,
                                 t.getDimSize(2), t.getDimSize(3)};
  Value empty = tensor::EmptyOp::create(b, loc, shape5, t.getElementType());
  Value wide = linalg::BroadcastOp::create(b, loc, x, empty,
                                           ArrayRef<int64_t>{2})
                   .getResult()[0];
  return buildTosaReshape(b, loc, wide,
                          {t.getDimSize(0), t.getDimSize(1) * rep,
                           t.getDimSize(2), t.getDimSize(3)});
}

/// The decomposed attention: the same matmul / scale / mask / softmax /
/// matmul ops (and so the same rounding) as the unfused graph; the nn ops
/// it creates are lowered by the patterns above.
struct AttentionLowering : OpConversionPattern<nn::AttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value q = adaptor.getQuery(), k = adaptor.getKey(), v = adaptor.getValue();
    auto qt = tensorType(q), kt = tensorType(k);
    Type elem = qt.getElementType();
    int64_t rep = qt.getDimSize(1) / kt.getDimSize(1);
    auto kT = tosa::TransposeOp::create(
        rewriter, loc,
        RankedTensorType::get({kt.getDimSize(0), kt.getDimSize(1),
                               kt.getDimSize(3), kt.getDimSize(2)},
                              elem),
        k, rewriter.getDenseI32ArrayAttr({0, 1, 3, 2}));
    Value keys = repeatHeads(rewriter, loc, kT, rep);
    Value values = repeatHeads(rewriter, loc, v, rep);
    auto scoresType = RankedTensorType::get(
        {qt.getDimSize(0), qt.getDimSize(1), qt.getDimSize(2),
         kt.getDimSize(2)},
        elem);
    Value scores = nn::MatMulOp::create(rewriter, loc, scoresType, q, keys);
    float scale = op.getScale().convertToFloat();
    if (scale != 1.0f)
      scores = buildTosaMul(rewriter, loc, scoresType, scores,
                            buildSplat(rewriter, loc, elem, {1, 1, 1, 1},
                                       scale));
    if (Value mask = adaptor.getMask())
      scores = tosa::AddOp::create(rewriter, loc, scoresType, scores, mask);
    Value probs = nn::SoftmaxOp::create(rewriter, loc, scoresType, scores,
                                        rewriter.getI64IntegerAttr(3));
    rewriter.replaceOp(op, nn::MatMulOp::create(rewriter, loc, op.getType(),
                                                probs, values)
                               .getResult());
    return success();
  }
};

struct ConvertNNToLinalgPass
    : lowbit::impl::ConvertNNToLinalgPassBase<ConvertNNToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<nn::NNDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    patterns.add<LinearLowering, MatMulLowering, Conv2DLowering,
                 LayerNormLowering, SoftmaxLowering, RMSNormLowering,
                 GeluLowering, SiluLowering, AttentionLowering,
                 HardSwishLowering>(ctx);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
