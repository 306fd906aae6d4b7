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

/// out[d0..d3] = Σ_{d4} mat[..] * x[..]: one generic over 5 dimensions
/// (4 parallel, the last a reduction), the small constant matrix `mat` as the
/// left operand. Written so that lowbit-cpu-tile-vectorize sees a plain
/// contraction whose innermost parallel dimension (d3, channels) is only in
/// `x` and the result: it becomes the vector dimension of the register tile
/// (contiguous loads and stores), the matrix rows the register-tile rows.
Value contract(OpBuilder &b, Location loc, Value mat, AffineMap matMap,
               Value x, AffineMap xMap, ArrayRef<int64_t> outShape) {
  MLIRContext *ctx = b.getContext();
  SmallVector<IteratorType> iterators(4, IteratorType::parallel);
  iterators.push_back(IteratorType::reduction);
  AffineMap outMap = AffineMap::get(5, 0,
                                    {getAffineDimExpr(0, ctx),
                                     getAffineDimExpr(1, ctx),
                                     getAffineDimExpr(2, ctx),
                                     getAffineDimExpr(3, ctx)},
                                    ctx);
  Value init = zeroTensor(b, loc, outShape);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{mat, x},
             ValueRange{init},
             ArrayRef<AffineMap>{matMap, xMap, outMap}, iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value p = arith::MulFOp::create(nb, l, args[0], args[1]);
               linalg::YieldOp::create(
                   nb, l, arith::AddFOp::create(nb, l, args[2], p).getResult());
             })
      .getResult(0);
}

