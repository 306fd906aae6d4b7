// Round trip of the lowbit ops that carry quantized weights and activations:
// packed_constant (dense and dense_resource bytes; signless = two's
// complement and unsigned element types), dequantize_weight (no zero, integer
// zero, float_offset; packed and i8-container integer parts),
// quantize_dynamic, dequantize_dynamic and qlinear (with and without zero and
// bias), in custom and generic form.

// RUN: lowbit-opt %s | lowbit-opt | FileCheck %s
// RUN: lowbit-opt %s --mlir-print-op-generic | lowbit-opt | FileCheck %s
// The generic form spells out the default zero_kind.
// RUN: lowbit-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// CHECK-LABEL: func.func @packed_constants
// CHECK: %[[A:.*]] = lowbit.packed_constant dense<{{\[\[}}-31, -61], [0, 127]]> : tensor<2x2xi8> -> !lowbit.packed<2x4xi4, int4_nibbles>
// CHECK: %[[B:.*]] = lowbit.packed_constant dense<{{\[\[}}-1, 16]]> : tensor<1x2xi8> -> !lowbit.packed<1x4xui4, int4_nibbles>
// CHECK: %[[C:.*]] = lowbit.packed_constant dense_resource<w2> : tensor<3x2xi8> -> !lowbit.packed<3x8xi2, int2_crumbs>
// CHECK: %[[D:.*]] = lowbit.packed_constant dense<0> : tensor<2x6xi8> -> !lowbit.packed<2x8xi6, int6_planes>
// CHECK: %[[E:.*]] = lowbit.packed_constant dense<1> : tensor<2x3xi8> -> !lowbit.packed<2x8xi3, bit_planes>
// CHECK: %[[F:.*]] = lowbit.packed_constant dense<5> : tensor<2x2x4xi8> -> !lowbit.packed<2x2x4xui8, int8_bytes>
// CHECK: return %[[A]], %[[B]], %[[C]], %[[D]], %[[E]], %[[F]]
func.func @packed_constants() -> (!lowbit.packed<2x4xi4, int4_nibbles>,
    !lowbit.packed<1x4xui4, int4_nibbles>, !lowbit.packed<3x8xi2, int2_crumbs>,
    !lowbit.packed<2x8xi6, int6_planes>, !lowbit.packed<2x8xi3, bit_planes>,
    !lowbit.packed<2x2x4xui8, int8_bytes>) {
  // [N=2, K=4] INT4 -> [2, 2] bytes.
  %a = lowbit.packed_constant dense<[[-31, -61], [0, 127]]> : tensor<2x2xi8> -> !lowbit.packed<2x4xi4, int4_nibbles>
  // Unsigned 4-bit values (asymmetric grids).
  %b = lowbit.packed_constant dense<[[-1, 16]]> : tensor<1x2xi8> -> !lowbit.packed<1x4xui4, int4_nibbles>
  // Bytes in a resource blob: [3, 8/4] bytes.
  %c = lowbit.packed_constant dense_resource<w2> : tensor<3x2xi8> -> !lowbit.packed<3x8xi2, int2_crumbs>
  // INT6 rows are K/2 + K/4 = 6 bytes, bit planes 3 * K/8 = 3 bytes.
  %d = lowbit.packed_constant dense<0> : tensor<2x6xi8> -> !lowbit.packed<2x8xi6, int6_planes>
  %e = lowbit.packed_constant dense<1> : tensor<2x3xi8> -> !lowbit.packed<2x8xi3, bit_planes>
  // Rank 3: [rows..., row bytes].
  %f = lowbit.packed_constant dense<5> : tensor<2x2x4xi8> -> !lowbit.packed<2x2x4xui8, int8_bytes>
  return %a, %b, %c, %d, %e, %f : !lowbit.packed<2x4xi4, int4_nibbles>,
    !lowbit.packed<1x4xui4, int4_nibbles>, !lowbit.packed<3x8xi2, int2_crumbs>,
    !lowbit.packed<2x8xi6, int6_planes>, !lowbit.packed<2x8xi3, bit_planes>,
    !lowbit.packed<2x2x4xui8, int8_bytes>
}

