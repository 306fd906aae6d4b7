//===- QLinearPlan.h - The CUDA kernel for a lowbit.qlinear op ------------===//
//
// Reads a lowbit.qlinear op's types and attributes (M, N, K from the x and
// result types, a_bits / w_bits / group_size, the weight's packed layout and
// signedness, zero and bias operands) and picks its kernel with
// chooseSpec(): the table entry for (GPU, bits, M bucket, N, K) or the
// heuristic. Diagnostics go to the op (emitOpError).
//
// Separate from the rest of lib/Target/Cuda (library LowbitCudaMLIR) so that
// the emitter core stays free of MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_TARGET_CUDA_QLINEARPLAN_H
#define LOWBIT_LIB_TARGET_CUDA_QLINEARPLAN_H

#include "lib/Target/Cuda/KernelSpec.h"
#include "lib/Target/Cuda/TuningTable.h"

#include "mlir/Support/LogicalResult.h"

namespace mlir {
class Operation;
} // namespace mlir

namespace lowbit {
namespace cuda {

struct QLinearPlan {
  KernelSpec spec;
  int64_t m = 0, n = 0, k = 0, groupSize = 0;
  /// The layout the weight is stored in (the runtime repacks if it differs
  /// from spec.layout()); Int8Bytes for i8 containers.
  numerics::PackLayout storedLayout = numerics::PackLayout::Int8Bytes;
};

/// Fails (with a diagnostic on the op) if `op` is not a lowbit.qlinear with
/// static 2-D shapes the CUDA kernels support.
mlir::LogicalResult planQLinear(mlir::Operation *op, const std::string &gpu,
                                CudaArch arch, const TuningTable *table,
                                QLinearPlan &plan);

} // namespace cuda
} // namespace lowbit

#endif // LOWBIT_LIB_TARGET_CUDA_QLINEARPLAN_H