/// The 2-D transform of a batch of tiles x[i, j, t, c] (i, j < n) by the
/// [rows, n] matrix `mat` on both sides, as two contractions with the
/// constant on the left (so the channels c stay the vector dimension):
///   tmp[a, j, t, c] = Σ_i mat[a, i] · x[i, j, t, c]
///   y[a, e, t, c]   = Σ_j mat[e, j] · tmp[a, j, t, c]
Value transformBothSides(OpBuilder &b, Location loc, Value mat, int64_t rows,
                         Value x, int64_t n, int64_t tiles, int64_t c) {
  MLIRContext *ctx = b.getContext();
  AffineExpr a, j, t, ch, i;
  bindDims(ctx, a, j, t, ch, i);
  Value tmp = contract(b, loc, mat, AffineMap::get(5, 0, {a, i}, ctx), x,
                       AffineMap::get(5, 0, {i, j, t, ch}, ctx),
                       {rows, n, tiles, c});
  AffineExpr ya, ye, yt, yc, yj;
  bindDims(ctx, ya, ye, yt, yc, yj);
  return contract(b, loc, mat, AffineMap::get(5, 0, {ye, yj}, ctx), tmp,
                  AffineMap::get(5, 0, {ya, yj, yt, yc}, ctx),
                  {rows, rows, tiles, c});
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
    int64_t m = op.getM(), r = op.getR(), n = m + r - 1;
    bool half = op.getPrecision() == "f16";
    Value in = adaptor.getInput();
    auto inType = cast<RankedTensorType>(in.getType());
    int64_t batch = inType.getDimSize(0), c = inType.getDimSize(1);
    int64_t th = (inType.getDimSize(2) - r + 1) / m;
    int64_t tw = (inType.getDimSize(3) - r + 1) / m;
    int64_t tiles = batch * th * tw;
    Value bt = matrixConstant(rewriter, loc, op.getBt(), n, n);

    // D[i, j, t, c] = in[b, c, y*m + i, x*m + j] with t = (b*th + y)*tw + x
    // (rounded to f16 when `half`): the overlapping n x n tiles, tile index
    // flat and channels innermost. The indices are computed in the body
    // (tensor.extract), so the result has the flat tile dimension of the
    // op's result and no reshape: a reshape here would be propagated by
    // element-wise fusion into the Winograd-domain batch_matmul and split
    // its row dimension into (b, y, x), whose innermost (x) is too short
    // for a register tile.
    SmallVector<int64_t> tileShape = {n, n, tiles, c};
    Value tilesInit = tensor::EmptyOp::create(rewriter, loc, tileShape,
                                              rewriter.getF32Type());
    Value tilesD =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{tilesInit.getType()}, ValueRange{},
            ValueRange{tilesInit},
            ArrayRef<AffineMap>{rewriter.getMultiDimIdentityMap(4)},
            SmallVector<IteratorType>(4, IteratorType::parallel),
            [&](OpBuilder &nb, Location l, ValueRange) {
              auto cst = [&](int64_t v) {
                return arith::ConstantIndexOp::create(nb, l, v).getResult();
              };
              Value i = linalg::IndexOp::create(nb, l, 0);
              Value j = linalg::IndexOp::create(nb, l, 1);
              Value t = linalg::IndexOp::create(nb, l, 2);
              Value ch = linalg::IndexOp::create(nb, l, 3);
              Value perImage = cst(th * tw);
              Value bi = arith::DivUIOp::create(nb, l, t, perImage);
              Value rest = arith::RemUIOp::create(nb, l, t, perImage);
              Value yi = arith::DivUIOp::create(nb, l, rest, cst(tw));
              Value xi = arith::RemUIOp::create(nb, l, rest, cst(tw));
              Value row = arith::AddIOp::create(
                  nb, l, arith::MulIOp::create(nb, l, yi, cst(m)), i);
              Value col = arith::AddIOp::create(
                  nb, l, arith::MulIOp::create(nb, l, xi, cst(m)), j);
              Value e = tensor::ExtractOp::create(
                  nb, l, in, ValueRange{bi, ch, row, col});
              linalg::YieldOp::create(nb, l, maybeRoundHalf(nb, l, e, half));
            })
            .getResult(0);
    // v[ξ, ν, t, c] = Σ_i Σ_j BT[ξ, i] · BT[ν, j] · D[i, j, t, c]
    Value v = transformBothSides(rewriter, loc, bt, n, tilesD, n, tiles, c);
    rewriter.replaceOp(op, roundTensor(rewriter, loc, v, half));
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
    int64_t tiles = batch * th * tw;
    Value at = matrixConstant(rewriter, loc, op.getAt(), m, n);

    Value mIn = roundTensor(rewriter, loc, adaptor.getInput(), half);
    // o[a, e, t, f] = Σ_ξ Σ_ν AT[a, ξ] · AT[e, ν] · M[ξ, ν, t, f]
    Value o = transformBothSides(rewriter, loc, at, m, mIn, n, tiles, f);
    // y[b, f, y, a, x, e] = o[a, e, (b*th + y)*tw + x, f] (rounded to f16
    // when `half`), then collapsed to [N, F, th*m, tw*m].
    AffineExpr sb, sf, sy, sa, sx, se;
    bindDims(ctx, sb, sf, sy, sa, sx, se);
    SmallVector<int64_t> yShape = {batch, f, th, m, tw, m};
    Value yInit = tensor::EmptyOp::create(rewriter, loc, yShape,
                                          rewriter.getF32Type());
    Value y =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{yInit.getType()}, ValueRange{o},
            ValueRange{yInit},
            ArrayRef<AffineMap>{
                AffineMap::get(6, 0,
                               {sa, se, sb * (th * tw) + sy * tw + sx, sf},
                               ctx),
                rewriter.getMultiDimIdentityMap(6)},
            SmallVector<IteratorType>(6, IteratorType::parallel),
            [&](OpBuilder &nb, Location l, ValueRange args) {
              linalg::YieldOp::create(nb, l,
                                      maybeRoundHalf(nb, l, args[0], half));
            })
            .getResult(0);
    SmallVector<ReassociationIndices> groups = {{0}, {1}, {2, 3}, {4, 5}};
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(op, outType, y,
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
