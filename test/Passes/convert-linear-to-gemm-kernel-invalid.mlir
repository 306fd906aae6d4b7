// convert-linear-to-gemm-kernel diagnoses bad options, and with
// require-kernel an nn.linear it cannot take, naming the reason.

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-linear-to-gemm-kernel{rows-per-tile=13}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ROWS
// ROWS: error: convert-linear-to-gemm-kernel: rows-per-tile must be 1..12, got 13

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-linear-to-gemm-kernel{min-parallel-work=-1}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=THREADS
// THREADS: error: convert-linear-to-gemm-kernel: num-threads must be positive and min-parallel-work not negative

// RUN: lowbit-opt %s --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-linear-to-gemm-kernel{require-kernel=true}))'

func.func @weight_argument(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{cannot use the f32 GEMM kernel: the weight is not a compile-time constant}}
  %y = nn.linear %x, %w : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
