//===- NNDialect.h - the nn graph dialect -----------------------*- C++ -*-===//
#ifndef LOWBIT_DIALECTS_NN_NNDIALECT_H
#define LOWBIT_DIALECTS_NN_NNDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/NN/NNOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "dialects/NN/NNOps.h.inc"

#endif // LOWBIT_DIALECTS_NN_NNDIALECT_H
