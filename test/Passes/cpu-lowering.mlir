// --lowbit-cpu-lowering (the registered CPU pipeline) takes a function on
// tensors with an nn.linear all the way to the LLVM dialect: nothing of
// nn/tosa/linalg/tensor/memref/func is left, and the function's tensor
// result has become a caller-provided out-param (an extra memref descriptor
// argument, no LLVM result) that the loops store into.

// RUN: lowbit-opt %s --lowbit-cpu-lowering | FileCheck %s \
// RUN:   --implicit-check-not=nn. --implicit-check-not=tosa. \
// RUN:   --implicit-check-not=linalg. --implicit-check-not=tensor. \
// RUN:   --implicit-check-not=memref. --implicit-check-not=func.func \
// RUN:   --implicit-check-not=unrealized_conversion_cast --implicit-check-not=scf. \
// RUN:   --implicit-check-not=llvm.call --implicit-check-not=llvm.fmul

// Expanded memref descriptors: x (2-D: 7 values), w (2-D: 7), b (1-D: 5),
// then the out-param for the 2x4 result (2-D: %arg19 .. %arg25).
// CHECK: llvm.func @main(
// CHECK-SAME: %arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: i64, %arg3: i64, %arg4: i64, %arg5: i64, %arg6: i64,
// CHECK-SAME: %arg7: !llvm.ptr, %arg8: !llvm.ptr, %arg9: i64, %arg10: i64, %arg11: i64, %arg12: i64, %arg13: i64,
// CHECK-SAME: %arg14: !llvm.ptr, %arg15: !llvm.ptr, %arg16: i64, %arg17: i64, %arg18: i64,
// CHECK-SAME: %arg19: !llvm.ptr, %arg20: !llvm.ptr, %arg21: i64, %arg22: i64, %arg23: i64, %arg24: i64, %arg25: i64) {
// The out-param descriptor, built from the last seven arguments ...
// CHECK: %[[OUT:.*]] = llvm.insertvalue %arg25, %{{.*}}[4, 1] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// ... first receives the broadcast bias ...
// CHECK: %[[P1:.*]] = llvm.extractvalue %[[OUT]][1]
// CHECK: %[[G1:.*]] = llvm.getelementptr {{.*}}%[[P1]][
// CHECK: llvm.store %{{.*}}, %[[G1]] : f32, !llvm.ptr
// ... then the register-tiled multiply-accumulate (lowbit-cpu-tile-vectorize:
// the whole 2x4x8 contraction is one tile, one 4-wide FMA chain per row,
// k = 8 steps each) is stored back as rows of four.
// CHECK-COUNT-16: llvm.intr.fmuladd({{.*}}) : (vector<4xf32>, vector<4xf32>, vector<4xf32>) -> vector<4xf32>
// CHECK: %[[P2:.*]] = llvm.extractvalue %[[OUT]][1]
// CHECK: %[[G2:.*]] = llvm.getelementptr {{.*}}%[[P2]][
// CHECK: llvm.store %{{.*}}, %[[G2]] {alignment = 4 : i64} : vector<4xf32>, !llvm.ptr
// CHECK: llvm.store %{{.*}} : vector<4xf32>, !llvm.ptr
// CHECK: llvm.return{{$}}
// CHECK-NEXT: }
func.func @main(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>) -> tensor<2x4xf32> {
  %0 = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
