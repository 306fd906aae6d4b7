// --lowbit-expand-strided-copies: a memref.copy with a non-identity layout
// on either side becomes linalg.copy (the CPU path has no memrefCopy runtime
// helper); copies between identity-layout memrefs, which lower to
// llvm.memcpy, are left alone. The pass emits no diagnostics of its own, so
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
