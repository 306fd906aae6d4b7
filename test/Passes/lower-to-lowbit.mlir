// lower-to-lowbit: nn.linear on dequantize_dynamic(quantize_dynamic(x)) and a
// dequantize_weight with no zero or an integer zero becomes lowbit.qlinear
// on the packed weight (rank > 2 inputs are reshaped to [M, K] and back; the
// bias is folded in); any other dequantize_weight of a constant integer part
// reads packed storage. The layout follows the width (2: int2_crumbs, 3-4:
// int4_nibbles, 5-6: int6_planes, 7-8: int8_bytes; bit-serial: bit_planes),
// signless for symmetric weights and ui<bits> with an integer zero; the pack
// folds into a packed_constant (bytes computed by hand from the bit order in
// LowBitDialect.td). A K that the layout cannot hold stays in i8 containers.
// The pass has no diagnostics of its own (it only rewrites what matches);
// the leave-alone cases at the end stand in for a diagnostic test.

// RUN: lowbit-opt %s -split-input-file --lower-to-lowbit=bit-serial=true | FileCheck %s --check-prefix=BS
// RUN: lowbit-opt %s -split-input-file --lower-to-lowbit | FileCheck %s --check-prefix=GONE
// RUN: lowbit-opt %s -split-input-file --lower-to-lowbit | FileCheck %s

// INT4 symmetric, groups of 4, rank-3 input, bias.
//   row 0 [1,-2 | 3,-4 | 5,-6 | 7,-7] -> 0xE1 0xC3 0xA5 0x97
//   row 1 [0,1 | 2,3 | 4,5 | 6,7]     -> 0x10 0x32 0x54 0x76
// CHECK-LABEL: func.func @qlinear_rank3
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>, %[[B:.*]]: tensor<2xf32>)
// CHECK-DAG: %[[OUT:.*]] = tosa.const_shape {{.*}}dense<[2, 3, 2]> : tensor<3xindex>
// CHECK-DAG: %[[XS_SHAPE:.*]] = tosa.const_shape {{.*}}dense<[6, 1]> : tensor<2xindex>
// CHECK-DAG: %[[XQ_SHAPE:.*]] = tosa.const_shape {{.*}}dense<[6, 8]> : tensor<2xindex>
// CHECK-DAG: %[[W:.*]] = lowbit.packed_constant dense_resource<packed> : tensor<2x4xi8> -> !lowbit.packed<2x8xi4, int4_nibbles>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{\[\[}}5.000000e-01, 2.500000e-01], [1.000000e+00, 2.000000e+00]]> : tensor<2x2xf32>
// CHECK: %[[Q:.*]], %[[SC:.*]] = lowbit.quantize_dynamic %[[X]] {bits = 8 : i64}
// CHECK: %[[XQ:.*]] = tosa.reshape %[[Q]], %[[XQ_SHAPE]] : (tensor<2x3x8xi8>, !tosa.shape<2>) -> tensor<6x8xi8>
// CHECK: %[[XS:.*]] = tosa.reshape %[[SC]], %[[XS_SHAPE]] : (tensor<2x3x1xf32>, !tosa.shape<2>) -> tensor<6x1xf32>
// CHECK: %[[Y:.*]] = lowbit.qlinear %[[XQ]], %[[XS]], %[[W]], %[[S]] bias %[[B]] {a_bits = 8 : i64, group_size = 4 : i64, w_bits = 4 : i64} : (tensor<6x8xi8>, tensor<6x1xf32>, !lowbit.packed<2x8xi4, int4_nibbles>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<6x2xf32>
// CHECK: %[[R:.*]] = tosa.reshape %[[Y]], %[[OUT]] : (tensor<6x2xf32>, !tosa.shape<3>) -> tensor<2x3x2xf32>
// CHECK: return %[[R]]
// CHECK: packed: "0x01000000E1C3A59710325476"
// The float-path ops are gone.
// GONE-LABEL: func.func @qlinear_rank3
// GONE-NOT: dequantize_weight
// GONE-NOT: dequantize_dynamic
// GONE-NOT: nn.linear
// GONE: return
// Bit-serial: 4 planes of K/8 = 1 byte per row, plane i = bit i of each value.
//   row 0 (4-bit 0001,1110,0011,1100,0101,1010,0111,1001):
//     plane 0 [1,0,1,0,1,0,1,1] -> 0xD5, plane 1 [0,1,1,0,0,1,1,0] -> 0x66,
//     plane 2 [0,1,0,1,1,0,1,0] -> 0x5A, plane 3 [0,1,0,1,0,1,0,1] -> 0xAA
//   row 1 [0..7]: 0xAA, 0xCC, 0xF0, 0x00
// BS-LABEL: func.func @qlinear_rank3
// BS: lowbit.packed_constant dense_resource<packed> : tensor<2x4xi8> -> !lowbit.packed<2x8xi4, bit_planes>
// BS: lowbit.qlinear {{.*}} bias {{.*}} : (tensor<6x8xi8>, tensor<6x1xf32>, !lowbit.packed<2x8xi4, bit_planes>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<6x2xf32>
// BS: packed: "0x01000000D5665AAAAACCF000"
func.func @qlinear_rank3(%x: tensor<2x3x8xf32>, %b: tensor<2xf32>) -> tensor<2x3x2xf32> {
  %q = arith.constant dense<[[1, -2, 3, -4, 5, -6, 7, -7], [0, 1, 2, 3, 4, 5, 6, 7]]> : tensor<2x8xi8>
  %s = arith.constant dense<[[0.5, 0.25], [1.0, 2.0]]> : tensor<2x2xf32>
  %w = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x8xi8>, tensor<2x2xf32>) -> tensor<2x8xf32>
  %xq, %xs = lowbit.quantize_dynamic %x {bits = 8 : i64} : tensor<2x3x8xf32> -> tensor<2x3x8xi8>, tensor<2x3x1xf32>
  %xd = lowbit.dequantize_dynamic %xq, %xs {bits = 8 : i64} : tensor<2x3x8xi8>, tensor<2x3x1xf32> -> tensor<2x3x8xf32>
  %y = nn.linear %xd, %w, %b : (tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2xf32>) -> tensor<2x3x2xf32> loc("fc1")
  return %y : tensor<2x3x2xf32>
}

