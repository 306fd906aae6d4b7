// The winograd pass: a 3x3 (and 5x5) stride-1 dense conv with a constant
// filter becomes pad -> lowbit.winograd_input_transform -> batch_matmul with
// the folded filter transform -> lowbit.winograd_output_transform -> slice
// to the real output -> bias. Everything else is left alone.

// RUN: lowbit-opt %s -split-input-file --winograd | FileCheck %s
// RUN: lowbit-opt %s -split-input-file --winograd='m=2 precision=f16' | FileCheck %s --check-prefix=F16
// RUN: lowbit-opt %s -split-input-file --winograd='only=conv_a' | FileCheck %s --check-prefix=ONLY
// RUN: lowbit-opt %s -split-input-file --winograd='m=2 balanced=false' | FileCheck %s --check-prefix=F23

// F(4,3) (the default m = 4): output 7x7 needs 2x2 tiles of 4x4, so the
// input is padded by the conv's pads (1) plus 1 more row/column at the end:
// 7 + 1 + 2 = 10 = 2 * 4 + 2. Tiles = 1 * 2 * 2 = 4, n = 6.
// CHECK-LABEL: func.func @f43_bias_pads
// CHECK: %[[PAD:.*]] = tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 2, 2]
// CHECK: } : tensor<1x2x7x7xf32> to tensor<1x2x10x10xf32>
// CHECK: %[[V:.*]] = lowbit.winograd_input_transform %[[PAD]] {bt = array<f64:
// CHECK-SAME: m = 4 : i64, r = 3 : i64} : tensor<1x2x10x10xf32> -> tensor<6x6x4x2xf32>
// CHECK: %[[U:.*]] = arith.constant dense_resource<conv_a_winograd_filter> : tensor<6x6x2x4xf32>
// CHECK: %[[V3:.*]] = tensor.collapse_shape %[[V]] {{\[\[}}0, 1], [2], [3]] : tensor<6x6x4x2xf32> into tensor<36x4x2xf32>
// CHECK: %[[U3:.*]] = tensor.collapse_shape %[[U]] {{\[\[}}0, 1], [2], [3]] : tensor<6x6x2x4xf32> into tensor<36x2x4xf32>
// CHECK: %[[P:.*]] = linalg.batch_matmul ins(%[[V3]], %[[U3]] : tensor<36x4x2xf32>, tensor<36x2x4xf32>) outs(%{{.*}} : tensor<36x4x4xf32>)
// CHECK: %[[M:.*]] = tensor.expand_shape %[[P]] {{\[\[}}0, 1], [2], [3]] output_shape [6, 6, 4, 4]
// CHECK: %[[Y:.*]] = lowbit.winograd_output_transform %[[M]] {at = array<f64:
// CHECK-SAME: : tensor<6x6x4x4xf32> -> tensor<1x4x8x8xf32>
// CHECK: %[[S:.*]] = tensor.extract_slice %[[Y]][0, 0, 0, 0] [1, 4, 7, 7] [1, 1, 1, 1] : tensor<1x4x8x8xf32> to tensor<1x4x7x7xf32>
// CHECK: %[[B:.*]] = tosa.reshape %arg1, %{{.*}} -> tensor<1x4x1x1xf32>
// CHECK: %[[OUT:.*]] = tosa.add %[[S]], %[[B]]
// CHECK: return %[[OUT]]
// CHECK-NOT: nn.conv2d
// F16-LABEL: func.func @f43_bias_pads
// F16: lowbit.winograd_input_transform
// F16-SAME: m = 2 : i64, precision = "f16", r = 3 : i64} : tensor<1x2x10x10xf32> -> tensor<4x4x16x2xf32>
// F16: lowbit.winograd_output_transform
// F16-SAME: precision = "f16"
// F16-SAME: -> tensor<1x4x8x8xf32>
// ONLY-LABEL: func.func @f43_bias_pads
// Unbalanced F(2,3) on 0, 1, -1 and infinity is Lavin & Gray's transform up
// to the signs of the point-0 and infinity rows/columns (compensated in G):
// Bᵀ = [-1 0 1 0; 0 1 1 0; 0 -1 1 0; 0 -1 0 1], Aᵀ = [1 1 1 0; 0 1 -1 1].
// F23-LABEL: func.func @f43_bias_pads
// F23: lowbit.winograd_input_transform
// F23-SAME: bt_den = array<i64: 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1>, bt_num = array<i64: -1, 0, 1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, -1, 0, 1>
// F23: lowbit.winograd_output_transform
// F23-SAME: at_den = array<i64: 1, 1, 1, 1, 1, 1, 1, 1>, at_num = array<i64: 1, 1, 1, 0, 0, 1, -1, 1>
// ONLY: lowbit.winograd_input_transform
func.func @f43_bias_pads(%x: tensor<1x2x7x7xf32>, %b: tensor<4xf32>) -> tensor<1x4x7x7xf32> {
  %f = arith.constant dense<1.0> : tensor<4x2x3x3xf32>
  %y = nn.conv2d %x, %f, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x7x7xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x7x7xf32>
    loc("conv_a")
  return %y : tensor<1x4x7x7xf32>
}

// -----

