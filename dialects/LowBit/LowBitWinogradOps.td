//===- LowBitWinogradOps.td - Winograd transform ops -------*- tablegen -*-===//
//
// The two data transforms of a Winograd F(m, r) convolution (NCHW, stride 1).
// The filter transform is folded at compile time by the `winograd` pass and
// the per-position products are an upstream linalg.batch_matmul; these ops
// carry their transform matrix as exact rationals (numerators and positive
// denominators, row-major) plus the nearest doubles that the lowering uses.
// Included once at the end of LowBitOps.td.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_LOWBIT_WINOGRAD_OPS
#define LOWBIT_LOWBIT_WINOGRAD_OPS

def LowBit_WinogradInputTransformOp
    : LowBit_Op<"winograd_input_transform", [Pure]> {
  let summary = "Winograd input transform: NCHW tiles -> [n, n, tiles, C]";
  let description = [{
    `input` is `[N, C, H, W]`, already zero-padded so that
    `H = th * m + r - 1` and `W = tw * m + r - 1` (th x tw output tiles of
    m x m, n = m + r - 1). Tile `t = (b * th + y) * tw + x` covers input rows
    `y*m .. y*m + n - 1` and columns `x*m .. x*m + n - 1`, and

        result[ξ, ν, t, c] = Σ_i Σ_j BT[ξ, i] · d_t,c[i, j] · BT[ν, j]

    (`V = Bᵀ d B`), with `BT` the n x n matrix given by
    `bt_num[k] / bt_den[k]` (row-major) and used as the doubles `bt`
    (rounded to f32). `precision = "f16"` emulates an fp16 implementation:
    the input tile and the result are rounded to f16 (arithmetic in f32).

    ```mlir
    %v = lowbit.winograd_input_transform %x {m = 2 : i64, r = 3 : i64,
           bt_num = array<i64: ...>, bt_den = array<i64: ...>,
           bt = array<f64: ...>} : tensor<1x8x6x6xf32> -> tensor<4x4x4x8xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$input, I64Attr:$m, I64Attr:$r,
                       DenseI64ArrayAttr:$bt_num, DenseI64ArrayAttr:$bt_den,
                       DenseF64ArrayAttr:$bt,
                       DefaultValuedAttr<StrAttr, "\"f32\"">:$precision);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def LowBit_WinogradOutputTransformOp
    : LowBit_Op<"winograd_output_transform", [Pure]> {
  let summary = "Winograd output transform: [n, n, tiles, F] -> NCHW";
  let description = [{
    `input` is `[n, n, T, F]` (the per-position products summed over the
    input channels), the result `[N, F, th * m, tw * m]` with
    `T = N * th * tw` in the tile order of `winograd_input_transform`:

        result[b, f, y*m + a, x*m + e] = Σ_ξ Σ_ν AT[a, ξ] · M_t,f[ξ, ν] · AT[e, ν]

    (`Y = Aᵀ M A`), with `AT` the m x n matrix `at_num / at_den` (row-major),
    used as the doubles `at`. `precision = "f16"` rounds the products and
    the result to f16 (arithmetic in f32). Rows and columns past the
    convolution's real output are sliced off by the producer.
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$input, I64Attr:$m, I64Attr:$r,
                       DenseI64ArrayAttr:$at_num, DenseI64ArrayAttr:$at_den,
                       DenseF64ArrayAttr:$at,
                       DefaultValuedAttr<StrAttr, "\"f32\"">:$precision);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

#endif // LOWBIT_LOWBIT_WINOGRAD_OPS
