// convert-lowbit-to-linalg on the Winograd transform ops. Input transform: a
// copy gathering the overlapping n x n tiles with channels innermost, then
// two linalg.generic contractions (one per side of Bᵀ d B), channels
// innermost so the CPU pipeline vectorises them. Output transform: two
// contractions (one per side of Aᵀ M A) plus reshapes. precision = "f16"
// rounds the op's input (truncf/extf in the gather, or inside the first
// contraction) and its result (one more element-wise generic).

// RUN: lowbit-opt %s --convert-lowbit-to-linalg | FileCheck %s

// Gather (b, y, x, i, j, c) reads in[b, c, y*m + i, x*m + j]; then
// (ξ, j, b, y, x, c, i) reads D[b, y, x, i, j, c] and BT[ξ, i]; then
// (ξ, ν, b, y, x, c, j) reads t[ξ, j, b, y, x, c] and BT[ν, j].
// CHECK-DAG: #[[GATHER:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d5, d1 * 2 + d3, d2 * 2 + d4)>
// CHECK-DAG: #[[ID6:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>
// CHECK-DAG: #[[D:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d2, d3, d4, d6, d1, d5)>
// CHECK-DAG: #[[LEFT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d6)>
// CHECK-DAG: #[[OUT6:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3, d4, d5)>
// CHECK-DAG: #[[T1:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d6, d2, d3, d4, d5)>
// CHECK-DAG: #[[BTR:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d6)>
// Output transform: (a, ν, b, y, x, f, ξ) reads M[ξ, ν, b, y, x, f] and
// AT[a, ξ]; then (b, f, y, a, x, e, ν) reads t[a, ν, b, y, x, f], AT[e, ν].
// CHECK-DAG: #[[M6:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d6, d1, d2, d3, d4, d5)>
// CHECK-DAG: #[[T2:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d3, d6, d0, d2, d4, d1)>
// CHECK-DAG: #[[ATR:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d5, d6)>
// CHECK-LABEL: func.func @lower
// CHECK: %[[BT:.*]] = arith.constant dense<{{\[\[}}-1.000000e+00, 0.000000e+00, 1.000000e+00, 0.000000e+00], [0.000000e+00, 1.000000e+00, 1.000000e+00, 0.000000e+00]{{.*}}> : tensor<4x4xf32>
// CHECK: %[[TILES:.*]] = linalg.generic {indexing_maps = [#[[GATHER]], #[[ID6]]], {{.*}} ins(%arg0 : tensor<2x3x6x8xf32>) outs(%{{.*}} : tensor<2x2x3x4x4x3xf32>)
// CHECK:   arith.truncf %{{.*}} : f32 to f16
// CHECK:   arith.extf
// CHECK: %[[T:.*]] = linalg.generic {indexing_maps = [#[[D]], #[[LEFT]], #[[OUT6]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[TILES]], %[[BT]] : tensor<2x2x3x4x4x3xf32>, tensor<4x4xf32>) outs(%{{.*}} : tensor<4x4x2x2x3x3xf32>)
// CHECK-NOT: truncf
// CHECK: %[[V:.*]] = linalg.generic {indexing_maps = [#[[T1]], #[[BTR]], #[[OUT6]]], {{.*}} ins(%[[T]], %[[BT]] : {{.*}}) outs(%{{.*}} : tensor<4x4x2x2x3x3xf32>)
// CHECK: %[[VR:.*]] = linalg.generic {{.*}} ins(%[[V]] : tensor<4x4x2x2x3x3xf32>)
// CHECK:   arith.truncf
// CHECK: %[[VC:.*]] = tensor.collapse_shape %[[VR]] {{\[\[}}0], [1], [2, 3, 4], [5]] : tensor<4x4x2x2x3x3xf32> into tensor<4x4x12x3xf32>
// CHECK: %[[AT:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 5.000000e-01, 1.000000e+00, 0.000000e+00], [0.000000e+00, 5.000000e-01, -1.000000e+00, 1.000000e+00]]> : tensor<2x4xf32>
// CHECK: %[[ME:.*]] = tensor.expand_shape %arg1 {{\[\[}}0], [1], [2, 3, 4], [5]] output_shape [4, 4, 2, 2, 3, 5]
// CHECK: %[[T2V:.*]] = linalg.generic {indexing_maps = [#[[M6]], #[[LEFT]], #[[OUT6]]], {{.*}} ins(%[[ME]], %[[AT]] : {{.*}}) outs(%{{.*}} : tensor<2x4x2x2x3x5xf32>)
// CHECK: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[C:.*]]: f32):
// CHECK:   %[[H:.*]] = arith.truncf %[[A]] : f32 to f16
// CHECK:   %[[E:.*]] = arith.extf %[[H]] : f16 to f32
// CHECK:   arith.mulf %[[E]], %[[B]]
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[T2]], #[[ATR]], #[[OUT6]]], {{.*}} ins(%[[T2V]], %[[AT]] : {{.*}}) outs(%{{.*}} : tensor<2x5x2x2x3x2xf32>)
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[Y]] : tensor<2x5x2x2x3x2xf32>)
// CHECK:   arith.truncf
// CHECK:   arith.extf
// CHECK: %[[YC:.*]] = tensor.collapse_shape %[[R]] {{\[\[}}0], [1], [2, 3], [4, 5]] : tensor<2x5x2x2x3x2xf32> into tensor<2x5x4x6xf32>
// CHECK: return %[[VC]], %[[YC]]
func.func @lower(%x: tensor<2x3x6x8xf32>, %p: tensor<4x4x12x5xf32>) -> (tensor<4x4x12x3xf32>, tensor<2x5x4x6xf32>) {
  %v = lowbit.winograd_input_transform %x {m = 2 : i64, r = 3 : i64,
      bt_num = array<i64: -1, 0, 1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, -1, 0, 1>,
      bt_den = array<i64: 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1>,
      bt = array<f64: -1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, -1.0, 0.0, 1.0>, precision = "f16"}
      : tensor<2x3x6x8xf32> -> tensor<4x4x12x3xf32>
  %y = lowbit.winograd_output_transform %p {m = 2 : i64, r = 3 : i64,
      at_num = array<i64: 1, 1, 1, 0, 0, 1, -1, 1>, at_den = array<i64: 1, 2, 1, 1, 1, 2, 1, 1>,
      at = array<f64: 1.0, 0.5, 1.0, 0.0, 0.0, 0.5, -1.0, 1.0>, precision = "f16"}
      : tensor<4x4x12x5xf32> -> tensor<2x5x4x6xf32>
  return %v, %y : tensor<4x4x12x3xf32>, tensor<2x5x4x6xf32>
}
