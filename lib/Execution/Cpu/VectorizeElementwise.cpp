//===- VectorizeElementwise.cpp - element-wise linalg ops as vector code --===//
//
// lowbit-cpu-vectorize-elementwise (on tensors, after
// lowbit-cpu-tile-vectorize, before bufferization)
//   Every static all-parallel linalg.generic whose innermost loop runs along
//   the innermost dimension of each operand it reads (or not at all: a
//   broadcast) is tiled to [1, ..., 1, V] (V the largest divisor of the
//   innermost bound up to `vector-size`, so no tile is partial) and the tile
//   vectorised with linalg::vectorize. Each element is computed by the same
//   operations as in the scalar loop, so results do not change; with
//   lowbit-cpu-approximate-math, erf/exp/tanh become vector polynomials.
//   GELU, the exp of softmax, bias + activation chains, the quantize /
//   dequantize steps ran as scalar loops, many with one libm call per element
//   (MiniLM GELU: 1.5 ms per layer vs 0.15 in onnxruntime).
//   Max/min reductions over an innermost reduction loop of at least 64
//   whose bound is a multiple of 16, 8 or 4 (softmax's row max, the
//   per-token and per-tensor absmax of dynamic quantization) are split into
//   that many lane-wise partial results (linalg::splitReduction), reduced
//   up to 4 x lanes elements per step as vectors, then the lanes once per
//   row. Max and min do not depend on the order
//   of their operands, so the value is the scalar loop's, bit for bit
//   (one horizontal reduction per 64-element tile instead was slower than
//   the scalar loop: LLVM expands the IEEE maximum reduction).
//   Left alone: sums and other order-dependent reductions (a vector sum
//   would change the result), ops with dynamic shapes, transposing reads
//   along the innermost loop, ops of fewer than `min-elements` elements,
//   ops on i1 or other sub-byte element types (a byte per element in
//   memory, packed bits in a vector), and ops the vectoriser does not take
//   (gathers).
//
//===----------------------------------------------------------------------===//
#include "CpuTiling.h"
#include "lowbit/Runtime.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;
using lowbit::detail::largestDivisorAtMost;
using lowbit::detail::tileAndVectorizeTiles;

namespace {

/// Whether `d` runs along the innermost dimension of `map`'s operand: it is
/// the map's last result, or absent from the map (a value broadcast along
/// the vector).
bool contiguousAlong(AffineMap map, unsigned d) {
  bool uses = false;
  for (AffineExpr e : map.getResults())
    uses |= e.isFunctionOfDim(d);
  if (!uses)
    return true;
  auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
  return last && last.getPosition() == d;
}

/// Whether every input reads contiguously along the innermost loop `d`.
bool inputsContiguous(linalg::GenericOp op, unsigned d) {
  return llvm::all_of(op.getDpsInputOperands(), [&](OpOperand *input) {
    return contiguousAlong(op.getMatchingIndexingMap(input), d);
  });
}

/// Whether, in addition, every output is written along `d` (not broadcast
/// into it): an element-wise op whose tiles along `d` are vectors.
bool innermostIsContiguous(linalg::GenericOp op, unsigned d) {
  if (!inputsContiguous(op, d))
    return false;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&init);
    if (map.getNumResults() == 0)
      return false;
    auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (!last || last.getPosition() != d)
      return false;
  }
  return true;
}

/// Whether `op` reads or writes i1 or another sub-byte type: a byte per
/// element in memory, packed bits in a vector.
bool hasSubByteOperand(linalg::GenericOp op) {
  return llvm::any_of(op->getOperandTypes(), [](Type t) {
    Type elem = getElementTypeOrSelf(t);
    return elem.isIntOrFloat() && elem.getIntOrFloatBitWidth() < 8;
  });
}

/// Whether `op` is a max/min reduction over one innermost reduction loop:
/// the order of its elements cannot change its value.
bool isOrderFreeInnerReduction(linalg::GenericOp op) {
  if (op.getNumReductionLoops() != 1 || op.getNumDpsInits() != 1 ||
      op.getIteratorTypesArray().back() != utils::IteratorType::reduction)
    return false;
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  Operation *combiner = yield.getValues()[0].getDefiningOp();
  if (!combiner ||
      !isa<arith::MaximumFOp, arith::MinimumFOp, arith::MaxSIOp,
           arith::MinSIOp, arith::MaxUIOp, arith::MinUIOp>(combiner))
    return false;
  BlockArgument acc = op.getRegionOutputArgs()[0];
  return acc.hasOneUse() && acc.getOwner() == op.getBody() &&
         (combiner->getOperand(0) == acc || combiner->getOperand(1) == acc);
}

/// Lanes of the split max/min reduction of an innermost dim of `size`: 16,
/// 8 or 4 (the most that divide it), 0 when it is too short or none does.
int64_t reductionLanes(int64_t size) {
  if (size < 64)
    return 0;
  for (int64_t lanes : {16, 8, 4})
    if (size % lanes == 0)
      return lanes;
  return 0;
}

