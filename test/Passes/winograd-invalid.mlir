// Bad winograd options: an error naming the option, non-zero exit, no crash.

// RUN: not lowbit-opt %s --winograd='m=0' 2>&1 | FileCheck %s --check-prefix=M0
// RUN: not lowbit-opt %s --winograd='precision=bf16' 2>&1 | FileCheck %s --check-prefix=PREC
// RUN: not lowbit-opt %s --winograd='points=chebyshev' 2>&1 | FileCheck %s --check-prefix=SET
// RUN: not lowbit-opt %s --winograd='points=0,1,1/0' 2>&1 | FileCheck %s --check-prefix=PARSE
// RUN: not lowbit-opt %s --winograd='points=0,1,-1,1,2' 2>&1 | FileCheck %s --check-prefix=REPEAT
// RUN: not lowbit-opt %s --winograd='m=4 points=0,1,-1' 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not lowbit-opt %s --winograd='m=4 points=nova' 2>&1 | FileCheck %s --check-prefix=NOSET
// The 3x3 conv alone is fine with the same nova option.
// RUN: lowbit-opt %s --winograd='m=4 points=nova only=conv3' | FileCheck %s --check-prefix=OK

// M0: error: winograd: option 'm' must be in 1..16, got 0
// PREC: error: winograd: option 'precision' must be f32 or f16, got 'bf16'
// SET: error: winograd: option 'points': 'chebyshev' is neither standard, nova, ours nor a list of points (integers or p/q, comma separated): cannot parse 'chebyshev'
// PARSE: error: winograd: option 'points': '0,1,1/0' is neither standard, nova, ours nor a list of points (integers or p/q, comma separated): cannot parse '1/0'
// REPEAT: error: winograd: option 'points': point 1 is repeated in '0,1,-1,1,2'
// COUNT: error: loc("conv3"): winograd: option 'points': F(4, 3) needs n - 1 = 5 finite points, the list has 3
// NOSET: error: loc("conv5"): winograd: option 'points': point set 'nova' has no points for F(4, 5)
// OK: lowbit.winograd_input_transform
// OK-SAME: m = 4 : i64, r = 3 : i64
// OK: nn.conv2d

func.func @two_convs(%x: tensor<1x2x8x8xf32>) -> (tensor<1x2x6x6xf32>, tensor<1x2x4x4xf32>) {
  %f3 = arith.constant dense<1.0> : tensor<2x2x3x3xf32>
  %f5 = arith.constant dense<1.0> : tensor<2x2x5x5xf32>
  %a = nn.conv2d %x, %f3 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x6x6xf32>
    loc("conv3")
  %b = nn.conv2d %x, %f5 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8xf32>, tensor<2x2x5x5xf32>) -> tensor<1x2x4x4xf32>
    loc("conv5")
  return %a, %b : tensor<1x2x6x6xf32>, tensor<1x2x4x4xf32>
}
