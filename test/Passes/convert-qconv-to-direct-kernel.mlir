// convert-qconv-to-direct-kernel: the form lower-to-lowbit gives a quantized
// stride-1 convolution (int8 im2col gather -> lowbit.qlinear -> reshape ->
// transpose to NCHW) becomes a direct int8 convolution: the input
// interleaved four channels per pixel and shifted to unsigned bytes (two
// rounds of vector.interleave, xor 0x80; C = 5 -> the second group has one
// channel and three zero rows), the weights packed at compile time as one i32
// of four bytes per (c4, kh, kw) and filter, with 128 * sum_k w per filter,
// the u8 x s8 four-byte dot products on 64-byte pixel rows, then
// (0.0 + (float(acc - colsum) * x_scale) * w_scale) + bias written NCHW.
// A strided convolution's gather, or a qlinear that is not a convolution,
// is left alone.

// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-qconv-to-direct-kernel{filters-per-tile=2}))' \
// RUN:   | FileCheck %s
// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-qconv-to-direct-kernel{num-threads=2 min-parallel-work=0}))' \
// RUN:   | FileCheck %s --check-prefix=PAR

// 1x1, C = 5, F = 2, 2 x 20 output. Weights f0 = [1, 2, 3, 4, 5],
// f1 = [-1, 0, 0, 0, 127]: packed step 0 (channels 0..3) = 01020304 and
// FF000000, step 1 (channel 4) = 05000000 and 7F000000; column sums
// 128 * 15 = 0x780 and 128 * 126 = 0x3F00.
// CHECK-LABEL: func.func @pointwise
// CHECK-DAG: %[[W:.*]] = arith.constant dense_resource<qconv_direct_weights> : tensor<2x2xi32>
// CHECK-DAG: %[[SUMS:.*]] = arith.constant dense_resource<qconv_direct_colsums> : tensor<2xi32>
// Interleave: one full group of 4 channels, then the group of channel 4.
// CHECK: vector.transfer_read %arg0{{.*}} : tensor<1x5x2x20xi8>, vector<16xi8>
// CHECK: vector.interleave {{.*}} : vector<16xi8> -> vector<32xi8>
// CHECK: vector.interleave {{.*}} : vector<16xi8> -> vector<32xi8>
// CHECK: %[[IL:.*]] = vector.interleave {{.*}} : vector<32xi8> -> vector<64xi8>
// CHECK: arith.xori %[[IL]], %{{.*}} : vector<64xi8>
// CHECK: vector.transfer_write {{.*}} {in_bounds = [true]} : vector<64xi8>, tensor<1x2x2x80xi8>
// The kernel: images, rows, filters, then the row's masked 20-column tile.
// CHECK: %[[XS:.*]] = tensor.extract %arg1[%{{.*}}, %{{.*}}] : tensor<1x1xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<1x2x2x80xi8>, vector<64xi8>
// CHECK: tensor.extract %[[W]]
// CHECK: vector.bitcast {{.*}} : vector<16xi32> to vector<64xi8>
// CHECK: arith.extui {{.*}} : vector<64xi8> to vector<64xi32>
// CHECK: vector.multi_reduction <add>, {{.*}} [1] : vector<16x4xi32> to vector<16xi32>
// CHECK: tensor.extract %[[SUMS]]
// CHECK: arith.subi
// CHECK: arith.sitofp {{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: arith.addf
// CHECK: vector.transfer_write {{.*}} : vector<16xf32>, tensor<1x2x2x20xf32>
// CHECK-NOT: lowbit.qlinear
// CHECK-NOT: tosa.transpose
// PAR-LABEL: func.func @pointwise
// PAR: scf.forall (%{{.*}}) in (2) shared_outs
// CHECK: qconv_direct_weights: "0x0400000001020304FF000000050000007F000000"
// CHECK: qconv_direct_colsums: "0x0400000080070000003F0000"
#map = affine_map<(d0, d1) -> (d0 floordiv 40, d1, (d0 floordiv 20) mod 2, d0 mod 20)>
#map1 = affine_map<(d0, d1) -> (d0, d1)>
#map2 = affine_map<(d0, d1) -> (0, 0)>
func.func @pointwise(%q: tensor<1x5x2x20xi8>, %scale: tensor<1x1xf32>) -> tensor<1x2x2x20xf32> {
  %0 = tosa.const_shape  {values = dense<[1, 2, 20, 2]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %1 = lowbit.packed_constant dense<[[1, 2, 3, 4, 5], [-1, 0, 0, 0, 127]]> : tensor<2x5xi8> -> !lowbit.packed<2x5xi8, int8_bytes>
  %b = arith.constant dense<[5.000000e-01, -5.000000e-01]> : tensor<2xf32>
  %ws = arith.constant dense<[[0.25], [0.125]]> : tensor<2x1xf32>
  %6 = tensor.empty() : tensor<40x5xi8>
  %7 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel"]} ins(%q : tensor<1x5x2x20xi8>) outs(%6 : tensor<40x5xi8>) {
  ^bb0(%in: i8, %out: i8):
    linalg.yield %in : i8
  } -> tensor<40x5xi8>
  %8 = tensor.empty() : tensor<40x1xf32>
  %9 = linalg.generic {indexing_maps = [#map2, #map1], iterator_types = ["parallel", "parallel"]} ins(%scale : tensor<1x1xf32>) outs(%8 : tensor<40x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<40x1xf32>
  %10 = lowbit.qlinear %7, %9, %1, %ws bias %b {a_bits = 8 : i64, group_size = 5 : i64, w_bits = 8 : i64} : (tensor<40x5xi8>, tensor<40x1xf32>, !lowbit.packed<2x5xi8, int8_bytes>, tensor<2x1xf32>, tensor<2xf32>) -> tensor<40x2xf32>
  %11 = tosa.reshape %10, %0 : (tensor<40x2xf32>, !tosa.shape<4>) -> tensor<1x2x20x2xf32>
  %12 = tosa.transpose %11 {perms = array<i32: 0, 3, 1, 2>} : (tensor<1x2x20x2xf32>) -> tensor<1x2x2x20xf32>
  return %12 : tensor<1x2x2x20xf32>
}

// -----

// One filter: the transpose is folded away, the reshape is the NCHW result.
// CHECK-LABEL: func.func @one_filter
// CHECK: vector.multi_reduction <add>
// CHECK: vector.transfer_write {{.*}} : vector<16xf32>, tensor<1x1x2x20xf32>
// CHECK-NOT: lowbit.qlinear
// CHECK-NOT: tosa.reshape
// CHECK: return
#map = affine_map<(d0, d1) -> (d0 floordiv 40, d1, (d0 floordiv 20) mod 2, d0 mod 20)>
#map1 = affine_map<(d0, d1) -> (d0, d1)>
#map2 = affine_map<(d0, d1) -> (0, 0)>
func.func @one_filter(%q: tensor<1x4x2x20xi8>, %scale: tensor<1x1xf32>) -> tensor<1x1x2x20xf32> {
  %0 = tosa.const_shape  {values = dense<[1, 1, 2, 20]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %1 = lowbit.packed_constant dense<[[1, -2, 3, -4]]> : tensor<1x4xi8> -> !lowbit.packed<1x4xi8, int8_bytes>
  %ws = arith.constant dense<[[0.25]]> : tensor<1x1xf32>
  %6 = tensor.empty() : tensor<40x4xi8>
  %7 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel"]} ins(%q : tensor<1x4x2x20xi8>) outs(%6 : tensor<40x4xi8>) {
  ^bb0(%in: i8, %out: i8):
    linalg.yield %in : i8
  } -> tensor<40x4xi8>
  %8 = tensor.empty() : tensor<40x1xf32>
  %9 = linalg.generic {indexing_maps = [#map2, #map1], iterator_types = ["parallel", "parallel"]} ins(%scale : tensor<1x1xf32>) outs(%8 : tensor<40x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<40x1xf32>
  %10 = lowbit.qlinear %7, %9, %1, %ws {a_bits = 8 : i64, group_size = 4 : i64, w_bits = 8 : i64} : (tensor<40x4xi8>, tensor<40x1xf32>, !lowbit.packed<1x4xi8, int8_bytes>, tensor<1x1xf32>) -> tensor<40x1xf32>
  %11 = tosa.reshape %10, %0 : (tensor<40x1xf32>, !tosa.shape<4>) -> tensor<1x1x2x20xf32>
  return %11 : tensor<1x1x2x20xf32>
}

// -----

// Left alone: a 3x3 stride-2 convolution's gather.
// CHECK-LABEL: func.func @strided
// CHECK: lowbit.qlinear
// CHECK: tosa.transpose
#map = affine_map<(d0, d1) -> (d0 floordiv 4, d1 floordiv 9, ((d0 floordiv 2) mod 2) * 2 + (d1 floordiv 3) mod 3, (d0 mod 2) * 2 + d1 mod 3)>
#map1 = affine_map<(d0, d1) -> (d0, d1)>
#map2 = affine_map<(d0, d1) -> (0, 0)>
func.func @strided(%q: tensor<1x4x5x5xi8>, %scale: tensor<1x1xf32>) -> tensor<1x2x2x2xf32> {
  %0 = tosa.const_shape  {values = dense<[1, 2, 2, 2]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %1 = lowbit.packed_constant dense<1> : tensor<2x36xi8> -> !lowbit.packed<2x36xi8, int8_bytes>
  %ws = arith.constant dense<0.5> : tensor<2x1xf32>
  %6 = tensor.empty() : tensor<4x36xi8>
  %7 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel"]} ins(%q : tensor<1x4x5x5xi8>) outs(%6 : tensor<4x36xi8>) {
  ^bb0(%in: i8, %out: i8):
    linalg.yield %in : i8
  } -> tensor<4x36xi8>
  %8 = tensor.empty() : tensor<4x1xf32>
  %9 = linalg.generic {indexing_maps = [#map2, #map1], iterator_types = ["parallel", "parallel"]} ins(%scale : tensor<1x1xf32>) outs(%8 : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x1xf32>
  %10 = lowbit.qlinear %7, %9, %1, %ws {a_bits = 8 : i64, group_size = 36 : i64, w_bits = 8 : i64} : (tensor<4x36xi8>, tensor<4x1xf32>, !lowbit.packed<2x36xi8, int8_bytes>, tensor<2x1xf32>) -> tensor<4x2xf32>
  %11 = tosa.reshape %10, %0 : (tensor<4x2xf32>, !tosa.shape<4>) -> tensor<1x2x2x2xf32>
  %12 = tosa.transpose %11 {perms = array<i32: 0, 3, 1, 2>} : (tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  return %12 : tensor<1x2x2x2xf32>
}
