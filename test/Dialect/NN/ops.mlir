// Round trip of every nn op through the custom and the generic assembly
// format: linear with and without bias, matmul with batch broadcasting,
// conv2d with groups/strides/pads/dilations and bias, layer_norm with and
// without bias, softmax.

// RUN: lowbit-opt %s | lowbit-opt | FileCheck %s
// RUN: lowbit-opt %s --mlir-print-op-generic | lowbit-opt | FileCheck %s
// RUN: lowbit-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// CHECK-LABEL: func.func @linear_bias
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[W:.*]]: tensor<32x64xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK: nn.linear %[[X]], %[[W]], %[[B]] : (tensor<4x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<4x32xf32>
// GENERIC-LABEL: sym_name = "linear_bias"
// GENERIC: "nn.linear"(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<4x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<4x32xf32>
func.func @linear_bias(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>) -> tensor<4x32xf32> {
  %0 = nn.linear %x, %w, %b : (tensor<4x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// CHECK-LABEL: func.func @linear_no_bias
// CHECK: nn.linear %{{[^,]*}}, %{{[^,]*}} : (tensor<2x5x16xf16>, tensor<8x16xf16>) -> tensor<2x5x8xf16>
// GENERIC-LABEL: sym_name = "linear_no_bias"
// GENERIC: "nn.linear"(%{{[^,]*}}, %{{[^,]*}}) : (tensor<2x5x16xf16>, tensor<8x16xf16>) -> tensor<2x5x8xf16>
func.func @linear_no_bias(%x: tensor<2x5x16xf16>, %w: tensor<8x16xf16>) -> tensor<2x5x8xf16> {
  %0 = nn.linear %x, %w : (tensor<2x5x16xf16>, tensor<8x16xf16>) -> tensor<2x5x8xf16>
  return %0 : tensor<2x5x8xf16>
}

// CHECK-LABEL: func.func @matmul_broadcast
// CHECK: nn.matmul %{{.*}}, %{{.*}} : (tensor<2x1x4x8xbf16>, tensor<3x8x5xbf16>) -> tensor<2x3x4x5xbf16>
// GENERIC-LABEL: sym_name = "matmul_broadcast"
// GENERIC: "nn.matmul"(%{{.*}}, %{{.*}}) : (tensor<2x1x4x8xbf16>, tensor<3x8x5xbf16>) -> tensor<2x3x4x5xbf16>
func.func @matmul_broadcast(%a: tensor<2x1x4x8xbf16>, %b: tensor<3x8x5xbf16>) -> tensor<2x3x4x5xbf16> {
  %0 = nn.matmul %a, %b : (tensor<2x1x4x8xbf16>, tensor<3x8x5xbf16>) -> tensor<2x3x4x5xbf16>
  return %0 : tensor<2x3x4x5xbf16>
}

// OH = (16 + 1 + 1 - 1*(3-1) - 1) / 2 + 1 = 8; OW = (16 + 2 - 2*2 - 1) / 1 + 1 = 14.
// CHECK-LABEL: func.func @conv2d_grouped
// CHECK: nn.conv2d %{{.*}}, %{{.*}}, %{{.*}} {dilations = array<i64: 1, 2>, groups = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 1>} : (tensor<1x4x16x16xf32>, tensor<8x2x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x14xf32>
// GENERIC-LABEL: sym_name = "conv2d_grouped"
// GENERIC: "nn.conv2d"(%{{.*}}, %{{.*}}, %{{.*}}) <{dilations = array<i64: 1, 2>, groups = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 1>}>
func.func @conv2d_grouped(%x: tensor<1x4x16x16xf32>, %f: tensor<8x2x3x3xf32>, %b: tensor<8xf32>) -> tensor<1x8x8x14xf32> {
  %0 = nn.conv2d %x, %f, %b {strides = array<i64: 2, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 2>, groups = 2 : i64} : (tensor<1x4x16x16xf32>, tensor<8x2x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x14xf32>
  return %0 : tensor<1x8x8x14xf32>
}

// CHECK-LABEL: func.func @conv2d_plain
// CHECK: nn.conv2d %{{[^,]*}}, %{{[^,]*}} {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
func.func @conv2d_plain(%x: tensor<1x3x8x8xf32>, %f: tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %0 = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %0 : tensor<1x4x6x6xf32>
}

// CHECK-LABEL: func.func @layer_norm
// CHECK: nn.layer_norm %{{[^,]*}}, %{{[^,]*}}, %{{[^ ]*}} {axis = 1 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<2x4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<2x4x8xf32>
// CHECK: nn.layer_norm %{{[^,]*}}, %{{[^ ]*}} {axis = 2 : i64, epsilon = 1.000000e-03 : f32} : (tensor<2x4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
// GENERIC-LABEL: sym_name = "layer_norm"
// GENERIC: "nn.layer_norm"(%{{[^,]*}}, %{{[^,]*}}, %{{[^)]*}}) <{axis = 1 : i64, epsilon = 9.99999974E-6 : f32}>
// GENERIC: "nn.layer_norm"(%{{[^,]*}}, %{{[^)]*}}) <{axis = 2 : i64, epsilon = 1.000000e-03 : f32}>
func.func @layer_norm(%x: tensor<2x4x8xf32>, %s: tensor<4x8xf32>, %b: tensor<4x8xf32>, %s2: tensor<8xf32>) -> (tensor<2x4x8xf32>, tensor<2x4x8xf32>) {
  %0 = nn.layer_norm %x, %s, %b {axis = 1 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<2x4x8xf32>
  %1 = nn.layer_norm %x, %s2 {axis = 2 : i64, epsilon = 1.0e-03 : f32} : (tensor<2x4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  return %0, %1 : tensor<2x4x8xf32>, tensor<2x4x8xf32>
}

// CHECK-LABEL: func.func @softmax
// CHECK: nn.softmax %{{.*}} {axis = 0 : i64} : tensor<3x7xf32>
// GENERIC-LABEL: sym_name = "softmax"
// GENERIC: "nn.softmax"(%{{.*}}) <{axis = 0 : i64}> : (tensor<3x7xf32>) -> tensor<3x7xf32>
func.func @softmax(%x: tensor<3x7xf32>) -> tensor<3x7xf32> {
  %0 = nn.softmax %x {axis = 0 : i64} : tensor<3x7xf32>
  return %0 : tensor<3x7xf32>
}
