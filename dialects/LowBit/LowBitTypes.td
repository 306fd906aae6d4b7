//===- LowBitTypes.td - lowbit types -----------------------*- tablegen -*-===//
#ifndef LOWBIT_LOWBIT_TYPES
#define LOWBIT_LOWBIT_TYPES

include "dialects/LowBit/LowBitAttrs.td"
include "mlir/IR/AttrTypeBase.td"

def LowBit_PackedType : TypeDef<LowBit_Dialect, "Packed"> {
  let mnemonic = "packed";
  let summary = "a tensor of low-bit values packed into bytes with a layout";
  let description = [{
    `!lowbit.packed<128x64x!quant.uniform<i4:f32, 0.5>, int4_nibbles>` is a
    128x64 tensor of INT4 values stored two per byte along the last dimension.
    The element type is a `!quant.uniform` type (or a signless integer) whose
    storage width fits the layout; the last dimension must fill whole bytes.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape,
                        "::mlir::Type":$elementType,
                        "::lowbit::lb::LayoutKind":$layout);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Storage width of one element in bits.
    unsigned getBitWidth() const;
    /// Bytes one row (the last dimension) occupies in this layout.
    int64_t getRowBytes() const;
    /// Bytes of the whole packed tensor.
    int64_t getStorageBytes() const;
  }];
}

#endif // LOWBIT_LOWBIT_TYPES
