// convert-qlinear-to-dot-kernel diagnoses bad options, and with
// require-kernel a qlinear it cannot take, naming the reason.

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-qlinear-to-dot-kernel{rows-per-tile=0}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ROWS
// ROWS: error: convert-qlinear-to-dot-kernel: rows-per-tile must be 1..8, got 0

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-qlinear-to-dot-kernel{num-threads=0}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=THREADS
// THREADS: error: convert-qlinear-to-dot-kernel: num-threads must be positive and min-parallel-work not negative

// RUN: lowbit-opt %s --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-qlinear-to-dot-kernel{require-kernel=true}))'

func.func @weight_argument(%xq: tensor<2x8xi8>, %xs: tensor<2x1xf32>, %w: tensor<2x8xi8>) -> tensor<2x2xf32> {
  %s = arith.constant dense<[[0.5], [1.0]]> : tensor<2x1xf32>
  // expected-error @+1 {{cannot use the int8 dot kernel: the weight is not a compile-time constant}}
  %y = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, group_size = 8 : i64, w_bits = 8 : i64} : (tensor<2x8xi8>, tensor<2x1xf32>, tensor<2x8xi8>, tensor<2x1xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}
