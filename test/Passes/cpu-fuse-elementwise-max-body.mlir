// lowbit-cpu-fuse-elementwise stops fusing once a fused body would exceed
// max-body-ops ops (LLVM's compile time grows faster than linearly with a
// basic block's length). exp -> negf -> absf, one op each plus the yield:
// with the default limit the three fuse into one generic; with a limit of
// 4, exp and negf fuse (3 ops) and absf stays apart (3 + 2 > 4).

// RUN: lowbit-opt %s --pass-pipeline='builtin.module(func.func(lowbit-cpu-fuse-elementwise))' \
// RUN:   | FileCheck %s --check-prefix=ALL
// RUN: lowbit-opt %s --pass-pipeline='builtin.module(func.func(lowbit-cpu-fuse-elementwise{max-body-ops=4}))' \
// RUN:   | FileCheck %s --check-prefix=CAP
// RUN: not lowbit-opt %s --pass-pipeline='builtin.module(func.func(lowbit-cpu-fuse-elementwise{max-body-ops=x}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BAD

// ALL-LABEL: func.func @chain3
// ALL: linalg.generic
// ALL: math.exp
// ALL-NEXT: arith.negf
// ALL-NEXT: math.absf
// ALL-NOT: linalg.generic

// CAP-LABEL: func.func @chain3
// CAP: linalg.generic
// CAP: math.exp
// CAP-NEXT: arith.negf
// CAP-NEXT: linalg.yield
// CAP: linalg.generic
// CAP: math.absf
// CAP-NOT: linalg.generic

// BAD: for the --max-body-ops option: 'x' value invalid for uint argument

#id = affine_map<(i, j) -> (i, j)>
func.func @chain3(%a: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %e = tensor.empty() : tensor<8x8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %x = math.exp %in : f32
    linalg.yield %x : f32
  } -> tensor<8x8xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%0 : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %x = arith.negf %in : f32
    linalg.yield %x : f32
  } -> tensor<8x8xf32>
  %2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%1 : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %x = math.absf %in : f32
    linalg.yield %x : f32
  } -> tensor<8x8xf32>
  return %2 : tensor<8x8xf32>
}
