//===- CpuTiling.h - tiling helpers of the CPU vectorisation passes -*- C++ -*-===//
//
// Private to lib/Execution/Cpu: what lowbit-cpu-tile-vectorize and
// lowbit-cpu-vectorize-elementwise share.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_EXECUTION_CPU_CPUTILING_H
#define LOWBIT_EXECUTION_CPU_CPUTILING_H

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/PatternMatch.h"

namespace lowbit::detail {

/// Largest divisor of `bound` that is <= `want` (at least 1): a tile size
/// that leaves no partial tile.
int64_t largestDivisorAtMost(int64_t bound, int64_t want);

/// Tiles `op` with `sizes` (scf.for loops, scf::tileUsingSCF) and vectorises
/// each tile with linalg::vectorize; a tile that does not vectorise stays a
/// (correct) linalg op on loops. Fails only if tiling fails, leaving `op`.
mlir::LogicalResult tileAndVectorizeTiles(mlir::RewriterBase &rewriter,
                                          mlir::linalg::LinalgOp op,
                                          llvm::ArrayRef<int64_t> sizes,
                                          bool createNamedContraction = false);

} // namespace lowbit::detail

#endif // LOWBIT_EXECUTION_CPU_CPUTILING_H
