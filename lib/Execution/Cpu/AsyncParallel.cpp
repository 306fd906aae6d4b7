//===- AsyncParallel.cpp - scf.parallel to N async tasks for the CPU JIT --===//
//
// lowbit-cpu-async-parallel{num-threads=N} lowers every scf.parallel of the
// module (the scf.forall loops lowbit-cpu-tile-vectorize made, after
// scf-forall-to-parallel) with upstream's async-parallel-for patterns. The
// only difference from upstream's `async-parallel-for` pass is the block
// size: upstream cuts a loop into up to 8 * num-workers blocks and runs them
// on the async runtime's pool, which has one thread per hardware thread;
// here the minimum task size is ceil(trip count / N), so a loop becomes at
// most N contiguous blocks of equal size (the caller runs the first, N - 1
// are async tasks) and at most N threads work on it: --threads N means N.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Runtime.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Async/IR/Async.h"
#include "mlir/Dialect/Async/Transforms.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <numeric>

using namespace mlir;

namespace {

struct AsyncParallelPass
    : PassWrapper<AsyncParallelPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(AsyncParallelPass)

  AsyncParallelPass() = default;
  AsyncParallelPass(const AsyncParallelPass &other) : PassWrapper(other) {}

  StringRef getArgument() const override { return "lowbit-cpu-async-parallel"; }
  StringRef getDescription() const override {
    return "Run every scf.parallel as at most num-threads async tasks of "
           "equal size (upstream async-parallel-for patterns)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, async::AsyncDialect,
                    func::FuncDialect, scf::SCFDialect>();
  }

  Option<int64_t> numThreads{
      *this, "num-threads",
      llvm::cl::desc("tasks per parallel loop (1: leave the loops alone)"),
      llvm::cl::init(1)};

  void runOnOperation() override {
    if (numThreads < 1 || numThreads > 1024) {
      getOperation().emitError(
          "lowbit-cpu-async-parallel: num-threads must be 1..1024, got ")
          << static_cast<int64_t>(numThreads);
      return signalPassFailure();
    }
    if (numThreads == 1)
      return;
    // One dimension per loop: for a multi-dimensional scf.parallel,
    // async-parallel-for emits its body twice (a second copy with static
    // inner bounds for unrolling), which doubled the JIT's work for nothing
    // here (the bodies are register tiles or whole rows already).
    SmallVector<scf::ParallelOp> multiDim;
    getOperation().walk([&](scf::ParallelOp op) {
      if (op.getNumLoops() > 1)
        multiDim.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ParallelOp op : multiDim) {
      std::vector<unsigned> all(op.getNumLoops());
      std::iota(all.begin(), all.end(), 0u);
      rewriter.setInsertionPoint(op);
      collapseParallelLoops(rewriter, op, {all});
    }
    int64_t n = numThreads;
    RewritePatternSet patterns(&getContext());
    async::populateAsyncParallelForPatterns(
        patterns, /*asyncDispatch=*/false, static_cast<int32_t>(n),
        [n](ImplicitLocOpBuilder b, scf::ParallelOp op) -> Value {
          // ceil(trip count / n), the trip count as async-parallel-for
          // computes it: the product of ceil((ub - lb) / step).
          Value trips = arith::ConstantIndexOp::create(b, 1);
          for (auto [lb, ub, step] : llvm::zip(
                   op.getLowerBound(), op.getUpperBound(), op.getStep())) {
            Value range = arith::SubIOp::create(b, ub, lb);
            trips = arith::MulIOp::create(
                b, trips, arith::CeilDivSIOp::create(b, range, step));
          }
          return arith::CeilDivSIOp::create(
              b, trips, arith::ConstantIndexOp::create(b, n));
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // The outlined loop body is called twice (by the caller for the first
    // block, by the async task for the others): inlining it would make
    // LLVM optimise every register-tiled kernel twice.
    OpBuilder b(&getContext());
    getOperation().walk([&](func::FuncOp f) {
      if (f.getSymName().starts_with("parallel_compute_fn"))
        f->setAttr("passthrough", b.getArrayAttr({b.getStringAttr("noinline")}));
    });
  }
};

} // namespace

void lowbit::registerCpuParallelPasses() {
  PassRegistration<AsyncParallelPass>();
}
