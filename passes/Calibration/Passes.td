//===- Passes.td - lowbit calibration passes ---------------*- tablegen -*-===//
#ifndef LOWBIT_CALIBRATION_PASSES
#define LOWBIT_CALIBRATION_PASSES

include "mlir/Pass/PassBase.td"

def InsertObserversPass : Pass<"insert-observers", "::mlir::func::FuncOp"> {
  let summary = "Put lowbit.observe taps on the inputs of the layers";
  let description = [{
    Adds a `lowbit.observe` on the f32 input of every `nn.linear`
    (channels = last dimension, with the Hessian request unless
    `hessians=false`) and `nn.conv2d` (channels = dimension 1), and, when
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
           "ask for the Hessian x xᵀ of nn.linear inputs">,
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

#endif // LOWBIT_CALIBRATION_PASSES