// -----

// Asymmetric INT4 (integer zero): unsigned ui4 storage, the zero table goes
// to qlinear; a rank-2 input needs no reshape.
//   row 0 [15,0 | 8,9 | 1,14 | 7,6] -> 0x0F 0x98 0xE1 0x67
//   row 1 [0,1 | 2,3 | 4,5 | 6,7]   -> 0x10 0x32 0x54 0x76
// CHECK-LABEL: func.func @qlinear_asymmetric
// CHECK-SAME: (%[[X:.*]]: tensor<3x8xf32>)
// CHECK-DAG: %[[W:.*]] = lowbit.packed_constant dense_resource<packed> : tensor<2x4xi8> -> !lowbit.packed<2x8xui4, int4_nibbles>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{\[\[}}5.000000e-01], [1.000000e+00]]> : tensor<2x1xf32>
// CHECK-DAG: %[[Z:.*]] = arith.constant dense<{{\[\[}}8.000000e+00], [3.000000e+00]]> : tensor<2x1xf32>
// CHECK: %[[Q:.*]], %[[SC:.*]] = lowbit.quantize_dynamic %[[X]] {bits = 6 : i64}
// CHECK-NOT: tosa.reshape
// CHECK: %[[Y:.*]] = lowbit.qlinear %[[Q]], %[[SC]], %[[W]], %[[S]] zero %[[Z]] {a_bits = 6 : i64, group_size = 8 : i64, w_bits = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<2x8xui4, int4_nibbles>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<3x2xf32>
// CHECK-NOT: tosa.reshape
// CHECK: return %[[Y]]
// CHECK: packed: "0x010000000F98E16710325476"
// GONE-LABEL: func.func @qlinear_asymmetric
// GONE-NOT: dequantize_weight
// GONE-NOT: dequantize_dynamic
// GONE-NOT: nn.linear
// GONE: return
// BS-LABEL: func.func @qlinear_asymmetric
// BS: lowbit.qlinear {{.*}} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<2x8xui4, bit_planes>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<3x2xf32>
func.func @qlinear_asymmetric(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %q = arith.constant dense<[[15, 0, 8, 9, 1, 14, 7, 6], [0, 1, 2, 3, 4, 5, 6, 7]]> : tensor<2x8xi8>
  %s = arith.constant dense<[[0.5], [1.0]]> : tensor<2x1xf32>
  %z = arith.constant dense<[[8.0], [3.0]]> : tensor<2x1xf32>
  %w = lowbit.dequantize_weight %q, %s, %z {bits = 4 : i64, group_size = 8 : i64} : (tensor<2x8xi8>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %xq, %xs = lowbit.quantize_dynamic %x {bits = 6 : i64} : tensor<3x8xf32> -> tensor<3x8xi8>, tensor<3x1xf32>
  %xd = lowbit.dequantize_dynamic %xq, %xs {bits = 6 : i64} : tensor<3x8xi8>, tensor<3x1xf32> -> tensor<3x8xf32>
  %y = nn.linear %xd, %w : (tensor<3x8xf32>, tensor<2x8xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

// -----

// Weight-only INT2 linear: dequantize_weight reads int2 crumbs.
//   row 0 [1,-2,0,-1 | -1,0,-2,1] -> 0xC9 0x63; row 1 [0,0,0,0 | 1,1,1,1] -> 0x00 0x55
// CHECK-LABEL: func.func @weight_only_int2
// CHECK-SAME: (%[[X:.*]]: tensor<3x8xf32>)
// CHECK-DAG: %[[P:.*]] = lowbit.packed_constant dense_resource<packed> : tensor<2x2xi8> -> !lowbit.packed<2x8xi2, int2_crumbs>
// CHECK-DAG: %[[S:.*]] = arith.constant {{.*}} : tensor<2x1xf32>
// CHECK: %[[W:.*]] = lowbit.dequantize_weight %[[P]], %[[S]] {bits = 2 : i64, group_size = 8 : i64} : (!lowbit.packed<2x8xi2, int2_crumbs>, tensor<2x1xf32>) -> tensor<2x8xf32>
// CHECK: nn.linear %[[X]], %[[W]] : (tensor<3x8xf32>, tensor<2x8xf32>) -> tensor<3x2xf32>
// CHECK-NOT: qlinear
// CHECK: packed: "0x01000000C9630055"
// BS-LABEL: func.func @weight_only_int2
// BS: lowbit.packed_constant dense_resource<packed> : tensor<2x2xi8> -> !lowbit.packed<2x8xi2, bit_planes>
// BS: lowbit.dequantize_weight {{.*}} : (!lowbit.packed<2x8xi2, bit_planes>, tensor<2x1xf32>) -> tensor<2x8xf32>
func.func @weight_only_int2(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %q = arith.constant dense<[[1, -2, 0, -1, -1, 0, -2, 1], [0, 0, 0, 0, 1, 1, 1, 1]]> : tensor<2x8xi8>
  %s = arith.constant dense<[[0.5], [1.0]]> : tensor<2x1xf32>
  %w = lowbit.dequantize_weight %q, %s {bits = 2 : i64, group_size = 8 : i64} : (tensor<2x8xi8>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %y = nn.linear %x, %w : (tensor<3x8xf32>, tensor<2x8xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

// -----

// Weight-only INT6 convolution: the [2, 1*2*4] filter matrix in int6
// planes, reshaped back to [F, C, KH, KW] for nn.conv2d.
//   row 0 [1,-1,31,-32,17,-17,0,10]: nibbles 0xF1 0x0F 0xF1 0xA0, crumbs 0x9C 0x09
//   row 1 [16,-16,0,0,0,0,0,0]: nibbles 0x00 x4, crumbs 0x0D 0x00
// CHECK-LABEL: func.func @conv_int6
// CHECK-SAME: (%[[X:.*]]: tensor<1x1x4x4xf32>)
// CHECK-DAG: %[[P:.*]] = lowbit.packed_constant dense_resource<packed> : tensor<2x6xi8> -> !lowbit.packed<2x8xi6, int6_planes>
// CHECK-DAG: %[[SHAPE:.*]] = tosa.const_shape {{.*}}dense<[2, 1, 2, 4]> : tensor<4xindex>
// CHECK: %[[W:.*]] = lowbit.dequantize_weight %[[P]], %{{.*}} {bits = 6 : i64, group_size = 4 : i64} : (!lowbit.packed<2x8xi6, int6_planes>, tensor<2x2xf32>) -> tensor<2x8xf32>
// CHECK: %[[F:.*]] = tosa.reshape %[[W]], %[[SHAPE]] : (tensor<2x8xf32>, !tosa.shape<4>) -> tensor<2x1x2x4xf32>
// CHECK: nn.conv2d %[[X]], %[[F]]
// CHECK: packed: "0x01000000F10FF1A09C09000000000D00"
// BS-LABEL: func.func @conv_int6
// BS: lowbit.packed_constant dense_resource<packed> : tensor<2x6xi8> -> !lowbit.packed<2x8xi6, bit_planes>
func.func @conv_int6(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x3x1xf32> {
  %q = arith.constant dense<[[1, -1, 31, -32, 17, -17, 0, 10], [16, -16, 0, 0, 0, 0, 0, 0]]> : tensor<2x8xi8>
  %s = arith.constant dense<0.25> : tensor<2x2xf32>
  %w = lowbit.dequantize_weight %q, %s {bits = 6 : i64, group_size = 4 : i64} : (tensor<2x8xi8>, tensor<2x2xf32>) -> tensor<2x8xf32>
  %shape = tosa.const_shape {values = dense<[2, 1, 2, 4]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %f = tosa.reshape %w, %shape : (tensor<2x8xf32>, !tosa.shape<4>) -> tensor<2x1x2x4xf32>
  %y = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x4x4xf32>, tensor<2x1x2x4xf32>) -> tensor<1x2x3x1xf32> loc("conv_0")
  return %y : tensor<1x2x3x1xf32>
}

// -----

// 8-bit: one byte per value [-127,127,-1,5], [1,-2,3,0].
// CHECK-LABEL: func.func @weight_only_int8
// CHECK: lowbit.packed_constant dense_resource<packed> : tensor<2x4xi8> -> !lowbit.packed<2x4xi8, int8_bytes>
// CHECK: lowbit.dequantize_weight {{.*}} : (!lowbit.packed<2x4xi8, int8_bytes>, tensor<2x1xf32>) -> tensor<2x4xf32>
// CHECK: packed: "0x01000000817FFF0501FE0300"
// K = 4 is not a multiple of 8: bit planes cannot hold it, i8 containers stay.
// BS-LABEL: func.func @weight_only_int8
// BS-NOT: packed
// BS: lowbit.dequantize_weight %{{.*}}, %{{.*}} {bits = 8 : i64, group_size = 4 : i64} : (tensor<2x4xi8>, tensor<2x1xf32>) -> tensor<2x4xf32>
func.func @weight_only_int8(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %q = arith.constant dense<[[-127, 127, -1, 5], [1, -2, 3, 0]]> : tensor<2x4xi8>
  %s = arith.constant dense<[[0.5], [1.0]]> : tensor<2x1xf32>
  %w = lowbit.dequantize_weight %q, %s {bits = 8 : i64, group_size = 4 : i64} : (tensor<2x4xi8>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

// -----

// The in-between widths take the next layout up: INT3 in nibbles
// ([-3,3] -> 0x3D, [-4,1] -> 0x1C), INT5 in 6-bit planes, INT7 in bytes.
// CHECK-LABEL: func.func @odd_widths
// CHECK-DAG: lowbit.packed_constant dense_resource<[[P3:packed[_0-9]*]]> : tensor<1x2xi8> -> !lowbit.packed<1x4xi3, int4_nibbles>
// CHECK-DAG: lowbit.packed_constant dense_resource<{{packed[_0-9]*}}> : tensor<1x3xi8> -> !lowbit.packed<1x4xi5, int6_planes>
// CHECK-DAG: lowbit.packed_constant dense_resource<{{packed[_0-9]*}}> : tensor<1x4xi8> -> !lowbit.packed<1x4xi7, int8_bytes>
// CHECK-DAG: lowbit.dequantize_weight {{.*}} {bits = 3 : i64, group_size = 4 : i64} : (!lowbit.packed<1x4xi3, int4_nibbles>, tensor<1x1xf32>)
// CHECK-DAG: lowbit.dequantize_weight {{.*}} {bits = 5 : i64, group_size = 4 : i64} : (!lowbit.packed<1x4xi5, int6_planes>, tensor<1x1xf32>)
// CHECK-DAG: lowbit.dequantize_weight {{.*}} {bits = 7 : i64, group_size = 4 : i64} : (!lowbit.packed<1x4xi7, int8_bytes>, tensor<1x1xf32>)
// CHECK: [[P3]]: "0x010000003D1C"
func.func @odd_widths(%x: tensor<3x4xf32>) -> (tensor<3x1xf32>, tensor<3x1xf32>, tensor<3x1xf32>) {
  %s = arith.constant dense<1.0> : tensor<1x1xf32>
  %q3 = arith.constant dense<[[-3, 3, -4, 1]]> : tensor<1x4xi8>
  %w3 = lowbit.dequantize_weight %q3, %s {bits = 3 : i64, group_size = 4 : i64} : (tensor<1x4xi8>, tensor<1x1xf32>) -> tensor<1x4xf32>
  %y3 = nn.linear %x, %w3 : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x1xf32> loc("w3")
  %q5 = arith.constant dense<[[-15, 15, 1, 0]]> : tensor<1x4xi8>
  %w5 = lowbit.dequantize_weight %q5, %s {bits = 5 : i64, group_size = 4 : i64} : (tensor<1x4xi8>, tensor<1x1xf32>) -> tensor<1x4xf32>
  %y5 = nn.linear %x, %w5 : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x1xf32> loc("w5")
  %q7 = arith.constant dense<[[-63, 63, 1, 0]]> : tensor<1x4xi8>
  %w7 = lowbit.dequantize_weight %q7, %s {bits = 7 : i64, group_size = 4 : i64} : (tensor<1x4xi8>, tensor<1x1xf32>) -> tensor<1x4xf32>
  %y7 = nn.linear %x, %w7 : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x1xf32> loc("w7")
  return %y3, %y5, %y7 : tensor<3x1xf32>, tensor<3x1xf32>, tensor<3x1xf32>
}

// -----

// K = 6 is not a multiple of 4 (int6 planes) and K = 7 not a multiple of 2
// (nibbles): the integer parts stay in i8 containers, for qlinear and for
// weight-only layers alike.
// CHECK-LABEL: func.func @indivisible_rows
// CHECK-SAME: (%[[X:.*]]: tensor<3x6xf32>, %[[X7:.*]]: tensor<3x7xf32>)
// CHECK-NOT: packed
// CHECK-DAG: %[[Q6:.*]] = arith.constant dense<{{\[\[}}1, -2, 1, -2, 1, -2], [0, 1, 0, 1, 0, 1]]> : tensor<2x6xi8>
// CHECK-DAG: %[[Q7:.*]] = arith.constant dense<1> : tensor<2x7xi8>
// CHECK: lowbit.qlinear %{{.*}}, %{{.*}}, %[[Q6]], %{{.*}} {a_bits = 8 : i64, group_size = 6 : i64, w_bits = 6 : i64} : (tensor<3x6xi8>, tensor<3x1xf32>, tensor<2x6xi8>, tensor<2x1xf32>) -> tensor<3x2xf32>
// CHECK: lowbit.dequantize_weight %[[Q7]], %{{.*}} {bits = 4 : i64, group_size = 7 : i64} : (tensor<2x7xi8>, tensor<2x1xf32>) -> tensor<2x7xf32>
// CHECK-NOT: packed
func.func @indivisible_rows(%x: tensor<3x6xf32>, %x7: tensor<3x7xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %q = arith.constant dense<[[1, -2, 1, -2, 1, -2], [0, 1, 0, 1, 0, 1]]> : tensor<2x6xi8>
  %s = arith.constant dense<[[0.5], [1.0]]> : tensor<2x1xf32>
  %w = lowbit.dequantize_weight %q, %s {bits = 6 : i64, group_size = 6 : i64} : (tensor<2x6xi8>, tensor<2x1xf32>) -> tensor<2x6xf32>
  %xq, %xs = lowbit.quantize_dynamic %x {bits = 8 : i64} : tensor<3x6xf32> -> tensor<3x6xi8>, tensor<3x1xf32>
  %xd = lowbit.dequantize_dynamic %xq, %xs {bits = 8 : i64} : tensor<3x6xi8>, tensor<3x1xf32> -> tensor<3x6xf32>
  %y = nn.linear %xd, %w : (tensor<3x6xf32>, tensor<2x6xf32>) -> tensor<3x2xf32> loc("fc1")
  %q7 = arith.constant dense<1> : tensor<2x7xi8>
  %w7 = lowbit.dequantize_weight %q7, %s {bits = 4 : i64, group_size = 7 : i64} : (tensor<2x7xi8>, tensor<2x1xf32>) -> tensor<2x7xf32>
  %y7 = nn.linear %x7, %w7 : (tensor<3x7xf32>, tensor<2x7xf32>) -> tensor<3x2xf32> loc("fc2")
  return %y, %y7 : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

// Leave alone: a plain float model.
// CHECK-LABEL: func.func @float_model
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>, %[[W:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK-NOT: lowbit.
// CHECK-NOT: tosa.
// CHECK: %[[Y:.*]] = nn.linear %[[X]], %[[W]], %[[B]] : (tensor<2x3x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
// CHECK: return %[[Y]]
func.func @float_model(%x: tensor<2x3x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>) -> tensor<2x3x4xf32> {
  %y = nn.linear %x, %w, %b : (tensor<2x3x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x3x4xf32> loc("fc1")
  return %y : tensor<2x3x4xf32>
}

// -----

// Leave alone: a weight-only layer whose integer part is not a constant
// (nothing to pack at compile time), and quantized activations with a float
// weight (no qlinear without a quantized weight).
// CHECK-LABEL: func.func @not_lowerable
// CHECK-SAME: (%[[X:.*]]: tensor<3x8xf32>, %[[Q:.*]]: tensor<2x8xi8>, %[[S:.*]]: tensor<2x1xf32>, %[[F:.*]]: tensor<2x8xf32>)
// CHECK-NOT: packed
// CHECK: %[[W:.*]] = lowbit.dequantize_weight %[[Q]], %[[S]] {bits = 4 : i64, group_size = 8 : i64} : (tensor<2x8xi8>, tensor<2x1xf32>) -> tensor<2x8xf32>
// CHECK: nn.linear %[[X]], %[[W]]
// CHECK: %[[XQ:.*]], %[[XS:.*]] = lowbit.quantize_dynamic %[[X]]
// CHECK: %[[XD:.*]] = lowbit.dequantize_dynamic %[[XQ]], %[[XS]]
// CHECK: nn.linear %[[XD]], %[[F]]
// CHECK-NOT: qlinear
// CHECK-NOT: packed
func.func @not_lowerable(%x: tensor<3x8xf32>, %q: tensor<2x8xi8>, %s: tensor<2x1xf32>, %f: tensor<2x8xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %w = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 8 : i64} : (tensor<2x8xi8>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %y = nn.linear %x, %w : (tensor<3x8xf32>, tensor<2x8xf32>) -> tensor<3x2xf32> loc("fc1")
  %xq, %xs = lowbit.quantize_dynamic %x {bits = 8 : i64} : tensor<3x8xf32> -> tensor<3x8xi8>, tensor<3x1xf32>
  %xd = lowbit.dequantize_dynamic %xq, %xs {bits = 8 : i64} : tensor<3x8xi8>, tensor<3x1xf32> -> tensor<3x8xf32>
  %z = nn.linear %xd, %f : (tensor<3x8xf32>, tensor<2x8xf32>) -> tensor<3x2xf32> loc("fc2")
  return %y, %z : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

// decoupleQ (float_offset zero, w = q * s + z, q signed full range as
// quantize-weights method=decoupleq produces it) needs float math: no
// qlinear, the layer stays weight-only; its constant integer part is packed
// at compile time like any other (no lowbit.pack may be left over).
// CHECK-LABEL: func.func @float_offset
// CHECK-SAME: (%[[X:.*]]: tensor<3x8xf32>)
// CHECK-NOT: qlinear
// CHECK-NOT: lowbit.pack{{ }}
// CHECK: %[[W:.*]] = lowbit.dequantize_weight %{{.*}}, %{{.*}}, %{{.*}} {bits = 4 : i64, group_size = 8 : i64, zero_kind = "float_offset"}
// CHECK-NOT: lowbit.pack{{ }}
// CHECK: nn.linear %{{.*}}, %[[W]]
// CHECK-NOT: qlinear
// CHECK: return
func.func @float_offset(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %q = arith.constant dense<[[1, -2, 3, -4, 5, -6, 7, -8], [0, 1, 2, 3, 4, 5, 6, 7]]> : tensor<2x8xi8>
  %s = arith.constant dense<[[0.5], [1.0]]> : tensor<2x1xf32>
  %z = arith.constant dense<[[0.125], [-0.25]]> : tensor<2x1xf32>
  %w = lowbit.dequantize_weight %q, %s, %z {bits = 4 : i64, group_size = 8 : i64, zero_kind = "float_offset"} : (tensor<2x8xi8>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %xq, %xs = lowbit.quantize_dynamic %x {bits = 8 : i64} : tensor<3x8xf32> -> tensor<3x8xi8>, tensor<3x1xf32>
  %xd = lowbit.dequantize_dynamic %xq, %xs {bits = 8 : i64} : tensor<3x8xi8>, tensor<3x1xf32> -> tensor<3x8xf32>
  %y = nn.linear %xd, %w : (tensor<3x8xf32>, tensor<2x8xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}
