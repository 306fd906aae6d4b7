// lowbit-cpu-hoist-transfers moves the accumulator's read/write of a
// register tile out of the reduction loop and lowers the tile's
// vector.contract to outer products (FMAs); a transfer whose address depends
// on the loop stays inside it.

// RUN: lowbit-opt %s --pass-pipeline='builtin.module(func.func(lowbit-cpu-hoist-transfers))' \
// RUN:   | FileCheck %s

#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>

// CHECK-LABEL: func.func @tile
// CHECK: %[[ACC:.*]] = vector.transfer_read %arg2
// CHECK: %[[R:.*]] = scf.for {{.*}} iter_args(%[[IT:.*]] = %[[ACC]]) -> (vector<2x4xf32>)
// CHECK: vector.transfer_read %arg0
// CHECK: vector.transfer_read %arg1
// CHECK-NOT: vector.contract
// CHECK: vector.fma
// CHECK: scf.yield
// CHECK: vector.transfer_write %[[R]], %arg2
func.func @tile(%a: memref<2x64xf32>, %b: memref<64x4xf32>, %c: memref<2x4xf32>) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %pad = arith.constant 0.0 : f32
  scf.for %k = %c0 to %c64 step %c8 {
    %x = vector.transfer_read %a[%c0, %k], %pad {in_bounds = [true, true]} : memref<2x64xf32>, vector<2x8xf32>
    %y = vector.transfer_read %b[%k, %c0], %pad {in_bounds = [true, true]} : memref<64x4xf32>, vector<8x4xf32>
    %z = vector.transfer_read %c[%c0, %c0], %pad {in_bounds = [true, true]} : memref<2x4xf32>, vector<2x4xf32>
    %r = vector.contract {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>}
        %x, %y, %z : vector<2x8xf32>, vector<8x4xf32> into vector<2x4xf32>
    vector.transfer_write %r, %c[%c0, %c0] {in_bounds = [true, true]} : vector<2x4xf32>, memref<2x4xf32>
  }
  return
}
