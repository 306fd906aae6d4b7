// convert-qconv-to-direct-kernel diagnoses bad options.

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-qconv-to-direct-kernel{filters-per-tile=9}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=TILE
// TILE: error: convert-qconv-to-direct-kernel: filters-per-tile must be 1..8, got 9

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-qconv-to-direct-kernel{num-threads=0}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=THREADS
// THREADS: error: convert-qconv-to-direct-kernel: num-threads must be positive and min-parallel-work not negative

func.func @empty() {
  return
}
