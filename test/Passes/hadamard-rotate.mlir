// hadamard-rotate (QuEST): every group of nn.linear layers with constant f32
// weights reading one value X gets W' = W · blockdiag(H_b) and reads
// lowbit.hadamard(X) {block = b} instead (one per group). H_4 (Sylvester,
// orthonormal) is [[1,1,1,1],[1,-1,1,-1],[1,1,-1,-1],[1,-1,-1,1]] / 2, so by
// hand, with block=4 on K=8:
//   q = [[1,2,3,4, 0,0,0,0], [0,0,0,0, 1,1,1,1]]
//     -> [[5,-1,-2,0, 0,0,0,0], [0,0,0,0, 2,0,0,0]]
//   k = [[1,0,0,0, 0,0,0,-2]] -> [[0.5,0.5,0.5,0.5, -1,1,1,-1]]
// (blobs: 4 alignment bytes, then little-endian f32: 5 = 0x40A00000,
// -1 = 0xBF800000, -2 = 0xC0000000, 2 = 0x40000000, 0.5 = 0x3F000000).

// RUN: split-file %s %t
// RUN: lowbit-opt %t/rotate.mlir --hadamard-rotate=block=4 | FileCheck %s --check-prefix=ROT
// Running it twice rotates nothing more (layers carry lowbit.rotated).
// RUN: lowbit-opt %t/rotate.mlir --hadamard-rotate=block=4 | lowbit-opt --hadamard-rotate=block=4 | FileCheck %s --check-prefix=ROT
// block=0: the block is K itself (a power of two).
// RUN: lowbit-opt %t/whole.mlir --hadamard-rotate=block=0 | FileCheck %s --check-prefix=WHOLE
// The default block is 128.
// RUN: lowbit-opt %t/default.mlir --hadamard-rotate | FileCheck %s --check-prefix=DEF

// Left alone, with a remark naming the layer.
// RUN: lowbit-opt %t/indivisible.mlir --hadamard-rotate=block=4 -verify-diagnostics | FileCheck %s --check-prefix=ALONE
// RUN: lowbit-opt %t/not-pow2.mlir --hadamard-rotate=block=0 -verify-diagnostics | FileCheck %s --check-prefix=POW2

// Bad options.
// RUN: not lowbit-opt %t/rotate.mlir --hadamard-rotate=block=3 2>&1 | FileCheck %s --check-prefix=BAD3
// RUN: not lowbit-opt %t/rotate.mlir --hadamard-rotate=block=-8 2>&1 | FileCheck %s --check-prefix=BADNEG
// RUN: not lowbit-opt %t/rotate.mlir --hadamard-rotate=block=1 2>&1 | FileCheck %s --check-prefix=BAD1
// BAD3: error: hadamard-rotate: option 'block' must be 0 (the layer's K) or a power of two >= 2, got 3
// BADNEG: error: hadamard-rotate: option 'block' must be 0 (the layer's K) or a power of two >= 2, got -8
// BAD1: error: hadamard-rotate: option 'block' must be 0 (the layer's K) or a power of two >= 2, got 1

