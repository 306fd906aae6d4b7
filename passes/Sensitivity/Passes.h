//===- Passes.h - lowbit sensitivity passes ---------------------*- C++ -*-===//
#ifndef LOWBIT_PASSES_SENSITIVITY_PASSES_H
#define LOWBIT_PASSES_SENSITIVITY_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace lowbit {
#define GEN_PASS_DECL
#include "passes/Sensitivity/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Sensitivity/Passes.h.inc"
} // namespace lowbit

#endif // LOWBIT_PASSES_SENSITIVITY_PASSES_H
