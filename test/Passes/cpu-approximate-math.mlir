// lowbit-cpu-approximate-math: f32 erf / exp / tanh / log ... (scalars and
// vectors) become polynomial arithmetic, no math op (and later no libm
// call) left; other functions, other element types, and functions not in
// `ops` are left alone.

// RUN: lowbit-opt %s --pass-pipeline='builtin.module(func.func(lowbit-cpu-approximate-math))' \
// RUN:   | FileCheck %s
// RUN: lowbit-opt %s --pass-pipeline='builtin.module(func.func(lowbit-cpu-approximate-math{ops=exp}))' \
// RUN:   | FileCheck %s --check-prefix=ONLYEXP

// CHECK-LABEL: func.func @approximated
// CHECK-NOT: math.erf
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.log
// CHECK: arith.mulf
// CHECK: return
// ONLYEXP-LABEL: func.func @approximated
// ONLYEXP-NOT: math.exp
// ONLYEXP: math.erf
// ONLYEXP: math.tanh
// ONLYEXP: math.log
func.func @approximated(%x: f32, %v: vector<1x16xf32>) -> (f32, vector<1x16xf32>, f32, f32) {
  %e = math.erf %x : f32
  %x2 = math.exp %v : vector<1x16xf32>
  %t = math.tanh %x : f32
  %l = math.log %x : f32
  return %e, %x2, %t, %l : f32, vector<1x16xf32>, f32, f32
}

// CHECK-LABEL: func.func @left_alone
// CHECK: math.erf {{.*}} : f64
// CHECK: math.sqrt {{.*}} : f32
// CHECK: math.sin {{.*}} : f32
func.func @left_alone(%d: f64, %x: f32) -> (f64, f32, f32) {
  %e = math.erf %d : f64
  %s = math.sqrt %x : f32
  %n = math.sin %x : f32
  return %e, %s, %n : f64, f32, f32
}
