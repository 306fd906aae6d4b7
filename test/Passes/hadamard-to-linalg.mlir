// convert-lowbit-to-linalg of lowbit.hadamard: a fast Walsh-Hadamard
// transform, one linalg.generic per butterfly stage (log2(block) stages, no
// matrix): stage h views the last dimension K as [K / 2h, 2, h] and writes
// a + c where the pair index is 0, a - c where it is 1; only the last stage
// multiplies by 1/sqrt(block) (0.5 for block 4). And quantize_dynamic's
// rms_clip: sum of squares in f64, then rms_clip * sqrt(sum / K) / qmax in
// f64 rounded to f32 once. End-to-end numerics: test/python/test_hadamard.py.

// RUN: lowbit-opt %s -split-input-file --convert-lowbit-to-linalg | FileCheck %s

// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, d3)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, 1, d3)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @block4
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>) -> tensor<2x8xf32>
// CHECK-NOT: lowbit.
// CHECK: %[[V1:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1, 2, 3]] output_shape [2, 4, 2, 1] : tensor<2x8xf32> into tensor<2x4x2x1xf32>
// CHECK: %[[S1:.*]] = linalg.generic {indexing_maps = [#[[A]], #[[C]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[V1]], %[[V1]] :
// CHECK: arith.addf
// CHECK: arith.subf
// CHECK: linalg.index 2
// CHECK: arith.select
// CHECK-NOT: arith.mulf
// CHECK: %[[C1:.*]] = tensor.collapse_shape %[[S1]] {{\[\[}}0], [1, 2, 3]] : tensor<2x4x2x1xf32> into tensor<2x8xf32>
// CHECK: %[[V2:.*]] = tensor.expand_shape %[[C1]] {{\[\[}}0], [1, 2, 3]] output_shape [2, 2, 2, 2]
// CHECK: %[[S2:.*]] = linalg.generic {indexing_maps = [#[[A]], #[[C]], #[[ID]]]
// CHECK: arith.select
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: arith.mulf %{{.*}}, %[[HALF]] : f32
// CHECK: %[[OUT:.*]] = tensor.collapse_shape %[[S2]]
// CHECK-NOT: linalg.generic
// CHECK: return %[[OUT]]
func.func @block4(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = lowbit.hadamard %x {block = 4 : i64} : tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Block 128 on a rank-3 input (K = 384): 7 stages, h = 1, 2, .., 64.
// CHECK-LABEL: func.func @block128
// CHECK: output_shape [2, 3, 192, 2, 1]
// CHECK-NEXT: tensor.empty
// CHECK-NEXT: linalg.generic
// CHECK: output_shape [2, 3, 96, 2, 2]
// CHECK-NEXT: tensor.empty
// CHECK-NEXT: linalg.generic
// CHECK: output_shape [2, 3, 48, 2, 4]
// CHECK-NEXT: tensor.empty
// CHECK-NEXT: linalg.generic
// CHECK: output_shape [2, 3, 24, 2, 8]
// CHECK-NEXT: tensor.empty
// CHECK-NEXT: linalg.generic
// CHECK: output_shape [2, 3, 12, 2, 16]
// CHECK-NEXT: tensor.empty
// CHECK-NEXT: linalg.generic
// CHECK: output_shape [2, 3, 6, 2, 32]
// CHECK-NEXT: tensor.empty
// CHECK-NEXT: linalg.generic
// CHECK: output_shape [2, 3, 3, 2, 64]
// CHECK-NEXT: tensor.empty
// CHECK-NEXT: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK-NOT: linalg.matmul
// CHECK: return
func.func @block128(%x: tensor<2x3x384xf32>) -> tensor<2x3x384xf32> {
  %0 = lowbit.hadamard %x {block = 128 : i64} : tensor<2x3x384xf32>
  return %0 : tensor<2x3x384xf32>
}

// -----

// CHECK-LABEL: func.func @rms_clip
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<4x8xf32>) outs(%{{.*}} : tensor<4xf64>)
// CHECK: arith.extf %{{.*}} : f32 to f64
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: arith.constant 8.000000e+00 : f64
// CHECK: arith.divf
// CHECK: math.sqrt %{{.*}} : f64
// CHECK: arith.constant 2.500000e+00 : f64
// CHECK: arith.mulf
// CHECK: arith.constant 7.000000e+00 : f64
// CHECK: arith.divf
// CHECK: arith.truncf %{{.*}} : f64 to f32
// CHECK: math.roundeven
func.func @rms_clip(%x: tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4x1xf32>) {
  %q, %s = lowbit.quantize_dynamic %x {bits = 4 : i64, rms_clip = 2.5 : f64} : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x1xf32>
  return %q, %s : tensor<4x8xi8>, tensor<4x1xf32>
}
