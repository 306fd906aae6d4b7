// Round trip of the lowbit dialect: !lowbit.packed in every layout with
// per-tensor, per-axis and sub-channel !quant.uniform elements (and plain
// integers), the #lowbit.layout attribute on its own, and the four ops
// quantize / pack / unpack / dequantize, in custom and generic form.

// RUN: lowbit-opt %s | lowbit-opt | FileCheck %s
// RUN: lowbit-opt %s --mlir-print-op-generic | lowbit-opt | FileCheck %s

// CHECK-LABEL: func.func @layouts(
// CHECK-SAME: %{{.*}}: !lowbit.packed<2x16x!quant.uniform<i2:f32, 5.000000e-01>, int2_crumbs>
// CHECK-SAME: %{{.*}}: !lowbit.packed<8x4xi2, int2_crumbs>
// CHECK-SAME: %{{.*}}: !lowbit.packed<4x64x!quant.uniform<u4:f32, 1.250000e-01:8>, int4_nibbles>
// CHECK-SAME: %{{.*}}: !lowbit.packed<4x8x!quant.uniform<i6:f32, 2.000000e-02>, int6_planes>
// CHECK-SAME: %{{.*}}: !lowbit.packed<4x8x!quant.uniform<i5:f32, 2.000000e-02>, int6_planes>
// CHECK-SAME: %{{.*}}: !lowbit.packed<3x16x!quant.uniform<i8<-127:127>:f32:0, {1.000000e-01,2.000000e-01,3.000000e-01}>, int8_bytes>
// CHECK-SAME: %{{.*}}: !lowbit.packed<5x!quant.uniform<i7:f16, 2.500000e-01>, int8_bytes>
// CHECK-SAME: %{{.*}}: !lowbit.packed<2x32x!quant.uniform<i3:f32, 1.000000e+00>, bit_planes>
// CHECK-SAME: %{{.*}}: !lowbit.packed<8xi1, bit_planes>
func.func @layouts(
    %a: !lowbit.packed<2x16x!quant.uniform<i2:f32, 0.5>, int2_crumbs>,
    // The layout may also be written as a string.
    %b: !lowbit.packed<8x4xi2, "int2_crumbs">,
    %c: !lowbit.packed<4x64x!quant.uniform<u4:f32, 0.125:8>, int4_nibbles>,
    %d: !lowbit.packed<4x8x!quant.uniform<i6:f32, 0.02>, int6_planes>,
    // INT5 fits the 6-bit planes, INT7 fits bytes.
    %e: !lowbit.packed<4x8x!quant.uniform<i5:f32, 0.02>, int6_planes>,
    %f: !lowbit.packed<3x16x!quant.uniform<i8<-127:127>:f32:0, {0.1, 0.2, 0.3}>, int8_bytes>,
    %g: !lowbit.packed<5x!quant.uniform<i7:f16, 0.25>, int8_bytes>,
    %h: !lowbit.packed<2x32x!quant.uniform<i3:f32, 1.0>, bit_planes>,
    %i: !lowbit.packed<8xi1, bit_planes>) {
  return
}

// Sub-channel (block-wise) quantization: blocks of 128 along K = 256.
// CHECK-LABEL: func.func @sub_channel(
// CHECK-SAME: !lowbit.packed<2x256x!quant.uniform<i4:f32:{1:128}, {{\{\{}}2.000000e+00, 3.000000e+00}, {4.000000e+00, 5.000000e+00}}>, int4_nibbles>
func.func @sub_channel(%w: !lowbit.packed<2x256x!quant.uniform<i4:f32:{1:128}, {{2.0, 3.0}, {4.0, 5.0}}>, int4_nibbles>) {
  return
}

