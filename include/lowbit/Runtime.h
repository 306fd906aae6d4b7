//===- Runtime.h - compile and run lowbit modules on the CPU ----*- C++ -*-===//
#ifndef LOWBIT_RUNTIME_H
#define LOWBIT_RUNTIME_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir {
class ExecutionEngine;
}

namespace lowbit {

/// Element types lowbit exchanges with callers. UI8, I16 and UI16 are the
/// graph I/O of ONNX's quantization ops (uint8/int16/uint16). I4/UI4 and
/// I2/UI2 (ONNX INT4/UINT4/INT2/UINT2) travel one value per byte, sign- or
/// zero-extended, as numpy int8/uint8 ("i1"/"u1").
enum class ElementType {
  F32, F64, F16, BF16, I64, I32, I8, Bool, UI8, I16, UI16, I4, UI4, I2, UI2
};

/// Bytes per element of `type`.
size_t elementSize(ElementType type);
/// numpy's dtype string for `type` ("f4", "i8", "b1", ...).
const char *numpyDtype(ElementType type);

/// Name, element type and static shape of one function argument or result.
struct TensorSpec {
  std::string name;
  ElementType type = ElementType::F32;
  std::vector<int64_t> shape;
  int64_t numElements() const;
  size_t byteSize() const { return numElements() * elementSize(type); }
};

/// Reads the signature of the module's single public function: argument and
/// result names (from `onnx.name` attributes, else argN/resultN), element
/// types and static shapes.
llvm::Error getEntrySignature(mlir::ModuleOp module,
                              std::vector<TensorSpec> &inputs,
                              std::vector<TensorSpec> &outputs);

/// The textual pass pipeline, anchored on builtin.module, that lowers lowbit
/// modules (nn, tosa, linalg on tensors) to the LLVM dialect for the CPU.
/// With `numThreads` > 1 the parallel loops of large ops run as that many
/// tasks on MLIR's async runtime (0: one per hardware thread); the code then
/// needs the runtime's symbols (CpuExecutable::compile provides them).
/// How the CPU path runs lowbit.qlinear's int8 products.
enum class Int8Kernel {
  /// avx512-vnni where the host CPU has AVX-512 VNNI, else portable.
  Auto,
  /// convert-qlinear-to-x86{isa=avx512-vnni}: vpdpbusd on packed weights.
  Avx512Vnni,
  /// convert-qlinear-to-x86{isa=portable}: the same kernel and layout with
  /// plain vector arithmetic (any CPU).
  Portable,
  /// convert-lowbit-to-linalg's generic lowering only (the reference), for
  /// lowbit.qlinear and for weight-only (dequantize_weight) layers alike.
  Reference,
};

/// Whether this machine's CPU has AVX-512 F, BW and VNNI.
bool hostHasAvx512Vnni();

/// `kernel` with Auto resolved for this machine.
Int8Kernel resolveInt8Kernel(Int8Kernel kernel);

/// The CPU lowering as a textual pipeline: the kernel stage (constant
/// weights packed at compile time for the f32 GEMM and int8 dot kernels),
/// then code generation (the rest, down to the LLVM dialect). The JIT and
/// the artefact writer run the two with the weights externalized between.
std::string getCpuLoweringPipeline(unsigned numThreads = 1,
                                   Int8Kernel int8Kernel = Int8Kernel::Auto);
std::string getCpuKernelPipeline(unsigned numThreads = 1,
                                 Int8Kernel int8Kernel = Int8Kernel::Auto);
std::string getCpuCodegenPipeline(unsigned numThreads = 1,
                                  Int8Kernel int8Kernel = Int8Kernel::Auto);

/// Registers `lowbit-cpu-lowering` as a named pipeline for lowbit-opt.
void registerCpuLoweringPipeline();

/// Registers lowbit-cpu-fuse-elementwise, lowbit-cpu-tile-vectorize and
/// lowbit-cpu-hoist-transfers, the passes of that pipeline that keep
/// contractions whole and give matmuls and convolutions a register-tiled,
/// vectorised inner kernel.
void registerCpuVectorizationPasses();

/// Registers lowbit-cpu-vectorize-elementwise (static element-wise
/// linalg.generic ops tiled along their contiguous innermost dimension and
/// vectorised).
void registerCpuElementwisePasses();

/// Registers lowbit-cpu-approximate-math (f32 erf/exp/tanh/log... as
/// polynomials the LLVM loop vectoriser can vectorise).
void registerCpuMathPasses();

/// Registers lowbit-cpu-async-parallel (scf.parallel -> at most N async
/// tasks), the multi-threading step of the CPU pipeline.
void registerCpuParallelPasses();

struct CpuCompileOptions {
  /// LLVM optimisation level for the JIT (0..3).
  unsigned optLevel = 3;
  /// Resource constants with at least this many bytes are passed to the
  /// compiled code as pointers into their blobs instead of being copied into
  /// the JIT's object code.
  size_t externalizeThresholdBytes = 1024;
  /// Threads that run the parallel loops of large ops (matmul/conv output
  /// tiles, element-wise ops, the non-reduced dims of reductions): 1 runs
  /// everything on the calling thread, 0 uses one per hardware thread.
  /// Results do not depend on it (no sum is split across threads).
  unsigned numThreads = 1;
  /// The int8 kernel of lowbit.qlinear (results are bit-identical across
  /// all of them); Avx512Vnni on a CPU without it is an error.
  Int8Kernel int8Kernel = Int8Kernel::Auto;
};

/// A module compiled for the CPU through mlir::ExecutionEngine.
///
/// The executable reads weight blobs in place, so the MLIRContext that owned
/// the module must outlive it.
class CpuExecutable {
public:
  ~CpuExecutable();

  /// Lowers a copy of `module` (which must hold one public function) and
  /// JIT-compiles it. Errors carry the diagnostics that caused them.
  static llvm::Expected<std::unique_ptr<CpuExecutable>>
  compile(mlir::ModuleOp module, const CpuCompileOptions &options = {});

  const std::vector<TensorSpec> &inputs() const { return inputSpecs; }
  const std::vector<TensorSpec> &outputs() const { return outputSpecs; }

  /// Runs once. `inputs[i]` points to dense row-major data of inputs()[i];
  /// `outputs[i]` to a caller-owned buffer of outputs()[i].byteSize() bytes.
  llvm::Error run(llvm::ArrayRef<const void *> inputs,
                  llvm::ArrayRef<void *> outputs);

private:
  CpuExecutable() = default;
  std::unique_ptr<mlir::ExecutionEngine> engine;
  std::string entryName;
  std::vector<TensorSpec> inputSpecs, outputSpecs;
  /// Externalized weights: data pointer and spec, appended after the inputs.
  std::vector<std::pair<const void *, TensorSpec>> weights;
  /// Whether this executable holds lowbit's buffer pool (released last).
  bool holdsPool = false;
};

} // namespace lowbit

#endif // LOWBIT_RUNTIME_H
