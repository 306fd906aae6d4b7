// Round trip of the ops the fusion passes form: rms_norm, gelu (both
// approximations, the default printed elided), hard_swish, silu and attention (with and
// without a mask).

// RUN: lowbit-opt %s | lowbit-opt | FileCheck %s
// RUN: lowbit-opt %s --mlir-print-op-generic | lowbit-opt | FileCheck %s

// CHECK-LABEL: func.func @rms_norm
// CHECK: nn.rms_norm %{{.*}}, %{{.*}} {axis = 2 : i64, epsilon = 9.99999997E-7 : f32} : (tensor<2x6x64xf32>, tensor<64xf32>) -> tensor<2x6x64xf32>
// CHECK: nn.rms_norm %{{.*}}, %{{.*}} {axis = 1 : i64, epsilon = 0.000000e+00 : f32} : (tensor<2x6x64xf16>, tensor<6x64xf16>) -> tensor<2x6x64xf16>
func.func @rms_norm(%x: tensor<2x6x64xf32>, %g: tensor<64xf32>, %h: tensor<2x6x64xf16>, %k: tensor<6x64xf16>) -> (tensor<2x6x64xf32>, tensor<2x6x64xf16>) {
  %0 = nn.rms_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x6x64xf32>, tensor<64xf32>) -> tensor<2x6x64xf32>
  %1 = nn.rms_norm %h, %k {axis = 1 : i64, epsilon = 0.0 : f32} : (tensor<2x6x64xf16>, tensor<6x64xf16>) -> tensor<2x6x64xf16>
  return %0, %1 : tensor<2x6x64xf32>, tensor<2x6x64xf16>
}

// CHECK-LABEL: func.func @gelu
// CHECK: nn.gelu %{{.*}} : tensor<4x8xf32>
// CHECK: nn.gelu %{{.*}} {approximate = "tanh"} : tensor<4x8xf32>
// CHECK: nn.gelu %{{.*}} : tensor<4x8xf32>
func.func @gelu(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = nn.gelu %x : tensor<4x8xf32>
  %1 = nn.gelu %x {approximate = "tanh"} : tensor<4x8xf32>
  %2 = nn.gelu %x {approximate = "none"} : tensor<4x8xf32>
  return %0, %1, %2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// CHECK-LABEL: func.func @hard_swish
// CHECK: nn.hard_swish %{{.*}} : tensor<1x16x8x8xf32>
func.func @hard_swish(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %0 = nn.hard_swish %x : tensor<1x16x8x8xf32>
  return %0 : tensor<1x16x8x8xf32>
}

// CHECK-LABEL: func.func @silu
// CHECK: nn.silu %{{.*}} : tensor<2x172xbf16>
func.func @silu(%x: tensor<2x172xbf16>) -> tensor<2x172xbf16> {
  %0 = nn.silu %x : tensor<2x172xbf16>
  return %0 : tensor<2x172xbf16>
}

// CHECK-LABEL: func.func @attention
// CHECK: nn.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {scale = 2.500000e-01 : f32} : (tensor<2x4x6x16xf32>, tensor<2x2x9x16xf32>, tensor<2x2x9x8xf32>, tensor<2x1x6x9xf32>) -> tensor<2x4x6x8xf32>
// CHECK: nn.attention %{{.*}}, %{{.*}}, %{{.*}} {scale = 1.000000e+00 : f32} : (tensor<2x4x6x16xf32>, tensor<2x2x9x16xf32>, tensor<2x2x9x8xf32>) -> tensor<2x4x6x8xf32>
func.func @attention(%q: tensor<2x4x6x16xf32>, %k: tensor<2x2x9x16xf32>, %v: tensor<2x2x9x8xf32>, %m: tensor<2x1x6x9xf32>) -> (tensor<2x4x6x8xf32>, tensor<2x4x6x8xf32>) {
  %0 = nn.attention %q, %k, %v, %m {scale = 0.25 : f32} : (tensor<2x4x6x16xf32>, tensor<2x2x9x16xf32>, tensor<2x2x9x8xf32>, tensor<2x1x6x9xf32>) -> tensor<2x4x6x8xf32>
  %1 = nn.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<2x4x6x16xf32>, tensor<2x2x9x16xf32>, tensor<2x2x9x8xf32>) -> tensor<2x4x6x8xf32>
  return %0, %1 : tensor<2x4x6x8xf32>, tensor<2x4x6x8xf32>
}
