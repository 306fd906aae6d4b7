//===- TileAndVectorize.cpp - register-tiled matmul/conv for the CPU JIT --===//
//
// The float CPU path used to lower every linalg op to scalar loops, which
// ran matmuls and convolutions at about 2 GFLOP/s. These three passes give
// the contractions a register-tiled inner kernel using upstream transforms
// only:
//
//  lowbit-cpu-fuse-elementwise (on tensors)
//    - upstream element-wise fusion, except into contractions (see below);
//  lowbit-cpu-tile-vectorize (on tensors, before bufferization)
//    - dense NCHW convolutions (linalg.conv_2d_nchw_fchw) become im2col +
//      a matmul-shaped linalg.generic (linalg::rewriteInIm2Col);
//    - every static contraction (linalg::isaContractionOpInterface: the
//      generics nn.linear / nn.matmul lower to, and the im2col matmuls) is
//      tiled with scf::tileUsingSCF to a [1.. x tm x tn x tk] register tile,
//      each tile size the largest divisor of the loop bound not above the
//      requested size (so no tile is partial and no masking is needed),
//      and the tile is vectorised with linalg::vectorize to vector.contract.
//    - with num-threads > 1, the parallel loops of every large static op
//      (at least min-parallel-work loop iterations) go into an scf.forall:
//      for a contraction one iteration per m x n register tile (the k loop
//      and the register tile inside, the same arithmetic as one thread),
//      for other ops tile-1 steps of the outermost parallel loops;
//      reduction loops are never split, so results do not depend on the
//      thread count. lowbit-cpu-async-parallel runs the loops as tasks.
//  lowbit-cpu-hoist-transfers (on buffers)
//    - hoists the accumulator's transfer_read/transfer_write out of the
//      reduction loop (linalg::hoistRedundantVectorTransfers), then lowers
//      vector.contract to outer products (one FMA per accumulator row and
//      k step on a broadcast of the other operand).
//
// The CPU pipeline then lowers transfers with convert-vector-to-scf
// {full-unroll}: its default puts a stack buffer per transfer at function
// entry, which overflowed the 8 MB stack on PP-OCRv4 det.
//
//===----------------------------------------------------------------------===//

#include "CpuTiling.h"
#include "lowbit/Runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;
using lowbit::detail::largestDivisorAtMost;

namespace {

struct TileAndVectorizePass
    : PassWrapper<TileAndVectorizePass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TileAndVectorizePass)

  TileAndVectorizePass() = default;
  TileAndVectorizePass(const TileAndVectorizePass &other)
      : PassWrapper(other) {}

  StringRef getArgument() const override { return "lowbit-cpu-tile-vectorize"; }
  StringRef getDescription() const override {
    return "Register-tile and vectorise static linalg contractions (and dense "
           "NCHW convolutions through im2col) for the CPU JIT";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<scf::SCFDialect, tensor::TensorDialect,
                    vector::VectorDialect, arith::ArithDialect>();
  }

  ListOption<int64_t> tileSizes{
      *this, "tile-sizes",
      llvm::cl::desc("register tile m,n,k of a contraction (each shrunk to a "
                     "divisor of its loop bound); all > 0")};
  Option<bool> im2col{*this, "im2col",
                      llvm::cl::desc("rewrite linalg.conv_2d_nchw_fchw as "
                                     "im2col + matmul first"),
                      llvm::cl::init(true)};
  Option<int64_t> maxVectorElements{
      *this, "max-vector-elements",
      llvm::cl::desc("largest tm*tn*tk vectorised at once"),
      llvm::cl::init(1024)};
  Option<int64_t> numThreads{
      *this, "num-threads",
      llvm::cl::desc("above 1: the parallel loops of large linalg ops become "
                     "an scf.forall (run as that many async tasks by "
                     "lowbit-cpu-async-parallel); reduction loops are never "
                     "split"),
      llvm::cl::init(1)};
  Option<int64_t> minParallelWork{
      *this, "min-parallel-work",
      llvm::cl::desc("ops whose loop nest has fewer iterations (product of "
                     "the loop bounds) stay sequential"),
      llvm::cl::init(262144)};

  void runOnOperation() override;
  LogicalResult tileAndVectorize(IRRewriter &rewriter, linalg::LinalgOp op,
                                 ArrayRef<int64_t> mnk);
  void parallelizeOthers(IRRewriter &rewriter, func::FuncOp func);
};

