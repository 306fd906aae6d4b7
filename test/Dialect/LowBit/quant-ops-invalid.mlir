// Verifier errors of the weight/activation ops of the lowbit dialect: one
// case per distinct message of packed_constant, dequantize_weight,
// quantize_dynamic, dequantize_dynamic, qlinear and the i8-container form of
// pack (bit width range, packed width vs bits, integer part type, rank,
// group size vs K, table shapes, zero_kind, result shapes, x_q / x_scale /
// bias shapes, packed bytes shape).

// RUN: lowbit-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// packed_constant
//===----------------------------------------------------------------------===//

func.func @packed_constant_row_bytes() {
  // INT4 rows of K = 8 are 4 bytes, not 8.
  // expected-error @+1 {{'lowbit.packed_constant' op value must be a tensor of i8 with shape [2x4] (rows x row bytes of the layout)}}
  %0 = lowbit.packed_constant dense<0> : tensor<2x8xi8> -> !lowbit.packed<2x8xi4, int4_nibbles>
  return
}

// -----

func.func @packed_constant_int6_row_bytes() {
  // INT6 rows are K/2 + K/4 = 6 bytes.
  // expected-error @+1 {{'lowbit.packed_constant' op value must be a tensor of i8 with shape [3x6] (rows x row bytes of the layout)}}
  %0 = lowbit.packed_constant dense<0> : tensor<3x4xi8> -> !lowbit.packed<3x8xi6, int6_planes>
  return
}

// -----

func.func @packed_constant_bit_planes_row_bytes() {
  // Bit planes: bits * K / 8 = 3 * 16 / 8 = 6 bytes per row.
  // expected-error @+1 {{'lowbit.packed_constant' op value must be a tensor of i8 with shape [2x2x6] (rows x row bytes of the layout)}}
  %0 = lowbit.packed_constant dense<0> : tensor<4x6xi8> -> !lowbit.packed<2x2x16xi3, bit_planes>
  return
}

// -----

func.func @packed_constant_not_i8() {
  // expected-error @+1 {{'lowbit.packed_constant' op value must be a tensor of i8 with shape [2x4] (rows x row bytes of the layout)}}
  %0 = lowbit.packed_constant dense<0> : tensor<2x4xi32> -> !lowbit.packed<2x8xi4, int4_nibbles>
  return
}

// -----

//===----------------------------------------------------------------------===//
// dequantize_weight
//===----------------------------------------------------------------------===//

func.func @dequantize_weight_bits_high(%q: tensor<4x8xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op bit width must be 2..8, got 9}}
  %0 = lowbit.dequantize_weight %q, %s {bits = 9 : i64, group_size = 8 : i64} : (tensor<4x8xi8>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @dequantize_weight_bits_low(%q: tensor<4x8xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op bit width must be 2..8, got 1}}
  %0 = lowbit.dequantize_weight %q, %s {bits = 1 : i64, group_size = 8 : i64} : (tensor<4x8xi8>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @dequantize_weight_packed_width(%p: !lowbit.packed<4x8xi3, int4_nibbles>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op packed weight holds 3-bit values, but bits = 4}}
  %0 = lowbit.dequantize_weight %p, %s {bits = 4 : i64, group_size = 8 : i64} : (!lowbit.packed<4x8xi3, int4_nibbles>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @dequantize_weight_packed_width_unsigned(%p: !lowbit.packed<4x8xui6, int6_planes>, %s: tensor<4x1xf32>, %z: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op packed weight holds 6-bit values, but bits = 5}}
  %0 = lowbit.dequantize_weight %p, %s, %z {bits = 5 : i64, group_size = 8 : i64} : (!lowbit.packed<4x8xui6, int6_planes>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @dequantize_weight_i32_part(%q: tensor<4x8xi32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op integer part must be a tensor of i8 containers or !lowbit.packed, got 'tensor<4x8xi32>'}}
  %0 = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 8 : i64} : (tensor<4x8xi32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @dequantize_weight_rank(%q: tensor<2x4x8xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op weight must have rank 2 ([N, K])}}
  %0 = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 8 : i64} : (tensor<2x4x8xi8>, tensor<4x1xf32>) -> tensor<2x4x8xf32>
  return
}

