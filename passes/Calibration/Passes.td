//===- Passes.td - lowbit calibration passes ---------------*- tablegen -*-===//
#ifndef LOWBIT_CALIBRATION_PASSES
#define LOWBIT_CALIBRATION_PASSES

include "mlir/Pass/PassBase.td"

def InsertObserversPass : Pass<"insert-observers", "::mlir::func::FuncOp"> {
  let summary = "Put lowbit.observe taps on the inputs of the layers";
  let description = [{
    Adds a `lowbit.observe` on the f32 input of every `nn.linear`
    (channels = last dimension, with the Hessian request unless
    `hessians=false`) and `nn.conv2d` (channels = dimension 1; unless
    `hessians=false`, the tap carries the conv's geometry as
    `lowbit.conv_patches = {kernel, strides, pads, dilations, groups}`, which
    asks calibration for the im2col patch Hessian per filter group; a conv
    whose patch length C/groups * KH * KW is above 4096 gets a warning and
    no request), and, when
    `ops` lists `matmul`, on both operands of `nn.matmul` (the right one
    named `<layer>.rhs`, channels = its K dimension). Taps are named after
    the layer (the ONNX node name in the op's location), the key used by the
    calibration statistics and by `quantize-weights{hessians=}` /
    `quantize-activations{mode=static}`. A value that already has a tap of
    that name is left alone, so the pass is idempotent.
  }];
  let options = [
    Option<"ops", "ops", "std::string", "\"linear,conv2d\"",
           "comma-separated layer kinds to tap: linear, conv2d, matmul">,
    Option<"hessians", "hessians", "bool", "true",
           "ask for the Hessian x xᵀ of nn.linear inputs and the patch "
           "Hessian of nn.conv2d inputs">,
  ];
  let dependentDialects = ["::lowbit::lb::LowBitDialect"];
}

def ObserversToResultsPass : Pass<"observers-to-results", "::mlir::ModuleOp"> {
  let summary = "Turn lowbit.observe taps into extra results of the entry function";
  let description = [{
    For the calibration run: every `lowbit.observe` of the module's single
    public function is erased and its input appended to the function's
    results, in program order. The result carries the tap's settings as
    result attributes (`lowbit.observe` = [names], `lowbit.channel_axis`,
    `lowbit.hessian`) and `onnx.name` = `observe:<first name>`, so the
    calibration driver can tell which output feeds which statistics. A value
    is returned only once: taps of a value already returned (another tap's,
    e.g. q/k/v projections reading one input, or a model output) add their
    name to that result's list.
  }];
}

def SmoothPass : Pass<"smooth", "::mlir::func::FuncOp"> {
  let summary = "SmoothQuant: move activation outliers into the weights";
  let description = [{
    For every value X read by `nn.linear` layers with constant f32 weights
    (q/k/v reading one input form one group), with calibrated statistics
    (`stats=FILE.npz`, the sidecar of `Module::calibrate`):

      s_j = max|X_j|^alpha / max|W_j|^(1-alpha)

    (max|W_j| over the rows of all the group's weights; s_j = 1 where either
    max is 0). Every weight column j is multiplied by s_j, and X is divided
    by s: folded into the producing `nn.layer_norm`'s scale and bias when the
    layer norm normalizes the last dimension and the group's layers are its
    only users; otherwise by a `tosa.mul` with 1/s in front of the group
    (post-LN transformers, whose LayerNorm output also feeds the residual).
    The product is unchanged up to float rounding.

    `search=true` (SmoothQuant+ for weight-only quantization) picks alpha per
    group from `alphas` by the calibrated output error of RTN `bits` /
    `group-size` weights: with W' = W diag(s) and its quantization Q(W'),
    loss = sum over the group of tr((W - Q(W') D⁻¹) H (W - Q(W') D⁻¹)ᵀ),
    D = diag(s), H = the layer Hessian sum x xᵀ; alpha = 0 (s = 1 / max|W_j|)
    and the unsmoothed weights (s = 1) compete too. The chosen alpha is left
    on each layer as `lowbit.smooth_alpha` (-1 = not smoothed).
    Statistics in the file describe the unsmoothed activations: run `smooth`
    before `quantize-activations{mode=static}` or GPTQ only with fresh
    statistics, or with the ones `stats-out=FILE` writes: the smoothed
    layers' max |x| and sample rows divided by s and their Hessians
    diag(1/s) H diag(1/s) (the |x| histogram and percentiles are left as
    they were, they cannot be rescaled per channel).
  }];
  let options = [
    Option<"alpha", "alpha", "double", "0.5", "migration strength, 0..1">,
    Option<"stats", "stats", "std::string", "\"\"",
           "calibration sidecar .npz (absmax; hessian for search)">,
    Option<"search", "search", "bool", "false",
           "choose alpha per group by the Hessian loss of RTN weights">,
    Option<"bits", "bits", "int64_t", "4", "search: RTN weight bits">,
    Option<"groupSize", "group-size", "int64_t", "128",
           "search: RTN group size (0 = per channel; per channel where it "
           "does not divide K)">,
    Option<"alphas", "alphas", "std::string",
           "\"0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1\"",
           "search: candidate alphas, comma-separated">,
    Option<"statsOut", "stats-out", "std::string", "\"\"",
           "also write the statistics of the smoothed inputs (max |x| and "
           "samples / s, Hessian diag(1/s) H diag(1/s)) to this .npz, for "
           "quantize-weights{hessians=} after smoothing">,
  ];
  let dependentDialects = ["::mlir::tosa::TosaDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // LOWBIT_CALIBRATION_PASSES
