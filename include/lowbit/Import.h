//===- Import.h - ONNX import into the nn/tosa dialects ---------*- C++ -*-===//
#ifndef LOWBIT_IMPORT_H
#define LOWBIT_IMPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

#include <map>
#include <string>
#include <vector>

namespace lowbit {

struct ImportOptions {
  /// Static shapes for graph inputs, overriding dynamic (or static) dims of
  /// the model's declared input shapes.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Name of the function that holds the graph.
  std::string functionName = "main";
  /// A model with a tensor (weight, input or intermediate) larger than this
  /// many bytes is refused at import, naming the node and the size, instead
  /// of being killed for memory later. 0: the machine's physical memory.
  uint64_t maxMemoryBytes = 0;
};

enum class ImportStatus {
  Ok,
  /// The input is malformed or inconsistent (bad file, bad shapes, ...).
  Error,
  /// The model is well-formed but uses an op, attribute or type that lowbit
  /// does not support yet.
  Unsupported,
};

/// Imports an .onnx file into a module holding one function. Diagnostics go
/// to `context`'s handler and name the ONNX node (name, op type, opset).
/// Returns null on failure; `status` (if given) says why.
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxFile(llvm::StringRef path, mlir::MLIRContext *context,
               const ImportOptions &options = {},
               ImportStatus *status = nullptr);

/// Same for a serialized ModelProto in memory (external data unsupported).
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxBytes(llvm::StringRef bytes, mlir::MLIRContext *context,
                const ImportOptions &options = {},
                ImportStatus *status = nullptr);

/// ONNX op types (default domain) the importer handles, sorted.
std::vector<std::string> getSupportedOnnxOps();

/// Parses "name=1x3x64x64" into `options`; returns an error message or "".
/// Giving one input two different shapes is an error.
std::string parseInputShapeFlag(llvm::StringRef flag, ImportOptions &options);

/// Parses "8G" / "512M" / "64K" / a byte count into options.maxMemoryBytes;
/// returns an error message or "".
std::string parseMaxMemoryFlag(llvm::StringRef flag, ImportOptions &options);

} // namespace lowbit

#endif // LOWBIT_IMPORT_H
