//===- Passes.td - lowbit conversion passes ----------------*- tablegen -*-===//
#ifndef LOWBIT_CONVERSION_PASSES
#define LOWBIT_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def ConvertNNToLinalgPass : Pass<"convert-nn-to-linalg", "::mlir::func::FuncOp"> {
  let summary = "Lower nn ops to linalg, tensor and tosa for the CPU path";
  let description = [{
    Rewrites every `nn` op into upstream ops that the CPU pipeline lowers
    further: `nn.linear`, `nn.matmul` and `nn.conv2d` become linalg
    contractions and convolutions (bias folded into the accumulator's initial
    value); `nn.layer_norm` and `nn.softmax` become tosa reductions and
    element-wise ops. An nn op left unconverted is an error.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::tosa::TosaDialect", "::mlir::arith::ArithDialect"
  ];
}

def ExpandStridedCopiesPass : Pass<"lowbit-expand-strided-copies", "::mlir::func::FuncOp"> {
  let summary = "Turn memref.copy between non-contiguous buffers into linalg.copy";
  let description = [{
    The LLVM lowering turns a `memref.copy` between two identity-layout
    buffers into `llvm.memcpy`, but any other copy into a call to the
    `memrefCopy` runtime helper. lowbit's CPU path runs without that helper
    library, so this pass rewrites such copies into `linalg.copy`, which
    `convert-linalg-to-loops` then turns into plain loops.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

#endif // LOWBIT_CONVERSION_PASSES
