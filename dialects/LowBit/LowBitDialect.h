//===- LowBitDialect.h - the lowbit bit-level dialect -----------*- C++ -*-===//
#ifndef LOWBIT_DIALECTS_LOWBIT_LOWBITDIALECT_H
#define LOWBIT_DIALECTS_LOWBIT_LOWBITDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <vector>

#include "dialects/LowBit/LowBitDialect.h.inc"
#include "dialects/LowBit/LowBitEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/LowBit/LowBitAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/LowBit/LowBitTypes.h.inc"

#define GET_OP_CLASSES
#include "dialects/LowBit/LowBitOps.h.inc"

namespace lowbit::lb {
/// Bits per element a layout stores (bit_planes: 0, meaning "any").
unsigned getLayoutBits(LayoutKind kind);
/// A row length (last dimension) must be a multiple of this to fill whole
/// bytes in the layout.
int64_t getLayoutRowMultiple(LayoutKind kind);
/// The bytes of a constant tensor of i8 (a dense_resource blob whose size
/// matches the type, or dense values), or false if `value` is neither.
bool getConstantBytes(mlir::ElementsAttr value, std::vector<int8_t> &bytes);
/// Whether the stored values of a low-bit element type are two's complement
/// (a quant type's signedness; signless integers, the i8-container
/// convention, are signed).
bool isSignedElement(mlir::Type elem);
/// The values of a packed constant, unpacked with lib/Numerics to one int8
/// each (sign- or zero-extended), row-major; false if its bytes cannot be
/// read or do not fit the layout.
bool getUnpackedValues(PackedConstantOp op, std::vector<int8_t> &values);
} // namespace lowbit::lb

#endif // LOWBIT_DIALECTS_LOWBIT_LOWBITDIALECT_H