// F(4,5), N = 2, no pads, no bias: output 8x4 is whole tiles (no slice);
// input 12x8 = (2 x 4 + 4) x (1 x 4 + 4), tiles = 2 * 2 * 1 = 4, n = 8.
// CHECK-LABEL: func.func @f45_batch2
// CHECK-NOT: tensor.pad
// CHECK: lowbit.winograd_input_transform %arg0
// CHECK-SAME: m = 4 : i64, r = 5 : i64} : tensor<2x3x12x8xf32> -> tensor<8x8x4x3xf32>
// CHECK: linalg.batch_matmul {{.*}} : tensor<64x4x3xf32>, tensor<64x3x5xf32>) outs(%{{.*}} : tensor<64x4x5xf32>)
// CHECK: %[[Y:.*]] = lowbit.winograd_output_transform
// CHECK-SAME: : tensor<8x8x4x5xf32> -> tensor<2x5x8x4xf32>
// CHECK-NOT: tensor.extract_slice
// CHECK: return %[[Y]]
// ONLY-LABEL: func.func @f45_batch2
// ONLY: nn.conv2d
// ONLY-NOT: lowbit.winograd_input_transform
func.func @f45_batch2(%x: tensor<2x3x12x8xf32>) -> tensor<2x5x8x4xf32> {
  %f = arith.constant dense<0.5> : tensor<5x3x5x5xf32>
  %y = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x3x12x8xf32>, tensor<5x3x5x5xf32>) -> tensor<2x5x8x4xf32>
    loc("conv_b")
  return %y : tensor<2x5x8x4xf32>
}

// -----

// 12x12 output at F(4,3): 3 x 3 = 9 tiles, so the products' rows are padded
// with zeros to 12 (a multiple of the CPU register tile's 4 rows) and the
// 9 real rows sliced out again before the output transform. (A tile count
// that is a multiple of 4, as in @f43_bias_pads and @f45_batch2, has
// neither.)
// CHECK-LABEL: func.func @rows_padded
// CHECK: %[[V:.*]] = lowbit.winograd_input_transform
// CHECK-SAME: -> tensor<6x6x9x2xf32>
// CHECK: %[[V3:.*]] = tensor.collapse_shape %[[V]] {{\[\[}}0, 1], [2], [3]] : tensor<6x6x9x2xf32> into tensor<36x9x2xf32>
// CHECK: %[[VP:.*]] = tensor.pad %[[V3]] low[0, 0, 0] high[0, 3, 0]
// CHECK: } : tensor<36x9x2xf32> to tensor<36x12x2xf32>
// CHECK: %[[P:.*]] = linalg.batch_matmul ins(%[[VP]], %{{.*}} : tensor<36x12x2xf32>, tensor<36x2x3xf32>) outs(%{{.*}} : tensor<36x12x3xf32>)
// CHECK: %[[PS:.*]] = tensor.extract_slice %[[P]][0, 0, 0] [36, 9, 3] [1, 1, 1] : tensor<36x12x3xf32> to tensor<36x9x3xf32>
// CHECK: %[[M:.*]] = tensor.expand_shape %[[PS]] {{\[\[}}0, 1], [2], [3]] output_shape [6, 6, 9, 3]
// CHECK: lowbit.winograd_output_transform %[[M]]
// CHECK-SAME: : tensor<6x6x9x3xf32> -> tensor<1x3x12x12xf32>
// CHECK-NOT: tensor.extract_slice
func.func @rows_padded(%x: tensor<1x2x12x12xf32>) -> tensor<1x3x12x12xf32> {
  %f = arith.constant dense<0.25> : tensor<3x2x3x3xf32>
  %y = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x12x12xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x12x12xf32>
    loc("conv_p")
  return %y : tensor<1x3x12x12xf32>
}

// -----

// Left alone: stride 2, dilation 2, groups 2, a 1x1 filter, a 3x5 filter, a
// filter that is not a constant.
// CHECK-LABEL: func.func @leave_alone
// CHECK-NOT: lowbit.winograd
// CHECK-COUNT-6: nn.conv2d
// CHECK-NOT: lowbit.winograd
func.func @leave_alone(%x: tensor<1x4x8x8xf32>, %fa: tensor<4x4x3x3xf32>) -> (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>, tensor<1x4x6x6xf32>, tensor<1x4x8x8xf32>, tensor<1x4x6x4xf32>, tensor<1x4x6x6xf32>) {
  %f = arith.constant dense<1.0> : tensor<4x4x3x3xf32>
  %fg = arith.constant dense<1.0> : tensor<4x2x3x3xf32>
  %f1 = arith.constant dense<1.0> : tensor<4x4x1x1xf32>
  %f35 = arith.constant dense<1.0> : tensor<4x4x3x5xf32>
  %s = nn.conv2d %x, %f {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32>
  %d = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32>
  %g = nn.conv2d %x, %fg {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  %p = nn.conv2d %x, %f1 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x8x8xf32>
  %r = nn.conv2d %x, %f35 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<4x4x3x5xf32>) -> tensor<1x4x6x4xf32>
  %a = nn.conv2d %x, %fa {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %s, %d, %g, %p, %r, %a : tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>, tensor<1x4x6x6xf32>, tensor<1x4x8x8xf32>, tensor<1x4x6x4xf32>, tensor<1x4x6x6xf32>
}
