//===- Passes.h - lowbit graph fusion passes --------------------*- C++ -*-===//
#ifndef LOWBIT_PASSES_FUSION_PASSES_H
#define LOWBIT_PASSES_FUSION_PASSES_H

#include "dialects/NN/NNDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Pass/Pass.h"

namespace lowbit {
#define GEN_PASS_DECL
#include "passes/Fusion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Fusion/Passes.h.inc"

/// Adds the fusion passes, in the order the pipeline `lowbit-fuse` runs
/// them, nested on func.func.
void addFusionPasses(mlir::OpPassManager &pm);

/// Registers the fusion passes and the `lowbit-fuse` pipeline.
void registerFusionPassesAndPipeline();
} // namespace lowbit

#endif // LOWBIT_PASSES_FUSION_PASSES_H