/// Product of the static loop bounds of `op` (its iteration count).
int64_t loopVolume(ArrayRef<int64_t> bounds) {
  int64_t volume = 1;
  for (int64_t b : bounds)
    volume *= b;
  return volume;
}

/// Tiles `op` with scf.forall by `sizes` (0 = not tiled; only parallel loops
/// may be tiled) and returns the op that computes one tile.
FailureOr<linalg::LinalgOp> tileToForall(IRRewriter &rewriter,
                                         linalg::LinalgOp op,
                                         ArrayRef<int64_t> sizes) {
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  options.setTileSizes(getAsIndexOpFoldResult(op->getContext(), sizes));
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled) || tiled->tiledOps.size() != 1)
    return failure();
  auto inner = dyn_cast<linalg::LinalgOp>(tiled->tiledOps.front());
  if (!inner)
    return failure();
  rewriter.replaceOp(op, tiled->replacements);
  return inner;
}

} // namespace

LogicalResult TileAndVectorizePass::tileAndVectorize(IRRewriter &rewriter,
                                                     linalg::LinalgOp op,
                                                     ArrayRef<int64_t> mnk) {
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.empty() || dims->n.empty() || dims->k.empty())
    return failure();
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  if (llvm::any_of(bounds, ShapedType::isDynamic))
    return failure();

  // Batch loops and all but the innermost m, n and k loop get tile 1 (the
  // im2col matmul of a batched conv has two n loops: image and pixel); the
  // innermost of each its register tile.
  SmallVector<int64_t> sizes(bounds.size(), 1);
  unsigned m = dims->m.back(), n = dims->n.back(), k = dims->k.back();
  sizes[m] = largestDivisorAtMost(bounds[m], mnk[0]);
  sizes[n] = largestDivisorAtMost(bounds[n], mnk[1]);
  sizes[k] = largestDivisorAtMost(bounds[k], mnk[2]);
  int64_t volume = 1;
  for (int64_t s : sizes)
    volume *= s;
  if (volume > maxVectorElements || volume <= 1 ||
      failed(linalg::vectorizeOpPrecondition(op)))
    return failure();

  // Threads: every parallel loop becomes a loop of the scf.forall, stepping
  // by its register tile (the loops the register tiling below would have
  // made), so that one forall iteration computes one tm x tn tile over the
  // whole k range, exactly as the sequential nest does: the threads split
  // the output tiles, never a sum.
  if (numThreads > 1 && loopVolume(bounds) >= minParallelWork) {
    SmallVector<int64_t> forallSizes(bounds.size(), 0);
    int64_t iterations = 1;
    for (auto [d, type] : llvm::enumerate(op.getIteratorTypesArray())) {
      // (A loop of one tile stays out of the forall.)
      if (type != utils::IteratorType::parallel || bounds[d] == sizes[d])
        continue;
      forallSizes[d] = sizes[d];
      iterations *= bounds[d] / sizes[d];
    }
    if (iterations > 1) {
      FailureOr<linalg::LinalgOp> inner = tileToForall(rewriter, op, forallSizes);
      if (succeeded(inner))
        op = *inner;
    }
  }

  return lowbit::detail::tileAndVectorizeTiles(rewriter, op, sizes,
                                               /*createNamedContraction=*/true);
}

