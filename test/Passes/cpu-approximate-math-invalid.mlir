// An unknown function in lowbit-cpu-approximate-math's ops is diagnosed,
// naming it.

// RUN: not lowbit-opt %s \
// RUN:   --pass-pipeline='builtin.module(func.func(lowbit-cpu-approximate-math{ops=exp,sinh}))' 2>&1 \
// RUN:   | FileCheck %s
// CHECK: error: lowbit-cpu-approximate-math: unknown math function 'sinh' in ops (known: erf, exp, expm1, tanh, log, log1p, log2)

func.func @f(%a: f32) -> f32 {
  %e = math.exp %a : f32
  return %e : f32
}
