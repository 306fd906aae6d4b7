// quantize-activations takes a layer's lowbit.act_bits (the sensitivity
// pass's choice) over its default `bits`, for convolutions as for linears;
// overrides still win; an act_bits outside 0 / 2..8 is an error naming the
// layer.

// RUN: split-file %s %t
// RUN: lowbit-opt %t/ok.mlir --quantize-activations=bits=6 | FileCheck %s
// RUN: lowbit-opt %t/ok.mlir "--quantize-activations=bits=6 overrides=conv_a8:4" | FileCheck %s --check-prefix=OVERRIDE
// RUN: not lowbit-opt %t/bad.mlir --quantize-activations=bits=6 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK-LABEL: func.func @convs
// CHECK: lowbit.quantize_dynamic {{.*}} {bits = 8 : i64}
// CHECK: nn.conv2d
// CHECK: lowbit.quantize_dynamic {{.*}} {bits = 6 : i64}
// CHECK: nn.conv2d
// CHECK: lowbit.quantize_dynamic {{.*}} {bits = 8 : i64}
// CHECK: nn.linear

// OVERRIDE-LABEL: func.func @convs
// OVERRIDE: lowbit.quantize_dynamic {{.*}} {bits = 4 : i64}
// OVERRIDE: nn.conv2d
// OVERRIDE: lowbit.quantize_dynamic {{.*}} {bits = 6 : i64}
// OVERRIDE: nn.conv2d

// BAD: error: {{.*}}quantize-activations: lowbit.act_bits of layer 'conv_bad' must be 2..8, got 12

//--- ok.mlir
func.func @convs(%x: tensor<1x2x4x4xf32>, %v: tensor<3x8xf32>) -> (tensor<1x2x4x4xf32>, tensor<3x4xf32>) {
  %f = arith.constant dense<0.5> : tensor<2x2x1x1xf32>
  %a = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, lowbit.act_bits = 8 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32> loc("conv_a8")
  %b = nn.conv2d %a, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32> loc("conv_default")
  %w = arith.constant dense<1.0> : tensor<4x8xf32>
  %y = nn.linear %v, %w {lowbit.act_bits = 8 : i64} : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32> loc("fc_a8")
  return %b, %y : tensor<1x2x4x4xf32>, tensor<3x4xf32>
}

//--- bad.mlir
func.func @bad(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %f = arith.constant dense<0.5> : tensor<2x2x1x1xf32>
  %a = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, lowbit.act_bits = 12 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32> loc("conv_bad")
  return %a : tensor<1x2x4x4xf32>
}
