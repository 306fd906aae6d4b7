// lowbit.pack of a constant folds (under --canonicalize) into a
// lowbit.packed_constant whose dense_resource bytes follow the bit order of
// LowBitDialect.td: along K, little end first, element k in byte
// k / per_byte at bit offset (k % per_byte) * slot_bits; int6 planes are a
// nibble plane followed by a crumb plane per row; bit planes are plane-major
// within a row. Every expected byte below is computed by hand from that
// spec. The blob hex starts with the 4-byte alignment prefix (alignment 1).
// A pack of a non-constant, or of a constant whose values do not fit the
// packed type, stays.

// RUN: lowbit-opt %s -split-input-file --canonicalize | FileCheck %s

// int4_nibbles, signless: byte = hi nibble (odd k) | lo nibble (even k).
//   row 0: [1,-2] -> 0xE1, [3,-4] -> 0xC3, [5,-6] -> 0xA5, [7,-8] -> 0x87
//   row 1: [0,1] -> 0x10, [2,3] -> 0x32, [4,5] -> 0x54, [6,7] -> 0x76
// CHECK-LABEL: func.func @int4_nibbles
// CHECK-NOT: lowbit.pack{{ }}
// CHECK-NOT: arith.constant
// CHECK: %[[P:.*]] = lowbit.packed_constant dense_resource<packed> : tensor<2x4xi8> -> !lowbit.packed<2x8xi4, int4_nibbles>
// CHECK: return %[[P]]
// CHECK: packed: "0x01000000E1C3A58710325476"
func.func @int4_nibbles() -> !lowbit.packed<2x8xi4, int4_nibbles> {
  %c = arith.constant dense<[[1, -2, 3, -4, 5, -6, 7, -8], [0, 1, 2, 3, 4, 5, 6, 7]]> : tensor<2x8xi8>
  %p = lowbit.pack %c : tensor<2x8xi8> -> !lowbit.packed<2x8xi4, int4_nibbles>
  return %p : !lowbit.packed<2x8xi4, int4_nibbles>
}

// -----

// int2_crumbs, signless: 4 crumbs per byte, k = 0 in bits 0-1.
//   row 0: [1,-2,0,-1] = 01,10,00,11 -> 0b11001001 = 0xC9
//          [-1,0,-2,1] = 11,00,10,01 -> 0b01100011 = 0x63
//   row 1: [0,0,0,0] -> 0x00, [1,1,1,1] -> 0x55
// CHECK-LABEL: func.func @int2_crumbs
// CHECK: lowbit.packed_constant dense_resource<packed> : tensor<2x2xi8> -> !lowbit.packed<2x8xi2, int2_crumbs>
// CHECK: packed: "0x01000000C9630055"
func.func @int2_crumbs() -> !lowbit.packed<2x8xi2, int2_crumbs> {
  %c = arith.constant dense<[[1, -2, 0, -1, -1, 0, -2, 1], [0, 0, 0, 0, 1, 1, 1, 1]]> : tensor<2x8xi8>
  %p = lowbit.pack %c : tensor<2x8xi8> -> !lowbit.packed<2x8xi2, int2_crumbs>
  return %p : !lowbit.packed<2x8xi2, int2_crumbs>
}

// -----

// int6_planes, signless; each row is K/2 = 4 nibble bytes (v & 0xF) then
// K/4 = 2 crumb bytes ((v >> 4) & 3).
//   row 0: [1,-1,31,-32,17,-17,0,10] = 6-bit 0x01,0x3F,0x1F,0x20,0x11,0x2F,0x00,0x0A
//     nibbles [1,F,F,0,1,F,0,A] -> 0xF1 0x0F 0xF1 0xA0
//     crumbs  [0,3,1,2 | 1,2,0,0] -> 0b10011100 = 0x9C, 0b00001001 = 0x09
//   row 1: [16,-16,0,...] = 0x10, 0x30 -> nibbles all 0;
//     crumbs [1,3,0,0 | 0,0,0,0] -> 0x0D 0x00
// CHECK-LABEL: func.func @int6_planes
// CHECK: lowbit.packed_constant dense_resource<packed> : tensor<2x6xi8> -> !lowbit.packed<2x8xi6, int6_planes>
// CHECK: packed: "0x01000000F10FF1A09C09000000000D00"
func.func @int6_planes() -> !lowbit.packed<2x8xi6, int6_planes> {
  %c = arith.constant dense<[[1, -1, 31, -32, 17, -17, 0, 10], [16, -16, 0, 0, 0, 0, 0, 0]]> : tensor<2x8xi8>
  %p = lowbit.pack %c : tensor<2x8xi8> -> !lowbit.packed<2x8xi6, int6_planes>
  return %p : !lowbit.packed<2x8xi6, int6_planes>
}

// -----

