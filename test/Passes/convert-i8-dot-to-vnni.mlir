// convert-i8-dot-to-vnni: acc + sum of four extui(u8) x extsi(s8) products
// per i32 lane (16 lanes) is AVX-512 VNNI's vpdpbusd; anything else (signed
// x signed, another lane count, a max reduction) is left alone.

// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-i8-dot-to-vnni))' \
// RUN:   | FileCheck %s

// CHECK-LABEL: func.func @u8_s8
// CHECK-SAME: (%[[ACC:.*]]: vector<16xi32>, %[[U:.*]]: vector<64xi8>, %[[W:.*]]: vector<64xi8>)
// CHECK-NEXT: %[[R:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%[[ACC]], %[[U]], %[[W]]) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// CHECK-NEXT: return %[[R]]
func.func @u8_s8(%acc: vector<16xi32>, %u: vector<64xi8>, %w: vector<64xi8>) -> vector<16xi32> {
  %uw = arith.extui %u : vector<64xi8> to vector<64xi32>
  %ww = arith.extsi %w : vector<64xi8> to vector<64xi32>
  %p = arith.muli %uw, %ww : vector<64xi32>
  %g = vector.shape_cast %p : vector<64xi32> to vector<16x4xi32>
  %r = vector.multi_reduction <add>, %g, %acc [1] : vector<16x4xi32> to vector<16xi32>
  return %r : vector<16xi32>
}

// -----

// Left alone: signed x signed (vpdpbusd reads its first operand unsigned).
// CHECK-LABEL: func.func @s8_s8
// CHECK-NOT: llvm.call_intrinsic
// CHECK: vector.multi_reduction
func.func @s8_s8(%acc: vector<16xi32>, %u: vector<64xi8>, %w: vector<64xi8>) -> vector<16xi32> {
  %uw = arith.extsi %u : vector<64xi8> to vector<64xi32>
  %ww = arith.extsi %w : vector<64xi8> to vector<64xi32>
  %p = arith.muli %uw, %ww : vector<64xi32>
  %g = vector.shape_cast %p : vector<64xi32> to vector<16x4xi32>
  %r = vector.multi_reduction <add>, %g, %acc [1] : vector<16x4xi32> to vector<16xi32>
  return %r : vector<16xi32>
}

// -----

// Left alone: 8 lanes (a 256-bit form this pass does not emit).
// CHECK-LABEL: func.func @eight_lanes
// CHECK-NOT: llvm.call_intrinsic
// CHECK: vector.multi_reduction
func.func @eight_lanes(%acc: vector<8xi32>, %u: vector<32xi8>, %w: vector<32xi8>) -> vector<8xi32> {
  %uw = arith.extui %u : vector<32xi8> to vector<32xi32>
  %ww = arith.extsi %w : vector<32xi8> to vector<32xi32>
  %p = arith.muli %uw, %ww : vector<32xi32>
  %g = vector.shape_cast %p : vector<32xi32> to vector<8x4xi32>
  %r = vector.multi_reduction <add>, %g, %acc [1] : vector<8x4xi32> to vector<8xi32>
  return %r : vector<8xi32>
}

// -----

// Left alone: a max reduction of the same products.
// CHECK-LABEL: func.func @max_reduction
// CHECK-NOT: llvm.call_intrinsic
// CHECK: vector.multi_reduction <maxsi>
func.func @max_reduction(%acc: vector<16xi32>, %u: vector<64xi8>, %w: vector<64xi8>) -> vector<16xi32> {
  %uw = arith.extui %u : vector<64xi8> to vector<64xi32>
  %ww = arith.extsi %w : vector<64xi8> to vector<64xi32>
  %p = arith.muli %uw, %ww : vector<64xi32>
  %g = vector.shape_cast %p : vector<64xi32> to vector<16x4xi32>
  %r = vector.multi_reduction <maxsi>, %g, %acc [1] : vector<16x4xi32> to vector<16xi32>
  return %r : vector<16xi32>
}
