// convert-lowbit-to-linalg of lowbit.hadamard: a fast Walsh-Hadamard
// transform, one linalg.generic per butterfly stage (log2(block) stages, no
// matrix, no reshapes): stage h reads a = x[base] and c = x[base + h] with
// base = (k floordiv 2h) * 2h + k mod h and writes a + c where bit h of k is
// 0, a - c where it is 1; only the last stage multiplies by 1/sqrt(block)
// (0.5 for block 4). And quantize_dynamic's rms_clip: sum of squares in f64,
// then rms_clip * sqrt(sum / K) / qmax in f64 rounded to f32 once.
// End-to-end numerics: test/python/test_hadamard.py.

// RUN: lowbit-opt %s -split-input-file --convert-lowbit-to-linalg | FileCheck %s

// CHECK-DAG: #[[A1:.*]] = affine_map<(d0, d1) -> (d0, (d1 floordiv 2) * 2)>
// CHECK-DAG: #[[C1:.*]] = affine_map<(d0, d1) -> (d0, (d1 floordiv 2) * 2 + 1)>
// CHECK-DAG: #[[A2:.*]] = affine_map<(d0, d1) -> (d0, (d1 floordiv 4) * 4 + d1 mod 2)>
// CHECK-DAG: #[[C2:.*]] = affine_map<(d0, d1) -> (d0, (d1 floordiv 4) * 4 + d1 mod 2 + 2)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @block4
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>) -> tensor<2x8xf32>
// CHECK-NOT: lowbit.
// CHECK: %[[S1:.*]] = linalg.generic {indexing_maps = [#[[A1]], #[[C1]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[X]] : tensor<2x8xf32>, tensor<2x8xf32>)
// CHECK: %[[SUM:.*]] = arith.addf %[[IN0:.*]], %[[IN1:.*]] : f32
// CHECK: %[[DIFF:.*]] = arith.subf %[[IN0]], %[[IN1]] : f32
// CHECK: %[[ONE:.*]] = arith.constant 1 : index
// CHECK: %[[K:.*]] = linalg.index 1 : index
// CHECK: %[[BIT:.*]] = arith.andi %[[K]], %[[ONE]] : index
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[BIT]], %{{.*}} : index
// CHECK: arith.select %[[FIRST]], %[[SUM]], %[[DIFF]] : f32
// CHECK-NOT: arith.mulf
// CHECK: %[[S2:.*]] = linalg.generic {indexing_maps = [#[[A2]], #[[C2]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[S1]], %[[S1]] :
// CHECK: arith.constant 2 : index
// CHECK: arith.select
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: arith.mulf %{{.*}}, %[[HALF]] : f32
// CHECK-NOT: linalg.generic
// CHECK: return %[[S2]]
func.func @block4(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = lowbit.hadamard %x {block = 4 : i64} : tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Block 128 on a rank-3 input (K = 384): 7 stages, h = 1, 2, .., 64.
// CHECK-DAG: affine_map<(d0, d1, d2) -> (d0, d1, (d2 floordiv 128) * 128 + d2 mod 64 + 64)>
// CHECK-LABEL: func.func @block128
// CHECK-COUNT-7: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK-NOT: linalg.matmul
// CHECK-NOT: tensor.expand_shape
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
