// lowbit.hadamard and quantize_dynamic's rms_clip parse, verify and print
// back unchanged.

// RUN: lowbit-opt %s | lowbit-opt | FileCheck %s

// CHECK-LABEL: func.func @hadamard
// CHECK: lowbit.hadamard %{{.*}} {block = 128 : i64} : tensor<2x3x384xf32>
// CHECK: lowbit.hadamard %{{.*}} {block = 2 : i64} : tensor<2xf32>
func.func @hadamard(%x: tensor<2x3x384xf32>, %v: tensor<2xf32>) -> (tensor<2x3x384xf32>, tensor<2xf32>) {
  %0 = lowbit.hadamard %x {block = 128 : i64} : tensor<2x3x384xf32>
  %1 = lowbit.hadamard %v {block = 2 : i64} : tensor<2xf32>
  return %0, %1 : tensor<2x3x384xf32>, tensor<2xf32>
}

// CHECK-LABEL: func.func @rms_clip
// CHECK: lowbit.quantize_dynamic %{{.*}} {bits = 4 : i64, rms_clip = 2.5{{0*}}e+00 : f64} : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x1xf32>
func.func @rms_clip(%x: tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4x1xf32>) {
  %q, %s = lowbit.quantize_dynamic %x {bits = 4 : i64, rms_clip = 2.5 : f64} : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x1xf32>
  return %q, %s : tensor<4x8xi8>, tensor<4x1xf32>
}
