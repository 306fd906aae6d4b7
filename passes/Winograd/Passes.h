//===- Passes.h - lowbit Winograd passes ------------------------*- C++ -*-===//
#ifndef LOWBIT_PASSES_WINOGRAD_PASSES_H
#define LOWBIT_PASSES_WINOGRAD_PASSES_H

#include "dialects/LowBit/LowBitDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Pass/Pass.h"

namespace lowbit {
#define GEN_PASS_DECL
#include "passes/Winograd/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Winograd/Passes.h.inc"
} // namespace lowbit

#endif // LOWBIT_PASSES_WINOGRAD_PASSES_H
