//===- LowBitDialect.td - the lowbit bit-level dialect -----*- tablegen -*-===//
#ifndef LOWBIT_LOWBIT_DIALECT
#define LOWBIT_LOWBIT_DIALECT

include "mlir/IR/OpBase.td"

def LowBit_Dialect : Dialect {
  let name = "lowbit";
  let cppNamespace = "::lowbit::lb";
  let summary = "Bit-level storage and arithmetic of low-bit tensors";
  let description = [{
    The `lowbit` dialect says how low-bit numbers are stored and computed.

    ## Where scales live (decided once)

    Quantized *weights* are an integer part plus scale (and zero / offset)
    tables passed as operands beside it: `lowbit.dequantize_weight` at the nn
    level, `lowbit.qlinear` at the kernel level. The integer part is a tensor
    of `i8` containers holding `bits`-wide values, or `!lowbit.packed`
    storage. Upstream sub-channel types would carry every group scale inside
    the type (131072 scales for a 4096x4096 layer at group 128), which MLIR
    uniques and prints with every use; tables as operands stay
    `dense_resource` blobs. Quantized *activations* use the upstream
    `!quant.uniform` element types (`lowbit.quantize` / `lowbit.dequantize`,
    per-tensor or per-axis tables are small), or runtime per-token scales
    (`lowbit.quantize_dynamic`).
    Quantized values are carried by the upstream `!quant.uniform` element
    types; this dialect adds packed storage with an explicit layout and the
    ops that move between float, quantized and packed forms.

    ## Numerics (one formula, everywhere)

    * Symmetric signed b-bit: `q = clamp(round_half_even(x / s), -(2^(b-1)-1),
      2^(b-1)-1)` unless the storage type asks for the full range; asymmetric
      unsigned: `q = clamp(round_half_even(x / s) + z, 0, 2^b - 1)`.
      Dequantization is `x = (q - z) * s`.
    * Rounding is round-half-to-even in every backend.
    * Groups run along the reduction dimension K (the last dimension of a
      `[N, K]` weight); sub-channel types use `{1:G}` block sizes.

    ## Packed layouts and bit order

    Packing always runs along the last (innermost, K) dimension, little end
    first: element `k` of a row goes to byte `k / per_byte` at bit offset
    `(k % per_byte) * bits`, holding the low `bits` bits of its two's
    complement (signed) or unsigned storage value.

    * `int2_crumbs`: 4 values per byte.
    * `int4_nibbles`: 2 values per byte.
    * `int6_planes`: an INT6 value `v` is stored as a 4-bit plane holding
      `v & 0xF` (nibble order as above) followed by a 2-bit plane holding
      `(v >> 4) & 0x3` (crumb order as above), so both planes load as aligned
      words. Rows are `K/2 + K/4` bytes.
    * `int8_bytes`: 1 value per byte.
    * Narrower values use the slot's full width in two's complement (INT3
      -3 in a nibble is 0xD), so a kernel of the slot width reads them
      unchanged; unsigned values (`ui<b>` elements) are zero-extended.
    * When a row does not fill whole bytes, it is padded with zero bits.
    * `bit_planes`: `b` planes of 1 bit each for bit-serial kernels; plane `i`
      holds bit `i` of every value, 8 values per byte; plane `b-1` carries the
      two's complement sign. Rows are `b * K / 8` bytes.
  }];
  let useDefaultTypePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::quant::QuantDialect"];
}

#endif // LOWBIT_LOWBIT_DIALECT
