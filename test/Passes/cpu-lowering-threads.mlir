// --lowbit-cpu-lowering='threads=2' (CpuCompileOptions::numThreads,
// lowbit-run --threads): the large ops' parallel loops call MLIR's async
// runtime (one async task next to the caller's own block), the loop bodies
// are outlined and not inlined; threads=1 calls no runtime. lowbit-run runs
// it through the JIT with the runtime loaded, and the outputs are bit for bit
// those of one thread (no sum is split across threads).

// RUN: lowbit-opt %s --lowbit-cpu-lowering='threads=2' | FileCheck %s
// RUN: lowbit-opt %s --lowbit-cpu-lowering | FileCheck %s --check-prefix=ONE

// Two parallel regions, the matmul and the row sum (the exp is fused into
// it; the bias broadcast and the fill are below min-parallel-work, 262144
// loop iterations): each
// starts the async task, runs block 0 itself and waits for the group.
// CHECK: llvm.func @main(
// CHECK-COUNT-2: llvm.call @mlirAsyncRuntimeAwaitAllInGroup
// CHECK-NOT: llvm.call @mlirAsyncRuntimeAwaitAllInGroup
// CHECK: llvm.func @parallel_compute_fn{{.*}}attributes {passthrough = ["noinline"]
// CHECK: llvm.intr.fmuladd
// CHECK: llvm.func @async_execute_fn
// CHECK: llvm.call @mlirAsyncRuntimeExecute
// ONE-NOT: mlirAsyncRuntime
// ONE-NOT: parallel_compute_fn

// RUN: %python -c "import numpy as np; r = np.random.default_rng(0); np.savez('%t.in.npz', arg0=r.standard_normal((256, 1024)).astype(np.float32), arg1=r.standard_normal((128, 1024)).astype(np.float32))"
// RUN: lowbit-run %s --inputs %t.in.npz --outputs %t.1.npz --threads 1
// RUN: lowbit-run %s --inputs %t.in.npz --outputs %t.2.npz --threads 2
// RUN: lowbit-run %s --inputs %t.in.npz --outputs %t.0.npz --threads 0
// RUN: %python -c "import numpy as np, sys; a, b, c = (np.load(f) for f in sys.argv[1:]); print('identical', all(np.array_equal(a[k], b[k]) and np.array_equal(a[k], c[k]) for k in a.files), sorted(a.files))" %t.1.npz %t.2.npz %t.0.npz | FileCheck %s --check-prefix=SAME
// SAME: identical True ['result0', 'result1']

// RUN: not lowbit-run %s --inputs %t.in.npz --threads -1 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: --threads must be 0 (one per hardware thread) or 1..1024, got -1

#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
func.func @main(%x: tensor<256x1024xf32>, %w: tensor<128x1024xf32>) -> (tensor<256x128xf32>, tensor<256xf32>) {
  %b = arith.constant dense<0.5> : tensor<128xf32>
  // 256 x 128 x 1024 multiply-adds (threads split the 4 x 16 output tiles).
  %y = nn.linear %x, %w, %b : (tensor<256x1024xf32>, tensor<128x1024xf32>, tensor<128xf32>) -> tensor<256x128xf32>
  // Element-wise on 256 x 1024 and a row sum over 1024 (threads split rows).
  %e0 = tensor.empty() : tensor<256x1024xf32>
  %e = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<256x1024xf32>) outs(%e0 : tensor<256x1024xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = math.exp %in : f32
    linalg.yield %t : f32
  } -> tensor<256x1024xf32>
  %zero = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<256xf32>
  %s1 = linalg.fill ins(%zero : f32) outs(%s0 : tensor<256xf32>) -> tensor<256xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%e : tensor<256x1024xf32>) outs(%s1 : tensor<256xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<256xf32>
  return %y, %s : tensor<256x128xf32>, tensor<256xf32>
}