// CHECK-LABEL: func.func @layout_attr()
// CHECK-SAME: attributes {layout = #lowbit.layout<int6_planes>, layouts = [#lowbit.layout<int2_crumbs>, #lowbit.layout<int4_nibbles>, #lowbit.layout<int8_bytes>, #lowbit.layout<bit_planes>]}
func.func @layout_attr() attributes {
    layout = #lowbit.layout<int6_planes>,
    layouts = [#lowbit.layout<int2_crumbs>, #lowbit.layout<int4_nibbles>,
               #lowbit.layout<int8_bytes>, #lowbit.layout<bit_planes>]} {
  return
}

// The custom form of pack/unpack prints the packed type without its
// `!lowbit.packed` prefix (the op already knows the type); accept both.
// CHECK-LABEL: func.func @round_trip_ops
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK: %[[Q:.*]] = lowbit.quantize %[[X]] : tensor<4x8xf32> -> tensor<4x8x!quant.uniform<i6:f32, 2.000000e-02>>
// CHECK: %[[P:.*]] = lowbit.pack %[[Q]] : tensor<4x8x!quant.uniform<i6:f32, 2.000000e-02>> -> {{(!lowbit.packed)?}}<4x8x!quant.uniform<i6:f32, 2.000000e-02>, int6_planes>
// CHECK: %[[U:.*]] = lowbit.unpack %[[P]] : {{(!lowbit.packed)?}}<4x8x!quant.uniform<i6:f32, 2.000000e-02>, int6_planes> -> tensor<4x8x!quant.uniform<i6:f32, 2.000000e-02>>
// CHECK: %[[D:.*]] = lowbit.dequantize %[[U]] : tensor<4x8x!quant.uniform<i6:f32, 2.000000e-02>> -> tensor<4x8xf32>
// CHECK: return %[[D]]
func.func @round_trip_ops(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %q = lowbit.quantize %x : tensor<4x8xf32> -> tensor<4x8x!quant.uniform<i6:f32, 0.02>>
  %p = lowbit.pack %q : tensor<4x8x!quant.uniform<i6:f32, 0.02>> -> !lowbit.packed<4x8x!quant.uniform<i6:f32, 0.02>, int6_planes>
  %u = lowbit.unpack %p : !lowbit.packed<4x8x!quant.uniform<i6:f32, 0.02>, int6_planes> -> tensor<4x8x!quant.uniform<i6:f32, 0.02>>
  %d = lowbit.dequantize %u : tensor<4x8x!quant.uniform<i6:f32, 0.02>> -> tensor<4x8xf32>
  return %d : tensor<4x8xf32>
}

// Per-axis (one scale per output channel) and sub-channel quantize, and
// dequantize to f16.
// CHECK-LABEL: func.func @quant_granularity
// CHECK: lowbit.quantize %{{.*}} : tensor<3x16xf32> -> tensor<3x16x!quant.uniform<i4:f32:0, {1.000000e-01,2.000000e-01,3.000000e-01}>>
// CHECK: lowbit.quantize %{{.*}} : tensor<2x256xf32> -> tensor<2x256x!quant.uniform<i4:f32:{1:128}, {{\{\{}}2.000000e+00, 3.000000e+00}, {4.000000e+00, 5.000000e+00}}>>
// CHECK: lowbit.dequantize %{{.*}} : tensor<8x!quant.uniform<i2:f16, 1.000000e+00>> -> tensor<8xf16>
func.func @quant_granularity(%x: tensor<3x16xf32>, %w: tensor<2x256xf32>, %h: tensor<8x!quant.uniform<i2:f16, 1.0>>) {
  %0 = lowbit.quantize %x : tensor<3x16xf32> -> tensor<3x16x!quant.uniform<i4:f32:0, {0.1, 0.2, 0.3}>>
  %1 = lowbit.quantize %w : tensor<2x256xf32> -> tensor<2x256x!quant.uniform<i4:f32:{1:128}, {{2.0, 3.0}, {4.0, 5.0}}>>
  %2 = lowbit.dequantize %h : tensor<8x!quant.uniform<i2:f16, 1.0>> -> tensor<8xf16>
  return
}
