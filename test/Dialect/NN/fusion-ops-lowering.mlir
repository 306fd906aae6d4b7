// convert-nn-to-linalg on the fused ops: rms_norm is mean(x * x) + eps,
// rsqrt, times x and the broadcast scale; gelu is 0.5 * x * (1 + erf(x /
// sqrt 2)) or the tanh form; silu is x * sigmoid(x). Numerics are checked
// end to end against onnxruntime in test/python/test_fusions.py.

// RUN: lowbit-opt %s --convert-nn-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @f
// CHECK-SAME: (%[[X:.*]]: tensor<2x6x64xf32>, %[[G:.*]]: tensor<64xf32>)
// CHECK-NOT: nn.
// CHECK: %[[SQ:.*]] = tosa.mul %[[X]], %[[X]]
// CHECK: %[[SUM:.*]] = tosa.reduce_sum %[[SQ]] {axis = 2 : i32} : (tensor<2x6x64xf32>) -> tensor<2x6x1xf32>
// CHECK: %[[MEAN:.*]] = tosa.mul %[[SUM]]
// CHECK: %[[VAR:.*]] = tosa.add %[[MEAN]]
// CHECK: %[[INV:.*]] = tosa.rsqrt %[[VAR]]
// CHECK: %[[N:.*]] = tosa.mul %[[X]], %[[INV]]
// CHECK: %[[G3:.*]] = tosa.reshape %[[G]], %{{.*}} -> tensor<1x1x64xf32>
// CHECK: %[[RMS:.*]] = tosa.mul %[[N]], %[[G3]]
// CHECK: %[[S:.*]] = tosa.mul %[[X]]
// CHECK: %[[E:.*]] = tosa.erf %[[S]]
// CHECK: %[[E1:.*]] = tosa.add %[[E]]
// CHECK: %[[XE:.*]] = tosa.mul %[[X]], %[[E1]]
// CHECK: %[[GELU:.*]] = tosa.mul %[[XE]]
// CHECK: %[[T:.*]] = tosa.tanh
// CHECK: %[[T1:.*]] = tosa.add %[[T]]
// CHECK: %[[XT:.*]] = tosa.mul %[[X]], %[[T1]]
// CHECK: %[[TANH:.*]] = tosa.mul %[[XT]]
// CHECK: %[[SIG:.*]] = tosa.sigmoid %[[X]]
// CHECK: %[[SILU:.*]] = tosa.mul %[[X]], %[[SIG]]
// CHECK: return %[[RMS]], %[[GELU]], %[[TANH]], %[[SILU]]
func.func @f(%x: tensor<2x6x64xf32>, %g: tensor<64xf32>) -> (tensor<2x6x64xf32>, tensor<2x6x64xf32>, tensor<2x6x64xf32>, tensor<2x6x64xf32>) {
  %0 = nn.rms_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x6x64xf32>, tensor<64xf32>) -> tensor<2x6x64xf32>
  %1 = nn.gelu %x : tensor<2x6x64xf32>
  %2 = nn.gelu %x {approximate = "tanh"} : tensor<2x6x64xf32>
  %3 = nn.silu %x : tensor<2x6x64xf32>
  return %0, %1, %2, %3 : tensor<2x6x64xf32>, tensor<2x6x64xf32>, tensor<2x6x64xf32>, tensor<2x6x64xf32>
}

// hard_swish: one generic, x * min(max(x + 3, 0), 6) / 6 as the graph has it.
// CHECK-LABEL: func.func @hs
// CHECK-NOT: nn.
// CHECK: linalg.generic
// CHECK: %[[T:.*]] = arith.addf %[[IN:.*]], %{{.*}} : f32
// CHECK: %[[MX:.*]] = arith.maximumf %[[T]]
// CHECK: %[[MN:.*]] = arith.minimumf %[[MX]]
// CHECK: %[[M:.*]] = arith.mulf %[[IN]], %[[MN]] : f32
// CHECK: %[[D:.*]] = arith.divf %[[M]], %{{.*}} : f32
// CHECK: linalg.yield %[[D]]
func.func @hs(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = nn.hard_swish %x : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
