//===- NNOps.td - the nn graph dialect ---------------------*- tablegen -*-===//
//
// nn is the graph level of lowbit: the ops that passes must see whole. Each op
// follows the semantics of the ONNX op it mirrors; element-wise and shape ops
// that no pass needs to recognise live in upstream tosa/tensor/arith instead.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_NN_OPS
#define LOWBIT_NN_OPS

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def NN_Dialect : Dialect {
  let name = "nn";
  let cppNamespace = "::lowbit::nn";
  let summary = "Graph-level neural network ops that lowbit passes rewrite";
  let description = [{
    The `nn` dialect holds the ops that lowbit's graph passes must recognise
    whole: linear layers with constant weights, matrix products, convolutions,
    normalisations and softmax. Element types are `f32`/`f16`/`bf16` or, after
    quantization, upstream `!quant.uniform` types. All shapes are static.
  }];
}

class NN_Op<string mnemonic, list<Trait> traits = []>
    : Op<NN_Dialect, mnemonic, traits>;

// nn ops work on statically shaped tensors only: the importer makes every
// shape static, and passes and lowerings rely on it.
def NN_FloatTensor : StaticShapeTensorOf<[F16, BF16, F32]>;
// A normalisation's result: float, or i8 integers with `out_bits`.
def NN_NormResult : StaticShapeTensorOf<[F16, BF16, F32, I8]>;

def NN_LinearOp : NN_Op<"linear", [Pure]> {
  let summary = "y = x · Wᵀ + b with a weight of shape [N, K]";
  let description = [{
    A fully connected layer: `x` has shape `[..., K]`, `weight` has shape
    `[N, K]` (output channels first, so per-channel and group quantization run
    along the contiguous reduction dimension K), the optional `bias` has shape
    `[N]`; the result has shape `[..., N]`. The importer produces it for ONNX
    `MatMul` and `Gemm` whose right operand is a constant. Example:

    ```mlir
    %y = nn.linear %x, %w, %b : (tensor<4x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<4x32xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$weight,
                       Optional<NN_FloatTensor>:$bias);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_MatMulOp : NN_Op<"matmul", [Pure]> {
  let summary = "matrix product with numpy/ONNX MatMul broadcasting";
  let description = [{
    ONNX `MatMul` semantics when neither operand is a constant weight: both
    operands have rank >= 2 (rank-1 operands are reshaped by the importer),
    batch dimensions broadcast as in numpy, and the result has shape
    `[batch..., M, N]` for `[..., M, K] x [..., K, N]`.
  }];
  let arguments = (ins NN_FloatTensor:$lhs, NN_FloatTensor:$rhs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_Conv2DOp : NN_Op<"conv2d", [Pure]> {
  let summary = "2-D convolution, NCHW input, FCHW filter, ONNX Conv semantics";
  let description = [{
    `input` is `[N, C, H, W]`, `filter` is `[F, C / groups, KH, KW]`, the
    optional `bias` is `[F]`. `pads` is `[top, left, bottom, right]` as in ONNX
    (`[x1_begin, x2_begin, x1_end, x2_end]`). The result is `[N, F, OH, OW]`
    with `OH = (H + top + bottom - dilation_h * (KH - 1) - 1) / stride_h + 1`.
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$filter,
                       Optional<NN_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       I64Attr:$groups);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $filter (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_LayerNormOp : NN_Op<"layer_norm", [Pure]> {
  let summary = "ONNX LayerNormalization over the dimensions from `axis` on";
  let description = [{
    `y = (x - mean) / sqrt(var + epsilon) * scale + bias`, with mean and
    (population) variance taken over dimensions `axis .. rank-1`. `scale` and
    the optional `bias` have the shape of those trailing dimensions.

    With `out_bits = B` (2..8) the result is `i8` on the symmetric B-bit grid
    with step 1: `clamp(round_half_even(y), -(2^(B-1)-1), 2^(B-1)-1)`, the
    same integers as `lowbit.quantize` with `!quant.uniform<i8<-q:q>:f32,
    1.0>` would give (MergeQuant's step migration, docs/mergequant.md).
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$scale,
                       Optional<NN_FloatTensor>:$bias,
                       I64Attr:$axis, F32Attr:$epsilon,
                       OptionalAttr<I64Attr>:$out_bits);
  let results = (outs NN_NormResult:$result);
  let builders = [
    // The float form (no out_bits).
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input,
                   "::mlir::Value":$scale, "::mlir::Value":$bias,
                   "::mlir::IntegerAttr":$axis, "::mlir::FloatAttr":$epsilon), [{
      build($_builder, $_state, result, input, scale, bias, axis, epsilon,
            ::mlir::IntegerAttr());
    }]>
  ];
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_SoftmaxOp : NN_Op<"softmax", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "softmax along one axis (ONNX opset >= 13 semantics)";
  let arguments = (ins NN_FloatTensor:$input, I64Attr:$axis);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

def NN_RMSNormOp : NN_Op<"rms_norm", [Pure]> {
  let summary = "RMS normalisation over the dimensions from `axis` on (ONNX RMSNormalization)";
  let description = [{
    `y = x / sqrt(mean(x * x) + epsilon) * scale`, the mean taken over
    dimensions `axis .. rank-1` (ONNX `RMSNormalization`, opset 23, and the
    Llama `RMSNorm`); `scale` has the shape of those trailing dimensions.
    `fuse-rms-norm` forms it from the exported Pow / ReduceMean / Add / Sqrt /
    Reciprocal-or-Div / Mul chain. Example:

    ```mlir
    %y = nn.rms_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x6x64xf32>, tensor<64xf32>) -> tensor<2x6x64xf32>
    ```

    `out_bits = B` (2..8) makes the result `i8` on the symmetric B-bit grid
    with step 1, as for `nn.layer_norm`.
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$scale,
                       I64Attr:$axis, F32Attr:$epsilon,
                       OptionalAttr<I64Attr>:$out_bits);
  let results = (outs NN_NormResult:$result);
  let builders = [
    // The float form (no out_bits).
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input,
                   "::mlir::Value":$scale, "::mlir::IntegerAttr":$axis,
                   "::mlir::FloatAttr":$epsilon), [{
      build($_builder, $_state, result, input, scale, axis, epsilon,
            ::mlir::IntegerAttr());
    }]>
  ];
  let assemblyFormat = [{
    $input `,` $scale attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_GeluOp : NN_Op<"gelu", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "GELU activation (ONNX Gelu, opset 20)";
  let description = [{
    `approximate = "none"`: `y = 0.5 * x * (1 + erf(x / sqrt(2)))`;
    `approximate = "tanh"`:
    `y = 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))`,
    as ONNX `Gelu`. `fuse-gelu` forms it from the decomposed Erf and Tanh
    forms.
  }];
  let arguments = (ins NN_FloatTensor:$input,
                       DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

def NN_SiluOp : NN_Op<"silu", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "SiLU (swish) activation: x * sigmoid(x)";
  let description = [{
    `y = x * sigmoid(x) = x / (1 + exp(-x))`, element-wise (ONNX `Swish`
    with alpha 1, opset 24; exporters write `Mul(x, Sigmoid(x))`, which
    `fuse-silu` turns into this op).
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` type($input)
  }];
}

