// quantize-activations scale=gaussian-mse (QuEST): the dynamic per-token
// pair gets rms_clip = the MSE-optimal clip of the symmetric grid for a
// standard normal, per layer bit width. At 2 bits (levels -s, 0, s) that is
// Max's (1960) optimum uniform 3-level step, 1.224 sigma; at 4 bits the
// 15-level grid clips between 2.3 and 2.514 sigma (the 16-level mid-rise
// optimum). Lowering and numerics: hadamard-to-linalg.mlir,
// test/python/test_hadamard.py.

// RUN: split-file %s %t
// RUN: lowbit-opt %t/main.mlir "--quantize-activations=bits=2 scale=gaussian-mse overrides=fc4:4" | FileCheck %s --check-prefix=GMSE
// The default (absmax) sets no rms_clip.
// RUN: lowbit-opt %t/main.mlir "--quantize-activations=bits=4" | FileCheck %s --check-prefix=ABS
// Convolutions: one rms over the whole input (per-tensor dynamic scale).
// RUN: lowbit-opt %t/conv.mlir "--quantize-activations=bits=4 scale=gaussian-mse" | FileCheck %s --check-prefix=CONV
// lower-to-lowbit folds the pair into lowbit.qlinear as for absmax scales.
// RUN: lowbit-opt %t/main.mlir "--pass-pipeline=builtin.module(func.func(quantize-weights{bits=4 group-size=0}, quantize-activations{bits=4 scale=gaussian-mse}, lower-to-lowbit))" | FileCheck %s --check-prefix=LOWER

// Diagnostics.
// RUN: not lowbit-opt %t/main.mlir "--quantize-activations=scale=gauss" 2>&1 | FileCheck %s --check-prefix=BADSCALE
// RUN: not lowbit-opt %t/main.mlir "--quantize-activations=scale=gaussian-mse mode=static stats=x.npz" 2>&1 | FileCheck %s --check-prefix=STATIC
// BADSCALE: error: quantize-activations: scale must be absmax or gaussian-mse, got 'gauss'
// STATIC: error: quantize-activations: scale=gaussian-mse applies to mode=dynamic only

//--- main.mlir
// GMSE-LABEL: func.func @main
// GMSE: lowbit.quantize_dynamic %arg0 {bits = 2 : i64, rms_clip = 1.224{{[0-9]*}} : f64}
// GMSE: nn.linear
// GMSE: lowbit.quantize_dynamic %arg0 {bits = 4 : i64, rms_clip = 2.{{[34][0-9]*}} : f64}
// GMSE: nn.linear
// ABS-LABEL: func.func @main
// ABS-NOT: rms_clip
// LOWER-LABEL: func.func @main
// LOWER: lowbit.quantize_dynamic %arg0 {bits = 4 : i64, rms_clip = 2.{{[34][0-9]*}} : f64}
// LOWER: lowbit.qlinear
// LOWER-NOT: nn.linear
func.func @main(%x: tensor<3x8xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>) {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [1.0, -2.0, 3.0, -4.0, 5.0, -6.0, 7.0, -8.0], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [-1.0, 0.0, 1.0, 0.0, -1.0, 0.0, 1.0, 0.0]]> : tensor<4x8xf32>
  %y = nn.linear %x, %w : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32> loc("fc2")
  %z = nn.linear %x, %w : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32> loc("fc4")
  return %y, %z : tensor<3x4xf32>, tensor<3x4xf32>
}

//--- conv.mlir
// CONV-LABEL: func.func @conv
// CONV: %[[R:.*]] = tosa.reshape %arg0, %{{.*}} : (tensor<1x3x8x8xf32>, !tosa.shape<2>) -> tensor<1x192xf32>
// CONV: lowbit.quantize_dynamic %[[R]] {bits = 4 : i64, rms_clip = 2.{{[34][0-9]*}} : f64} : tensor<1x192xf32> -> tensor<1x192xi8>, tensor<1x1xf32>
// CONV: nn.conv2d
func.func @conv(%x: tensor<1x3x8x8xf32>, %f: tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %0 = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> loc("conv")
  return %0 : tensor<1x4x6x6xf32>
}
