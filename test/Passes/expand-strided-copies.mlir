// --lowbit-expand-strided-copies: a memref.copy with a non-identity layout
// on either side becomes loops (the CPU path has no memrefCopy runtime
// helper): vector transfers along rows that are contiguous on both sides and
// at least half a 512-bit vector long, linalg.copy otherwise; copies between
// identity-layout memrefs, which lower to llvm.memcpy, are left alone. The pass emits no diagnostics of its own, so
// instead of a diagnostic case there is a second leave-alone case (dynamic
// and rank-0 identity-layout copies).

// RUN: lowbit-opt %s --lowbit-expand-strided-copies | FileCheck %s

// CHECK-LABEL: func.func @strided_source
// CHECK-SAME: (%[[SRC:.*]]: memref<8x8xf32>, %[[DST:.*]]: memref<4x4xf32>)
// CHECK: %[[SV:.*]] = memref.subview %[[SRC]][0, 0] [4, 4] [2, 2]
// CHECK-NOT: memref.copy
// CHECK: linalg.copy ins(%[[SV]] : memref<4x4xf32, strided<[16, 2]>>) outs(%[[DST]] : memref<4x4xf32>)
// CHECK-NEXT: return
func.func @strided_source(%src: memref<8x8xf32>, %dst: memref<4x4xf32>) {
  %sv = memref.subview %src[0, 0] [4, 4] [2, 2] : memref<8x8xf32> to memref<4x4xf32, strided<[16, 2]>>
  memref.copy %sv, %dst : memref<4x4xf32, strided<[16, 2]>> to memref<4x4xf32>
  return
}

// The target is a strided window with an offset.
// CHECK-LABEL: func.func @strided_target
// CHECK-SAME: (%[[SRC:.*]]: memref<4x8xf32>, %[[DST:.*]]: memref<4x4xf32>)
// CHECK: %[[SV:.*]] = memref.subview %[[SRC]][0, 4] [4, 4] [1, 1]
// CHECK-NOT: memref.copy
// CHECK: linalg.copy ins(%[[DST]] : memref<4x4xf32>) outs(%[[SV]] : memref<4x4xf32, strided<[8, 1], offset: 4>>)
func.func @strided_target(%src: memref<4x8xf32>, %dst: memref<4x4xf32>) {
  %sv = memref.subview %src[0, 4] [4, 4] [1, 1] : memref<4x8xf32> to memref<4x4xf32, strided<[8, 1], offset: 4>>
  memref.copy %dst, %sv : memref<4x4xf32> to memref<4x4xf32, strided<[8, 1], offset: 4>>
  return
}

// Dynamic strides and offset.
// CHECK-LABEL: func.func @dynamic_strides
// CHECK: linalg.copy ins(%{{.*}} : memref<?x?xf32, strided<[?, 1], offset: ?>>) outs(%{{.*}} : memref<?x?xf32>)
// CHECK-NOT: memref.copy
func.func @dynamic_strides(%src: memref<?x?xf32, strided<[?, 1], offset: ?>>, %dst: memref<?x?xf32>) {
  memref.copy %src, %dst : memref<?x?xf32, strided<[?, 1], offset: ?>> to memref<?x?xf32>
  return
}

// Leave alone: both sides have the identity layout.
// CHECK-LABEL: func.func @contiguous
// CHECK-SAME: (%[[A:.*]]: memref<4x4xf32>, %[[B:.*]]: memref<4x4xf32>)
// CHECK-NEXT: memref.copy %[[A]], %[[B]] : memref<4x4xf32> to memref<4x4xf32>
// CHECK-NEXT: return
func.func @contiguous(%src: memref<4x4xf32>, %dst: memref<4x4xf32>) {
  memref.copy %src, %dst : memref<4x4xf32> to memref<4x4xf32>
  return
}

