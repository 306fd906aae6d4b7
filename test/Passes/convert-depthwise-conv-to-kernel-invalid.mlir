// convert-depthwise-conv-to-kernel diagnoses bad options, and with
// require-kernel an nn.conv2d it cannot take, naming the reason.

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-depthwise-conv-to-kernel{num-threads=0}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=THREADS
// THREADS: error: convert-depthwise-conv-to-kernel: num-threads must be positive and min-parallel-work not negative

// RUN: lowbit-opt %s --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-depthwise-conv-to-kernel{require-kernel=true}))'

func.func @dense(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x6x6xf32> {
  %w = arith.constant dense<1.0> : tensor<2x2x3x3xf32>
  // expected-error @+1 {{cannot use the depthwise convolution kernel: it is not depthwise}}
  %y = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x6x6xf32>
  return %y : tensor<1x2x6x6xf32>
}
