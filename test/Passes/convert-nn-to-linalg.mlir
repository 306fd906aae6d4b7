// convert-nn-to-linalg: each nn op becomes linalg/tensor/tosa ops (bias
// folded into the accumulator's initial value); a function without nn ops is
// left unchanged; an nn op on a dynamically shaped tensor is rejected with an
// error at that op.

// RUN: lowbit-opt %s -split-input-file --convert-nn-to-linalg -verify-diagnostics | FileCheck %s

// y[m, n] += x[m, k] * w[n, k] over the flattened [6, 8] input; the bias is
// broadcast into the accumulator.
// CHECK-DAG: #[[LX:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[LW:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[LY:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>, %[[W:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK-NOT: nn.
// CHECK: %[[X2:.*]] = tosa.reshape %[[X]], %{{.*}} : (tensor<2x3x8xf32>, !tosa.shape<2>) -> tensor<6x8xf32>
// CHECK: %[[INIT:.*]] = linalg.broadcast ins(%[[B]] : tensor<4xf32>) outs(%{{.*}} : tensor<6x4xf32>) dimensions = [0]
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[LX]], #[[LW]], #[[LY]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X2]], %[[W]] : tensor<6x8xf32>, tensor<4x8xf32>) outs(%[[INIT]] : tensor<6x4xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[R:.*]] = tosa.reshape %[[Y]], %{{.*}} -> tensor<2x3x4xf32>
// CHECK: return %[[R]]
func.func @linear(%x: tensor<2x3x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>) -> tensor<2x3x4xf32> {
  %0 = nn.linear %x, %w, %b : (tensor<2x3x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// Without a bias the accumulator starts at zero.
// CHECK-LABEL: func.func @linear_no_bias
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<4x16xf32>)
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: outs(%[[INIT]] : tensor<4x16xf32>)
func.func @linear_no_bias(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) -> tensor<4x16xf32> {
  %0 = nn.linear %x, %w : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

// Batch broadcasting: the lhs batch dim of size 1 reads index 0, the rhs's
// missing leading batch dim is dropped from its map.
// CHECK-DAG: #[[MA:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, 0, d2, d4)>
// CHECK-DAG: #[[MB:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d4, d3)>
// CHECK-DAG: #[[MC:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @matmul
// CHECK: linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[MA]], #[[MB]], #[[MC]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<2x1x4x8xf32>, tensor<3x8x5xf32>) outs(%{{.*}} : tensor<2x3x4x5xf32>)
// CHECK-NOT: nn.matmul
func.func @matmul(%a: tensor<2x1x4x8xf32>, %b: tensor<3x8x5xf32>) -> tensor<2x3x4x5xf32> {
  %0 = nn.matmul %a, %b : (tensor<2x1x4x8xf32>, tensor<3x8x5xf32>) -> tensor<2x3x4x5xf32>
  return %0 : tensor<2x3x4x5xf32>
}

// -----

// groups = 1 with padding: tensor.pad, then conv_2d_nchw_fchw accumulating
// into the broadcast bias.
// CHECK-LABEL: func.func @conv_padded
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x8x8xf32>, %[[F:.*]]: tensor<4x3x3x3xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK: %[[P:.*]] = tensor.pad %[[X]] low[0, 0, 1, 2] high[0, 0, 1, 0]
// CHECK: } : tensor<1x3x8x8xf32> to tensor<1x3x10x10xf32>
// CHECK: %[[INIT:.*]] = linalg.broadcast ins(%[[B]] : tensor<4xf32>) outs(%{{.*}} : tensor<1x4x4x4xf32>) dimensions = [0, 2, 3]
// CHECK: linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%[[P]], %[[F]] : tensor<1x3x10x10xf32>, tensor<4x3x3x3xf32>) outs(%[[INIT]] : tensor<1x4x4x4xf32>)
func.func @conv_padded(%x: tensor<1x3x8x8xf32>, %f: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x4x4xf32> {
  %0 = nn.conv2d %x, %f, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 2, 1, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// -----

// No padding, no tensor.pad; dilations carry over.
// CHECK-LABEL: func.func @conv_unpadded
// CHECK-NOT: tensor.pad
// CHECK: linalg.conv_2d_nchw_fchw {dilations = dense<2> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>)
func.func @conv_unpadded(%x: tensor<1x3x8x8xf32>, %f: tensor<4x3x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %0 = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// -----

// f16: the convolution sums in f32 (bias extended, the named op extends its
// f16 operands) and the result is rounded to f16 once.
// CHECK-LABEL: func.func @conv_f16
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x8x8xf16>, %[[F:.*]]: tensor<4x3x3x3xf16>, %[[B:.*]]: tensor<4xf16>)
// CHECK: %[[B32:.*]] = tosa.cast %[[B]] : (tensor<4xf16>) -> tensor<4xf32>
// CHECK: %[[INIT:.*]] = linalg.broadcast ins(%[[B32]] : tensor<4xf32>) outs(%{{.*}} : tensor<1x4x6x6xf32>)
// CHECK: %[[Y:.*]] = linalg.conv_2d_nchw_fchw {{.*}} ins(%[[X]], %[[F]] : tensor<1x3x8x8xf16>, tensor<4x3x3x3xf16>) outs(%[[INIT]] : tensor<1x4x6x6xf32>)
// CHECK: %[[R:.*]] = tosa.cast %[[Y]] : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf16>
// CHECK: return %[[R]]
func.func @conv_f16(%x: tensor<1x3x8x8xf16>, %f: tensor<4x3x3x3xf16>, %b: tensor<4xf16>) -> tensor<1x4x6x6xf16> {
  %0 = nn.conv2d %x, %f, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf16>, tensor<4x3x3x3xf16>, tensor<4xf16>) -> tensor<1x4x6x6xf16>
  return %0 : tensor<1x4x6x6xf16>
}

// -----

// groups = 2: input [N, G, C/G, H, W], filter [G, F/G, C/G, KH, KW],
// output [N, G, F/G, OH, OW], then back to NCHW. The bias becomes [G, F/G].
// CHECK-LABEL: func.func @conv_grouped
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x8x8xf32>, %[[F:.*]]: tensor<8x2x3x3xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK-DAG: %[[X5:.*]] = tosa.reshape %[[X]], %{{.*}} -> tensor<1x2x2x8x8xf32>
// CHECK-DAG: %[[F5:.*]] = tosa.reshape %[[F]], %{{.*}} -> tensor<2x4x2x3x3xf32>
// CHECK-DAG: %[[B2:.*]] = tosa.reshape %[[B]], %{{.*}} -> tensor<2x4xf32>
// CHECK: %[[INIT:.*]] = linalg.broadcast ins(%[[B2]] : tensor<2x4xf32>) outs(%{{.*}} : tensor<1x2x4x6x6xf32>) dimensions = [0, 3, 4]
// CHECK: %[[Y:.*]] = linalg.conv_2d_ngchw_gfchw {{.*}} ins(%[[X5]], %[[F5]] : tensor<1x2x2x8x8xf32>, tensor<2x4x2x3x3xf32>) outs(%[[INIT]] : tensor<1x2x4x6x6xf32>)
// CHECK: tosa.reshape %[[Y]], %{{.*}} -> tensor<1x8x6x6xf32>
// CHECK-NOT: linalg.conv_2d_nchw_fchw
func.func @conv_grouped(%x: tensor<1x4x8x8xf32>, %f: tensor<8x2x3x3xf32>, %b: tensor<8xf32>) -> tensor<1x8x6x6xf32> {
  %0 = nn.conv2d %x, %f, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<8x2x3x3xf32>, tensor<8xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

// Mean and variance by tosa.reduce_sum over the normalised dims times
// 1/count (count = 4 * 8 = 32), then rsqrt, scale and bias.
// CHECK-LABEL: func.func @layer_norm
// CHECK: %[[INV:.*]] = "tosa.const"() <{values = dense<3.125000e-02> : tensor<1x1x1xf32>}>
// CHECK: tosa.reduce_sum %{{.*}} {axis = 1 : i32} : (tensor<2x4x8xf32>) -> tensor<2x1x8xf32>
// CHECK: tosa.reduce_sum %{{.*}} {axis = 2 : i32} : (tensor<2x1x8xf32>) -> tensor<2x1x1xf32>
// CHECK: tosa.mul %{{.*}}, %[[INV]]
// CHECK: tosa.sub
// CHECK: "tosa.const"() <{values = dense<9.99999974E-6> : tensor<1x1x1xf32>}>
// CHECK: tosa.rsqrt
// CHECK: tosa.reshape %{{.*}} -> tensor<1x4x8xf32>
// CHECK: tosa.mul
// CHECK: tosa.add {{.*}} -> tensor<2x4x8xf32>
// CHECK-NEXT: return
func.func @layer_norm(%x: tensor<2x4x8xf32>, %s: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<2x4x8xf32> {
  %0 = nn.layer_norm %x, %s, %b {axis = 1 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}

// -----

// exp(x - max) / sum along the axis.
// CHECK-LABEL: func.func @softmax
// CHECK-SAME: (%[[X:.*]]: tensor<3x5xf32>)
// CHECK: %[[MAX:.*]] = tosa.reduce_max %[[X]] {axis = 0 : i32} : (tensor<3x5xf32>) -> tensor<1x5xf32>
// CHECK: %[[SH:.*]] = tosa.sub %[[X]], %[[MAX]]
// CHECK: %[[E:.*]] = tosa.exp %[[SH]]
// CHECK: %[[SUM:.*]] = tosa.reduce_sum %[[E]] {axis = 0 : i32}
// CHECK: %[[INV:.*]] = tosa.reciprocal %[[SUM]]
// CHECK: %[[Y:.*]] = tosa.mul %[[E]], %[[INV]], %{{.*}} : (tensor<3x5xf32>, tensor<1x5xf32>, tensor<1xi8>) -> tensor<3x5xf32>
// CHECK: return %[[Y]]
func.func @softmax(%x: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %0 = nn.softmax %x {axis = 0 : i64} : tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

// No nn ops: nothing changes.
// CHECK-LABEL: func.func @leave_alone
// CHECK-SAME: (%[[A:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[A]], %[[B]] : tensor<4xf32>
// CHECK-NEXT: %[[T:.*]] = tosa.add %[[S]], %[[B]] : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT: return %[[T]] : tensor<4xf32>
// CHECK-NOT: linalg.
func.func @leave_alone(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %a, %b : tensor<4xf32>
  %1 = tosa.add %0, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// The lowering needs static shapes (the nn dialect's contract); a dynamic
// batch dimension must end in an error at the op, not in silent output.
func.func @dynamic_linear(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>) -> tensor<?x4xf32> {
  // expected-error-re @+1 {{{{.+}}}}
  %0 = nn.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
