// lowbit-cpu-vectorize-elementwise: a static element-wise generic is tiled
// to [1, V] along its contiguous innermost dim (V = the largest divisor of
// the bound up to vector-size) and each tile becomes vector code; what is
// not element-wise along a contiguous innermost dim is left alone.

// RUN: lowbit-opt %s --pass-pipeline='builtin.module(func.func(lowbit-cpu-vectorize-elementwise))' \
// RUN:   | FileCheck %s
// RUN: lowbit-opt %s --pass-pipeline='builtin.module(func.func(lowbit-cpu-vectorize-elementwise{vector-size=16}))' \
// RUN:   | FileCheck %s --check-prefix=V16

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
#bcast = affine_map<(d0, d1) -> (d0)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
#red = affine_map<(d0, d1) -> (d0)>

// exp(x - m) with m broadcast along the row (softmax's middle step): tiles
// of 1x48 (48: the largest divisor of 96 up to the default 64), m read as a
// broadcast.
// CHECK-LABEL: func.func @exp_sub
// CHECK: scf.for
// CHECK: scf.for
// CHECK: vector.transfer_read {{.*}} vector<1x48xf32>
// CHECK: vector.transfer_read {{.*}}permutation_map{{.*}} vector<1x48xf32>
// CHECK: arith.subf {{.*}} : vector<1x48xf32>
// CHECK: math.exp {{.*}} : vector<1x48xf32>
// CHECK: vector.transfer_write
// CHECK-NOT: linalg.generic
// CHECK: return
// V16-LABEL: func.func @exp_sub
// V16: math.exp {{.*}} : vector<1x16xf32>
func.func @exp_sub(%x: tensor<8x96xf32>, %m: tensor<8xf32>) -> tensor<8x96xf32> {
  %e = tensor.empty() : tensor<8x96xf32>
  %r = linalg.generic {indexing_maps = [#id, #bcast, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : tensor<8x96xf32>, tensor<8xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %v = math.exp %d : f32
    linalg.yield %v : f32
  } -> tensor<8x96xf32>
  return %r : tensor<8x96xf32>
}

// Integer element-wise ops (the quantize steps) vectorise the same way.
// CHECK-LABEL: func.func @round_to_i8
// CHECK: math.roundeven {{.*}} : vector<1x64xf32>
// CHECK: arith.fptosi {{.*}} : vector<1x64xf32> to vector<1x64xi8>
func.func @round_to_i8(%x: tensor<4x128xf32>) -> tensor<4x128xi8> {
  %e = tensor.empty() : tensor<4x128xi8>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x128xf32>) outs(%e : tensor<4x128xi8>) {
  ^bb0(%a: f32, %o: i8):
    %q = math.roundeven %a : f32
    %i = arith.fptosi %q : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x128xi8>
  return %r : tensor<4x128xi8>
}

// A max reduction along rows of 128 (softmax's row max, dynamic
// quantization's absmax): split into 16 lane-wise partial maxima, reduced
// 4 x 16 at a time as vectors, then the 16 lanes once per row. Max does not
// depend on the order, so the value is the scalar loop's.
// CHECK-LABEL: func.func @row_absmax
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<8x16xf32>)
// CHECK: scf.for
// CHECK: math.absf {{.*}} : vector<1x4x16xf32>
// CHECK: vector.multi_reduction <maximumf>, {{.*}} [1] : vector<1x4x16xf32> to vector<1x16xf32>
// CHECK: scf.for
// CHECK: vector.multi_reduction <maximumf>, {{.*}} [1] : vector<1x16xf32> to vector<1xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @row_absmax(%x: tensor<8x128xf32>) -> tensor<8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %r = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x128xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %o, %abs : f32
    linalg.yield %m : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// A max reduction along rows of 72 (a multiple of 8, not of 16): 8 lanes.
// CHECK-LABEL: func.func @row_max_8_lanes
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x8xf32>)
// CHECK: vector.multi_reduction <maximumf>, {{.*}} [1] : vector<1x3x8xf32> to vector<1x8xf32>
// CHECK: vector.multi_reduction <maximumf>, {{.*}} [1] : vector<1x8xf32> to vector<1xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @row_max_8_lanes(%x: tensor<2x72xf32>) -> tensor<2xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  %r = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x72xf32>) outs(%acc : tensor<2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %o, %a : f32
    linalg.yield %m : f32
  } -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// Left alone: a sum reduction (order-dependent), a max reduction over 40
// (shorter than 64), a read that transposes along the innermost loop,
// a dynamic shape, an op below min-elements, a prime innermost bound, and
// booleans (i1: a byte each in memory; ONNX And/Or/Xor went wrong as
// vectors).
// CHECK-LABEL: func.func @leave_alone
// CHECK-NOT: vector.
// CHECK-COUNT-7: linalg.generic
// CHECK-NOT: vector.
// CHECK: return
func.func @leave_alone(%x: tensor<8x96xf32>, %t: tensor<96x8xf32>, %d: tensor<?x96xf32>,
                       %s: tensor<2x4xf32>, %p: tensor<4x97xf32>, %b: tensor<8x96xi1>,
                       %m: tensor<8x40xf32>)
    -> (tensor<8xf32>, tensor<8x96xf32>, tensor<?x96xf32>, tensor<2x4xf32>, tensor<4x97xf32>,
        tensor<8x96xi1>, tensor<8xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %e8 = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e8 : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x96xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.addf %a, %o : f32
    linalg.yield %v : f32
  } -> tensor<8xf32>
  %e = tensor.empty() : tensor<8x96xf32>
  %tr = linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : tensor<96x8xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%a: f32, %o: f32):
    %v = math.exp %a : f32
    linalg.yield %v : f32
  } -> tensor<8x96xf32>
  %n = tensor.dim %d, %c0 : tensor<?x96xf32>
  %ed = tensor.empty(%n) : tensor<?x96xf32>
  %dyn = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%d : tensor<?x96xf32>) outs(%ed : tensor<?x96xf32>) {
  ^bb0(%a: f32, %o: f32):
    %v = math.exp %a : f32
    linalg.yield %v : f32
  } -> tensor<?x96xf32>
  %es = tensor.empty() : tensor<2x4xf32>
  %small = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : tensor<2x4xf32>) outs(%es : tensor<2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %v = math.exp %a : f32
    linalg.yield %v : f32
  } -> tensor<2x4xf32>
  %ep = tensor.empty() : tensor<4x97xf32>
  %prime = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p : tensor<4x97xf32>) outs(%ep : tensor<4x97xf32>) {
  ^bb0(%a: f32, %o: f32):
    %v = math.exp %a : f32
    linalg.yield %v : f32
  } -> tensor<4x97xf32>
  %eb = tensor.empty() : tensor<8x96xi1>
  %bool = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%b, %b : tensor<8x96xi1>, tensor<8x96xi1>) outs(%eb : tensor<8x96xi1>) {
  ^bb0(%a: i1, %c: i1, %o: i1):
    %v = arith.xori %a, %c : i1
    linalg.yield %v : i1
  } -> tensor<8x96xi1>
  %max40 = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]}
      ins(%m : tensor<8x40xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.maximumf %o, %a : f32
    linalg.yield %v : f32
  } -> tensor<8xf32>
  return %sum, %tr, %dyn, %small, %prime, %bool, %max40
      : tensor<8xf32>, tensor<8x96xf32>, tensor<?x96xf32>, tensor<2x4xf32>, tensor<4x97xf32>,
        tensor<8x96xi1>, tensor<8xf32>
}