//--- rotate.mlir
// ROT-LABEL: func.func @main
// ROT-SAME: (%[[X:.*]]: tensor<3x8xf32>, %[[W:.*]]: tensor<2x8xf32>)
// ROT: %[[H:.*]] = lowbit.hadamard %[[X]] {block = 4 : i64} : tensor<3x8xf32>
// ROT-NOT: lowbit.hadamard
// ROT: %[[WQ:.*]] = arith.constant dense_resource<q.rotated> : tensor<2x8xf32>
// ROT: %[[Q:.*]] = nn.linear %[[H]], %[[WQ]], %{{.*}} {lowbit.rotated = 4 : i64}
// ROT: %[[WK:.*]] = arith.constant dense_resource<k.rotated> : tensor<1x8xf32>
// ROT: %[[K:.*]] = nn.linear %[[H]], %[[WK]] {lowbit.rotated = 4 : i64}
// A layer whose weight is not a constant keeps reading X.
// ROT: %[[V:.*]] = nn.linear %[[X]], %[[W]] : (tensor<3x8xf32>, tensor<2x8xf32>)
// ROT-NOT: lowbit.hadamard
// ROT: q.rotated: "0x040000000000A040000080BF000000C000000000000000000000000000000000000000000000000000000000000000000000000000000040000000000000000000000000"
// ROT: k.rotated: "0x040000000000003F0000003F0000003F0000003F000080BF0000803F0000803F000080BF"
func.func @main(%x: tensor<3x8xf32>, %w: tensor<2x8xf32>) -> (tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x2xf32>) {
  %wq = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]]> : tensor<2x8xf32>
  %bq = arith.constant dense<[1.0, -1.0]> : tensor<2xf32>
  %q = nn.linear %x, %wq, %bq : (tensor<3x8xf32>, tensor<2x8xf32>, tensor<2xf32>) -> tensor<3x2xf32> loc("q")
  %wk = arith.constant dense<[[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0]]> : tensor<1x8xf32>
  %k = nn.linear %x, %wk : (tensor<3x8xf32>, tensor<1x8xf32>) -> tensor<3x1xf32> loc("k")
  %v = nn.linear %x, %w : (tensor<3x8xf32>, tensor<2x8xf32>) -> tensor<3x2xf32> loc("v")
  return %q, %k, %v : tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x2xf32>
}

//--- whole.mlir
// A rank-3 input after an RMS norm: the rotation goes after the norm.
// WHOLE-LABEL: func.func @main
// WHOLE: %[[N:.*]] = nn.rms_norm
// WHOLE-NEXT: %[[H:.*]] = lowbit.hadamard %[[N]] {block = 8 : i64} : tensor<2x3x8xf32>
// WHOLE: nn.linear %[[H]], %{{.*}} {lowbit.rotated = 8 : i64} : (tensor<2x3x8xf32>, tensor<4x8xf32>) -> tensor<2x3x4xf32>
func.func @main(%x: tensor<2x3x8xf32>, %g: tensor<8xf32>) -> tensor<2x3x4xf32> {
  %n = nn.rms_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  %w = arith.constant dense<1.0> : tensor<4x8xf32>
  %y = nn.linear %n, %w : (tensor<2x3x8xf32>, tensor<4x8xf32>) -> tensor<2x3x4xf32> loc("fc")
  return %y : tensor<2x3x4xf32>
}

//--- default.mlir
// DEF-LABEL: func.func @main
// DEF: lowbit.hadamard %{{.*}} {block = 128 : i64} : tensor<2x256xf32>
// DEF: nn.linear {{.*}} {lowbit.rotated = 128 : i64}
func.func @main(%x: tensor<2x256xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x256xf32>
  %y = nn.linear %x, %w : (tensor<2x256xf32>, tensor<4x256xf32>) -> tensor<2x4xf32> loc("fc")
  return %y : tensor<2x4xf32>
}

//--- indivisible.mlir
// ALONE-LABEL: func.func @main
// ALONE-NOT: lowbit.hadamard
// ALONE-NOT: lowbit.rotated
// ALONE: nn.linear %arg0, %{{.*}} : (tensor<3x6xf32>, tensor<2x6xf32>)
func.func @main(%x: tensor<3x6xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x6xf32>
  // expected-remark @unknown {{hadamard-rotate: layer 'fc6' left alone: K=6 is not divisible by block=4}}
  %y = nn.linear %x, %w : (tensor<3x6xf32>, tensor<2x6xf32>) -> tensor<3x2xf32> loc("fc6")
  return %y : tensor<3x2xf32>
}

//--- not-pow2.mlir
// POW2-LABEL: func.func @main
// POW2-NOT: lowbit.hadamard
// POW2-NOT: lowbit.rotated
// POW2: nn.linear %arg0, %{{.*}} : (tensor<3x12xf32>, tensor<2x12xf32>)
func.func @main(%x: tensor<3x12xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x12xf32>
  // expected-remark @unknown {{hadamard-rotate: layer 'fc12' left alone: K=12 is not a power of two}}
  %y = nn.linear %x, %w : (tensor<3x12xf32>, tensor<2x12xf32>) -> tensor<3x2xf32> loc("fc12")
  return %y : tensor<3x2xf32>
}
