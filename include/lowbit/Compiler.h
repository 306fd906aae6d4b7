//===- Compiler.h - lowbit's embeddable compiler API ------------*- C++ -*-===//
//
// The small, stable entry point for programs that embed lowbit: load a model,
// run passes, compile for the CPU, run. Every failure comes back as an
// llvm::Error carrying the diagnostic text; nothing aborts.
//
//   auto module = lowbit::Module::importOnnx("model.onnx", options);
//   if (!module) { report(toString(module.takeError())); return; }
//   if (auto err = module->runPipeline("canonicalize")) ...
//   auto exe = module->compileForCpu();
//   (*exe)->run(inputs, outputs);
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_COMPILER_H
#define LOWBIT_COMPILER_H

#include "lowbit/Import.h"
#include "lowbit/Runtime.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace mlir {
class MLIRContext;
class ModuleOp;
} // namespace mlir

namespace lowbit {

/// Error codes carried by the llvm::Errors of this API (as std::error_code of
/// the generic category), so that callers can tell kinds apart:
/// `not_supported` for an op/attribute/type lowbit does not handle yet,
/// `invalid_argument` for malformed input, `io_error` for files.
/// Whether `error` says "not supported"; `error` stays unconsumed.
bool isUnsupported(llvm::Error &error);

/// One named array: numpy dtype string ("f4", "f8", "i8", ...), shape (empty
/// for a scalar) and C-order little-endian bytes.
struct NamedArray {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<char> data;
};

struct CalibrationOptions {
  /// Layer kinds whose inputs are tapped (insert-observers ops=).
  std::string ops = "linear,conv2d";
  /// Also accumulate the Hessian sum x xᵀ of every nn.linear input.
  bool hessians = true;
  /// Called after each sample with (samples done, total).
  std::function<void(size_t, size_t)> progress;
  /// Where to write the statistics sidecar (.npz); nothing written if empty.
  std::string statsPath;
  /// LLVM optimisation level of the calibration JIT.
  unsigned optLevel = 2;
};

/// An MLIR module together with the context that owns it (and its weights).
class Module {
public:
  Module(Module &&) noexcept;
  Module &operator=(Module &&) noexcept;
  ~Module();

  /// Imports an ONNX file (external data next to it is memory-mapped).
  static llvm::Expected<Module> importOnnx(llvm::StringRef path,
                                           const ImportOptions &options = {});
  /// Imports a serialized ONNX ModelProto held in memory.
  static llvm::Expected<Module>
  importOnnxBytes(llvm::StringRef bytes, const ImportOptions &options = {});
  /// Parses MLIR text or bytecode (any lowbit or upstream dialect).
  static llvm::Expected<Module> parseMlir(llvm::StringRef text,
                                          llvm::StringRef bufferName = "<text>");
  /// Reads an MLIR text or bytecode file, whatever its name.
  static llvm::Expected<Module> parseMlirFile(llvm::StringRef path);

  /// An independent copy (its own context and blobs).
  llvm::Expected<Module> clone() const;
  /// Runs a textual pass pipeline anchored on builtin.module, e.g.
  /// "canonicalize,cse" or "func.func(convert-nn-to-linalg)" or a named
  /// pipeline such as "lowbit-cpu-lowering". On failure the module may be
  /// partially transformed.
  llvm::Error runPipeline(llvm::StringRef pipeline);

  /// The module as MLIR text (resource blobs included unless `elideBlobs`).
  std::string toString(bool elideBlobs = false) const;
  /// Writes the module to `path` through a temporary file and a rename: MLIR
  /// bytecode when `path` ends in .mlirbc (blobs as raw bytes; parseMlir and
  /// parseMlirFile read either form), else MLIR text.
  llvm::Error writeFile(llvm::StringRef path) const;

  /// The first op that makes the module quantized (any op of the lowbit
  /// dialect except lowbit.observe, a calibration tap), or "" for a float
  /// module. A recipe applies to float modules only.
  std::string quantizedOp() const;
  /// Name, type and shape of the entry function's arguments and results.
  llvm::Expected<std::vector<TensorSpec>> inputs() const;
  llvm::Expected<std::vector<TensorSpec>> outputs() const;

  /// JIT-compiles a copy of the module for the CPU. The executable reads the
  /// module's weight blobs in place: keep this Module alive while using it.
  llvm::Expected<std::unique_ptr<CpuExecutable>>
  compileForCpu(const CpuCompileOptions &options = {}) const;

  /// Calibration: runs a copy of the module, with lowbit.observe taps on
  /// the layer inputs (insert-observers) turned into extra results, through
  /// the CPU JIT on every sample and returns the accumulated statistics as
  /// the sidecar's arrays ("<layer>/absmax", "<layer>/hessian", ...; see
  /// docs/calibration.md). `samples[i][j]` points to dense data of input j
  /// (order and shapes of inputs()) for sample i. The module is unchanged.
  llvm::Expected<std::vector<NamedArray>>
  calibrate(const std::vector<std::vector<const void *>> &samples,
            const CalibrationOptions &options = {}) const;

  mlir::ModuleOp getOperation() const;
  mlir::MLIRContext *getContext() const { return context.get(); }

private:
  struct State;
  Module(std::unique_ptr<mlir::MLIRContext> context, std::unique_ptr<State>);
  std::unique_ptr<mlir::MLIRContext> context;
  std::unique_ptr<State> state;
};

} // namespace lowbit

#endif // LOWBIT_COMPILER_H
