//===- ApproximateMath.cpp - math functions as vectorisable polynomials ---===//
//
// lowbit-cpu-approximate-math (on functions, after the loops are formed)
//   rewrites f32 math.erf / exp / expm1 / tanh / log / log1p / log2 (the
//   `ops` option) into MLIR's polynomial approximations (upstream
//   populateMathPolynomialApproximationPatterns): plain arithmetic instead
//   of a libm call per element, which the LLVM loop vectoriser can then run
//   16 lanes at a time. GELU's erf and softmax's exp were the two largest
//   items of MiniLM's profile as libm calls. The approximations are within a
//   few ulp of libm (docs/int8-kernels.md gives the measured error); the
//   integer kernels do not use them.
//
//===----------------------------------------------------------------------===//
#include "lowbit/Runtime.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace {

/// The functions the pass knows (the upstream predicate sees "math.<name>").
const char *const kKnownOps[] = {"erf", "exp", "expm1", "tanh",
                                 "log", "log1p", "log2"};

struct ApproximateMathPass
    : PassWrapper<ApproximateMathPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ApproximateMathPass)

  ApproximateMathPass() = default;
  ApproximateMathPass(const ApproximateMathPass &other) : PassWrapper(other) {}

  StringRef getArgument() const override {
    return "lowbit-cpu-approximate-math";
  }
  StringRef getDescription() const override {
    return "Rewrite f32 math functions (erf, exp, tanh, log, ...) into "
           "polynomial approximations the LLVM vectoriser can vectorise";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, math::MathDialect,
                    vector::VectorDialect, x86vector::X86VectorDialect>();
  }

  ListOption<std::string> ops{
      *this, "ops",
      llvm::cl::desc("math functions to approximate (erf, exp, expm1, tanh, "
                     "log, log1p, log2); default all of them")};

  void runOnOperation() override {
    llvm::StringSet<> chosen;
    for (const std::string &name : ops) {
      if (!llvm::is_contained(llvm::ArrayRef(kKnownOps), llvm::StringRef(name))) {
        getOperation().emitError("lowbit-cpu-approximate-math: unknown math "
                                 "function '")
            << name << "' in ops (known: erf, exp, expm1, tanh, log, log1p, "
                       "log2)";
        return signalPassFailure();
      }
      chosen.insert("math." + name);
    }
    if (ops.empty())
      for (const char *name : kKnownOps)
        chosen.insert(std::string("math.") + name);
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [&](StringRef name) { return chosen.contains(name); });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void lowbit::registerCpuMathPasses() { PassRegistration<ApproximateMathPass>(); }