def NN_HardSwishOp : NN_Op<"hard_swish", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "HardSwish activation (ONNX HardSwish): x * relu6(x + 3) / 6";
  let description = [{
    `y = x * max(0, min(1, x / 6 + 1 / 2))` = `x * clamp(x + 3, 0, 6) / 6`,
    element-wise, as ONNX `HardSwish` (opset 14). `fuse-hard-swish` forms it
    from the decomposed Add / Clip / Mul / Div chain (MobileNetV3, PP-OCR).
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` type($input)
  }];
}

def NN_AttentionOp : NN_Op<"attention", [Pure]> {
  let summary = "scaled dot-product attention with grouped key/value heads";
  let description = [{
    `result = softmax(q · kᵀ * scale + mask, axis = -1) · v` per batch and
    query head, where query head `h` reads key/value head
    `h / (Hq / Hkv)` (grouped-query attention; Hkv = Hq is multi-head
    attention). Shapes: `q` [B, Hq, S, D], `k` [B, Hkv, T, D], `v`
    [B, Hkv, T, Dv], the optional additive `mask` broadcastable to
    [B, Hq, S, T] (each dimension 1 or equal), the result [B, Hq, S, Dv].
    `fuse-attention` forms it from the MatMul / Mul-or-Div / Add / Softmax /
    MatMul chain of eager attention; the projections, RoPE, the KV-cache
    concatenation and the mask construction stay outside as the ops that
    produce `q`, `k`, `v` and `mask`, so passes see them. Example:

    ```mlir
    %o = nn.attention %q, %k, %v, %m {scale = 2.500000e-01 : f32} : (tensor<2x4x6x16xf32>, tensor<2x2x9x16xf32>, tensor<2x2x9x16xf32>, tensor<2x1x6x9xf32>) -> tensor<2x4x6x16xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$query, NN_FloatTensor:$key,
                       NN_FloatTensor:$value, Optional<NN_FloatTensor>:$mask,
                       F32Attr:$scale);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`,` $mask^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // LOWBIT_NN_OPS
