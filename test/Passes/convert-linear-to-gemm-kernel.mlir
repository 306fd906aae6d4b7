// convert-linear-to-gemm-kernel: an f32 nn.linear with a constant weight
// becomes the packed GEMM kernel: the weight packed at compile time into
// [N/32, K, 32] panels (packed[nb, k, j] = w[32 nb + j, k], zeros past N) in
// a dense_resource constant, accumulators that start from the bias, one
// vector.fma per row and vector at each k step, the rows in tiles of
// rows-per-tile and one tile of the rest, into a column-padded result sliced
// back to N and reshaped to the op's shape; when all rows fit one tile, a
// tile covers several panels. With num-threads above 1 the panels of a
// large product are an scf.forall. An nn.linear whose weight is
// not a constant, or that is not f32, is left to convert-nn-to-linalg.

// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-linear-to-gemm-kernel{rows-per-tile=4}))' \
// RUN:   | FileCheck %s
// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-linear-to-gemm-kernel{num-threads=2 min-parallel-work=0}))' \
// RUN:   | FileCheck %s --check-prefix=PAR
// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-linear-to-gemm-kernel{quantized-weights=false}))' \
// RUN:   | FileCheck %s --check-prefix=NOQ
// NOQ-LABEL: func.func @w4_asymmetric
// NOQ: lowbit.dequantize_weight
// NOQ: nn.linear

// Six rows (a tile of 4, then one tile of the 2 left), K = 2, N = 2.
// Panel 0: k = 0 holds w[0][0], w[1][0] = 1, 3 (0x3F800000, 0x40400000),
// k = 1 holds 2, 4 (0x40000000, 0x40800000), the other 30 columns 0.
// CHECK-LABEL: func.func @linear_bias
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[5.000000e-01, -5.000000e-01]> : tensor<2xf32>
// CHECK-DAG: %[[W:.*]] = arith.constant dense_resource<{{.*}}packed> : tensor<1x2x32xf32>
// CHECK: %[[X:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<2x3x2xf32> into tensor<6x2xf32>
// CHECK: scf.for {{.*}} step %c32{{.*}}
// CHECK: scf.for %[[M:.*]] = %{{.*}} to %c4{{.*}} step %c4
// CHECK: %[[B0:.*]] = vector.transfer_read %[[B]]{{.*}} : tensor<2xf32>, vector<16xf32>
// CHECK: %[[B1:.*]] = vector.transfer_read %[[B]]{{.*}} : tensor<2xf32>, vector<16xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[B0]], %{{.*}} = %[[B1]], %{{.*}} = %[[B0]], %{{.*}} = %[[B1]], %{{.*}} = %[[B0]], %{{.*}} = %[[B1]], %{{.*}} = %[[B0]], %{{.*}} = %[[B1]])
// CHECK: %[[W0:.*]] = vector.transfer_read %[[W]]{{.*}} {in_bounds = [true]} : tensor<1x2x32xf32>, vector<16xf32>
// CHECK: %[[W1:.*]] = vector.transfer_read %[[W]]{{.*}} {in_bounds = [true]} : tensor<1x2x32xf32>, vector<16xf32>
// CHECK: %[[A:.*]] = tensor.extract %[[X]]
// CHECK: %[[AV:.*]] = vector.broadcast %[[A]] : f32 to vector<16xf32>
// CHECK: vector.fma %[[AV]], %[[W0]]
// CHECK: vector.fma %[[AV]], %[[W1]]
// CHECK-COUNT-6: vector.fma
// CHECK: scf.yield
// CHECK-COUNT-8: vector.transfer_write {{.*}} {in_bounds = [true]} : vector<16xf32>, tensor<6x32xf32>
// The two rows left: one tile of 2.
// CHECK: scf.for {{.*}} = %c4{{.*}} to %c6{{.*}} step %c2
// CHECK-COUNT-4: vector.fma
// CHECK: tensor.extract_slice {{.*}}[0, 0] [6, 2] [1, 1] : tensor<6x32xf32> to tensor<6x2xf32>
// CHECK: tensor.expand_shape {{.*}} output_shape [2, 3, 2] : tensor<6x2xf32> into tensor<2x3x2xf32>
// CHECK-NOT: nn.linear %
// One panel: nothing to split over threads.
// PAR-LABEL: func.func @linear_bias
// PAR-NOT: scf.forall
// PAR: return
// CHECK: packed: "0x040000000000803F00004040{{(00)+}}0000004000008040{{(00)+}}"
func.func @linear_bias(%x: tensor<2x3x2xf32>) -> tensor<2x3x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %b = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %y = nn.linear %x, %w, %b : (tensor<2x3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x3x2xf32>
  return %y : tensor<2x3x2xf32>
}

