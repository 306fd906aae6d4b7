// convert-conv-to-direct-kernel: an f32 stride-1 nn.conv2d (groups 1) with a
// constant filter becomes a direct convolution: the filter transposed at
// compile time to [C * KH * KW, F] in a dense_resource constant, the input
// padded once, and per image, output row and tile of filters x 32 columns
// (the row's last tile masked) accumulators that start from the bias and take
// one vector.fma per filter and vector at each (c, kh, kw) step. With
// num-threads above 1 the output rows are an scf.forall. Strided, grouped or
// non-constant-filter convolutions are left to convert-nn-to-linalg.

// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-conv-to-direct-kernel{filters-per-tile=2}))' \
// RUN:   | FileCheck %s
// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-conv-to-direct-kernel{num-threads=2 min-parallel-work=0}))' \
// RUN:   | FileCheck %s --check-prefix=PAR
// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-conv-to-direct-kernel{quantized-weights=false}))' \
// RUN:   | FileCheck %s --check-prefix=NOQ

// 3x3, pad 1, three filters (a tile of 2, then one of 1), output width 20
// (no full 32-column tile: one masked tile of two vectors). The packed
// filter is [2 * 3 * 3, 3]: row k = (c * 3 + kh) * 3 + kw holds
// filter[0..2, c, kh, kw]; filter[f] = f + 1 everywhere, so each row is
// 1, 2, 3 (0x3F800000, 0x40000000, 0x40400000).
// CHECK-LABEL: func.func @conv3x3_pad
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[5.000000e-01, 1.500000e+00, 2.500000e+00]> : tensor<3xf32>
// CHECK-DAG: %[[W:.*]] = arith.constant dense_resource<{{.*}}packed> : tensor<18x3xf32>
// CHECK: %[[X:.*]] = tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: } : tensor<1x2x3x20xf32> to tensor<1x2x5x22xf32>
// Images, output rows, then the tile of 2 filters.
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for {{.*}} to %c2{{.*}} step %c2
// CHECK: %[[B0:.*]] = vector.broadcast {{.*}} : f32 to vector<16xf32>
// CHECK: %[[B1:.*]] = vector.broadcast {{.*}} : f32 to vector<16xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[B0]], %{{.*}} = %[[B0]], %{{.*}} = %[[B1]], %{{.*}} = %[[B1]])
// The masked tile reads without in_bounds.
// CHECK: %[[V0:.*]] = vector.transfer_read %[[X]]{{.*}} : tensor<1x2x5x22xf32>, vector<16xf32>
// CHECK: %[[V1:.*]] = vector.transfer_read %[[X]]{{.*}} : tensor<1x2x5x22xf32>, vector<16xf32>
// CHECK: %[[F:.*]] = tensor.extract %[[W]]
// CHECK: %[[FV:.*]] = vector.broadcast %[[F]]
// CHECK: vector.fma %[[FV]], %[[V0]]
// CHECK: vector.fma %[[FV]], %[[V1]]
// Nine (kh, kw) steps x 2 filters x 2 vectors per c.
// CHECK-COUNT-34: vector.fma
// CHECK: scf.yield
// CHECK-COUNT-4: vector.transfer_write {{.*}} : vector<16xf32>, tensor<1x3x3x20xf32>
// The last filter: a tile of 1.
// CHECK: scf.for {{.*}} = %c2{{.*}} to %c3{{.*}} step %c1
// CHECK-NOT: nn.conv2d %
// PAR-LABEL: func.func @conv3x3_pad
// PAR: scf.forall (%{{.*}}) in (3) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<1x3x3x20xf32>)
// PAR: tensor.extract_slice {{.*}} [1, 3, 1, 20] [1, 1, 1, 1] : tensor<1x3x3x20xf32> to tensor<1x3x1x20xf32>
// PAR: tensor.parallel_insert_slice
// CHECK: packed: "0x040000000000803F0000004000004040
func.func @conv3x3_pad(%x: tensor<1x2x3x20xf32>) -> tensor<1x3x3x20xf32> {
  %w = arith.constant dense<[[[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]],
                             [[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0], [2.0, 2.0, 2.0]], [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]],
                             [[[3.0, 3.0, 3.0], [3.0, 3.0, 3.0], [3.0, 3.0, 3.0]], [[3.0, 3.0, 3.0], [3.0, 3.0, 3.0], [3.0, 3.0, 3.0]]]]> : tensor<3x2x3x3xf32>
  %b = arith.constant dense<[0.5, 1.5, 2.5]> : tensor<3xf32>
  %y = nn.conv2d %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x20xf32>, tensor<3x2x3x3xf32>, tensor<3xf32>) -> tensor<1x3x3x20xf32>
  return %y : tensor<1x3x3x20xf32>
}