// -----

func.func @dequantize_weight_packed_rank(%p: !lowbit.packed<2x4x8xi4, int4_nibbles>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op weight must have rank 2 ([N, K])}}
  %0 = lowbit.dequantize_weight %p, %s {bits = 4 : i64, group_size = 8 : i64} : (!lowbit.packed<2x4x8xi4, int4_nibbles>, tensor<4x1xf32>) -> tensor<2x4x8xf32>
  return
}

// -----

func.func @dequantize_weight_group(%q: tensor<4x8xi8>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op group size 3 does not divide K = 8}}
  %0 = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 3 : i64} : (tensor<4x8xi8>, tensor<4x2xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @dequantize_weight_group_zero(%q: tensor<4x8xi8>, %s: tensor<4x1xf32>) {
  // group_size 0 is not "per channel" at this level: K itself is.
  // expected-error @+1 {{'lowbit.dequantize_weight' op group size 0 does not divide K = 8}}
  %0 = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 0 : i64} : (tensor<4x8xi8>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @dequantize_weight_scale_shape(%q: tensor<4x8xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op scale/zero tables must be [4x2], got [4, 1]}}
  %0 = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 4 : i64} : (tensor<4x8xi8>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @dequantize_weight_zero_shape(%q: tensor<4x8xi8>, %s: tensor<4x2xf32>, %z: tensor<2x4xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op scale/zero tables must be [4x2], got [2, 4]}}
  %0 = lowbit.dequantize_weight %q, %s, %z {bits = 4 : i64, group_size = 4 : i64} : (tensor<4x8xi8>, tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @dequantize_weight_zero_kind(%q: tensor<4x8xi8>, %s: tensor<4x1xf32>, %z: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op zero_kind must be 'integer' or 'float_offset', got 'float'}}
  %0 = lowbit.dequantize_weight %q, %s, %z {bits = 4 : i64, group_size = 8 : i64, zero_kind = "float"} : (tensor<4x8xi8>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @dequantize_weight_result_shape(%q: tensor<4x8xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op result shape must equal the weight shape}}
  %0 = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 8 : i64} : (tensor<4x8xi8>, tensor<4x1xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @dequantize_weight_f16_scale(%q: tensor<4x8xi8>, %s: tensor<4x1xf16>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op operand #1 must be ranked tensor of 32-bit float values}}
  %0 = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 8 : i64} : (tensor<4x8xi8>, tensor<4x1xf16>) -> tensor<4x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// quantize_dynamic / dequantize_dynamic
//===----------------------------------------------------------------------===//

func.func @quantize_dynamic_bits(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'lowbit.quantize_dynamic' op bit width must be 2..8, got 1}}
  %q, %s = lowbit.quantize_dynamic %x {bits = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x1xf32>
  return
}

// -----

func.func @quantize_dynamic_rank0(%x: tensor<f32>) {
  // expected-error @+1 {{'lowbit.quantize_dynamic' op input must have rank >= 1}}
  %q, %s = lowbit.quantize_dynamic %x {bits = 8 : i64} : tensor<f32> -> tensor<i8>, tensor<f32>
  return
}

// -----

func.func @quantize_dynamic_q_shape(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'lowbit.quantize_dynamic' op q must have the input's shape}}
  %q, %s = lowbit.quantize_dynamic %x {bits = 8 : i64} : tensor<4x8xf32> -> tensor<8x4xi8>, tensor<4x1xf32>
  return
}

// -----

func.func @quantize_dynamic_scale_shape(%x: tensor<2x4x8xf32>) {
  // One scale per row: [2, 4, 1], not [8, 1].
  // expected-error @+1 {{'lowbit.quantize_dynamic' op scale must have the input's shape with the last dimension 1}}
  %q, %s = lowbit.quantize_dynamic %x {bits = 8 : i64} : tensor<2x4x8xf32> -> tensor<2x4x8xi8>, tensor<8x1xf32>
  return
}

// -----

