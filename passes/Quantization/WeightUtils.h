//===- WeightUtils.h - helpers shared by the quantization passes -*- C++ -*-===//
#ifndef LOWBIT_PASSES_QUANTIZATION_WEIGHTUTILS_H
#define LOWBIT_PASSES_QUANTIZATION_WEIGHTUTILS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "mlir/Support/LLVM.h"

#include <optional>
#include <string>
#include <vector>

namespace lowbit {

/// The layer's name: the ONNX node name the importer put in the op's
/// location, else "<op name>@<line>".
std::string getLayerName(mlir::Operation *op);

/// The f32 values of a constant tensor: a view into a dense_resource blob
/// (no copy: weights can be large), or a copy of inline dense values.
struct FloatValues {
  const float *data = nullptr;
  size_t size = 0;
  std::vector<float> storage; ///< owns the values when they were copied
};

/// The values of an arith.constant with f32 dense or dense_resource data, or
/// nullopt if `value` is not such a constant.
std::optional<FloatValues> readFloatConstant(mlir::Value value);

/// An arith.constant of `type` whose data (copied from `data`) lives in a
/// dense_resource blob named after `name`.
mlir::Value createResourceConstant(mlir::OpBuilder &builder, mlir::Location loc,
                                   mlir::RankedTensorType type,
                                   const void *data, size_t bytes,
                                   llvm::StringRef name);

/// Matches `name` against a glob (`*`, `?`, `[...]`).
bool matchesGlob(llvm::StringRef pattern, llvm::StringRef name);
/// "" when `pattern` is a valid glob, else why not (for the overrides
/// options, which refuse a malformed glob instead of matching it literally).
std::string globError(llvm::StringRef pattern);

} // namespace lowbit

#endif // LOWBIT_PASSES_QUANTIZATION_WEIGHTUTILS_H
