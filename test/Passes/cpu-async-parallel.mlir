// lowbit-cpu-async-parallel{num-threads=N}: every scf.parallel becomes at
// most N blocks of equal size (upstream async-parallel-for patterns with the
// minimum task size ceil(trips / N)): the caller runs block 0, the others
// are async.execute tasks, then it waits for the group. The multi-dimensional
// loop is collapsed to one dimension first, and the outlined body is
// noinline (it has two call sites).

// RUN: lowbit-opt %s --lowbit-cpu-async-parallel='num-threads=2' --canonicalize | FileCheck %s
// RUN: lowbit-opt %s --lowbit-cpu-async-parallel='num-threads=1' | FileCheck %s --check-prefix=ONE

// 16 x 32 = 512 iterations in 2 blocks of 256 (upstream's pass with its
// defaults would run it as 1 block: min-task-size=1000).
// CHECK-LABEL: func.func @scale
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C512:.*]] = arith.constant 512 : index
// CHECK: %[[G:.*]] = async.create_group %[[C1]]
// CHECK: async.execute {
// CHECK-NEXT: func.call @parallel_compute_fn(%[[C1]], %[[C256]], %[[C512]],
// CHECK: async.add_to_group
// CHECK: call @parallel_compute_fn(%[[C0]], %[[C256]], %[[C512]],
// CHECK: async.await_all %[[G]]
// CHECK-NOT: scf.parallel
// CHECK: func.func private @parallel_compute_fn({{.*}}) attributes {passthrough = ["noinline"]}
// CHECK: scf.for
// CHECK: memref.load
// CHECK: arith.mulf
// CHECK: memref.store

// One thread: the loop is left alone (it lowers to a sequential loop).
// ONE-LABEL: func.func @scale
// ONE-NOT: async.
// ONE: scf.parallel
// ONE-NOT: async.
func.func @scale(%a: memref<64x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %two = arith.constant 2.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c32) step (%c4, %c1) {
    %v = memref.load %a[%i, %j] : memref<64x32xf32>
    %m = arith.mulf %v, %two : f32
    memref.store %m, %a[%i, %j] : memref<64x32xf32>
    scf.reduce
  }
  return
}
