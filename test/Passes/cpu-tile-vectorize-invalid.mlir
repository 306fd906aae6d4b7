// Bad options of lowbit-cpu-tile-vectorize are diagnosed, naming the option.

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(lowbit-cpu-tile-vectorize{tile-sizes=4,0,8}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ZERO
// ZERO: error: lowbit-cpu-tile-vectorize: tile-sizes must be three positive integers m,n,k

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(lowbit-cpu-tile-vectorize{tile-sizes=4,16}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=TWO
// TWO: error: lowbit-cpu-tile-vectorize: tile-sizes must be three positive integers m,n,k

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(lowbit-cpu-tile-vectorize{max-vector-elements=0}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=MAX
// MAX: error: lowbit-cpu-tile-vectorize: max-vector-elements must be positive

func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