// int8_bytes, signless: one two's complement byte per value.
// CHECK-LABEL: func.func @int8_bytes
// CHECK: lowbit.packed_constant dense_resource<packed> : tensor<2x3xi8> -> !lowbit.packed<2x3xi8, int8_bytes>
// CHECK: packed: "0x01000000807FFF0501FE"
func.func @int8_bytes() -> !lowbit.packed<2x3xi8, int8_bytes> {
  %c = arith.constant dense<[[-128, 127, -1], [5, 1, -2]]> : tensor<2x3xi8>
  %p = lowbit.pack %c : tensor<2x3xi8> -> !lowbit.packed<2x3xi8, int8_bytes>
  return %p : !lowbit.packed<2x3xi8, int8_bytes>
}

// -----

// bit_planes, signless INT3, K = 16: per row plane 0 (2 bytes) | plane 1 |
// plane 2, value k at bit k % 8 of the plane's byte k / 8.
//   k 0..7 = [1,-1,2,-4,3,0,-2,-3] = 3-bit 001,111,010,100,011,000,110,101
//     plane 0 bits [1,1,0,0,1,0,0,1] -> 0x93
//     plane 1 bits [0,1,1,0,1,0,1,0] -> 0x56
//     plane 2 bits [0,1,0,1,0,0,1,1] -> 0xCA (the sign plane)
//   k 8..15 = [1,0,...,0]: plane 0 -> 0x01, planes 1, 2 -> 0x00
// CHECK-LABEL: func.func @bit_planes
// CHECK: lowbit.packed_constant dense_resource<packed> : tensor<1x6xi8> -> !lowbit.packed<1x16xi3, bit_planes>
// CHECK: packed: "0x0100000093015600CA00"
func.func @bit_planes() -> !lowbit.packed<1x16xi3, bit_planes> {
  %c = arith.constant dense<[[1, -1, 2, -4, 3, 0, -2, -3, 1, 0, 0, 0, 0, 0, 0, 0]]> : tensor<1x16xi8>
  %p = lowbit.pack %c : tensor<1x16xi8> -> !lowbit.packed<1x16xi3, bit_planes>
  return %p : !lowbit.packed<1x16xi3, bit_planes>
}

// -----

// Unsigned INT4 (asymmetric grids, 0..15) in nibbles:
//   [15,0] -> 0x0F, [8,9] -> 0x98, [1,14] -> 0xE1, [7,6] -> 0x67
// CHECK-LABEL: func.func @ui4_nibbles
// CHECK: lowbit.packed_constant dense_resource<packed> : tensor<1x4xi8> -> !lowbit.packed<1x8xui4, int4_nibbles>
// CHECK: packed: "0x010000000F98E167"
func.func @ui4_nibbles() -> !lowbit.packed<1x8xui4, int4_nibbles> {
  %c = arith.constant dense<[[15, 0, 8, 9, 1, 14, 7, 6]]> : tensor<1x8xi8>
  %p = lowbit.pack %c : tensor<1x8xi8> -> !lowbit.packed<1x8xui4, int4_nibbles>
  return %p : !lowbit.packed<1x8xui4, int4_nibbles>
}

// -----

// Unsigned 8-bit values 128..255 are held by i8 containers as their bit
// pattern: [200, 255, 0, 128] = i8 [-56, -1, 0, -128].
// CHECK-LABEL: func.func @ui8_bytes
// CHECK: lowbit.packed_constant dense_resource<packed> : tensor<1x4xi8> -> !lowbit.packed<1x4xui8, int8_bytes>
// CHECK: packed: "0x01000000C8FF0080"
func.func @ui8_bytes() -> !lowbit.packed<1x4xui8, int8_bytes> {
  %c = arith.constant dense<[[-56, -1, 0, -128]]> : tensor<1x4xi8>
  %p = lowbit.pack %c : tensor<1x4xi8> -> !lowbit.packed<1x4xui8, int8_bytes>
  return %p : !lowbit.packed<1x4xui8, int8_bytes>
}

// -----

// A value narrower than the slot is stored as its full slot-width two's
// complement: INT3 [-3,3] -> 0x3D, [-4,1] -> 0x1C; unsigned INT3 [7,5] ->
// 0x57 (UINT3 in nibbles).
// CHECK-LABEL: func.func @int3_in_nibbles
// CHECK: lowbit.packed_constant dense_resource<[[S:packed[_0-9]*]]> : tensor<1x2xi8> -> !lowbit.packed<1x4xi3, int4_nibbles>
// CHECK: lowbit.packed_constant dense_resource<[[U:packed[_0-9]*]]> : tensor<1x1xi8> -> !lowbit.packed<1x2xui3, int4_nibbles>
// CHECK-DAG: [[S]]: "0x010000003D1C"
// CHECK-DAG: [[U]]: "0x0100000057"
func.func @int3_in_nibbles() -> (!lowbit.packed<1x4xi3, int4_nibbles>, !lowbit.packed<1x2xui3, int4_nibbles>) {
  %c = arith.constant dense<[[-3, 3, -4, 1]]> : tensor<1x4xi8>
  %p = lowbit.pack %c : tensor<1x4xi8> -> !lowbit.packed<1x4xi3, int4_nibbles>
  %u = arith.constant dense<[[7, 5]]> : tensor<1x2xi8>
  %q = lowbit.pack %u : tensor<1x2xi8> -> !lowbit.packed<1x2xui3, int4_nibbles>
  return %p, %q : !lowbit.packed<1x4xi3, int4_nibbles>, !lowbit.packed<1x2xui3, int4_nibbles>
}

