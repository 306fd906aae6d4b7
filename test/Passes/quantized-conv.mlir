// Quantized convolutions: quantize-activations puts one dynamic scale on the
// whole conv input (a reshape to [1, N*C*H*W] around the QDQ pair), and
// lower-to-lowbit turns a dense conv (groups = 1) with such an input and a
// quantized filter into an int8 im2col (patches [N*OH*OW, C*KH*KW], zero
// padding in i8), lowbit.qlinear and a transpose back to NCHW. A grouped conv
// keeps its QDQ form (it runs in float with quantized values).

// RUN: lowbit-opt %s -split-input-file --quantize-activations | FileCheck %s --check-prefix=QA
// RUN: lowbit-opt %s -split-input-file --quantize-activations --lower-to-lowbit | FileCheck %s --check-prefix=LOW

// QA-LABEL: func.func @dense_conv
// QA: %[[FLAT:.*]] = tosa.reshape %arg0, %{{.*}} -> tensor<1x75xf32>
// QA: %[[Q:.*]], %[[S:.*]] = lowbit.quantize_dynamic %[[FLAT]] {bits = 8 : i64} : tensor<1x75xf32> -> tensor<1x75xi8>, tensor<1x1xf32>
// QA: %[[DQ:.*]] = lowbit.dequantize_dynamic %[[Q]], %[[S]] {bits = 8 : i64}
// QA: %[[X:.*]] = tosa.reshape %[[DQ]], %{{.*}} -> tensor<1x3x5x5xf32>
// QA: nn.conv2d %[[X]]

// Row m = (n, oh, ow) of OH x OW = 3 x 4, column kk = (c, kh, kw) of a 2x2
// kernel, strides (2, 1): input (n, c, 2*oh + kh, ow + kw).
// LOW-DAG: #[[PATCH:.*]] = affine_map<(d0, d1) -> (d0 floordiv 12, d1 floordiv 4, ((d0 floordiv 4) mod 3) * 2 + (d1 floordiv 2) mod 2, d0 mod 4 + d1 mod 2)>
// LOW-LABEL: func.func @dense_conv
// LOW: %[[Q:.*]], %[[S:.*]] = lowbit.quantize_dynamic
// LOW: %[[X4:.*]] = tosa.reshape %[[Q]], %{{.*}} -> tensor<1x3x5x5xi8>
// LOW: %[[PAD:.*]] = tensor.pad %[[X4]] low[0, 0, 1, 0] high[0, 0, 1, 0]
// LOW: tensor.yield %{{.*}} : i8
// LOW: } : tensor<1x3x5x5xi8> to tensor<1x3x7x5xi8>
// LOW: %[[PATCHES:.*]] = linalg.generic {indexing_maps = [#[[PATCH]], {{.*}}]{{.*}} ins(%[[PAD]] : tensor<1x3x7x5xi8>) outs(%{{.*}} : tensor<12x12xi8>)
// LOW: %[[Y:.*]] = lowbit.qlinear %[[PATCHES]], %{{.*}}, %{{.*}}, %{{.*}} bias %arg2 {a_bits = 8 : i64, group_size = 12 : i64, w_bits = 8 : i64} : (tensor<12x12xi8>, tensor<12x1xf32>, !lowbit.packed<4x12xi8, int8_bytes>, tensor<4x1xf32>, tensor<4xf32>) -> tensor<12x4xf32>
// LOW: %[[NHWC:.*]] = tosa.reshape %[[Y]], %{{.*}} -> tensor<1x3x4x4xf32>
// LOW: tosa.transpose %[[NHWC]] {perms = array<i32: 0, 3, 1, 2>} : (tensor<1x3x4x4xf32>) -> tensor<1x4x3x4xf32>
// LOW-NOT: nn.conv2d
func.func @dense_conv(%x: tensor<1x3x5x5xf32>, %s: tensor<4x1xf32>, %b: tensor<4xf32>) -> tensor<1x4x3x4xf32> {
  %q = arith.constant dense<1> : tensor<4x12xi8>
  %w2 = lowbit.dequantize_weight %q, %s {bits = 8 : i64, group_size = 12 : i64} : (tensor<4x12xi8>, tensor<4x1xf32>) -> tensor<4x12xf32>
  %shape = tosa.const_shape {values = dense<[4, 3, 2, 2]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %w = tosa.reshape %w2, %shape : (tensor<4x12xf32>, !tosa.shape<4>) -> tensor<4x3x2x2xf32>
  %y = nn.conv2d %x, %w, %b {strides = array<i64: 2, 1>, pads = array<i64: 1, 0, 1, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x5x5xf32>, tensor<4x3x2x2xf32>, tensor<4xf32>) -> tensor<1x4x3x4xf32>
  return %y : tensor<1x4x3x4xf32>
}

// -----

// Leave alone (for lower-to-lowbit): a grouped conv keeps its QDQ pair.
// LOW-LABEL: func.func @grouped_conv
// LOW: lowbit.dequantize_dynamic
// LOW: nn.conv2d
// LOW-NOT: lowbit.qlinear
func.func @grouped_conv(%x: tensor<1x4x5x5xf32>, %s: tensor<4x1xf32>) -> tensor<1x4x4x4xf32> {
  %q = arith.constant dense<1> : tensor<4x4xi8>
  %w2 = lowbit.dequantize_weight %q, %s {bits = 8 : i64, group_size = 4 : i64} : (tensor<4x4xi8>, tensor<4x1xf32>) -> tensor<4x4xf32>
  %shape = tosa.const_shape {values = dense<[4, 1, 2, 2]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %w = tosa.reshape %w2, %shape : (tensor<4x4xf32>, !tosa.shape<4>) -> tensor<4x1x2x2xf32>
  %y = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 4 : i64} : (tensor<1x4x5x5xf32>, tensor<4x1x2x2xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}
