//===- Passes.td - lowbit graph fusion passes --------------*- tablegen -*-===//
#ifndef LOWBIT_FUSION_PASSES
#define LOWBIT_FUSION_PASSES

include "mlir/Pass/PassBase.td"

def FuseRMSNormPass : Pass<"fuse-rms-norm", "::mlir::func::FuncOp"> {
  let summary = "Decomposed RMSNorm -> nn.rms_norm";
  let description = [{
    Finds `gamma * (x * 1 / sqrt(mean(x^2) + eps))` and
    `gamma * (x / sqrt(mean(x^2) + eps))` over the last axis, in the form
    the importer gives the exported Pow (or x * x) / ReduceMean / Add / Sqrt
    / Reciprocal (or Div, or Rsqrt) / Mul / Mul chain, with the factors in
    any order and nesting, and replaces it by
    `nn.rms_norm x, gamma {axis = rank - 1, epsilon = eps}`. `gamma` is any
    value of shape [N] or [1, ..., N] (N the last dimension). Left alone: a
    mean over another axis, a square or normaliser of a different tensor,
    an epsilon that is not a scalar constant, a norm without gamma.
  }];
  let dependentDialects = ["::lowbit::nn::NNDialect", "::mlir::tosa::TosaDialect"];
}

def FuseLayerNormPass : Pass<"fuse-layer-norm", "::mlir::func::FuncOp"> {
  let summary = "Decomposed LayerNorm -> nn.layer_norm";
  let description = [{
    Finds `(x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * gamma + beta`
    over the last axis (the exported ReduceMean / Sub / Pow / ReduceMean /
    Add / Sqrt / Div / Mul / Add chain of opset < 17 LayerNorm, also with
    the division written as a product with a Reciprocal, and without beta)
    and replaces it by `nn.layer_norm x, gamma, beta {axis = rank - 1}`.
    Left alone: means over other axes, a centring by another tensor's mean,
    a variance of a different tensor.
  }];
  let dependentDialects = ["::lowbit::nn::NNDialect", "::mlir::tosa::TosaDialect"];
}

def FuseGeluPass : Pass<"fuse-gelu", "::mlir::func::FuncOp"> {
  let summary = "Erf and Tanh GELU -> nn.gelu";
  let description = [{
    Finds `0.5 * x * (1 + erf(x / sqrt(2)))` (also `x * (1 / sqrt(2))`) and
    `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))` (x^3 as Pow
    or x * x * x), factors in any order, and replaces them by `nn.gelu x`
    with `approximate = "none"` or `"tanh"`. `forms` picks which forms are
    fused (`all`, `erf` or `tanh`). Constants must match to a relative
    1e-4. Left alone: a different scale inside erf, a missing 0.5, a product
    with another tensor.
  }];
  let options = [
    Option<"forms", "forms", "std::string", "\"all\"",
           "which GELU forms to fuse: all | erf | tanh">,
  ];
  let dependentDialects = ["::lowbit::nn::NNDialect"];
}

def FuseSiluPass : Pass<"fuse-silu", "::mlir::func::FuncOp"> {
  let summary = "x * sigmoid(x) -> nn.silu";
  let description = [{
    Replaces `Mul(x, Sigmoid(x))` (either operand order, same shape) by
    `nn.silu x`. Left alone: `y * sigmoid(x)` for y != x (the gated MLP's
    up-projection product), `x * sigmoid(a * x)` (QuickGELU).
  }];
  let dependentDialects = ["::lowbit::nn::NNDialect"];
}

def FuseHardSwishPass : Pass<"fuse-hard-swish", "::mlir::func::FuncOp"> {
  let summary = "x * Clip(x + 3, 0, 6) / 6 -> nn.hard_swish";
  let description = [{
    Replaces the decomposed HardSwish of MobileNetV3-style exports,
    `Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)` or the same product with a
    factor 1/6 (factors in any order), by `nn.hard_swish x`. Left alone: a
    Clip to other bounds, an offset other than 3, `y * relu6(x + 3) / 6`
    with y != x, and `x * HardSigmoid(s)` gating (PP-OCR's SE blocks).
  }];
  let dependentDialects = ["::lowbit::nn::NNDialect"];
}

def FoldBatchNormPass : Pass<"fold-batch-norm", "::mlir::func::FuncOp"> {
  let summary = "Fold an inference BatchNormalization into the preceding conv";
  let description = [{
    The importer turns BatchNormalization with constant statistics into a
    per-channel product and sum (`y * scale + shift`, both constants of
    shape [1, F, 1, 1]). When such a product and sum (any constant
    per-output-channel or scalar `scale` and `shift`: BatchNorm, and the
    learned affine scales of re-parameterised blocks such as PP-OCR's
    MobileOne) follow an `nn.conv2d` whose filter (and bias, if any) are f32
    constants and whose result has no other use, the scale is folded into
    the filter (`w[f] * scale[f]`) and the shift into the bias
    (`b[f] * scale[f] + shift[f]`); the new constants are named
    `<conv>_folded_filter` / `_folded_bias`. Left alone: a conv whose result
    is used elsewhere too, a non-constant filter, a scale or shift that is
    not per output channel, an affine map after anything but a conv.
  }];
  let dependentDialects = ["::lowbit::nn::NNDialect"];
}

def FuseAttentionPass : Pass<"fuse-attention", "::mlir::func::FuncOp"> {
  let summary = "Eager attention (Q·Kᵀ, scale, mask, Softmax, ·V) -> nn.attention";
  let description = [{
    Finds `MatMul(Softmax(MatMul(q, kᵀ) * c + mask, axis = -1), v)` on rank-4
    tensors (the scale as a product with, or a division by, a scalar
    constant, or absent; the additive mask optional and broadcastable),
    every intermediate used once, and replaces it by
    `nn.attention q, k, v, mask {scale}`. `k` is the source of the `kᵀ`
    transpose (a transpose is inserted when there is none). When K and V
    are both the exported repeat_kv of grouped-query attention
    (Unsqueeze / Expand / Reshape of [B, Hkv, T, D]), the un-repeated
    tensors become the operands. Everything that produces q, k, v and the
    mask (projections, RoPE, the KV-cache Concat, the mask construction)
    stays visible. Left alone: a softmax over another axis, a score or
    probability tensor used elsewhere too, a scale that is not a constant.
  }];
  let dependentDialects = ["::lowbit::nn::NNDialect", "::mlir::tosa::TosaDialect"];
}

#endif // LOWBIT_FUSION_PASSES
