//===- WinogradToLinalg.h - lowering of the Winograd transform ops -*- C++ -*-===//
#ifndef LOWBIT_PASSES_CONVERSION_WINOGRADTOLINALG_H
#define LOWBIT_PASSES_CONVERSION_WINOGRADTOLINALG_H

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace lowbit {
/// lowbit.winograd_input_transform / winograd_output_transform -> two
/// linalg.generic contractions each (one per side of Bᵀ d B / Aᵀ M A) plus
/// tensor reshapes; used by convert-lowbit-to-linalg.
void populateWinogradToLinalgPatterns(mlir::TypeConverter &converter,
                                      mlir::RewritePatternSet &patterns);
/// True for the ops those patterns lower.
bool isWinogradTransformOp(mlir::Operation *op);
} // namespace lowbit

#endif // LOWBIT_PASSES_CONVERSION_WINOGRADTOLINALG_H
