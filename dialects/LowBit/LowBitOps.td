//===- LowBitOps.td - lowbit ops ---------------------------*- tablegen -*-===//
#ifndef LOWBIT_LOWBIT_OPS
#define LOWBIT_LOWBIT_OPS

include "dialects/LowBit/LowBitTypes.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class LowBit_Op<string mnemonic, list<Trait> traits = []>
    : Op<LowBit_Dialect, mnemonic, traits>;

def LowBit_QuantizeOp : LowBit_Op<"quantize", [Pure]> {
  let summary = "float tensor to a tensor of !quant.uniform values";
  let description = [{
    Applies the lowbit quantization formula (round-half-to-even, clamp to the
    storage range of the result type) with the scales and zero points carried
    by the result element type: per-tensor, per-axis or sub-channel.

    ```mlir
    %q = lowbit.quantize %x : tensor<4x8xf32> -> tensor<4x8x!quant.uniform<i6:f32, 0.02>>
    ```
  }];
  let arguments = (ins RankedTensorOf<[AnyFloat]>:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def LowBit_DequantizeOp : LowBit_Op<"dequantize", [Pure]> {
  let summary = "tensor of !quant.uniform values back to float";
  let description = [{
    `x = (q - zero_point) * scale` with the parameters of the operand type.
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs RankedTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def LowBit_PackOp : LowBit_Op<"pack", [Pure]> {
  let summary = "pack a low-bit tensor into bytes with a layout";
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs LowBit_PackedType:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def LowBit_UnpackOp : LowBit_Op<"unpack", [Pure]> {
  let summary = "unpack packed storage back to a tensor of low-bit values";
  let arguments = (ins LowBit_PackedType:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

#endif // LOWBIT_LOWBIT_OPS
