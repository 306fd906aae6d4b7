//===- ExpandStridedCopies.cpp - strided memref.copy -> loops -------------===//
#include "passes/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lowbit {
#define GEN_PASS_DEF_EXPANDSTRIDEDCOPIESPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;

namespace {

bool isContiguous(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.getLayout().isIdentity();
}

bool unitInnerStride(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) &&
         !strides.empty() && strides.back() == 1;
}

/// Bits of one 512-bit vector register.
constexpr int64_t kVectorBits = 512;

/// A static copy whose rows (the innermost dimension) are contiguous on both
/// sides, as the copy of a tensor.pad's source into its padded buffer or of
/// a concat's operand: loops over the outer dimensions and, per row, full
/// vectors and one masked vector for the tail. (linalg.copy's loops copied
/// one element at a time: PP-OCRv4 det spent 7% of its time there.)
LogicalResult copyRowsAsVectors(memref::CopyOp op, PatternRewriter &rewriter) {
  auto src = cast<MemRefType>(op.getSource().getType());
  auto dst = cast<MemRefType>(op.getTarget().getType());
  Type elem = src.getElementType();
  if (!src.hasStaticShape() || src.getRank() == 0 ||
      !elem.isIntOrFloat() || elem.getIntOrFloatBitWidth() % 8 != 0 ||
      !unitInnerStride(src) || !unitInnerStride(dst))
    return failure();
  int64_t lanes = kVectorBits / elem.getIntOrFloatBitWidth();
  int64_t row = src.getShape().back();
  if (row < lanes / 2)
    return failure(); // short rows: element loops are as good
  Location loc = op.getLoc();
  auto index = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t d : src.getShape().drop_back()) {
    lbs.push_back(index(rewriter, 0));
    ubs.push_back(index(rewriter, d));
    steps.push_back(index(rewriter, 1));
  }
  auto vectorType = VectorType::get({lanes}, elem);
  scf::buildLoopNest(
      rewriter, loc, lbs, ubs, steps,
      [&](OpBuilder &b, Location l, ValueRange outer) {
        Value pad = arith::ConstantOp::create(b, l, b.getZeroAttr(elem));
        auto copyAt = [&](OpBuilder &nb, Value j, bool inBounds) {
          SmallVector<Value> indices(outer);
          indices.push_back(j);
          Value v = vector::TransferReadOp::create(
              nb, l, vectorType, op.getSource(), indices, pad,
              ArrayRef<bool>{inBounds});
          vector::TransferWriteOp::create(nb, l, v, op.getTarget(), indices,
                                          ArrayRef<bool>{inBounds});
        };
        int64_t full = row / lanes * lanes;
        if (full > 0)
          scf::ForOp::create(b, l, index(b, 0), index(b, full),
                             index(b, lanes), ValueRange{},
                             [&](OpBuilder &nb, Location, Value j, ValueRange) {
                               copyAt(nb, j, /*inBounds=*/true);
                               scf::YieldOp::create(nb, l);
                             });
        if (full < row)
          copyAt(b, index(b, full), /*inBounds=*/false);
      });
  rewriter.eraseOp(op);
  return success();
}

struct StridedCopyToLinalg : OpRewritePattern<memref::CopyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::CopyOp op,
                                PatternRewriter &rewriter) const override {
    // Unranked copies have no static layout to loop over; leave them alone.
    if (!isa<MemRefType>(op.getSource().getType()) ||
        !isa<MemRefType>(op.getTarget().getType()))
      return rewriter.notifyMatchFailure(op, "unranked memref");
    if (isContiguous(op.getSource()) && isContiguous(op.getTarget()))
      return rewriter.notifyMatchFailure(op, "lowers to llvm.memcpy");
    if (succeeded(copyRowsAsVectors(op, rewriter)))
      return success();
    rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, op.getSource(),
                                                op.getTarget());
    return success();
  }
};

struct ExpandStridedCopiesPass
    : lowbit::impl::ExpandStridedCopiesPassBase<ExpandStridedCopiesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<StridedCopyToLinalg>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