void TileAndVectorizePass::runOnOperation() {
  func::FuncOp func = getOperation();
  SmallVector<int64_t> mnk(tileSizes.begin(), tileSizes.end());
  if (mnk.empty())
    mnk = {4, 16, 8};
  if (mnk.size() != 3 || llvm::any_of(mnk, [](int64_t s) { return s <= 0; })) {
    func.emitError("lowbit-cpu-tile-vectorize: tile-sizes must be three "
                   "positive integers m,n,k");
    return signalPassFailure();
  }
  if (maxVectorElements <= 0) {
    func.emitError("lowbit-cpu-tile-vectorize: max-vector-elements must be "
                   "positive");
    return signalPassFailure();
  }
  if (numThreads < 1 || minParallelWork < 0) {
    func.emitError("lowbit-cpu-tile-vectorize: num-threads must be at least 1 "
                   "and min-parallel-work at least 0");
    return signalPassFailure();
  }

  IRRewriter rewriter(&getContext());
  if (im2col) {
    SmallVector<linalg::Conv2DNchwFchwOp> convs;
    func.walk([&](linalg::Conv2DNchwFchwOp conv) {
      if (conv.hasPureTensorSemantics() && !conv.hasDynamicShape())
        convs.push_back(conv);
    });
    for (linalg::Conv2DNchwFchwOp conv : convs) {
      rewriter.setInsertionPoint(conv);
      // Failure leaves the convolution as it was (it still runs as loops).
      (void)linalg::rewriteInIm2Col(rewriter, conv);
    }
  }

  SmallVector<linalg::LinalgOp> contractions;
  func.walk([&](linalg::LinalgOp op) {
    if (op.hasPureTensorSemantics() && linalg::isaContractionOpInterface(op))
      contractions.push_back(op);
  });
  // Ops that do not fit the register-tile scheme keep their loops.
  for (linalg::LinalgOp op : contractions)
    (void)tileAndVectorize(rewriter, op, mnk);
  if (numThreads > 1)
    parallelizeOthers(rewriter, func);

  // The vectoriser writes a contraction as multi_reduction(mul(a, b));
  // turn that back into vector.contract so it lowers to outer products.
  // Broadcasts hidden in transfer_read permutation maps are made explicit
  // first, so that they fold into the contraction's indexing maps.
  RewritePatternSet patterns(&getContext());
  vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
  vector::populateVectorReductionToContractPatterns(patterns);
  if (failed(applyPatternsGreedily(func, std::move(patterns))))
    return signalPassFailure();
}

/// Every other large static linalg op on tensors at function level
/// (element-wise ops, reductions, pooling, depthwise convolutions, the im2col
/// gather, contractions that did not fit the register tile) gets an
/// scf.forall over tile-1 steps of its outermost parallel loops, as many as
/// it takes to have at least 8 iterations per thread. Reduction loops stay
/// whole inside one iteration, so every result element is computed by the
/// same sequence of operations as without threads.
void TileAndVectorizePass::parallelizeOthers(IRRewriter &rewriter,
                                             func::FuncOp func) {
  SmallVector<linalg::LinalgOp> ops;
  func.walk([&](linalg::LinalgOp op) {
    if (op->getParentOp() == func.getOperation() &&
        op.hasPureTensorSemantics() &&
        isa<TilingInterface>(op.getOperation()))
      ops.push_back(op);
  });
  for (linalg::LinalgOp op : ops) {
    SmallVector<int64_t> bounds = op.getStaticLoopRanges();
    if (bounds.empty() || llvm::any_of(bounds, ShapedType::isDynamic) ||
        loopVolume(bounds) < minParallelWork)
      continue;
    SmallVector<int64_t> sizes(bounds.size(), 0);
    int64_t iterations = 1;
    for (auto [d, type] : llvm::enumerate(op.getIteratorTypesArray())) {
      if (iterations >= 8 * numThreads)
        break;
      if (type != utils::IteratorType::parallel || bounds[d] == 1)
        continue;
      sizes[d] = 1;
      iterations *= bounds[d];
    }
    if (iterations > 1)
      (void)tileToForall(rewriter, op, sizes);
  }
}