// Leave alone: dynamic shapes and rank 0 with the identity layout.
// CHECK-LABEL: func.func @contiguous_dynamic_and_scalar
// CHECK-NEXT: memref.copy %{{.*}}, %{{.*}} : memref<?x8xi8> to memref<?x8xi8>
// CHECK-NEXT: memref.copy %{{.*}}, %{{.*}} : memref<f16> to memref<f16>
// CHECK-NEXT: return
// CHECK-NOT: linalg.copy
func.func @contiguous_dynamic_and_scalar(%a: memref<?x8xi8>, %b: memref<?x8xi8>, %c: memref<f16>, %d: memref<f16>) {
  memref.copy %a, %b : memref<?x8xi8> to memref<?x8xi8>
  memref.copy %c, %d : memref<f16> to memref<f16>
  return
}

// Leave alone: unranked copies have no static layout to loop over (they used
// to be deleted by this pass).
// CHECK-LABEL: func.func @unranked
// CHECK-NEXT: memref.copy %{{.*}}, %{{.*}} : memref<*xf32> to memref<*xf32>
// CHECK-NEXT: memref.copy %{{.*}}, %{{.*}} : memref<*xf32> to memref<4x4xf32>
// CHECK-NEXT: return
func.func @unranked(%a: memref<*xf32>, %b: memref<*xf32>, %c: memref<4x4xf32>) {
  memref.copy %a, %b : memref<*xf32> to memref<*xf32>
  memref.copy %a, %c : memref<*xf32> to memref<4x4xf32>
  return
}

// Rows of 20 f32, contiguous on both sides (a padded buffer's interior):
// per row, one full 16-lane vector and a masked tail of 4.
// CHECK-LABEL: func.func @padded_rows
// CHECK-SAME: (%[[SRC:.*]]: memref<2x3x20xf32>, %[[DST:.*]]: memref<2x5x24xf32>)
// CHECK: %[[SV:.*]] = memref.subview %[[DST]][0, 1, 2] [2, 3, 20] [1, 1, 1]
// CHECK-NOT: memref.copy
// CHECK-NOT: linalg.copy
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %c2{{.*}} step
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %c3{{.*}} step
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %c16{{.*}} step %c16
// CHECK: %[[V:.*]] = vector.transfer_read %[[SRC]][%[[I]], %[[J]], %[[K]]], %{{.*}} {in_bounds = [true]} : memref<2x3x20xf32>, vector<16xf32>
// CHECK: vector.transfer_write %[[V]], %[[SV]][%[[I]], %[[J]], %[[K]]] {in_bounds = [true]} : vector<16xf32>, memref<2x3x20xf32, strided<[120, 24, 1], offset: 26>>
// CHECK: %[[T:.*]] = vector.transfer_read %[[SRC]][%[[I]], %[[J]], %c16{{.*}}], %{{.*}} : memref<2x3x20xf32>, vector<16xf32>
// CHECK: vector.transfer_write %[[T]], %[[SV]][%[[I]], %[[J]], %c16{{.*}}] : vector<16xf32>, memref<2x3x20xf32, strided<[120, 24, 1], offset: 26>>
func.func @padded_rows(%src: memref<2x3x20xf32>, %dst: memref<2x5x24xf32>) {
  %sv = memref.subview %dst[0, 1, 2] [2, 3, 20] [1, 1, 1] : memref<2x5x24xf32> to memref<2x3x20xf32, strided<[120, 24, 1], offset: 26>>
  memref.copy %src, %sv : memref<2x3x20xf32> to memref<2x3x20xf32, strided<[120, 24, 1], offset: 26>>
  return
}

// i8 rows of 64 (one register each), no tail: a rank-1 copy has no outer
// loop.
// CHECK-LABEL: func.func @byte_row
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %c64{{.*}} step %c64
// CHECK: vector.transfer_read %{{.*}}[%[[K]]], %{{.*}} {in_bounds = [true]} : memref<64xi8, strided<[1], offset: 8>>, vector<64xi8>
// CHECK: vector.transfer_write
// CHECK-NOT: vector.transfer_read
// CHECK: return
func.func @byte_row(%src: memref<80xi8>, %dst: memref<64xi8>) {
  %sv = memref.subview %src[8] [64] [1] : memref<80xi8> to memref<64xi8, strided<[1], offset: 8>>
  memref.copy %sv, %dst : memref<64xi8, strided<[1], offset: 8>> to memref<64xi8>
  return
}