// CHECK-LABEL: func.func @dequantize_weight
// CHECK-SAME: (%[[Q:.*]]: tensor<4x8xi8>, %[[P:.*]]: !lowbit.packed<4x8xi4, int4_nibbles>, %[[PU:.*]]: !lowbit.packed<4x8xui3, int4_nibbles>, %[[S:.*]]: tensor<4x2xf32>, %[[Z:.*]]: tensor<4x2xf32>, %[[S1:.*]]: tensor<4x1xf32>)
// CHECK: %[[R0:.*]] = lowbit.dequantize_weight %[[Q]], %[[S]] {bits = 4 : i64, group_size = 4 : i64} : (tensor<4x8xi8>, tensor<4x2xf32>) -> tensor<4x8xf32>
// CHECK: %[[R1:.*]] = lowbit.dequantize_weight %[[Q]], %[[S]], %[[Z]] {bits = 4 : i64, group_size = 4 : i64} : (tensor<4x8xi8>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x8xf32>
// CHECK: %[[R2:.*]] = lowbit.dequantize_weight %[[Q]], %[[S]], %[[Z]] {bits = 4 : i64, group_size = 4 : i64, zero_kind = "float_offset"} : (tensor<4x8xi8>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x8xf32>
// CHECK: %[[R3:.*]] = lowbit.dequantize_weight %[[P]], %[[S]] {bits = 4 : i64, group_size = 4 : i64} : (!lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>) -> tensor<4x8xf32>
// CHECK: %[[R4:.*]] = lowbit.dequantize_weight %[[PU]], %[[S]], %[[Z]] {bits = 3 : i64, group_size = 4 : i64} : (!lowbit.packed<4x8xui3, int4_nibbles>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x8xf32>
// CHECK: %[[R5:.*]] = lowbit.dequantize_weight %[[Q]], %[[S1]] {bits = 8 : i64, group_size = 8 : i64} : (tensor<4x8xi8>, tensor<4x1xf32>) -> tensor<4x8xf32>
// CHECK: return %[[R0]], %[[R1]], %[[R2]], %[[R3]], %[[R4]], %[[R5]]
// GENERIC-LABEL: sym_name = "dequantize_weight"
// GENERIC-NEXT: ^bb0(%[[GQ:arg[0-9]+]]: tensor<4x8xi8>, %{{.*}}: !lowbit.packed<4x8xi4, int4_nibbles>, %{{.*}}: !lowbit.packed<4x8xui3, int4_nibbles>, %[[GS:arg[0-9]+]]: tensor<4x2xf32>,
// GENERIC-NEXT: "lowbit.dequantize_weight"(%[[GQ]], %[[GS]]) <{bits = 4 : i64, group_size = 4 : i64, zero_kind = "integer"}>
func.func @dequantize_weight(%q: tensor<4x8xi8>,
    %p: !lowbit.packed<4x8xi4, int4_nibbles>,
    %pu: !lowbit.packed<4x8xui3, int4_nibbles>,
    %s: tensor<4x2xf32>, %z: tensor<4x2xf32>, %s1: tensor<4x1xf32>)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>,
        tensor<4x8xf32>, tensor<4x8xf32>) {
  // Symmetric, i8 containers, group 4.
  %0 = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 4 : i64} : (tensor<4x8xi8>, tensor<4x2xf32>) -> tensor<4x8xf32>
  // Integer zero, written explicitly (the default is elided when printed).
  %1 = lowbit.dequantize_weight %q, %s, %z {bits = 4 : i64, group_size = 4 : i64, zero_kind = "integer"} : (tensor<4x8xi8>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x8xf32>
  // decoupleQ float offset.
  %2 = lowbit.dequantize_weight %q, %s, %z {bits = 4 : i64, group_size = 4 : i64, zero_kind = "float_offset"} : (tensor<4x8xi8>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x8xf32>
  // Packed integer parts: signless INT4 and unsigned INT3 in nibbles.
  %3 = lowbit.dequantize_weight %p, %s {bits = 4 : i64, group_size = 4 : i64} : (!lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>) -> tensor<4x8xf32>
  %4 = lowbit.dequantize_weight %pu, %s, %z {bits = 3 : i64, group_size = 4 : i64} : (!lowbit.packed<4x8xui3, int4_nibbles>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x8xf32>
  // Per channel: group_size = K.
  %5 = lowbit.dequantize_weight %q, %s1 {bits = 8 : i64, group_size = 8 : i64} : (tensor<4x8xi8>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x16xf32>, %[[X1:.*]]: tensor<5xf32>)
// CHECK: %[[Q:.*]], %[[S:.*]] = lowbit.quantize_dynamic %[[X]] {bits = 8 : i64} : tensor<2x3x16xf32> -> tensor<2x3x16xi8>, tensor<2x3x1xf32>
// CHECK: %[[D:.*]] = lowbit.dequantize_dynamic %[[Q]], %[[S]] {bits = 8 : i64} : tensor<2x3x16xi8>, tensor<2x3x1xf32> -> tensor<2x3x16xf32>
// CHECK: %[[Q1:.*]], %[[S1:.*]] = lowbit.quantize_dynamic %[[X1]] {bits = 2 : i64} : tensor<5xf32> -> tensor<5xi8>, tensor<1xf32>
// CHECK: %[[D1:.*]] = lowbit.dequantize_dynamic %[[Q1]], %[[S1]] {bits = 2 : i64} : tensor<5xi8>, tensor<1xf32> -> tensor<5xf32>
// CHECK: return %[[D]], %[[D1]]
func.func @dynamic(%x: tensor<2x3x16xf32>, %x1: tensor<5xf32>) -> (tensor<2x3x16xf32>, tensor<5xf32>) {
  %q, %s = lowbit.quantize_dynamic %x {bits = 8 : i64} : tensor<2x3x16xf32> -> tensor<2x3x16xi8>, tensor<2x3x1xf32>
  %d = lowbit.dequantize_dynamic %q, %s {bits = 8 : i64} : tensor<2x3x16xi8>, tensor<2x3x1xf32> -> tensor<2x3x16xf32>
  // Rank 1: one row, scale [1].
  %q1, %s1 = lowbit.quantize_dynamic %x1 {bits = 2 : i64} : tensor<5xf32> -> tensor<5xi8>, tensor<1xf32>
  %d1 = lowbit.dequantize_dynamic %q1, %s1 {bits = 2 : i64} : tensor<5xi8>, tensor<1xf32> -> tensor<5xf32>
  return %d, %d1 : tensor<2x3x16xf32>, tensor<5xf32>
}

// CHECK-LABEL: func.func @qlinear
// CHECK-SAME: (%[[XQ:.*]]: tensor<3x8xi8>, %[[XS:.*]]: tensor<3x1xf32>, %[[W:.*]]: !lowbit.packed<4x8xi4, int4_nibbles>, %[[WU:.*]]: !lowbit.packed<4x8xui4, int4_nibbles>, %[[W8:.*]]: tensor<4x8xi8>, %[[S:.*]]: tensor<4x2xf32>, %[[Z:.*]]: tensor<4x2xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK: %[[Y0:.*]] = lowbit.qlinear %[[XQ]], %[[XS]], %[[W]], %[[S]] {a_bits = 8 : i64, group_size = 4 : i64, w_bits = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>) -> tensor<3x4xf32>
// CHECK: %[[Y1:.*]] = lowbit.qlinear %[[XQ]], %[[XS]], %[[WU]], %[[S]] zero %[[Z]] {a_bits = 8 : i64, group_size = 4 : i64, w_bits = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xui4, int4_nibbles>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<3x4xf32>
// CHECK: %[[Y2:.*]] = lowbit.qlinear %[[XQ]], %[[XS]], %[[W]], %[[S]] bias %[[B]] {a_bits = 6 : i64, group_size = 4 : i64, w_bits = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>, tensor<4xf32>) -> tensor<3x4xf32>
// CHECK: %[[Y3:.*]] = lowbit.qlinear %[[XQ]], %[[XS]], %[[W8]], %[[S]] zero %[[Z]] bias %[[B]] {a_bits = 8 : i64, group_size = 4 : i64, w_bits = 5 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, tensor<4x8xi8>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4xf32>) -> tensor<3x4xf32>
// CHECK: return %[[Y0]], %[[Y1]], %[[Y2]], %[[Y3]]
// GENERIC-LABEL: sym_name = "qlinear"
// GENERIC: "lowbit.qlinear"({{[^)]*}}) <{a_bits = 8 : i64, group_size = 4 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>, w_bits = 4 : i64}>
// GENERIC: "lowbit.qlinear"({{[^)]*}}) <{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0>
// GENERIC: "lowbit.qlinear"({{[^)]*}}) <{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 1>
// GENERIC: "lowbit.qlinear"({{[^)]*}}) <{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1>
func.func @qlinear(%xq: tensor<3x8xi8>, %xs: tensor<3x1xf32>,
    %w: !lowbit.packed<4x8xi4, int4_nibbles>,
    %wu: !lowbit.packed<4x8xui4, int4_nibbles>, %w8: tensor<4x8xi8>,
    %s: tensor<4x2xf32>, %z: tensor<4x2xf32>, %b: tensor<4xf32>)
    -> (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) {
  %0 = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>) -> tensor<3x4xf32>
  %1 = lowbit.qlinear %xq, %xs, %wu, %s zero %z {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xui4, int4_nibbles>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<3x4xf32>
  %2 = lowbit.qlinear %xq, %xs, %w, %s bias %b {a_bits = 6 : i64, w_bits = 4 : i64, group_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<4x8xi4, int4_nibbles>, tensor<4x2xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  // i8-container weight with zero and bias.
  %3 = lowbit.qlinear %xq, %xs, %w8, %s zero %z bias %b {a_bits = 8 : i64, w_bits = 5 : i64, group_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, tensor<4x8xi8>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return %0, %1, %2, %3 : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>
}

// The blob survives the round trip byte for byte.
// CHECK: {-#
// CHECK: w2: "0x01000000E4E41B1B0000"
{-#
  dialect_resources: {
    builtin: {
      w2: "0x01000000E4E41B1B0000"
    }
  }
#-}