namespace {

/// linalg-fuse-elementwise-ops, except that a producer is fused into a
/// consumer only where the consumer reads each produced element once (its
/// indexing map for that operand is a permutation). Upstream's pass also
/// fuses into contractions, which recomputes the producer once per output
/// column (a GELU before a linear was evaluated N times per element) and
/// hides the contraction from lowbit-cpu-tile-vectorize.
struct FuseElementwisePass
    : PassWrapper<FuseElementwisePass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FuseElementwisePass)
  FuseElementwisePass() = default;
  FuseElementwisePass(const FuseElementwisePass &other) : PassWrapper(other) {}

  // A fused body is one basic block for LLVM, whose scheduler and register
  // allocator are super-linear in its length: a chain of 1,000 element-wise
  // nodes fused whole took 19 s to compile and 2,000 took 94 s. Real models
  // fuse a few dozen ops at most; past this many, fusion stops and the chain
  // continues in a new loop.
  Option<unsigned> maxBodyOps{
      *this, "max-body-ops",
      llvm::cl::desc("largest fused body (ops), beyond which producers are "
                     "not fused"),
      llvm::cl::init(128)};

  StringRef getArgument() const override {
    return "lowbit-cpu-fuse-elementwise";
  }
  StringRef getDescription() const override {
    return "Fuse element-wise linalg producers into consumers that read each "
           "element once (never into contractions)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<affine::AffineDialect, linalg::LinalgDialect,
                    tensor::TensorDialect>();
  }
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    unsigned limit = maxBodyOps;
    linalg::ControlFusionFn control = [limit](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      if (!producer || !producer->hasOneUse())
        return false;
      auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
      auto bodySize = [](Operation *op) -> size_t {
        return op->getNumRegions() && !op->getRegion(0).empty()
                   ? op->getRegion(0).front().getOperations().size()
                   : 1;
      };
      return consumer &&
             consumer.getMatchingIndexingMap(fused).isPermutation() &&
             bodySize(producer) + bodySize(consumer) <= limit;
    };
    linalg::ControlFusionFn oneUse = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    RewritePatternSet patterns(ctx);
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, oneUse);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    ctx->getLoadedDialect<linalg::LinalgDialect>()->getCanonicalizationPatterns(
        patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, oneUse);
    (void)applyPatternsGreedily(
        getOperation(), std::move(patterns),
        GreedyRewriteConfig().setUseTopDownTraversal(true));
  }
};

struct HoistTransfersPass
    : PassWrapper<HoistTransfersPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(HoistTransfersPass)

  StringRef getArgument() const override { return "lowbit-cpu-hoist-transfers"; }
  StringRef getDescription() const override {
    return "Hoist loop-invariant vector transfers (the accumulators of the "
           "vectorised contractions) out of their loops, on buffers";
  }
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    linalg::hoistRedundantVectorTransfers(func);
    // Lower the register tile: contract -> outer products -> FMAs on one
    // row of the accumulator each; transposes of the operand tiles as
    // 1-D shuffles.
    RewritePatternSet patterns(&getContext());
    vector::populateVectorContractLoweringPatterns(
        patterns, vector::VectorContractLowering::OuterProduct);
    vector::populateVectorOuterProductLoweringPatterns(patterns);
    vector::populateVectorTransposeLoweringPatterns(
        patterns, vector::VectorTransposeLowering::Shuffle1D);
    vector::populateVectorMultiReductionLoweringPatterns(
        patterns, vector::VectorMultiReductionLowering::InnerParallel);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorBroadcastLoweringPatterns(patterns);
    vector::populateVectorShapeCastLoweringPatterns(patterns);
    if (failed(applyPatternsGreedily(func, std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void lowbit::registerCpuVectorizationPasses() {
  PassRegistration<FuseElementwisePass>();
  PassRegistration<TileAndVectorizePass>();
  PassRegistration<HoistTransfersPass>();
}
