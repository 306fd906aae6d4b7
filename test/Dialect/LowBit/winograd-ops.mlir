// Round trip of the Winograd transform ops (F(2,3): n = 4).

// RUN: lowbit-opt %s | FileCheck %s
// RUN: lowbit-opt %s | lowbit-opt | FileCheck %s

// CHECK-LABEL: func.func @f23
// CHECK: %[[V:.*]] = lowbit.winograd_input_transform %{{.*}} {bt = array<f64: 1.000000e+00, 0.000000e+00, -1.000000e+00
// CHECK-SAME: bt_den = array<i64: 1, 1, 1, 1
// CHECK-SAME: m = 2 : i64
// CHECK-SAME: r = 3 : i64
// CHECK-SAME: : tensor<2x8x6x14xf32> -> tensor<4x4x24x8xf32>
// CHECK: lowbit.winograd_output_transform %{{.*}} {at = array<f64: 1.000000e+00, 5.000000e-01
// CHECK-SAME: at_den = array<i64: 1, 2, 1, 1, 1, 2, 1, 1>
// CHECK-SAME: precision = "f16"
// CHECK-SAME: : tensor<4x4x24x16xf32> -> tensor<2x16x4x12xf32>
func.func @f23(%x: tensor<2x8x6x14xf32>, %p: tensor<4x4x24x16xf32>) -> (tensor<4x4x24x8xf32>, tensor<2x16x4x12xf32>) {
  %v = lowbit.winograd_input_transform %x {m = 2 : i64, r = 3 : i64,
      bt_num = array<i64: 1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1>,
      bt_den = array<i64: 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1>,
      bt = array<f64: 1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 1.0, 0.0, -1.0>}
      : tensor<2x8x6x14xf32> -> tensor<4x4x24x8xf32>
  %y = lowbit.winograd_output_transform %p {m = 2 : i64, r = 3 : i64,
      at_num = array<i64: 1, 1, 1, 0, 0, 1, -1, -1>,
      at_den = array<i64: 1, 2, 1, 1, 1, 2, 1, 1>,
      at = array<f64: 1.0, 0.5, 1.0, 0.0, 0.0, 0.5, -1.0, -1.0>, precision = "f16"}
      : tensor<4x4x24x16xf32> -> tensor<2x16x4x12xf32>
  return %v, %y : tensor<4x4x24x8xf32>, tensor<2x16x4x12xf32>
}
