// convert-lowbit-to-linalg on the Winograd transform ops. Input transform: a
// gather of the overlapping n x n tiles into D[i, j, t, c] (flat tile index t,
// channels innermost; indices computed in the body, no reshape), then two
// linalg.generic contractions (one per side of Bᵀ d B) with the constant
// matrix as the left operand. Output transform: two contractions (one per
// side of Aᵀ M A), then a copy scattering the m x m tiles into NCHW.
// precision = "f16" rounds the op's input (in the gather, or one element-wise
// generic before the first contraction) and its result (one more generic, or
// in the scatter).

// RUN: lowbit-opt %s --convert-lowbit-to-linalg | FileCheck %s
// The contractions reach the CPU pipeline as register-tiled matmuls whose
// vector dimension is the channel dimension (16 lanes here: 32 channels).
// RUN: lowbit-opt %s --pass-pipeline='builtin.module(func.func(convert-lowbit-to-linalg, lowbit-cpu-fuse-elementwise, lowbit-cpu-tile-vectorize))' \
// RUN:   | FileCheck %s --check-prefix=TV

// (ξ, j, t, c, i): BT[ξ, i] · D[i, j, t, c]; (ξ, ν, t, c, j): BT[ν, j] · t[ξ, j, t, c].
// CHECK-DAG: #[[ID4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[LEFT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d4)>
// CHECK-DAG: #[[X1:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d4, d1, d2, d3)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[RIGHT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>
// CHECK-DAG: #[[X2:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d4, d2, d3)>
// Scatter (b, f, y, a, x, e) reads o[a, e, (b*th + y)*tw + x, f], th = 2, tw = 3.
// CHECK-DAG: #[[SCATTER:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d5, d0 * 6 + d2 * 3 + d4, d1)>
// CHECK-DAG: #[[ID6:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>
// CHECK-LABEL: func.func @lower
// CHECK: %[[BT:.*]] = arith.constant dense<{{\[\[}}-1.000000e+00, 0.000000e+00, 1.000000e+00, 0.000000e+00], [0.000000e+00, 1.000000e+00, 1.000000e+00, 0.000000e+00]{{.*}}> : tensor<4x4xf32>
// Gather: D[i, j, t, c] = in[t / 6, c, (t % 6) / 3 * 2 + i, (t % 3) * 2 + j].
// CHECK: %[[TILES:.*]] = linalg.generic {indexing_maps = [#[[ID4]]], {{.*}} outs(%{{.*}} : tensor<4x4x12x3xf32>)
// CHECK:   %[[I:.*]] = linalg.index 0
// CHECK:   %[[J:.*]] = linalg.index 1
// CHECK:   %[[T:.*]] = linalg.index 2
// CHECK:   %[[C:.*]] = linalg.index 3
// CHECK:   %[[B:.*]] = arith.divui %[[T]], %c6
// CHECK:   %[[TR:.*]] = arith.remui %[[T]], %c6
// CHECK:   %[[Y:.*]] = arith.divui %[[TR]], %c3
// CHECK:   %[[X:.*]] = arith.remui %[[TR]], %c3
// CHECK:   %[[YM:.*]] = arith.muli %[[Y]], %c2
// CHECK:   %[[ROW:.*]] = arith.addi %[[YM]], %[[I]]
// CHECK:   %[[XM:.*]] = arith.muli %[[X]], %c2
// CHECK:   %[[COL:.*]] = arith.addi %[[XM]], %[[J]]
// CHECK:   %[[E:.*]] = tensor.extract %arg0[%[[B]], %[[C]], %[[ROW]], %[[COL]]] : tensor<2x3x6x8xf32>
// CHECK:   arith.truncf %[[E]] : f32 to f16
// CHECK:   arith.extf
// CHECK: %[[T1:.*]] = linalg.generic {indexing_maps = [#[[LEFT]], #[[X1]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[BT]], %[[TILES]] : tensor<4x4xf32>, tensor<4x4x12x3xf32>) outs(%{{.*}} : tensor<4x4x12x3xf32>)
// CHECK-NOT: truncf
// CHECK: %[[V:.*]] = linalg.generic {indexing_maps = [#[[RIGHT]], #[[X2]], #[[OUT]]], {{.*}} ins(%[[BT]], %[[T1]] : {{.*}}) outs(%{{.*}} : tensor<4x4x12x3xf32>)
// CHECK: %[[VR:.*]] = linalg.generic {{.*}} ins(%[[V]] : tensor<4x4x12x3xf32>)
// CHECK:   arith.truncf
// CHECK: %[[AT:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 5.000000e-01, 1.000000e+00, 0.000000e+00], [0.000000e+00, 5.000000e-01, -1.000000e+00, 1.000000e+00]]> : tensor<2x4xf32>
// CHECK: %[[MR:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<4x4x12x5xf32>)
// CHECK:   arith.truncf
// CHECK:   arith.extf
// CHECK: %[[O1:.*]] = linalg.generic {indexing_maps = [#[[LEFT]], #[[X1]], #[[OUT]]], {{.*}} ins(%[[AT]], %[[MR]] : tensor<2x4xf32>, tensor<4x4x12x5xf32>) outs(%{{.*}} : tensor<2x4x12x5xf32>)
// CHECK-NOT: truncf
// CHECK: %[[O2:.*]] = linalg.generic {indexing_maps = [#[[RIGHT]], #[[X2]], #[[OUT]]], {{.*}} ins(%[[AT]], %[[O1]] : {{.*}}) outs(%{{.*}} : tensor<2x2x12x5xf32>)
// CHECK: %[[S:.*]] = linalg.generic {indexing_maps = [#[[SCATTER]], #[[ID6]]], {{.*}} ins(%[[O2]] : tensor<2x2x12x5xf32>) outs(%{{.*}} : tensor<2x5x2x2x3x2xf32>)
// CHECK:   arith.truncf
// CHECK:   arith.extf
// CHECK: %[[YC:.*]] = tensor.collapse_shape %[[S]] {{\[\[}}0], [1], [2, 3], [4, 5]] : tensor<2x5x2x2x3x2xf32> into tensor<2x5x4x6xf32>
// CHECK: return %[[VR]], %[[YC]]
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