struct VectorizeElementwisePass
    : PassWrapper<VectorizeElementwisePass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(VectorizeElementwisePass)

  VectorizeElementwisePass() = default;
  VectorizeElementwisePass(const VectorizeElementwisePass &other)
      : PassWrapper(other) {}

  StringRef getArgument() const override {
    return "lowbit-cpu-vectorize-elementwise";
  }
  StringRef getDescription() const override {
    return "Tile static element-wise linalg.generic ops (and max/min "
           "reductions) along their contiguous innermost dimension and "
           "vectorise the tiles";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<scf::SCFDialect, tensor::TensorDialect,
                    vector::VectorDialect, arith::ArithDialect>();
  }

  Option<int64_t> vectorSize{
      *this, "vector-size",
      llvm::cl::desc("largest vector length (elements); the innermost tile "
                     "is its largest divisor of the loop bound up to this"),
      llvm::cl::init(64)};
  Option<int64_t> minElements{
      *this, "min-elements",
      llvm::cl::desc("ops with fewer elements stay scalar loops"),
      llvm::cl::init(64)};

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (vectorSize < 2 || minElements < 1) {
      func.emitError("lowbit-cpu-vectorize-elementwise: vector-size must be "
                     "at least 2 and min-elements at least 1");
      return signalPassFailure();
    }
    SmallVector<linalg::GenericOp> ops;
    func.walk([&](linalg::GenericOp op) {
      if (!op.hasPureTensorSemantics() || op.getNumLoops() == 0 ||
          op.getNumParallelLoops() != op.getNumLoops())
        return;
      SmallVector<int64_t> bounds = op.getStaticLoopRanges();
      if (llvm::any_of(bounds, ShapedType::isDynamic))
        return;
      int64_t elements = 1;
      for (int64_t b : bounds)
        elements *= b;
      if (elements < minElements)
        return;
      if (hasSubByteOperand(op))
        return;
      if (!innermostIsContiguous(op, op.getNumLoops() - 1) ||
          failed(linalg::vectorizeOpPrecondition(op)))
        return;
      ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    // Max/min reductions along the innermost dim: split into 16 (else 8,
    // else 4: the most that divide the dim) lane-wise partial results
    // (linalg::splitReduction, inner dim parallel), reduced vector by
    // vector, then the lanes once per row.
    SmallVector<linalg::GenericOp> reductions;
    func.walk([&](linalg::GenericOp op) {
      if (!op.hasPureTensorSemantics() || hasSubByteOperand(op) ||
          !isOrderFreeInnerReduction(op))
        return;
      SmallVector<int64_t> bounds = op.getStaticLoopRanges();
      if (llvm::any_of(bounds, ShapedType::isDynamic) ||
          reductionLanes(bounds.back()) == 0 ||
          !inputsContiguous(op, op.getNumLoops() - 1))
        return;
      reductions.push_back(op);
    });
    for (linalg::GenericOp op : reductions) {
      int64_t lanes = reductionLanes(op.getStaticLoopRanges().back());
      rewriter.setInsertionPoint(op);
      unsigned outRank =
          cast<ShapedType>(op.getDpsInits()[0].getType()).getRank();
      FailureOr<linalg::SplitReductionResult> split = linalg::splitReduction(
          rewriter, cast<linalg::LinalgOp>(op.getOperation()),
          [&](linalg::LinalgOp) {
            return linalg::SplitReductionOptions{lanes, outRank, true};
          });
      if (failed(split))
        continue;
      linalg::LinalgOp partial = split->splitLinalgOp;
      SmallVector<int64_t> bounds = partial.getStaticLoopRanges();
      // [rows..., K/16 (reduction), 16 (parallel)]: tiles of 4 x 16.
      SmallVector<int64_t> sizes(bounds.size(), 1);
      sizes[bounds.size() - 2] = largestDivisorAtMost(bounds[bounds.size() - 2], 4);
      sizes.back() = lanes;
      if (failed(linalg::vectorizeOpPrecondition(partial)) ||
          failed(tileAndVectorizeTiles(rewriter, partial, sizes)))
        continue;
      linalg::LinalgOp combine = split->resultCombiningLinalgOp;
      SmallVector<int64_t> combineSizes(combine.getNumLoops(), 1);
      combineSizes.back() = lanes;
      if (succeeded(linalg::vectorizeOpPrecondition(combine)))
        (void)tileAndVectorizeTiles(rewriter, combine, combineSizes);
    }
    for (linalg::GenericOp op : ops) {
      SmallVector<int64_t> bounds = op.getStaticLoopRanges();
      SmallVector<int64_t> sizes(bounds.size(), 1);
      sizes.back() = largestDivisorAtMost(bounds.back(), vectorSize);
      if (sizes.back() < 2)
        continue;
      // A tile that does not vectorise stays a (correct) loop nest.
      (void)tileAndVectorizeTiles(rewriter, op, sizes);
    }
  }
};

} // namespace

void lowbit::registerCpuElementwisePasses() {
  PassRegistration<VectorizeElementwisePass>();
}