// -----

// No bias: the accumulators start from zero. N = 40 needs two panels (64
// columns, 24 of them padding), which the threads split: eight rows fill a
// tile, so each tile covers one panel.
// CHECK-LABEL: func.func @linear_two_panels
// CHECK: scf.for {{.*}} step %c32{{.*}}
// CHECK: %[[Z:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]]) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: tensor.extract_slice {{.*}}[0, 0] [8, 40] [1, 1] : tensor<8x64xf32> to tensor<8x40xf32>
// PAR-LABEL: func.func @linear_two_panels
// PAR: scf.forall (%{{.*}}) in (2) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<8x64xf32>)
// PAR: tensor.parallel_insert_slice
func.func @linear_two_panels(%x: tensor<8x3xf32>) -> tensor<8x40xf32> {
  %w = arith.constant dense<0.25> : tensor<40x3xf32>
  %y = nn.linear %x, %w : (tensor<8x3xf32>, tensor<40x3xf32>) -> tensor<8x40xf32>
  return %y : tensor<8x40xf32>
}

// -----

// One row (a decode step): a tile covers several panels (here both, four
// accumulators of one row), reading each panel's row k, so that more FMA
// chains and weight streams run at once; the panels are not split over
// threads any more (one tile).
// CHECK-LABEL: func.func @decode_wide_tile
// CHECK: scf.for {{.*}} step %c64{{.*}}
// CHECK: %[[Z:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK: scf.for %[[K:.*]] = {{.*}} iter_args(%{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]], %{{.*}} = %[[Z]]) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.transfer_read %{{.*}}[%[[P0:.*]], %[[K]], %c0{{.*}}]
// CHECK: vector.transfer_read %{{.*}}[%[[P0]], %[[K]], %c16{{.*}}]
// CHECK: %[[P1:.*]] = arith.addi %[[P0]], %c1
// CHECK: vector.transfer_read %{{.*}}[%[[P1]], %[[K]], %c0{{.*}}]
// CHECK: vector.transfer_read %{{.*}}[%[[P1]], %[[K]], %c16{{.*}}]
// CHECK-COUNT-4: vector.fma
// CHECK: scf.yield
// CHECK-COUNT-4: vector.transfer_write {{.*}} : vector<16xf32>, tensor<1x64xf32>
// CHECK: tensor.extract_slice {{.*}}[0, 0] [1, 40] [1, 1] : tensor<1x64xf32> to tensor<1x40xf32>
// CHECK: tensor.collapse_shape {{.*}} {{\[\[}}0, 1]] : tensor<1x40xf32> into tensor<40xf32>
// PAR-LABEL: func.func @decode_wide_tile
// PAR-NOT: scf.forall
// PAR: return
func.func @decode_wide_tile(%x: tensor<3xf32>) -> tensor<40xf32> {
  %w = arith.constant dense<0.25> : tensor<40x3xf32>
  %y = nn.linear %x, %w : (tensor<3xf32>, tensor<40x3xf32>) -> tensor<40xf32>
  return %y : tensor<40xf32>
}

// -----