func.func @quantize_dynamic_q_type(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'lowbit.quantize_dynamic' op result #0 must be ranked tensor of 8-bit signless integer values}}
  %q, %s = lowbit.quantize_dynamic %x {bits = 4 : i64} : tensor<4x8xf32> -> tensor<4x8xi4>, tensor<4x1xf32>
  return
}

// -----

func.func @dequantize_dynamic_bits(%q: tensor<4x8xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_dynamic' op bit width must be 2..8, got 16}}
  %0 = lowbit.dequantize_dynamic %q, %s {bits = 16 : i64} : tensor<4x8xi8>, tensor<4x1xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @dequantize_dynamic_result_shape(%q: tensor<4x8xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_dynamic' op result must have the shape of q}}
  %0 = lowbit.dequantize_dynamic %q, %s {bits = 8 : i64} : tensor<4x8xi8>, tensor<4x1xf32> -> tensor<32xf32>
  return
}

// -----

func.func @dequantize_dynamic_scale_shape(%q: tensor<4x8xi8>, %s: tensor<1x8xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_dynamic' op scale must have q's shape with the last dimension 1}}
  %0 = lowbit.dequantize_dynamic %q, %s {bits = 8 : i64} : tensor<4x8xi8>, tensor<1x8xf32> -> tensor<4x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// qlinear
//===----------------------------------------------------------------------===//