// F(2,3) in f32 on 32 channels: no rounding generics; each of the four
// contractions is tiled and vectorised with the 16 channels of a register
// tile as the vector dimension (rows: matrix rows, a divisor of 4 or 2).
// CHECK-LABEL: func.func @vectorised
// CHECK-NOT: truncf
// TV-LABEL: func.func @vectorised
// TV: vector.contract {{.*}} : vector<4x4xf32>, vector<4x1x1x16xf32> into vector<4x1x1x16xf32>
// TV: vector.contract {{.*}} : vector<4x4xf32>, vector<1x4x1x16xf32> into vector<1x4x1x16xf32>
// TV: vector.contract {{.*}} : vector<2x4xf32>, vector<4x1x1x16xf32> into vector<2x1x1x16xf32>
// TV: vector.contract {{.*}} : vector<2x4xf32>, vector<1x4x1x16xf32> into vector<1x2x1x16xf32>
func.func @vectorised(%x: tensor<1x32x6x8xf32>, %p: tensor<4x4x6x32xf32>) -> (tensor<4x4x6x32xf32>, tensor<1x32x4x6xf32>) {
  %v = lowbit.winograd_input_transform %x {m = 2 : i64, r = 3 : i64,
      bt_num = array<i64: -1, 0, 1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, -1, 0, 1>,
      bt_den = array<i64: 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1>,
      bt = array<f64: -1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, -1.0, 0.0, 1.0>, precision = "f32"}
      : tensor<1x32x6x8xf32> -> tensor<4x4x6x32xf32>
  %y = lowbit.winograd_output_transform %p {m = 2 : i64, r = 3 : i64,
      at_num = array<i64: 1, 1, 1, 0, 0, 1, -1, 1>, at_den = array<i64: 1, 2, 1, 1, 1, 2, 1, 1>,
      at = array<f64: 1.0, 0.5, 1.0, 0.0, 0.0, 0.5, -1.0, 1.0>, precision = "f32"}
      : tensor<4x4x6x32xf32> -> tensor<1x32x4x6xf32>
  return %v, %y : tensor<4x4x6x32xf32>, tensor<1x32x4x6xf32>
}