// A weight-only quantized layer: the integer part (asymmetric INT4 in i8
// containers, so unsigned) packed two values per byte (every value fits
// four bits and the three rows fit one tile): panel row k is 16 bytes, column j in the low nibble of byte j
// and column j + 16 in the high nibble. The [N, G] scale and zero tables
// (arguments here) are transposed to [G, 32] once per call, and per group
// the tables' vectors are read once, then per k (float(q) - z) * s in
// registers, q = byte & 15 for columns 0-15 and byte >> 4 for 16-31.
// Row 0 of the panel at k = 0 holds q[0][0], q[1][0] = 0, 15 (0x00, 0x0F).
// CHECK-LABEL: func.func @w4_asymmetric
// CHECK-DAG: %[[Q:.*]] = arith.constant dense_resource<{{.*}}packed> : tensor<1x8x16xi8>
// CHECK: %[[S:.*]] = linalg.transpose ins(%{{.*}} : tensor<32x2xf32>) outs(%{{.*}} : tensor<2x32xf32>) permutation = [1, 0]
// CHECK: %[[Z:.*]] = linalg.transpose ins(%{{.*}} : tensor<32x2xf32>) outs(%{{.*}} : tensor<2x32xf32>) permutation = [1, 0]
// CHECK: scf.for %[[G:.*]] = %{{.*}} to %c2{{.*}} step %c1
// CHECK: %[[S0:.*]] = vector.transfer_read %[[S]][%[[G]], %{{.*}}]
// CHECK: %[[Z0:.*]] = vector.transfer_read %[[Z]][%[[G]], %{{.*}}]
// CHECK: %[[S1:.*]] = vector.transfer_read %[[S]][%[[G]], %{{.*}}]
// CHECK: %[[Z1:.*]] = vector.transfer_read %[[Z]][%[[G]], %{{.*}}]
// CHECK: scf.for
// CHECK: %[[QV:.*]] = vector.transfer_read %[[Q]]{{.*}} : tensor<1x8x16xi8>, vector<16xi8>
// CHECK: %[[QI:.*]] = arith.extui %[[QV]] : vector<16xi8> to vector<16xi32>
// CHECK: %[[LO:.*]] = arith.andi %[[QI]], %{{.*}} : vector<16xi32>
// CHECK: %[[QF:.*]] = arith.sitofp %[[LO]] : vector<16xi32> to vector<16xf32>
// CHECK: %[[D:.*]] = arith.subf %[[QF]], %[[Z0]] : vector<16xf32>
// CHECK: %[[W:.*]] = arith.mulf %[[D]], %[[S0]] : vector<16xf32>
// CHECK: %[[QI2:.*]] = arith.extui %[[QV]] : vector<16xi8> to vector<16xi32>
// CHECK: %[[HI:.*]] = arith.shrui %[[QI2]], %{{.*}} : vector<16xi32>
// CHECK: %[[QF2:.*]] = arith.sitofp %[[HI]] : vector<16xi32> to vector<16xf32>
// CHECK: %[[D2:.*]] = arith.subf %[[QF2]], %[[Z1]] : vector<16xf32>
// CHECK: %[[W2:.*]] = arith.mulf %[[D2]], %[[S1]] : vector<16xf32>
// CHECK: vector.fma %{{.*}}, %[[W]]
// CHECK: vector.fma %{{.*}}, %[[W2]]
// CHECK-NOT: lowbit.dequantize_weight
// CHECK: packed: "0x01000000000F0000000000000000000000000000010E0000000000000000000000000000020D
func.func @w4_asymmetric(%x: tensor<3x8xf32>, %s: tensor<2x2xf32>, %z: tensor<2x2xf32>) -> tensor<3x2xf32> {
  %q = arith.constant dense<[[0, 1, 2, 3, 4, 5, 6, 7], [15, 14, 13, 12, 11, 10, 9, 8]]> : tensor<2x8xi8>
  %w = lowbit.dequantize_weight %q, %s, %z {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x8xi8>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x8xf32>
  %y = nn.linear %x, %w : (tensor<3x8xf32>, tensor<2x8xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Constant scale tables (as the recipes write them) are transposed to
// [G, 32] here, at compile time, not in every call: scales [[1, 2], [3, 4]]
// for rows 0 and 1 become row g = 0: 1, 3, 0...; g = 1: 2, 4, 0...
// CHECK-LABEL: func.func @w4_constant_scales
// CHECK-NOT: linalg.transpose
// CHECK: %[[S:.*]] = arith.constant dense_resource<{{.*}}scales> : tensor<2x32xf32>
// CHECK: vector.transfer_read %[[S]]
// CHECK: scales: "0x040000000000803F00004040{{(00)+}}0000004000008040{{(00)+}}"
func.func @w4_constant_scales(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %q = arith.constant dense<[[0, 1, 2, 3, -4, -5, -6, -7], [7, 6, 5, 4, 3, 2, 1, 0]]> : tensor<2x8xi8>
  %s = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %w = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x8xi8>, tensor<2x2xf32>) -> tensor<2x8xf32>
  %y = nn.linear %x, %w : (tensor<3x8xf32>, tensor<2x8xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Signed nibbles: column 16 shares byte 0 with column 0 (its high nibble);
// the low nibble is sign-extended by shifting it to the top and back, the
// high one by an arithmetic shift. q[0] = 1, 2, 3, -8 and q[16] = -1, 7,
// -8, 0 give bytes 0xF1, 0x72, 0x83, 0x08.
// CHECK-LABEL: func.func @w4_signed_nibbles
// CHECK: %[[Q:.*]] = arith.constant dense_resource<{{.*}}packed> : tensor<1x4x16xi8>
// CHECK: %[[QV:.*]] = vector.transfer_read %[[Q]]
// CHECK: %[[X:.*]] = arith.extsi %[[QV]] : vector<16xi8> to vector<16xi32>
// CHECK: %[[UP:.*]] = arith.shli %[[X]], %[[C28:.*]] : vector<16xi32>
// CHECK: %[[LO:.*]] = arith.shrsi %[[UP]], %[[C28]] : vector<16xi32>
// CHECK: arith.sitofp %[[LO]]
// CHECK: %[[X2:.*]] = arith.extsi %[[QV]] : vector<16xi8> to vector<16xi32>
// CHECK: %[[HI:.*]] = arith.shrsi %[[X2]], %{{.*}} : vector<16xi32>
// CHECK: arith.sitofp %[[HI]]
// CHECK: packed: "0x01000000F1000000000000000000000000000000720000000000000000000000000000008300000000000000000000000000000008000000000000000000000000000000"
func.func @w4_signed_nibbles(%x: tensor<1x4xf32>) -> tensor<1x17xf32> {
  %q = arith.constant dense<[[1, 2, 3, -8], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
                             [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
                             [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
                             [0, 0, 0, 0], [-1, 7, -8, 0]]> : tensor<17x4xi8>
  %s = arith.constant dense<0.5> : tensor<17x1xf32>
  %w = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 4 : i64} : (tensor<17x4xi8>, tensor<17x1xf32>) -> tensor<17x4xf32>
  %y = nn.linear %x, %w : (tensor<1x4xf32>, tensor<17x4xf32>) -> tensor<1x17xf32>
  return %y : tensor<1x17xf32>
}

// -----

// Values beyond four bits (W8A16) keep one byte per value: [1, K, 32]
// panels, sign-extended as they are.
// CHECK-LABEL: func.func @w8_bytes
// CHECK: %[[Q:.*]] = arith.constant dense_resource<{{.*}}packed> : tensor<1x4x32xi8>
// CHECK: %[[QV:.*]] = vector.transfer_read %[[Q]]
// CHECK: %[[X:.*]] = arith.extsi %[[QV]] : vector<16xi8> to vector<16xi32>
// CHECK-NEXT: arith.sitofp %[[X]]
// CHECK-NOT: arith.shrsi
// CHECK: packed: "0x010000007F81
func.func @w8_bytes(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %q = arith.constant dense<[[127, 2, 3, 4], [-127, 5, 6, 7]]> : tensor<2x4xi8>
  %s = arith.constant dense<0.5> : tensor<2x1xf32>
  %w = lowbit.dequantize_weight %q, %s {bits = 8 : i64, group_size = 4 : i64} : (tensor<2x4xi8>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Four-bit values, but rows enough for a full tile (a prefill, bound by
// arithmetic, not by weight bytes): one byte per value, no shifts.
// CHECK-LABEL: func.func @w4_prefill_bytes
// CHECK: %[[Q:.*]] = arith.constant dense_resource<{{.*}}packed> : tensor<1x4x32xi8>
// CHECK: %[[QV:.*]] = vector.transfer_read %[[Q]]
// CHECK: %[[X:.*]] = arith.extsi %[[QV]] : vector<16xi8> to vector<16xi32>
// CHECK-NEXT: arith.sitofp %[[X]]
// CHECK-NOT: arith.shrsi
// CHECK: packed: "0x010000000107
func.func @w4_prefill_bytes(%x: tensor<4x4xf32>) -> tensor<4x2xf32> {
  %q = arith.constant dense<[[1, 2, 3, 4], [7, -8, 6, 5]]> : tensor<2x4xi8>
  %s = arith.constant dense<0.5> : tensor<2x1xf32>
  %w = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x4xi8>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<4x4xf32>, tensor<2x4xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// Left alone: the weight is an argument, or the layer is not f32.
// CHECK-LABEL: func.func @weight_argument
// CHECK: nn.linear
// CHECK-LABEL: func.func @f16_layer
// CHECK: nn.linear
func.func @weight_argument(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  %y = nn.linear %x, %w : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
func.func @f16_layer(%x: tensor<2x4xf16>) -> tensor<2x3xf16> {
  %w = arith.constant dense<1.0> : tensor<3x4xf16>
  %y = nn.linear %x, %w : (tensor<2x4xf16>, tensor<3x4xf16>) -> tensor<2x3xf16>
  return %y : tensor<2x3xf16>
}
