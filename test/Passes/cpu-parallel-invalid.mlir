// Bad thread options of the CPU passes and pipeline are diagnosed, naming
// the pass and option; lowbit-run's --threads is checked in
// test/Passes/cpu-lowering-threads.mlir.

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(lowbit-cpu-tile-vectorize{num-threads=0}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=TILE
// TILE: error: lowbit-cpu-tile-vectorize: num-threads must be at least 1 and min-parallel-work at least 0

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(lowbit-cpu-tile-vectorize{num-threads=2 min-parallel-work=-1}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=TILE

// RUN: not lowbit-opt %s --lowbit-cpu-async-parallel='num-threads=0' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ASYNC
// ASYNC: error: lowbit-cpu-async-parallel: num-threads must be 1..1024, got 0

func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
