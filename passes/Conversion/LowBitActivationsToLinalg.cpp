//===- LowBitActivationsToLinalg.cpp - activation ops -> linalg ------------===//
//
// The convert-lowbit-to-linalg patterns of the activation-side ops:
// lowbit.hadamard (a fast Walsh-Hadamard transform), lowbit.quantize_dynamic
// (per-row scales, absmax or Gaussian-MSE) and lowbit.dequantize_dynamic.
//
//===----------------------------------------------------------------------===//
#include "passes/Conversion/LowBitToLinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace lowbit;
using namespace lowbit::lb;
using namespace lowbit::lowering;
using utils::IteratorType;

namespace {

/// quantize_dynamic's Gaussian-MSE scale of each row of `x`:
/// f32(rmsClip * sqrt(sum_k x^2 / K) / qmax) with the sum, root, product and
/// quotient in f64 (so the result does not depend on the summation order
/// beyond f64 rounding), 1 where that is not positive.
Value buildRmsClipScale(OpBuilder &b, Location loc, Value x,
                        RankedTensorType scaleType, double rmsClip,
                        int64_t qmax) {
  MLIRContext *ctx = b.getContext();
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t rank = xType.getRank(), k = xType.getShape().back();
  Type f64 = b.getF64Type();
  SmallVector<int64_t> rowShape(xType.getShape().drop_back());
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  SmallVector<IteratorType> iterators = parallelIterators(rank - 1);
  iterators.push_back(IteratorType::reduction);
  // sumsq[r] = sum_k f64(x[r, k])^2
  Value sumsq =
      linalg::GenericOp::create(
          b, loc, TypeRange{RankedTensorType::get(rowShape, f64)},
          ValueRange{x}, ValueRange{zeroFilled(b, loc, rowShape, f64)},
          {identity, identity.getMajorSubMap(rank - 1)}, iterators,
          [](OpBuilder &nb, Location l, ValueRange args) {
            Value v = arith::ExtFOp::create(nb, l, nb.getF64Type(), args[0]);
            Value sq = arith::MulFOp::create(nb, l, v, v);
            linalg::YieldOp::create(
                nb, l, arith::AddFOp::create(nb, l, args[1], sq).getResult());
          })
          .getResult(0);
  auto constF64 = [](OpBuilder &nb, Location l, double v) -> Value {
    return arith::ConstantOp::create(nb, l, nb.getF64FloatAttr(v));
  };
  return linalg::GenericOp::create(
             b, loc, TypeRange{scaleType}, ValueRange{sumsq},
             ValueRange{emptyTensor(b, loc, scaleType.getShape(),
                                    b.getF32Type())},
             {identity.getMajorSubMap(rank - 1), identity},
             parallelIterators(rank),
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value meanSq = arith::DivFOp::create(
                   nb, l, args[0], constF64(nb, l, double(k)));
               Value rms = math::SqrtOp::create(nb, l, meanSq);
               Value clip = arith::MulFOp::create(
                   nb, l, constF64(nb, l, rmsClip), rms);
               Value s64 = arith::DivFOp::create(nb, l, clip,
                                                 constF64(nb, l, double(qmax)));
               Value s = arith::TruncFOp::create(nb, l, nb.getF32Type(), s64);
               linalg::YieldOp::create(nb, l, positiveOrOne(nb, l, s));
             })
      .getResult(0);
}

