// lowbit-cpu-tile-vectorize{num-threads=N}: the parallel loops of large
// static linalg ops go into an scf.forall (run as N async tasks later in the
// CPU pipeline). Contractions: one forall iteration per m x n register tile,
// the k loop inside, so no sum is split across threads. Other ops: tile-1
// steps of the outermost parallel loops, reductions whole inside.

// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(lowbit-cpu-tile-vectorize{num-threads=2}))' \
// RUN:   | FileCheck %s
// One thread (the default) adds no forall anywhere.
// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(lowbit-cpu-tile-vectorize))' \
// RUN:   | FileCheck %s --check-prefix=ONE --implicit-check-not=scf.forall

#mk = affine_map<(m, n, k) -> (m, k)>
#nk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>

// 64x64x128 = 524288 multiply-adds: the forall steps by the 4 x 16 register
// tile over m and n; the k loop (step 8) and the contraction are inside it.
// CHECK-LABEL: func.func @linear
// CHECK: scf.forall (%[[M:.*]], %[[N:.*]]) = (0, 0) to (64, 64) step (4, 16)
// CHECK:   tensor.extract_slice %{{.*}}[%[[M]], 0] [4, 128] [1, 1]
// CHECK:   tensor.extract_slice %{{.*}}[%[[N]], 0] [16, 128] [1, 1]
// CHECK:   scf.for
// CHECK:   vector.contract {{.*}} : vector<4x8xf32>, vector<16x8xf32> into vector<4x16xf32>
// CHECK:   scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %{{.*}}[%[[M]], %[[N]]] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<64x64xf32>
// ONE-LABEL: func.func @linear
// ONE: vector.contract
func.func @linear(%x: tensor<64x128xf32>, %w: tensor<64x128xf32>, %acc: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %0 = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<64x128xf32>, tensor<64x128xf32>) outs(%acc : tensor<64x64xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %p, %c : f32
    linalg.yield %s : f32
  } -> tensor<64x64xf32>
  return %0 : tensor<64x64xf32>
}

// -----

// Element-wise 512x512: one forall iteration per row (512 >= 8 per thread).
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.forall (%[[I:.*]]) in (512)
// CHECK:   linalg.generic {{.*}} ins(%{{.*}} : tensor<1x512xf32>) outs(%{{.*}} : tensor<1x512xf32>)
// CHECK:     math.exp
// CHECK:   tensor.parallel_insert_slice %{{.*}}[%[[I]], 0] [1, 512] [1, 1]
// ONE-LABEL: func.func @elementwise
#id = affine_map<(i, j) -> (i, j)>
func.func @elementwise(%a: tensor<512x512xf32>) -> tensor<512x512xf32> {
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<512x512xf32>) outs(%a : tensor<512x512xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  } -> tensor<512x512xf32>
  return %0 : tensor<512x512xf32>
}

// -----

// A row sum over [1, 256, 1024]: the batch loop of one is not split, the 256
// rows are, and each row's whole 1024-long reduction stays in one iteration.
// CHECK-LABEL: func.func @rowsum
// CHECK: scf.forall (%[[R:.*]]) in (256)
// CHECK:   tensor.extract_slice %{{.*}}[0, %[[R]], 0] [1, 1, 1024] [1, 1, 1]
// CHECK:   linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%{{.*}} : tensor<1x1x1024xf32>) outs(%{{.*}} : tensor<1x1xf32>)
// ONE-LABEL: func.func @rowsum
func.func @rowsum(%a: tensor<1x256x1024xf32>, %acc: tensor<1x256xf32>) -> tensor<1x256xf32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a : tensor<1x256x1024xf32>) outs(%acc : tensor<1x256xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<1x256xf32>
  return %0 : tensor<1x256xf32>
}

// -----

// Left alone with threads: ops below min-parallel-work (262144 iterations):
// an 8x32x12 contraction (3072) and a 256x512 element-wise op (131072); and
// a full reduction to one value (no parallel loop to split).
// CHECK-LABEL: func.func @small_and_full_reduction
// CHECK-NOT: scf.forall
// CHECK: vector.contract
// CHECK-NOT: scf.forall
// CHECK: return
#mk = affine_map<(m, n, k) -> (m, k)>
#nk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
#all = affine_map<(i) -> (i)>
#none = affine_map<(i) -> ()>
func.func @small_and_full_reduction(%x: tensor<8x12xf32>, %w: tensor<32x12xf32>, %acc: tensor<8x32xf32>,
                                    %e: tensor<256x512xf32>, %v: tensor<1048576xf32>, %s: tensor<f32>)
    -> (tensor<8x32xf32>, tensor<256x512xf32>, tensor<f32>) {
  %0 = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<8x12xf32>, tensor<32x12xf32>) outs(%acc : tensor<8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %p, %c : f32
    linalg.yield %q : f32
  } -> tensor<8x32xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%e : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = math.tanh %in : f32
    linalg.yield %t : f32
  } -> tensor<256x512xf32>
  %2 = linalg.generic {indexing_maps = [#all, #none], iterator_types = ["reduction"]}
      ins(%v : tensor<1048576xf32>) outs(%s : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %0, %1, %2 : tensor<8x32xf32>, tensor<256x512xf32>, tensor<f32>
}
