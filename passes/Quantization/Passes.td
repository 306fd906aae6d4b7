//===- Passes.td - lowbit quantization passes --------------*- tablegen -*-===//
#ifndef LOWBIT_QUANTIZATION_PASSES
#define LOWBIT_QUANTIZATION_PASSES

include "mlir/Pass/PassBase.td"

def QuantizeWeightsPass : Pass<"quantize-weights", "::mlir::func::FuncOp"> {
  let summary = "Quantize the constant weights of nn.linear and nn.conv2d";
  let description = [{
    Replaces each constant weight by an integer part and scale (and zero /
    offset) tables feeding `lowbit.dequantize_weight`, computed by a
    lib/Numerics quantizer. Convolution filters `[F, C/g, KH, KW]` are
    quantized as `[F, C/g*KH*KW]` matrices. Layers are named by their ONNX
    node (the op's location); `overrides` changes the settings of layers
    whose name matches a glob:
    `overrides="*down_proj*:bits=8;conv_0:skip"`.
    Weights that are not constants are left alone, as are layers already
    quantized. With `fake-quant`, the weight is replaced by its dequantized
    float values instead (quantize-dequantize, for error studies).
  }];
  let options = [
    Option<"method", "method", "std::string", "\"rtn\"",
           "rtn | gaussian-mse | clip-search | gptq | decoupleq">,
    Option<"bits", "bits", "int64_t", "4", "weight bit width, 2..8">,
    Option<"groupSize", "group-size", "int64_t", "128",
           "group size along K; 0 = per channel">,
    Option<"symmetric", "symmetric", "bool", "true",
           "symmetric signed grid (else asymmetric with zero points)">,
    Option<"indivisible", "indivisible", "std::string", "\"error\"",
           "when the group size does not divide a layer's K: error | "
           "per-channel">,
    Option<"overrides", "overrides", "std::string", "\"\"",
           "per-layer settings: GLOB:key=value,...;GLOB:skip (keys: bits, "
           "group-size, method, symmetric)">,
    Option<"hessians", "hessians", "std::string", "\"\"",
           ".npz of per-layer Hessians X·Xᵀ ([K, K], keyed by layer name, or "
           "a calibration sidecar with '<layer>/hessian' entries; needed by "
           "gptq and decoupleq)">,
    Option<"fakeQuant", "fake-quant", "bool", "false",
           "replace weights by their quantize-dequantize float values">,
  ];
  let dependentDialects = ["::lowbit::lb::LowBitDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tosa::TosaDialect"];
}

def QuantizeActivationsPass : Pass<"quantize-activations", "::mlir::func::FuncOp"> {
  let summary = "Quantize the inputs of nn.linear and nn.conv2d (dynamic or calibrated static scales)";
  let description = [{
    Inserts `lowbit.quantize_dynamic` + `lowbit.dequantize_dynamic` in front
    of each `nn.linear` (symmetric, one scale per token = per row, computed at
    run time) and each `nn.conv2d` (one scale for the whole input tensor), so
    the graph computes with exactly quantized activations;
    `lower-to-lowbit` turns the pair and a quantized weight into
    `lowbit.qlinear`. `overrides` sets bits per layer by glob
    (`"*down_proj*:8;*:6"`, first match wins; bits 0 = leave the layer float).

    `mode=static` uses one scale per tensor fixed at compile time from the
    calibration sidecar `stats=FILE.npz` (lib/Calibration/Statistics.h):
    `scale = clip / (2^(bits-1)-1)` with `clip` the layer's calibrated max
    |x| (`percentile=100`) or the given percentile of |x|; the pair is then
    `lowbit.quantize` / `lowbit.dequantize` with a symmetric
    `!quant.uniform<i8<-qmax:qmax>:f32, scale>` (values beyond the clip
    saturate), and `lower-to-lowbit` forms the same exact `lowbit.qlinear`.
    A layer without statistics in the file is an error.
  }];
  let options = [
    Option<"bits", "bits", "int64_t", "8", "activation bit width, 2..8">,
    Option<"overrides", "overrides", "std::string", "\"\"",
           "per-layer bits: GLOB:BITS;... (0 leaves the layer float)">,
    Option<"mode", "mode", "std::string", "\"dynamic\"",
           "dynamic (runtime per-token / per-tensor scales) | static "
           "(calibrated per-tensor scales from stats=)">,
    Option<"stats", "stats", "std::string", "\"\"",
           "calibration sidecar .npz (mode=static)">,
    Option<"percentile", "percentile", "double", "100.0",
           "mode=static: clip at this percentile of |x| (100 = max |x|)">,
    Option<"scale", "scale", "std::string", "\"absmax\"",
           "mode=dynamic: absmax (clip at max |x| of the row) | gaussian-mse "
           "(QuEST: clip at gaussianMseAlpha(bits) * rms of the row, "
           "lowbit.quantize_dynamic's rms_clip)">,
  ];
  let dependentDialects = ["::lowbit::lb::LowBitDialect",
                           "::mlir::quant::QuantDialect",
                           "::mlir::tosa::TosaDialect"];
}

def LowerToLowBitPass : Pass<"lower-to-lowbit", "::mlir::func::FuncOp"> {
  let summary = "Pack quantized weights and form lowbit.qlinear";
  let description = [{
    * `nn.linear(dequantize_dynamic(quantize_dynamic(x)), dequantize_weight(q,
      s[, zero]))` with an integer zero (or none) becomes `lowbit.qlinear` on
      the packed weight (int32 accumulation, one dequantization per output
      and group); a following bias is folded into it.
    * the same with a static `lowbit.dequantize(lowbit.quantize(x))` pair of
      a symmetric per-tensor `!quant.uniform` type (quantize-activations
      mode=static): the integer part comes through `quant.scast`, the scale
      is a constant column. On a layer marked `lowbit.qsm`
      (migrate-quant-steps) whose pair has scale 1 and reads an
      `nn.rms_norm` / `nn.layer_norm`, the integers come from a copy of the
      norm with `out_bits` (i8 result) instead: no quantize op remains
      between the norm and the `lowbit.qlinear`, whose x_scale is ones.
    * `nn.conv2d` (groups = 1) with a per-tensor quantized input and a
      quantized filter becomes an int8 im2col, `lowbit.qlinear` and a
      transpose back to NCHW.
    * Any other `lowbit.dequantize_weight` of a constant integer part (weight-
      only layers, grouped convolutions) reads packed storage instead.
    Packing picks the densest layout for the width (2: int2_crumbs, 3-4:
    int4_nibbles, 5-6: int6_planes, 7-8: int8_bytes; `bit-serial` picks
    bit_planes) and folds at compile time; a row length the layout cannot
    hold is left in i8 containers (reported by weight-memory-report).
  }];
  let options = [
    Option<"bitSerial", "bit-serial", "bool", "false",
           "store weights as 1-bit planes (for bit-serial kernels)">,
  ];
  let dependentDialects = ["::lowbit::lb::LowBitDialect",
                           "::mlir::tosa::TosaDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::quant::QuantDialect"];
}

def WeightMemoryReportPass : Pass<"weight-memory-report", "::mlir::ModuleOp"> {
  let summary = "Print (and optionally write as JSON) weight bytes per layer";
  let description = [{
    For every nn.linear, nn.conv2d and lowbit.qlinear: the weight shape, its
    storage (f32, i8 containers, or packed layout), bytes as float, bytes as
    stored (integer part + scale/zero tables) and the ratio; then model
    totals. Changes nothing.
  }];
  let options = [
    Option<"output", "output", "std::string", "\"\"",
           "also write the report as JSON to this file">,
    Option<"print", "print", "bool", "true",
           "print the table to standard output">,
  ];
}

def MigrateQuantStepsPass : Pass<"migrate-quant-steps", "::mlir::func::FuncOp"> {
  let summary = "MergeQuant QSM: static per-channel activation steps folded into the norm and the weights";
  let description = [{
    For every `nn.rms_norm` / `nn.layer_norm` normalizing the last dimension
    (constant scale and bias) whose result is read by `nn.linear` layers with
    constant f32 weights (one group, like q/k/v), with calibrated statistics
    (`stats=FILE.npz`, keys = the linear layers' names): per input channel j
    a static step `s_j = c_j * absmax_j / qmax`, qmax = 2^(bits-1)-1, with
    `c_j = 1` or, with `clip-search`, the ratio from 1, 0.975, .., 0.5 that
    minimizes the channel's quantization error on the calibrated
    `<layer>/samples` (s_j = 1 for an all-zero channel).

    `fold=true` (Quantization Step Migration): the norm's gamma and beta are
    divided by s (the norm is cloned for the group when other ops read it),
    each weight becomes `W diag(s)`, and a unit-step quantizer
    `lowbit.quantize`/`lowbit.dequantize` with
    `!quant.uniform<i8<-qmax:qmax>:f32, 1.0>` sits between the norm and the
    group, whose layers get the unit attribute `lowbit.qsm`;
    `lower-to-lowbit` then makes the norm produce the integers directly
    (`out_bits`) and forms `lowbit.qlinear` with no quantize op in between.
    `fold=false` is the unfolded reference: norm and weights unchanged, a
    per-channel static pair (per-axis `!quant.uniform` on the last axis with
    the same steps) in front of the group. Both compute the same function up
    to float rounding (docs/mergequant.md).
  }];
  let options = [
    Option<"stats", "stats", "std::string", "\"\"",
           "calibration sidecar .npz (absmax; samples for clip-search)">,
    Option<"bits", "bits", "int64_t", "4", "activation bit width, 2..8">,
    Option<"clipSearch", "clip-search", "bool", "true",
           "per-channel clipping ratio by the quantization error on the "
           "calibrated samples">,
    Option<"fold", "fold", "bool", "true",
           "fold the steps into the norm and the weights (false: per-channel "
           "quantize/dequantize reference)">,
    Option<"statsOut", "stats-out", "std::string", "\"\"",
           "fold=true: also write the statistics of the migrated inputs "
           "X diag(1/s) (absmax, samples, Hessian diag(1/s) H diag(1/s)) "
           "here, for quantize-weights{method=gptq hessians=}">,
  ];
  let dependentDialects = ["::lowbit::lb::LowBitDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::quant::QuantDialect"];
}

def HadamardRotatePass : Pass<"hadamard-rotate", "::mlir::func::FuncOp"> {
  let summary = "QuEST: block Hadamard rotation folded into linear weights";
  let description = [{
    For each group of `nn.linear` layers with constant f32 `[N, K]` weights
    that read one value `X [..., K]`: the weights become
    `W' = W · blockdiag(H_b)` (computed in f64, rounded to f32 once) and the
    group reads `lowbit.hadamard(X) {block = b}` (an online fast
    Walsh-Hadamard transform) instead. `H_b` is the orthonormal Sylvester
    Hadamard matrix (symmetric, its own inverse), so the product is unchanged
    up to float rounding, while outliers of X and W are spread over each
    block before quantization. `block=0` uses `b = K` (K must then be a power
    of two). Layers whose K is not divisible by the block are left alone
    with a remark naming the layer, as are layers with non-constant weights
    and layers already rotated (attribute `lowbit.rotated = b`, set on every
    rotated layer). A producing layer norm / RMS norm stays as it is: the
    rotation is applied after it.
  }];
  let options = [
    Option<"block", "block", "int64_t", "128",
           "Hadamard block size: a power of two >= 2, or 0 for the layer's K">,
  ];
  let dependentDialects = ["::lowbit::lb::LowBitDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // LOWBIT_QUANTIZATION_PASSES