/// lowbit.hadamard as a fast Walsh-Hadamard transform in radix-r stages
/// (r <= 16, log2(block) radix-2 levels in all), each one linalg.generic
/// over the input's own shape. A stage of radix r and stride h writes
/// element k = q*r*h + t*h + l from its r partners x[base + j*h], j < r,
/// base = (k floordiv r*h) * r*h + k mod h (affine maps), by the radix-2
/// butterflies that lead to output t: level i adds or subtracts neighbours
/// as bit i of t is 0 or 1. That is exactly the arithmetic of the radix-2
/// transform (bit-identical results) with r - 1 additions per element and
/// stage instead of log2(r) stages. The last stage also multiplies by
/// 1/sqrt(block). No matrix and no reshapes (an expand/collapse pair would
/// be propagated into the consuming matmul by element-wise fusion); few
/// stages because LLVM's IndVarSimplify / LoopRotate time grows faster than
/// linearly with the number of loop nests in one function.
struct HadamardLowering : OpConversionPattern<HadamardOp> {
  static constexpr int64_t kMaxRadix = 16;
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(HadamardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto type = op.getInput().getType();
    int64_t rank = type.getRank(), block = op.getBlock();
    float norm = static_cast<float>(1.0 / std::sqrt(double(block)));
    SmallVector<AffineExpr> dims = dimExprs(rank, ctx);
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    Value y = adaptor.getInput();
    for (int64_t h = 1; h < block;) {
      int64_t r = std::min(kMaxRadix, block / h);
      bool last = h * r == block;
      AffineExpr k = dims.back();
      AffineExpr base = k.floorDiv(r * h) * (r * h) + k % h;
      SmallVector<AffineMap> maps;
      for (int64_t j = 0; j < r; ++j) {
        SmallVector<AffineExpr> exprs(dims);
        exprs.back() = base + j * h;
        maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
      }
      maps.push_back(identity);
      int64_t shift = llvm::Log2_64(static_cast<uint64_t>(h));
      y = linalg::GenericOp::create(
              rewriter, loc, TypeRange{type}, SmallVector<Value>(r, y),
              ValueRange{emptyTensor(rewriter, loc, type.getShape(),
                                     type.getElementType())},
              maps, parallelIterators(rank),
              [&](OpBuilder &b, Location l, ValueRange args) {
                auto index = [&](int64_t v) -> Value {
                  return arith::ConstantIndexOp::create(b, l, v);
                };
                // t = (k >> log2(h)) mod r: this element's row of H_r.
                Value t = linalg::IndexOp::create(b, l, rank - 1);
                if (shift)
                  t = arith::ShRUIOp::create(b, l, t, index(shift));
                SmallVector<Value> v(args.begin(), args.begin() + r);
                for (int64_t bit = 1; v.size() > 1; bit *= 2) {
                  Value first = arith::CmpIOp::create(
                      b, l, arith::CmpIPredicate::eq,
                      arith::AndIOp::create(b, l, t, index(bit)), index(0));
                  SmallVector<Value> next;
                  for (size_t m = 0; m + 1 < v.size(); m += 2) {
                    Value sum = arith::AddFOp::create(b, l, v[m], v[m + 1]);
                    Value diff = arith::SubFOp::create(b, l, v[m], v[m + 1]);
                    next.push_back(
                        arith::SelectOp::create(b, l, first, sum, diff));
                  }
                  v = std::move(next);
                }
                Value out = v.front();
                if (last)
                  out = arith::MulFOp::create(b, l, out, constF32(b, l, norm));
                linalg::YieldOp::create(b, l, out);
              })
              .getResult(0);
      h *= r;
    }
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct QuantizeDynamicLowering : OpConversionPattern<QuantizeDynamicOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizeDynamicOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    ArrayRef<int64_t> shape = xType.getShape();
    int64_t rank = shape.size();
    int64_t qmax = (int64_t(1) << (op.getBits() - 1)) - 1;
    Type f32 = rewriter.getF32Type();
    SmallVector<AffineExpr> dims = dimExprs(rank, ctx);
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    SmallVector<int64_t> rowShape(shape.drop_back());

    SmallVector<int64_t> scaleShape(rowShape);
    scaleShape.push_back(1);
    Value scale;
    if (FloatAttr rmsClip = op.getRmsClipAttr()) {
      scale = buildRmsClipScale(rewriter, loc, x, op.getScale().getType(),
                                rmsClip.getValueAsDouble(), qmax);
    } else {
      // absmax[r] = max_k |x[r, k]|
      SmallVector<IteratorType> iterators = parallelIterators(rank - 1);
      iterators.push_back(IteratorType::reduction);
      Value absmax =
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{RankedTensorType::get(rowShape, f32)},
              ValueRange{x},
              ValueRange{zeroFilled(rewriter, loc, rowShape, f32)},
              {identity, identity.getMajorSubMap(rank - 1)}, iterators,
              [](OpBuilder &b, Location l, ValueRange args) {
                Value a = math::AbsFOp::create(b, l, args[0]);
                linalg::YieldOp::create(
                    b, l,
                    arith::MaximumFOp::create(b, l, args[1], a).getResult());
              })
              .getResult(0);
      // scale[r, 0] = absmax / qmax, 1 where that is not positive (an
      // all-zero row).
      scale =
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{op.getScale().getType()},
              ValueRange{absmax},
              ValueRange{emptyTensor(rewriter, loc, scaleShape, f32)},
              {identity.getMajorSubMap(rank - 1), identity},
              parallelIterators(rank),
              [&](OpBuilder &b, Location l, ValueRange args) {
                Value s = arith::DivFOp::create(b, l, args[0],
                                                constF32(b, l, float(qmax)));
                linalg::YieldOp::create(b, l, positiveOrOne(b, l, s));
              })
              .getResult(0);
    }

    // q = clamp(roundeven(x / scale), -qmax, qmax)
    SmallVector<AffineExpr> scaleExprs(dims.begin(), dims.end() - 1);
    scaleExprs.push_back(getAffineConstantExpr(0, ctx));
    Value q =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{op.getQ().getType()}, ValueRange{x, scale},
            ValueRange{emptyTensor(rewriter, loc, shape, rewriter.getI8Type())},
            {identity, AffineMap::get(rank, 0, scaleExprs, ctx), identity},
            parallelIterators(rank),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value v = buildQuantizeValue(b, l, args[0], args[1],
                                           constI32(b, l, 0), -qmax, qmax);
              linalg::YieldOp::create(
                  b, l,
                  arith::TruncIOp::create(b, l, b.getI8Type(), v).getResult());
            })
            .getResult(0);
    rewriter.replaceOp(op, {q, scale});
    return success();
  }
};

struct DequantizeDynamicLowering : OpConversionPattern<DequantizeDynamicOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeDynamicOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto outType = op.getResult().getType();
    int64_t rank = outType.getRank();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    SmallVector<AffineExpr> scaleExprs = dimExprs(rank - 1, ctx);
    scaleExprs.push_back(getAffineConstantExpr(0, ctx));
    // x[r, k] = float(q[r, k]) * scale[r, 0]
    Value x =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{outType},
            ValueRange{adaptor.getQ(), adaptor.getScale()},
            ValueRange{emptyTensor(rewriter, loc, outType.getShape(),
                                   outType.getElementType())},
            {identity, AffineMap::get(rank, 0, scaleExprs, ctx), identity},
            parallelIterators(rank),
            [](OpBuilder &b, Location l, ValueRange args) {
              Value q = arith::SIToFPOp::create(b, l, b.getF32Type(), args[0]);
              linalg::YieldOp::create(
                  b, l, arith::MulFOp::create(b, l, q, args[1]).getResult());
            })
            .getResult(0);
    rewriter.replaceOp(op, x);
    return success();
  }
};


} // namespace

void lowbit::lowering::populateActivationsToLinalgPatterns(
    TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<QuantizeDynamicLowering, DequantizeDynamicLowering,
               HadamardLowering>(converter, patterns.getContext());
}
