//===- WinogradToLinalg.cpp - Winograd transform ops -> linalg ------------===//
//
// V = Bᵀ d B and Y = Aᵀ M A, each as two linalg.generic contractions over
// one matrix side (2n multiply-adds per output instead of n²), on tensors:
//
//   input transform   in[N, C, H, W] -> tiles D[N, th, tw, i, j, C] (a copy)
//                     -> t[ξ, j, N, th, tw, C] = Σ_i BT[ξ, i] D[.., i, j, C]
//                     -> v[ξ, ν, N, th, tw, C] = Σ_j t[ξ, j, ..] BT[ν, j]
//                     -> collapse to [n, n, tiles, C]
//   output transform  M[n, n, tiles, F] -> expand to [n, n, N, th, tw, F]
//                     -> t[a, ν, N, th, tw, F] = Σ_ξ AT[a, ξ] M[ξ, ν, ..]
//                     -> y[N, F, th, a, tw, e] = Σ_ν t[a, ν, ..] AT[e, ν]
//                     -> collapse to [N, F, th*m, tw*m]
//
// Channels are the innermost dimension of every contraction, so that they
// are plain (vectorisable) contractions for the CPU pipeline; gathering the
// overlapping tiles first costs one copy of (n/m)² x the input.
// The matrices are the ops' f64 values rounded to f32. precision = "f16"
// rounds the op's input and result to f16 (arith.truncf + arith.extf).
//
//===----------------------------------------------------------------------===//
#include "passes/Conversion/WinogradToLinalg.h"

#include "dialects/LowBit/LowBitDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace lowbit::lb;

namespace {

using utils::IteratorType;

/// An n-d f32 tensor constant [rows, cols] holding `values` as f32.
Value matrixConstant(OpBuilder &b, Location loc, ArrayRef<double> values,
                     int64_t rows, int64_t cols) {
  SmallVector<float> f(values.begin(), values.end());
  auto type = RankedTensorType::get({rows, cols}, b.getF32Type());
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, ArrayRef<float>(f)));
}

Value zeroTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape) {
  Type f32 = b.getF32Type();
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(f32));
  return linalg::FillOp::create(b, loc, zero,
                                tensor::EmptyOp::create(b, loc, shape, f32)
                                    .getResult())
      .getResult(0);
}

/// f32 -> f16 -> f32 (round to nearest even), when `half`.
Value maybeRoundHalf(OpBuilder &b, Location loc, Value v, bool half) {
  if (!half)
    return v;
  Value h = arith::TruncFOp::create(b, loc, b.getF16Type(), v);
  return arith::ExtFOp::create(b, loc, b.getF32Type(), h);
}

/// out[dims 0..5] = Σ_{d6} lhs * rhs (with `roundLhs` applied to the lhs
/// element), as one generic over 7 dimensions.
Value contract(OpBuilder &b, Location loc, Value lhs, AffineMap lhsMap,
               Value rhs, AffineMap rhsMap, ArrayRef<int64_t> outShape,
               bool roundLhs) {
  MLIRContext *ctx = b.getContext();
  SmallVector<IteratorType> iterators(6, IteratorType::parallel);
  iterators.push_back(IteratorType::reduction);
  SmallVector<AffineExpr> outExprs;
  for (unsigned d = 0; d < 6; ++d)
    outExprs.push_back(getAffineDimExpr(d, ctx));
  AffineMap outMap = AffineMap::get(7, 0, outExprs, ctx);
  Value init = zeroTensor(b, loc, outShape);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{lhs, rhs},
             ValueRange{init},
             ArrayRef<AffineMap>{lhsMap, rhsMap, outMap}, iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value x = maybeRoundHalf(nb, l, args[0], roundLhs);
               Value p = arith::MulFOp::create(nb, l, x, args[1]);
               linalg::YieldOp::create(
                   nb, l, arith::AddFOp::create(nb, l, args[2], p).getResult());
             })
      .getResult(0);
}

/// Element-wise f16 rounding of a tensor (identity when not `half`).
Value roundTensor(OpBuilder &b, Location loc, Value v, bool half) {
  if (!half)
    return v;
  auto type = cast<RankedTensorType>(v.getType());
  unsigned rank = type.getRank();
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(),
                                       type.getElementType());
  AffineMap id = b.getMultiDimIdentityMap(rank);
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{v}, ValueRange{init},
             ArrayRef<AffineMap>{id, id},
             SmallVector<IteratorType>(rank, IteratorType::parallel),
             [](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l,
                                       maybeRoundHalf(nb, l, args[0], true));
             })
      .getResult(0);
}

