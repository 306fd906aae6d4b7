//===- LowBitAttrs.td - lowbit attributes ------------------*- tablegen -*-===//
#ifndef LOWBIT_LOWBIT_ATTRS
#define LOWBIT_LOWBIT_ATTRS

include "dialects/LowBit/LowBitDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def LowBit_LayoutKind : I32EnumAttr<"LayoutKind", "packed storage layout", [
  I32EnumAttrCase<"int2_crumbs", 0>,
  I32EnumAttrCase<"int4_nibbles", 1>,
  I32EnumAttrCase<"int6_planes", 2>,
  I32EnumAttrCase<"int8_bytes", 3>,
  I32EnumAttrCase<"bit_planes", 4>
]> {
  let cppNamespace = "::lowbit::lb";
  let genSpecializedAttr = 0;
}

def LowBit_LayoutAttr : EnumAttr<LowBit_Dialect, LowBit_LayoutKind, "layout"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif // LOWBIT_LOWBIT_ATTRS
