//===- I8DotToVnni.cpp - four-wide u8 x s8 dot products as vpdpbusd ------===//
//
// convert-qlinear-to-dot-kernel writes each 32-bit lane of its int8 kernel
// as acc + sum of four u8 x s8 products:
//
//   %p = arith.muli (arith.extui %u : vector<64xi8> to vector<64xi32>),
//                   (arith.extsi %w : vector<64xi8> to vector<64xi32>)
//   %g = vector.shape_cast %p : vector<64xi32> to vector<16x4xi32>
//   %r = vector.multi_reduction <add>, %g, %acc [1] : vector<16x4xi32> to
//   vector<16xi32>
//
// which is, bit for bit (i32 wrap-around included), AVX-512 VNNI's
// vpdpbusd(acc, u, w). This pass makes that one instruction. It runs on
// buffers: the intrinsic call has no declared memory effects, which the
// buffer deallocation passes refuse.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lowbit {
#define GEN_PASS_DEF_CONVERTI8DOTTOVNNIPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;

namespace {

bool isVectorOf(Type type, int64_t size, unsigned bits) {
  auto v = dyn_cast<VectorType>(type);
  return v && v.getRank() == 1 && v.getDimSize(0) == size && !v.isScalable() &&
         v.getElementType().isInteger(bits);
}

struct DotToVpdpbusd : OpRewritePattern<vector::MultiDimReductionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(vector::MultiDimReductionOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getKind() != vector::CombiningKind::ADD ||
        op.getReductionDims() != ArrayRef<int64_t>{1} ||
        !isVectorOf(op.getAcc().getType(), 16, 32))
      return rewriter.notifyMatchFailure(op,
                                         "not a 16-lane i32 sum over dim 1");
    auto source = cast<VectorType>(op.getSource().getType());
    if (source.getShape() != ArrayRef<int64_t>{16, 4})
      return rewriter.notifyMatchFailure(op, "not 4 products per lane");
    auto shapeCast = op.getSource().getDefiningOp<vector::ShapeCastOp>();
    auto mul = shapeCast ? shapeCast.getSource().getDefiningOp<arith::MulIOp>()
                         : nullptr;
    if (!mul)
      return rewriter.notifyMatchFailure(op, "not a shape_cast of a product");
    auto u = mul.getLhs().getDefiningOp<arith::ExtUIOp>();
    auto w = mul.getRhs().getDefiningOp<arith::ExtSIOp>();
    if (!u || !w || !isVectorOf(u.getIn().getType(), 64, 8) ||
        !isVectorOf(w.getIn().getType(), 64, 8))
      return rewriter.notifyMatchFailure(op, "not extui(u8) x extsi(s8)");
    VectorType words = cast<VectorType>(op.getAcc().getType());
    // LLVM 22's signature: (<16 x i32> acc, <64 x i8> u, <64 x i8> w).
    rewriter.replaceOpWithNewOp<LLVM::CallIntrinsicOp>(
        op, words, rewriter.getStringAttr("llvm.x86.avx512.vpdpbusd.512"),
        ValueRange{op.getAcc(), u.getIn(), w.getIn()});
    return success();
  }
};

struct ConvertI8DotToVnniPass
    : lowbit::impl::ConvertI8DotToVnniPassBase<ConvertI8DotToVnniPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<DotToVpdpbusd>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
