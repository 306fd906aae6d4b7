//===- CpuLowering.h - lowering a lowbit module for the CPU -----*- C++ -*-===//
//
// Private to lib/Execution/Cpu: the steps that the JIT (CpuExecutable) and
// the ahead-of-time artefact writer share. The module is prepared for the
// calling convention (large weights as trailing arguments, results as
// out-params) and lowered to the LLVM dialect.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_EXECUTION_CPU_CPULOWERING_H
#define LOWBIT_EXECUTION_CPU_CPULOWERING_H

#include "lowbit/Runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <utility>
#include <vector>

namespace lowbit::detail {

llvm::Error makeError(const llvm::Twine &message);

/// `numThreads`, with 0 resolved to one per hardware thread.
unsigned resolveThreads(unsigned numThreads);

/// The module's single public function with a body: the entry point.
llvm::Expected<mlir::func::FuncOp> findEntryFunction(mlir::ModuleOp module);

/// The exchanged element type of a tensor type, or failure.
mlir::FailureOr<ElementType> toElementType(mlir::Type type);

/// Name, exchanged type and static shape of `type`; on failure `error` says
/// why, naming `name`.
mlir::FailureOr<TensorSpec> specFor(mlir::Type type, llvm::StringRef name,
                                    std::string &error,
                                    mlir::IntegerAttr onnxType = {});

/// Prepares `ctx` for lowering (every dialect and pass registered) and,
/// while alive, collects the error diagnostics emitted in it into `text`
/// ("; "-separated), so that they can travel inside an llvm::Error.
class LoweringDiagnostics {
public:
  explicit LoweringDiagnostics(mlir::MLIRContext *ctx);
  std::string text;

private:
  mlir::ScopedDiagnosticHandler handler;
};

/// A module lowered to the LLVM dialect. Its entry function takes, as
/// strided memref descriptors through the C interface
/// (`_mlir_ciface_<entrySymbol>`): the inputs, then the externalized
/// weights, then one out-param per output.
struct LoweredCpuModule {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string entrySymbol;
  std::vector<TensorSpec> inputs, outputs;
  /// Externalized weights: data pointer (into the source module's blobs)
  /// and spec, in argument order.
  std::vector<std::pair<const void *, TensorSpec>> weights;
};

/// Lowers a copy of `module` with the CPU pipeline for `numThreads` (already
/// resolved) and `int8Kernel`. Error diagnostics emitted meanwhile are
/// appended to `diagnostics` by the caller's handler.
llvm::Expected<LoweredCpuModule>
lowerModuleForCpu(mlir::ModuleOp module, const CpuCompileOptions &options,
                  unsigned numThreads, Int8Kernel int8Kernel,
                  const std::string &diagnostics);

} // namespace lowbit::detail

#endif // LOWBIT_EXECUTION_CPU_CPULOWERING_H
