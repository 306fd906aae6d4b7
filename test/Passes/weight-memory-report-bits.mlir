// weight-memory-report's act_bits for nn layers whose input was quantized in
// front of them (QDQ form, before lower-to-lowbit): the bits of a dynamic
// pair, the bits a static !quant.uniform storage range spans (i8<-7:7> holds
// 15 levels: 4 bits; i8<-127:127>: 8 bits), 32 for a plain float input.

// RUN: lowbit-opt %s --weight-memory-report="output=%t.json print=false" -o /dev/null
// RUN: cat %t.json | FileCheck %s

// CHECK:      "act_bits": 6,
// CHECK-NEXT: "f32_bytes": 128,
// CHECK-NEXT: "layer": "fc_dynamic",
// CHECK:      "weight_bits": 32
// CHECK:      "act_bits": 4,
// CHECK-NEXT: "f32_bytes": 128,
// CHECK-NEXT: "layer": "fc_static4",
// CHECK:      "act_bits": 8,
// CHECK-NEXT: "f32_bytes": 64,
// CHECK-NEXT: "layer": "conv_static8",
// CHECK:      "act_bits": 32,
// CHECK-NEXT: "f32_bytes": 128,
// CHECK-NEXT: "layer": "fc_float",

func.func @inputs(%x: tensor<3x8xf32>, %img: tensor<1x1x4x4xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>, tensor<1x2x3x1xf32>, tensor<3x4xf32>) {
  %w = arith.constant dense<1.0> : tensor<4x8xf32>
  %q, %s = lowbit.quantize_dynamic %x {bits = 6 : i64} : tensor<3x8xf32> -> tensor<3x8xi8>, tensor<3x1xf32>
  %xd = lowbit.dequantize_dynamic %q, %s {bits = 6 : i64} : tensor<3x8xi8>, tensor<3x1xf32> -> tensor<3x8xf32>
  %y = nn.linear %xd, %w : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32> loc("fc_dynamic")
  %q4 = lowbit.quantize %x : tensor<3x8xf32> -> tensor<3x8x!quant.uniform<i8<-7:7>:f32, 0.5>>
  %x4 = lowbit.dequantize %q4 : tensor<3x8x!quant.uniform<i8<-7:7>:f32, 0.5>> -> tensor<3x8xf32>
  %y4 = nn.linear %x4, %w : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32> loc("fc_static4")
  %qi = lowbit.quantize %img : tensor<1x1x4x4xf32> -> tensor<1x1x4x4x!quant.uniform<i8<-127:127>:f32, 0.1>>
  %xi = lowbit.dequantize %qi : tensor<1x1x4x4x!quant.uniform<i8<-127:127>:f32, 0.1>> -> tensor<1x1x4x4xf32>
  %f = arith.constant dense<1.0> : tensor<2x1x2x4xf32>
  %c = nn.conv2d %xi, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x4x4xf32>, tensor<2x1x2x4xf32>) -> tensor<1x2x3x1xf32> loc("conv_static8")
  %yf = nn.linear %x, %w : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32> loc("fc_float")
  return %y, %y4, %c, %yf : tensor<3x4xf32>, tensor<3x4xf32>, tensor<1x2x3x1xf32>, tensor<3x4xf32>
}