func.func @qlinear_a_bits(%xq: tensor<3x8xi8>, %xs: tensor<3x1xf32>, %w: !lowbit.packed<4x8xi4, int4_nibbles>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.qlinear' op activation bit width must be 2..8, got 9}}
  %0 = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 9 : i64, w_bits = 4 : i64, group_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @qlinear_w_bits(%xq: tensor<3x8xi8>, %xs: tensor<3x1xf32>, %w: tensor<4x8xi8>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.qlinear' op bit width must be 2..8, got 0}}
  %0 = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, w_bits = 0 : i64, group_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, tensor<4x8xi8>, tensor<4x2xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @qlinear_packed_width(%xq: tensor<3x8xi8>, %xs: tensor<3x1xf32>, %w: !lowbit.packed<4x8xi2, int2_crumbs>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.qlinear' op packed weight holds 2-bit values, but bits = 4}}
  %0 = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xi2, int2_crumbs>, tensor<4x2xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @qlinear_weight_type(%xq: tensor<3x8xi8>, %xs: tensor<3x1xf32>, %w: tensor<4x8xf32>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.qlinear' op integer part must be a tensor of i8 containers or !lowbit.packed, got 'tensor<4x8xf32>'}}
  %0 = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, tensor<4x8xf32>, tensor<4x2xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @qlinear_group(%xq: tensor<3x8xi8>, %xs: tensor<3x1xf32>, %w: !lowbit.packed<4x8xi4, int4_nibbles>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.qlinear' op group size 5 does not divide K = 8}}
  %0 = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 5 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @qlinear_scale_shape(%xq: tensor<3x8xi8>, %xs: tensor<3x1xf32>, %w: !lowbit.packed<4x8xi4, int4_nibbles>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.qlinear' op scale/zero tables must be [4x1], got [4, 2]}}
  %0 = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 8 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @qlinear_zero_shape(%xq: tensor<3x8xi8>, %xs: tensor<3x1xf32>, %w: !lowbit.packed<4x8xui4, int4_nibbles>, %s: tensor<4x2xf32>, %z: tensor<4xf32>) {
  // expected-error @+1 {{'lowbit.qlinear' op scale/zero tables must be [4x2], got [4]}}
  %0 = lowbit.qlinear %xq, %xs, %w, %s zero %z {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xui4, int4_nibbles>, tensor<4x2xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @qlinear_x_q_k(%xq: tensor<3x16xi8>, %xs: tensor<3x1xf32>, %w: !lowbit.packed<4x8xi4, int4_nibbles>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.qlinear' op x_q must be [M, K] with K = 8}}
  %0 = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 4 : i64} : (tensor<3x16xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @qlinear_x_q_rank(%xq: tensor<1x3x8xi8>, %xs: tensor<3x1xf32>, %w: !lowbit.packed<4x8xi4, int4_nibbles>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.qlinear' op x_q must be [M, K] with K = 8}}
  %0 = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 4 : i64} : (tensor<1x3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @qlinear_x_scale(%xq: tensor<3x8xi8>, %xs: tensor<3xf32>, %w: !lowbit.packed<4x8xi4, int4_nibbles>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.qlinear' op x_scale must be [M, 1]}}
  %0 = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 4 : i64} : (tensor<3x8xi8>, tensor<3xf32>, !lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @qlinear_bias(%xq: tensor<3x8xi8>, %xs: tensor<3x1xf32>, %w: !lowbit.packed<4x8xi4, int4_nibbles>, %s: tensor<4x2xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'lowbit.qlinear' op bias must be [N]}}
  %0 = lowbit.qlinear %xq, %xs, %w, %s bias %b {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>, tensor<3xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @qlinear_result(%xq: tensor<3x8xi8>, %xs: tensor<3x1xf32>, %w: !lowbit.packed<4x8xi4, int4_nibbles>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'lowbit.qlinear' op result must be [M, N]}}
  %0 = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>) -> tensor<4x3xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// pack (i8-container form, the one quantize-weights produces)
//===----------------------------------------------------------------------===//

func.func @pack_i8_shape(%q: tensor<4x8xi8>) {
  // expected-error @+1 {{'lowbit.pack' op packed and unpacked shapes differ}}
  %0 = lowbit.pack %q : tensor<4x8xi8> -> !lowbit.packed<4x16xi4, int4_nibbles>
  return
}

// -----

// An integer zero point means unsigned values: the packed weight must be ui<bits>.
func.func @zero_needs_unsigned(%w: !lowbit.packed<2x8xi4, int4_nibbles>, %s: tensor<2x1xf32>, %z: tensor<2x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op an integer zero point needs an unsigned packed weight (ui<bits>)}}
  %0 = lowbit.dequantize_weight %w, %s, %z {bits = 4, group_size = 8} : (!lowbit.packed<2x8xi4, int4_nibbles>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @unsigned_without_zero(%w: !lowbit.packed<2x8xui4, int4_nibbles>, %s: tensor<2x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op a packed weight without an integer zero point must be signless (i<bits>)}}
  %0 = lowbit.dequantize_weight %w, %s {bits = 4, group_size = 8} : (!lowbit.packed<2x8xui4, int4_nibbles>, tensor<2x1xf32>) -> tensor<2x8xf32>
  return
}

// -----

// decoupleQ's float offsets go with signed values.
func.func @float_offset_is_signed(%w: !lowbit.packed<2x8xui4, int4_nibbles>, %s: tensor<2x1xf32>, %z: tensor<2x1xf32>) {
  // expected-error @+1 {{'lowbit.dequantize_weight' op a packed weight without an integer zero point must be signless (i<bits>)}}
  %0 = lowbit.dequantize_weight %w, %s, %z {bits = 4, group_size = 8, zero_kind = "float_offset"} : (!lowbit.packed<2x8xui4, int4_nibbles>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @qlinear_zero_needs_unsigned(%xq: tensor<3x8xi8>, %xs: tensor<3x1xf32>, %w: !lowbit.packed<2x8xi4, int4_nibbles>, %s: tensor<2x1xf32>, %z: tensor<2x1xf32>) {
  // expected-error @+1 {{'lowbit.qlinear' op an integer zero point needs an unsigned packed weight (ui<bits>)}}
  %0 = lowbit.qlinear %xq, %xs, %w, %s zero %z {a_bits = 8, w_bits = 4, group_size = 8} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<2x8xi4, int4_nibbles>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<3x2xf32>
  return
}

// -----

// The blob must hold exactly rows x row-bytes bytes (here 2 x 4 = 8, not 1).
func.func @packed_constant_blob_size() {
  // expected-error @+1 {{'lowbit.packed_constant' op blob holds 1 bytes, the layout needs 8}}
  %0 = lowbit.packed_constant dense_resource<short_blob> : tensor<2x4xi8> -> !lowbit.packed<2x8xi4, int4_nibbles>
  return
}

{-#
  dialect_resources: {
    builtin: {
      short_blob: "0x0100000001"
    }
  }
#-}
