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
  let description = [{
    The input holds one value per element: either with the packed element
    type itself, or as `i8` containers of the packed integer width (the form
    `quantize-weights` produces). Packing a constant folds at compile time
    into `lowbit.packed_constant`.
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs LowBit_PackedType:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` qualified(type($result))";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def LowBit_PackedConstantOp : LowBit_Op<"packed_constant",
    [ConstantLike, Pure]> {
  let summary = "packed bytes known at compile time";
  let description = [{
    `value` holds the packed bytes as a `[rows..., row_bytes]` tensor of `i8`
    in the layout of the result type (usually a `dense_resource` blob).

    ```mlir
    %w = lowbit.packed_constant dense_resource<fc1_packed> : tensor<32x32xi8> -> !lowbit.packed<32x64xi4, int4_nibbles>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs LowBit_PackedType:$result);
  let assemblyFormat = "$value attr-dict `->` qualified(type($result))";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def LowBit_DequantizeWeightOp : LowBit_Op<"dequantize_weight", [Pure]> {
  let summary = "float weights from an integer part and scale/zero tables";
  let description = [{
    `q` is the integer part of an `[N, K]` weight: `i8` containers holding
    `bits`-wide values (unsigned with an `integer` zero, signed two's
    complement otherwise), or packed storage (element type `ui<bits>` with an
    `integer` zero, `i<bits>` otherwise). `scale` is `[N, K / group_size]`
    (`group_size = K`: per channel). The optional `zero` table has the shape
    of `scale` and is, by `zero_kind`:

    * `integer` (asymmetric): `w = (q - zero) * scale`, `zero` integral;
    * `float_offset` (decoupleQ): `w = q * scale + zero`.

    Without `zero`: `w = q * scale`. Arithmetic is f32. This is how quantized
    weights look at the nn level: `nn.linear %x, %w` with `%w` from here.
  }];
  let arguments = (ins AnyType:$q, RankedTensorOf<[F32]>:$scale,
                       Optional<RankedTensorOf<[F32]>>:$zero,
                       I64Attr:$bits, I64Attr:$group_size,
                       DefaultValuedAttr<StrAttr, "\"integer\"">:$zero_kind);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $q `,` $scale (`,` $zero^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def LowBit_QuantizeDynamicOp : LowBit_Op<"quantize_dynamic", [Pure]> {
  let summary = "symmetric per-row (per-token) quantization with runtime scales";
  let description = [{
    For each row r of `input` (all dimensions but the last):
    `scale[r] = max_k |x[r, k]| / (2^(bits-1) - 1)` (1 when the row is all
    zero) and `q[r, k] = clamp(round_half_even(x[r, k] / scale[r]),
    -(2^(bits-1)-1), 2^(bits-1)-1)`, stored in `i8` containers. `scale` has
    the input's shape with the last dimension 1.

    With `rms_clip` (QuEST's Gaussian-MSE scales, `quantize-activations
    scale=gaussian-mse`) the clip is a multiple of the row's RMS instead of
    its max: `scale[r] = f32(rms_clip * sqrt(sum_k x[r, k]^2 / K) / qmax)`,
    the sum, square root, product and quotient in f64 and rounded to f32
    once (1 when that is not positive); values beyond the clip saturate.
    `rms_clip` is `gaussianMseAlpha(bits, Symmetric)` of
    lib/Numerics/ClipSearch.h: the MSE-optimal clip, in units of sigma, of
    the symmetric grid for x ~ N(0, 1) (about 2.3 sigma at 4 bits).
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$input, I64Attr:$bits,
                       OptionalAttr<F64Attr>:$rms_clip);
  let results = (outs RankedTensorOf<[I8]>:$q, RankedTensorOf<[F32]>:$scale);
  // The absmax form, as before rms_clip existed.
  let builders = [
    OpBuilder<(ins "::mlir::Type":$qType, "::mlir::Type":$scaleType,
                   "::mlir::Value":$input, "::mlir::IntegerAttr":$bits), [{
      build($_builder, $_state, qType, scaleType, input, bits,
            ::mlir::FloatAttr());
    }]>
  ];
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($q) `,` type($scale)
  }];
  let hasVerifier = 1;
}

def LowBit_DequantizeDynamicOp : LowBit_Op<"dequantize_dynamic", [Pure]> {
  let summary = "inverse of lowbit.quantize_dynamic: q * scale per row";
  let description = [{
    `x[r, k] = float(q[r, k]) * scale[r]`. `quantize-activations` inserts a
    `quantize_dynamic` / `dequantize_dynamic` pair in front of a layer
    (the float graph then computes with exactly quantized activations);
    `lower-to-lowbit` folds the pair into `lowbit.qlinear`.
  }];
  let arguments = (ins RankedTensorOf<[I8]>:$q, RankedTensorOf<[F32]>:$scale,
                       I64Attr:$bits);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $q `,` $scale attr-dict `:` type($q) `,` type($scale) `->` type($result)
  }];
  let hasVerifier = 1;
}

def LowBit_QLinearOp : LowBit_Op<"qlinear", [Pure, AttrSizedOperandSegments]> {
  let summary = "integer matrix product with int32 accumulation";
  let description = [{
    `y[m, n] = sum_g float(acc[m, n, g]) * x_scale[m] * w_scale[n, g]`
    with `acc[m, n, g] = sum_{k in group g} x_q[m, k] * (w_q[n, k] - zero)`
    accumulated in i32, where `x_q` is `[M, K]` (`i8` containers of
    `a_bits`-wide values, from `lowbit.quantize_dynamic`), `x_scale` `[M, 1]`,
    `w_q` the `[N, K]` weight (packed, or `i8` containers), `w_scale`
    `[N, K / group_size]` and the optional integer `w_zero` of that shape.
    The optional `bias` `[N]` is added after dequantization. Dequantization
    happens once per output and group, in f32.
  }];
  let arguments = (ins RankedTensorOf<[I8]>:$x_q, RankedTensorOf<[F32]>:$x_scale,
                       AnyType:$w_q, RankedTensorOf<[F32]>:$w_scale,
                       Optional<RankedTensorOf<[F32]>>:$w_zero,
                       Optional<RankedTensorOf<[F32]>>:$bias,
                       I64Attr:$a_bits, I64Attr:$w_bits, I64Attr:$group_size);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $x_q `,` $x_scale `,` $w_q `,` $w_scale (`zero` $w_zero^)? (`bias` $bias^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def LowBit_UnpackOp : LowBit_Op<"unpack", [Pure]> {
  let summary = "unpack packed storage back to a tensor of low-bit values";
  let arguments = (ins LowBit_PackedType:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` type($result)";
  let hasVerifier = 1;
}

def LowBit_ObserveOp : LowBit_Op<"observe", [MemoryEffects<[MemWrite]>]> {
  let summary = "calibration tap: records statistics of a tensor";
  let description = [{
    Marks `input` for calibration under the stable key `name` (the layer
    name). `channel_axis` is the dimension whose entries are channels
    (per-channel absmax / mean |x|; all other dimensions are samples);
    `hessian` asks for the layer Hessian sum x xᵀ over those samples.
    `insert-observers` adds the taps, `observers-to-results` turns them into
    extra results of the function for a calibration run; elsewhere the op is
    a no-op (the CPU lowering erases it). It has a write effect so that it
    is not removed as dead code.

    ```mlir
    lowbit.observe %x {name = "fc1", channel_axis = 1 : i64, hessian} : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$input, StrAttr:$name,
                       I64Attr:$channel_axis, UnitAttr:$hessian);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def LowBit_HadamardOp : LowBit_Op<"hadamard",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "block Walsh-Hadamard rotation along the last dimension";
  let description = [{
    `y = x · blockdiag(H_b, ..., H_b)` along the last dimension, with `H_b`
    the orthonormal Sylvester Hadamard matrix of size `block` (entries
    ±1/sqrt(block); `H_1 = [1]`, `H_2n = [[H_n, H_n], [H_n, -H_n]] / sqrt(2)`),
    which is symmetric and its own inverse. `block` is a power of two >= 2
    that divides the last dimension. `hadamard-rotate` puts it in front of
    layers whose weights it multiplied by the same matrix (QuEST); the CPU
    lowering is a fast Walsh-Hadamard transform (log2(block) butterfly
    stages, the 1/sqrt(block) factor applied once in the last stage).

    ```mlir
    %y = lowbit.hadamard %x {block = 128 : i64} : tensor<4x384xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$input, I64Attr:$block);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

include "dialects/LowBit/LowBitWinogradOps.td"
#endif // LOWBIT_LOWBIT_OPS