// -----

// 1x1 without padding or bias: no tensor.pad, accumulators from zero, width
// 48 = one full tile of 32 (reads in bounds) and one of 16 (also in bounds).
// CHECK-LABEL: func.func @pointwise
// CHECK-NOT: tensor.pad
// CHECK: scf.for {{.*}} to %c32{{.*}} step %c32
// CHECK: %[[Z:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]])
// CHECK: vector.transfer_read {{.*}} {in_bounds = [true]} : tensor<2x4x2x48xf32>, vector<16xf32>
// CHECK: vector.transfer_read {{.*}} {in_bounds = [true]} : tensor<2x4x2x48xf32>, vector<16xf32>
// CHECK: vector.transfer_write {{.*}} {in_bounds = [true]} : vector<16xf32>, tensor<2x2x2x48xf32>
func.func @pointwise(%x: tensor<2x4x2x48xf32>) -> tensor<2x2x2x48xf32> {
  %w = arith.constant dense<0.5> : tensor<2x4x1x1xf32>
  %y = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x4x2x48xf32>, tensor<2x4x1x1xf32>) -> tensor<2x2x2x48xf32>
  return %y : tensor<2x2x2x48xf32>
}

// -----

// A weight-only filter (a reshaped lowbit.dequantize_weight): the integer
// part transposed at compile time to [G, group size, F] i8, the [F, G]
// scale table transposed to [G, F], and one generic per call that
// dequantizes (float(q) * s, signed containers: extsi) into [K, F] for the
// kernel.
// CHECK-LABEL: func.func @weight_only
// CHECK-DAG: %[[Q:.*]] = arith.constant dense_resource<{{.*}}packed> : tensor<2x4x3xi8>
// CHECK: %[[ST:.*]] = linalg.transpose ins(%arg1 : tensor<3x2xf32>) outs(%{{.*}} : tensor<2x3xf32>) permutation = [1, 0]
// CHECK: %[[W:.*]] = linalg.generic {{.*}} ins(%[[Q]], %[[ST]] : tensor<2x4x3xi8>, tensor<2x3xf32>)
// CHECK: arith.extsi {{.*}} : i8 to i32
// CHECK: arith.sitofp
// CHECK: arith.mulf
// CHECK: %[[K:.*]] = tensor.collapse_shape %[[W]] {{\[\[}}0, 1], [2]] : tensor<2x4x3xf32> into tensor<8x3xf32>
// CHECK: tensor.extract %[[K]]
// CHECK-NOT: nn.conv2d %
// NOQ-LABEL: func.func @weight_only
// NOQ: nn.conv2d
func.func @weight_only(%x: tensor<1x2x3x20xf32>, %s: tensor<3x2xf32>) -> tensor<1x3x2x19xf32> {
  %q = arith.constant dense<[[1, -1, 2, -2, 3, -3, 4, -4], [0, 1, 0, 1, 0, 1, 0, 1], [7, 6, 5, 4, 3, 2, 1, 0]]> : tensor<3x8xi8>
  %w = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x2xf32>) -> tensor<3x8xf32>
  %shape = tosa.const_shape {values = dense<[3, 2, 2, 2]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %f = tosa.reshape %w, %shape : (tensor<3x8xf32>, !tosa.shape<4>) -> tensor<3x2x2x2xf32>
  %y = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x20xf32>, tensor<3x2x2x2xf32>) -> tensor<1x3x2x19xf32>
  return %y : tensor<1x3x2x19xf32>
}

// -----

// Left alone: stride 2, depthwise, a filter that is an argument.
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-3: nn.conv2d %
func.func @left_alone(%x: tensor<1x2x8x8xf32>, %wa: tensor<2x2x3x3xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x6x6xf32>, tensor<1x2x6x6xf32>) {
  %w = arith.constant dense<1.0> : tensor<2x2x3x3xf32>
  %dw = arith.constant dense<1.0> : tensor<2x1x3x3xf32>
  %s2 = nn.conv2d %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %g = nn.conv2d %x, %dw {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x2x8x8xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x6x6xf32>
  %a = nn.conv2d %x, %wa {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x6x6xf32>
  return %s2, %g, %a : tensor<1x2x3x3xf32>, tensor<1x2x6x6xf32>, tensor<1x2x6x6xf32>
}
