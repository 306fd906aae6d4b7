// Bad options of lowbit-cpu-vectorize-elementwise are diagnosed.

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(lowbit-cpu-vectorize-elementwise{vector-size=1}))' 2>&1 \
// RUN:   | FileCheck %s
// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(lowbit-cpu-vectorize-elementwise{min-elements=0}))' 2>&1 \
// RUN:   | FileCheck %s
// CHECK: error: lowbit-cpu-vectorize-elementwise: vector-size must be at least 2 and min-elements at least 1

func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
