//===- Passes.h - lowbit calibration passes ---------------------*- C++ -*-===//
#ifndef LOWBIT_PASSES_CALIBRATION_PASSES_H
#define LOWBIT_PASSES_CALIBRATION_PASSES_H

#include "dialects/LowBit/LowBitDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace lowbit {
#define GEN_PASS_DECL
#include "passes/Calibration/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Calibration/Passes.h.inc"
} // namespace lowbit

#endif // LOWBIT_PASSES_CALIBRATION_PASSES_H