struct InputTransformLowering
    : OpConversionPattern<WinogradInputTransformOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(WinogradInputTransformOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    int64_t m = op.getM(), r = op.getR(), n = m + r - 1;
    bool half = op.getPrecision() == "f16";
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    int64_t batch = inType.getDimSize(0), c = inType.getDimSize(1);
    int64_t th = (inType.getDimSize(2) - r + 1) / m;
    int64_t tw = (inType.getDimSize(3) - r + 1) / m;
    Value bt = matrixConstant(rewriter, loc, op.getBt(), n, n);

    // D[b, y, x, i, j, c] = in[b, c, y*m + i, x*m + j] (rounded to f16 when
    // `half`): the overlapping n x n tiles, channels innermost.
    AffineExpr b, y, x, i, j, ch;
    bindDims(ctx, b, y, x, i, j, ch);
    SmallVector<int64_t> tileShape = {batch, th, tw, n, n, c};
    Value tilesInit =
        tensor::EmptyOp::create(rewriter, loc, tileShape, rewriter.getF32Type());
    Value tiles =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{tilesInit.getType()},
            ValueRange{adaptor.getInput()}, ValueRange{tilesInit},
            ArrayRef<AffineMap>{
                AffineMap::get(6, 0, {b, ch, y * m + i, x * m + j}, ctx),
                rewriter.getMultiDimIdentityMap(6)},
            SmallVector<IteratorType>(6, IteratorType::parallel),
            [&](OpBuilder &nb, Location l, ValueRange args) {
              linalg::YieldOp::create(nb, l,
                                      maybeRoundHalf(nb, l, args[0], half));
            })
            .getResult(0);
    // t[ξ, j, b, y, x, c] = Σ_i D[b, y, x, i, j, c] · BT[ξ, i]
    AffineExpr txi, tj, tb, ty, tx, tc, ti;
    bindDims(ctx, txi, tj, tb, ty, tx, tc, ti);
    Value t = contract(rewriter, loc, tiles,
                       AffineMap::get(7, 0, {tb, ty, tx, ti, tj, tc}, ctx), bt,
                       AffineMap::get(7, 0, {txi, ti}, ctx),
                       {n, n, batch, th, tw, c}, /*roundLhs=*/false);
    // v[ξ, ν, b, y, x, c] = Σ_j t[ξ, j, b, y, x, c] · BT[ν, j]
    AffineExpr vxi, vnu, vb, vy, vx, vc, vj;
    bindDims(ctx, vxi, vnu, vb, vy, vx, vc, vj);
    Value v = contract(rewriter, loc, t,
                       AffineMap::get(7, 0, {vxi, vj, vb, vy, vx, vc}, ctx),
                       bt, AffineMap::get(7, 0, {vnu, vj}, ctx),
                       {n, n, batch, th, tw, c}, /*roundLhs=*/false);
    v = roundTensor(rewriter, loc, v, half);
    SmallVector<ReassociationIndices> groups = {{0}, {1}, {2, 3, 4}, {5}};
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
        op, op.getResult().getType(), v, groups);
    return success();
  }
};

struct OutputTransformLowering
    : OpConversionPattern<WinogradOutputTransformOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(WinogradOutputTransformOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    int64_t m = op.getM(), r = op.getR(), n = m + r - 1;
    bool half = op.getPrecision() == "f16";
    auto outType = op.getResult().getType();
    int64_t batch = outType.getDimSize(0), f = outType.getDimSize(1);
    int64_t th = outType.getDimSize(2) / m, tw = outType.getDimSize(3) / m;
    Value at = matrixConstant(rewriter, loc, op.getAt(), m, n);

    SmallVector<ReassociationIndices> tileGroups = {{0}, {1}, {2, 3, 4}, {5}};
    Value m6 = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get({n, n, batch, th, tw, f}, rewriter.getF32Type()),
        adaptor.getInput(), tileGroups);
    // t[a, ν, b, y, x, f] = Σ_ξ AT[a, ξ] · M[ξ, ν, b, y, x, f]
    AffineExpr a, nu, b, y, x, ch, xi;
    bindDims(ctx, a, nu, b, y, x, ch, xi);
    Value t = contract(rewriter, loc, m6,
                       AffineMap::get(7, 0, {xi, nu, b, y, x, ch}, ctx), at,
                       AffineMap::get(7, 0, {a, xi}, ctx),
                       {m, n, batch, th, tw, f}, half);
    // out[b, f, y, a, x, e] = Σ_ν t[a, ν, b, y, x, f] · AT[e, ν]
    AffineExpr ob, of, oy, oa, ox, oe, onu;
    bindDims(ctx, ob, of, oy, oa, ox, oe, onu);
    Value out = contract(rewriter, loc, t,
                         AffineMap::get(7, 0, {oa, onu, ob, oy, ox, of}, ctx),
                         at, AffineMap::get(7, 0, {oe, onu}, ctx),
                         {batch, f, th, m, tw, m}, /*roundLhs=*/false);
    out = roundTensor(rewriter, loc, out, half);
    SmallVector<ReassociationIndices> groups = {{0}, {1}, {2, 3}, {4, 5}};
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(op, outType, out,
                                                         groups);
    return success();
  }
};

} // namespace

void lowbit::populateWinogradToLinalgPatterns(TypeConverter &converter,
                                              RewritePatternSet &patterns) {
  patterns.add<InputTransformLowering, OutputTransformLowering>(
      converter, patterns.getContext());
}

bool lowbit::isWinogradTransformOp(Operation *op) {
  return isa<WinogradInputTransformOp, WinogradOutputTransformOp>(op);
}