// -----

// Rank 3: every [.., K] row is packed on its own; [2, 2, 4] INT4 -> [2, 2, 2].
//   [1,2] -> 0x21, [3,4] -> 0x43, [-1,-1] -> 0xFF, [0,-8] -> 0x80,
//   [7,7] -> 0x77, [0,0] -> 0x00, [2,-2] -> 0xE2, [-7,6] -> 0x69
// CHECK-LABEL: func.func @rank3
// CHECK: lowbit.packed_constant dense_resource<packed> : tensor<2x2x2xi8> -> !lowbit.packed<2x2x4xi4, int4_nibbles>
// CHECK: packed: "0x010000002143FF807700E269"
func.func @rank3() -> !lowbit.packed<2x2x4xi4, int4_nibbles> {
  %c = arith.constant dense<[[[1, 2, 3, 4], [-1, -1, 0, -8]], [[7, 7, 0, 0], [2, -2, -7, 6]]]> : tensor<2x2x4xi8>
  %p = lowbit.pack %c : tensor<2x2x4xi8> -> !lowbit.packed<2x2x4xi4, int4_nibbles>
  return %p : !lowbit.packed<2x2x4xi4, int4_nibbles>
}

// -----

// A dense_resource constant (what quantize-weights produces) folds too:
// bytes [1,-1,2,-2] = 0x01 0xFF 0x02 0xFE -> [1,-1] -> 0xF1, [2,-2] -> 0xE2.
// CHECK-LABEL: func.func @resource_input
// CHECK: lowbit.packed_constant dense_resource<[[R:packed[_0-9]*]]> : tensor<1x2xi8> -> !lowbit.packed<1x4xi4, int4_nibbles>
// CHECK: [[R]]: "0x01000000F1E2"
func.func @resource_input() -> !lowbit.packed<1x4xi4, int4_nibbles> {
  %c = arith.constant dense_resource<q_in> : tensor<1x4xi8>
  %p = lowbit.pack %c : tensor<1x4xi8> -> !lowbit.packed<1x4xi4, int4_nibbles>
  return %p : !lowbit.packed<1x4xi4, int4_nibbles>
}

{-#
  dialect_resources: {
    builtin: {
      q_in: "0x0100000001FF02FE"
    }
  }
#-}

// -----

// Not a constant: the pack stays.
// CHECK-LABEL: func.func @not_constant
// CHECK-SAME: (%[[Q:.*]]: tensor<2x8xi8>)
// CHECK: %[[P:.*]] = lowbit.pack %[[Q]] : tensor<2x8xi8> -> {{(!lowbit.packed)?}}<2x8xi4, int4_nibbles>
// CHECK: return %[[P]]
// CHECK-NOT: packed_constant
func.func @not_constant(%q: tensor<2x8xi8>) -> !lowbit.packed<2x8xi4, int4_nibbles> {
  %p = lowbit.pack %q : tensor<2x8xi8> -> !lowbit.packed<2x8xi4, int4_nibbles>
  return %p : !lowbit.packed<2x8xi4, int4_nibbles>
}

// -----

// Values that do not fit the packed type do not fold: 8 is not an INT4, -1
// is not a UINT4.
// CHECK-LABEL: func.func @out_of_range
// CHECK-NOT: packed_constant
// CHECK-DAG: %[[C:.*]] = arith.constant dense<{{\[\[}}8, 0]]> : tensor<1x2xi8>
// CHECK-DAG: %[[D:.*]] = arith.constant dense<{{\[\[}}-1, 0]]> : tensor<1x2xi8>
// CHECK: lowbit.pack %[[C]] : tensor<1x2xi8> -> {{(!lowbit.packed)?}}<1x2xi4, int4_nibbles>
// CHECK: lowbit.pack %[[D]] : tensor<1x2xi8> -> {{(!lowbit.packed)?}}<1x2xui4, int4_nibbles>
// CHECK-NOT: packed_constant
func.func @out_of_range() -> (!lowbit.packed<1x2xi4, int4_nibbles>, !lowbit.packed<1x2xui4, int4_nibbles>) {
  %c = arith.constant dense<[[8, 0]]> : tensor<1x2xi8>
  %p = lowbit.pack %c : tensor<1x2xi8> -> !lowbit.packed<1x2xi4, int4_nibbles>
  %d = arith.constant dense<[[-1, 0]]> : tensor<1x2xi8>
  %q = lowbit.pack %d : tensor<1x2xi8> -> !lowbit.packed<1x2xui4, int4_nibbles>
  return %p, %q : !lowbit.packed<1x2xi4, int4_nibbles>, !lowbit.packed<1x2xui4, int4_nibbles>
}
