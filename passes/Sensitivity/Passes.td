//===- Passes.td - lowbit sensitivity passes ---------------*- tablegen -*-===//
#ifndef LOWBIT_PASSES_SENSITIVITY_TD
#define LOWBIT_PASSES_SENSITIVITY_TD

include "mlir/Pass/PassBase.td"

def SensitivityPass : Pass<"sensitivity", "::mlir::func::FuncOp"> {
  let summary = "FlexQ: choose A8 or A6 per nn.linear / nn.conv2d from its "
                "measured output error";
  let description = [{
    For every `nn.linear` with a constant f32 weight [N, K], reads the
    calibration rows X [T, K] of its input (`<layer>/samples` in the sidecar
    `stats=FILE.npz`, captured by calibration next to the Hessian) and
    measures the relative output error of 6- and 8-bit dynamic per-token
    activations with RTN `weight-bits` weights in groups of `group-size`
    (per channel where it does not divide K):

      err_B = || Q_aB(X) Q_w(W)ᵀ - X Wᵀ ||_F / || X Wᵀ ||_F

    Layers are ranked by err_A6 - err_A8 (what promoting the layer to A8
    buys; ties by name). `budget=F` promotes the round(F * L) top-ranked of
    the L layers to A8; `target-error=E` instead promotes every layer whose
    err_A6 exceeds E. Each measured layer gets `lowbit.act_bits = 6 | 8`
    (i64), which `quantize-activations` uses in place of its `bits`
    (its `overrides` still win). `report=FILE.json` lists every layer with
    err_a6, err_a8, rank and the chosen bits. A measured layer without
    samples in the file is an error naming it; linears without a constant
    f32 weight are left alone.

    `nn.conv2d` layers with a constant f32 filter [F, C/G, KH, KW] are
    measured the same way on the captured im2col patches (`<layer>/samples`
    [R, C*KH*KW] of a conv tap, calibrated with the patch Hessian) with the
    filter flattened to [F, C/G*KH*KW] and one activation scale per tensor
    (`<layer>/samples_absmax`: the max |x| of the tensor each patch came
    from), as `quantize-activations` quantizes conv inputs; they are ranked
    together with the linears and get the same attribute. A conv whose
    patches were taken for another geometry is an error.
  }];
  let options = [
    Option<"stats", "stats", "std::string", "\"\"",
           "calibration sidecar .npz with <layer>/samples">,
    Option<"weightBits", "weight-bits", "int64_t", "6",
           "RTN weight bits of the measured format (2..8)">,
    Option<"groupSize", "group-size", "int64_t", "128",
           "RTN weight group size along K (0 = per channel)">,
    Option<"budget", "budget", "double", "-1.0",
           "fraction of the layers promoted to A8, 0..1 (default 0.25 "
           "unless target-error is given)">,
    Option<"targetError", "target-error", "double", "0.0",
           "promote every layer whose A6 error exceeds this (> 0)">,
    Option<"report", "report", "std::string", "\"\"",
           "write the per-layer ranking to this JSON file">,
  ];
}

#endif // LOWBIT_PASSES_SENSITIVITY_TD
