// convert-lowbit-to-linalg of lowbit.hadamard: a fast Walsh-Hadamard
// transform in radix-r stages (r <= 16), one linalg.generic per stage over
// the input's own shape (no matrix, no reshapes). Element k = q*r*h + t*h + l
// of a stage of radix r and stride h reads its r partners x[base + j*h],
// base = (k floordiv r*h) * r*h + k mod h, and runs the radix-2 butterflies
// that lead to row t: level i selects a + c or a - c by bit i of t. Only the
// last stage multiplies by 1/sqrt(block). And quantize_dynamic's rms_clip:
// sum of squares in f64, then rms_clip * sqrt(sum / K) / qmax in f64 rounded
// to f32 once. End-to-end numerics: test/python/test_hadamard.py.

// RUN: lowbit-opt %s -split-input-file --convert-lowbit-to-linalg | FileCheck %s

// Block 4: one radix-4 stage, t = k mod 4.
// CHECK-DAG: #[[X0:.*]] = affine_map<(d0, d1) -> (d0, (d1 floordiv 4) * 4)>
// CHECK-DAG: #[[X1:.*]] = affine_map<(d0, d1) -> (d0, (d1 floordiv 4) * 4 + 1)>
// CHECK-DAG: #[[X2:.*]] = affine_map<(d0, d1) -> (d0, (d1 floordiv 4) * 4 + 2)>
// CHECK-DAG: #[[X3:.*]] = affine_map<(d0, d1) -> (d0, (d1 floordiv 4) * 4 + 3)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @block4
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>) -> tensor<2x8xf32>
// CHECK-NOT: lowbit.
// CHECK: %[[S:.*]] = linalg.generic {indexing_maps = [#[[X0]], #[[X1]], #[[X2]], #[[X3]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[X]], %[[X]], %[[X]] :
// CHECK-NEXT: ^bb0(%[[A0:.*]]: f32, %[[A1:.*]]: f32, %[[A2:.*]]: f32, %[[A3:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[K:.*]] = linalg.index 1 : index
// CHECK: %[[ONE:.*]] = arith.constant 1 : index
// CHECK: %[[B0:.*]] = arith.andi %[[K]], %[[ONE]] : index
// CHECK: %[[E0:.*]] = arith.cmpi eq, %[[B0]], %{{.*}} : index
// CHECK: %[[S01:.*]] = arith.addf %[[A0]], %[[A1]] : f32
// CHECK: %[[D01:.*]] = arith.subf %[[A0]], %[[A1]] : f32
// CHECK: %[[Y0:.*]] = arith.select %[[E0]], %[[S01]], %[[D01]] : f32
// CHECK: %[[S23:.*]] = arith.addf %[[A2]], %[[A3]] : f32
// CHECK: %[[D23:.*]] = arith.subf %[[A2]], %[[A3]] : f32
// CHECK: %[[Y1:.*]] = arith.select %[[E0]], %[[S23]], %[[D23]] : f32
// CHECK: %[[TWO:.*]] = arith.constant 2 : index
// CHECK: %[[B1:.*]] = arith.andi %[[K]], %[[TWO]] : index
// CHECK: %[[E1:.*]] = arith.cmpi eq, %[[B1]], %{{.*}} : index
// CHECK: %[[S:.*]] = arith.addf %[[Y0]], %[[Y1]] : f32
// CHECK: %[[D:.*]] = arith.subf %[[Y0]], %[[Y1]] : f32
// CHECK: %[[Z:.*]] = arith.select %[[E1]], %[[S]], %[[D]] : f32
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[OUT:.*]] = arith.mulf %[[Z]], %[[HALF]] : f32
// CHECK: linalg.yield %[[OUT]] : f32
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @block4(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = lowbit.hadamard %x {block = 4 : i64} : tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Block 128 on a rank-3 input (K = 384): a radix-16 stage (stride 1) and a
// radix-8 stage (stride 16, t = (k >> 4) mod 8) that also scales.
// CHECK-DAG: #[[F0:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, (d2 floordiv 16) * 16)>
// CHECK-DAG: #[[F15:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, (d2 floordiv 16) * 16 + 15)>
// CHECK-DAG: #[[G0:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, (d2 floordiv 128) * 128 + d2 mod 16)>
// CHECK-DAG: #[[G7:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, (d2 floordiv 128) * 128 + d2 mod 16 + 112)>
// CHECK-LABEL: func.func @block128
// CHECK: linalg.generic {indexing_maps = [#[[F0]], {{#map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, }}#[[F15]], #{{.*}}]
// CHECK-NOT: arith.mulf
// CHECK: linalg.generic {indexing_maps = [#[[G0]], {{#map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, #map[0-9]*, }}#[[G7]], #{{.*}}]
// CHECK: %[[K:.*]] = linalg.index 2 : index
// CHECK: %[[FOUR:.*]] = arith.constant 4 : index
// CHECK: arith.shrui %[[K]], %[[FOUR]] : index
// CHECK: arith.constant 0.0883883{{[0-9]*}} : f32
// CHECK: arith.mulf
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
