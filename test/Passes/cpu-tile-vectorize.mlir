// lowbit-cpu-tile-vectorize: static contractions get a register tile
// (m x n x k, each the largest divisor of its bound not above the requested
// size) and become vector.contract; dense NCHW convolutions go through
// im2col first. Everything else is left alone.

// RUN: lowbit-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(lowbit-cpu-tile-vectorize{tile-sizes=4,16,8}))' \
// RUN:   | FileCheck %s

#mk = affine_map<(m, n, k) -> (m, k)>
#nk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>

// The x[m,k] * w[n,k] form nn.linear lowers to; 12 is not a multiple of 8,
// so k gets the tile 6.
// CHECK-LABEL: func.func @linear
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C6:.*]] = arith.constant 6 : index
// CHECK: scf.for {{.*}} step %[[C4]]
// CHECK: scf.for {{.*}} step %[[C16]]
// CHECK: scf.for {{.*}} step %[[C6]]
// CHECK: vector.contract {{.*}} : vector<4x6xf32>, vector<16x6xf32> into vector<4x16xf32>
// CHECK-NOT: linalg.generic
func.func @linear(%x: tensor<8x12xf32>, %w: tensor<32x12xf32>, %acc: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %0 = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<8x12xf32>, tensor<32x12xf32>) outs(%acc : tensor<8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %p, %c : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  return %0 : tensor<8x32xf32>
}

// -----

// A dense convolution: im2col, then a tiled contraction over the
// [F, C*KH*KW] x [N, C*KH*KW, OH*OW] matmul.
// CHECK-LABEL: func.func @conv
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: } -> tensor<1x36x64xf32>
// CHECK: scf.for
// CHECK: vector.contract {{.*}} : vector<4x6xf32>, vector<1x6x16xf32> into vector<1x4x16xf32>
// CHECK-NOT: linalg.conv_2d_nchw_fchw
func.func @conv(%x: tensor<1x4x10x10xf32>, %w: tensor<8x4x3x3xf32>, %acc: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %0 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x4x10x10xf32>, tensor<8x4x3x3xf32>) outs(%acc : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  return %0 : tensor<1x8x8x8xf32>
}

// -----

// Left alone: an element-wise op (no reduction), a contraction with a
// dynamic bound, and a 1x1x1 contraction (nothing to vectorise).
// CHECK-LABEL: func.func @leave_alone
// CHECK-NOT: vector.
// CHECK-NOT: scf.for
// CHECK-COUNT-3: linalg.generic
#id = affine_map<(i, j) -> (i, j)>
#mk = affine_map<(m, n, k) -> (m, k)>
#nk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
func.func @leave_alone(%a: tensor<8x8xf32>, %x: tensor<?x12xf32>, %w: tensor<32x12xf32>, %acc: tensor<?x32xf32>,
                       %s: tensor<1x1xf32>, %t: tensor<1x1xf32>, %u: tensor<1x1xf32>) -> (tensor<8x8xf32>, tensor<?x32xf32>, tensor<1x1xf32>) {
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<8x8xf32>) outs(%a : tensor<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  } -> tensor<8x8xf32>
  %1 = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x12xf32>, tensor<32x12xf32>) outs(%acc : tensor<?x32xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32):
    %m = arith.mulf %p, %q : f32
    %sum = arith.addf %m, %r : f32
    linalg.yield %sum : f32
  } -> tensor<?x32xf32>
  %2 = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s, %t : tensor<1x1xf32>, tensor<1x1xf32>) outs(%u : tensor<1x1xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32):
    %m = arith.mulf %p, %q : f32
    %sum = arith.addf %m, %r : f32
    linalg.yield %sum : f32
  } -> tensor<1x1xf32>
  return %0, %1, %2 : tensor<8x8xf32>, tensor<?x32xf32>, tensor<1x1xf32>
}
