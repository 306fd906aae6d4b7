//===- Dialects.h - registering lowbit's dialects and passes ----*- C++ -*-===//
#ifndef LOWBIT_DIALECTS_H
#define LOWBIT_DIALECTS_H

#include "mlir/IR/DialectRegistry.h"

namespace lowbit {

/// Adds the nn and lowbit dialects plus every upstream dialect and extension
/// (bufferization models, LLVM translation interfaces) to `registry`.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers lowbit's passes and pipelines and every upstream pass, so that
/// textual pipelines can name any of them. Safe to call more than once.
void registerAllPasses();

} // namespace lowbit

#endif // LOWBIT_DIALECTS_H
