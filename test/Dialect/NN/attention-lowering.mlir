// convert-nn-to-linalg on nn.attention: K is transposed, K and V repeated
// per query head (a broadcast into [B, Hkv, rep, ...] and a reshape), then
// the products, scale, mask and softmax of the decomposed graph, lowered to
// linalg like nn.matmul and nn.softmax. Numerics against onnxruntime:
// test/python/test_fusions.py.

// RUN: lowbit-opt %s --convert-nn-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @gqa
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x6x16xf32>, %[[K:.*]]: tensor<2x2x9x16xf32>, %[[V:.*]]: tensor<2x2x9x8xf32>, %[[M:.*]]: tensor<2x1x6x9xf32>)
// CHECK-NOT: nn.
// CHECK: %[[KT:.*]] = tosa.transpose %[[K]] {perms = array<i32: 0, 1, 3, 2>} : (tensor<2x2x9x16xf32>) -> tensor<2x2x16x9xf32>
// CHECK: linalg.broadcast ins(%[[KT]] : tensor<2x2x16x9xf32>) outs(%{{.*}} : tensor<2x2x2x16x9xf32>) dimensions = [2]
// CHECK: %[[KR:.*]] = tosa.reshape %{{.*}} -> tensor<2x4x16x9xf32>
// CHECK: linalg.broadcast ins(%[[V]] : tensor<2x2x9x8xf32>) outs(%{{.*}} : tensor<2x2x2x9x8xf32>) dimensions = [2]
// CHECK: %[[VR:.*]] = tosa.reshape %{{.*}} -> tensor<2x4x9x8xf32>
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[Q]], %[[KR]] : tensor<2x4x6x16xf32>, tensor<2x4x16x9xf32>)
// CHECK: %[[SC:.*]] = tosa.mul %[[S]]
// CHECK: %[[SM:.*]] = tosa.add %[[SC]], %[[M]] : (tensor<2x4x6x9xf32>, tensor<2x1x6x9xf32>) -> tensor<2x4x6x9xf32>
// CHECK: tosa.reduce_max %[[SM]] {axis = 3 : i32}
// CHECK: tosa.exp
// CHECK: %[[P:.*]] = tosa.mul
// CHECK: %[[O:.*]] = linalg.generic {{.*}} ins(%[[P]], %[[VR]] : tensor<2x4x6x9xf32>, tensor<2x4x9x8xf32>)
// CHECK: return %[[O]]
func.func @gqa(%q: tensor<2x4x6x16xf32>, %k: tensor<2x2x9x16xf32>, %v: tensor<2x2x9x8xf32>, %m: tensor<2x1x6x9xf32>) -> tensor<2x4x6x8xf32> {
  %0 = nn.attention %q, %k, %v, %m {scale = 0.25 : f32} : (tensor<2x4x6x16xf32>, tensor<2x2x9x16xf32>, tensor<2x2x9x8xf32>, tensor<2x1x6x9xf32>) -> tensor<2x4x6x8xf32>
  return %0 : tensor<2x4x6x8xf32>
}

// Multi-head without mask and scale 1: no repeat, no scale, no mask.
// CHECK-LABEL: func.func @mha
// CHECK-NOT: linalg.broadcast
// CHECK-NOT: tosa.add
// CHECK: tosa.reduce_max
// CHECK: return
func.func @mha(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32> {
  %0 = nn.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32>
  return %0 : tensor<1x2x3x4xf32>
}
