// convert-qlinear-to-dot-kernel: a lowbit.qlinear with constant weights
// becomes the register-blocked int8 kernel: weights packed at compile time
// into 16-column x 4-k int8 blocks with their column sums (x 128), the
// activations shifted to unsigned bytes as they are read (xor 0x80 of each
// four-byte broadcast), one dot product of four
// u8 x s8 per lane (the vector.multi_reduction convert-i8-dot-to-vnni
// matches), into a column-padded result sliced back to N. With num-threads
// above 1 the column blocks of a large product are an scf.forall. A qlinear
// whose weight is not a constant is left to convert-lowbit-to-linalg.

// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-qlinear-to-dot-kernel))' \
// RUN:   | FileCheck %s
// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-qlinear-to-dot-kernel{num-threads=2 min-parallel-work=0}))' \
// RUN:   | FileCheck %s --check-prefix=PAR

// INT8 per group of 4, bias. Packed block 0, k4 = 0: column 0 holds
// 1,2,3,4 and column 1 -1,-2,-3,-4 (0xFF..0xFC), the other 14 columns 0.
// Column sums of group 0: 128 * 10 = 0x500 and 128 * -10 = 0xFFFFFB00.
// CHECK-LABEL: func.func @int8_groups
// CHECK-DAG: %[[W:.*]] = arith.constant dense_resource<qlinear_dot_weights> : tensor<2x2x64xi8>
// CHECK-DAG: %[[SUMS:.*]] = arith.constant dense_resource<qlinear_dot_colsums> : tensor<2x32xi32>
// CHECK-NOT: lowbit.qlinear
// CHECK: scf.for {{.*}} step %c32
// CHECK: scf.for {{.*}} step %c4
// CHECK: scf.for
// CHECK: scf.for
// CHECK: vector.transfer_read %[[W]]
// CHECK: %[[X4:.*]] = vector.transfer_read %arg0{{.*}} : tensor<5x8xi8>, vector<4xi8>
// CHECK: vector.bitcast %[[X4]] : vector<4xi8> to vector<1xi32>
// CHECK: arith.xori {{.*}}, %c-2139062144_i32 : i32
// CHECK: arith.extui {{.*}} : vector<64xi8> to vector<64xi32>
// CHECK: vector.multi_reduction <add>, {{.*}} [1] : vector<16x4xi32> to vector<16xi32>
// CHECK: vector.transfer_read %[[SUMS]]
// CHECK: arith.sitofp {{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: vector.transfer_write {{.*}} {in_bounds = [true]} : vector<16xf32>, tensor<5x32xf32>
// The row tail (5 = 4 + 1) runs one row at a time.
// CHECK: scf.for {{.*}} = %c4{{.*}} to %c5{{.*}} step %c1
// CHECK: tensor.extract_slice {{.*}}[0, 0] [5, 2] [1, 1] : tensor<5x32xf32> to tensor<5x2xf32>
// One column block: nothing to split over threads.
// PAR-LABEL: func.func @int8_groups
// PAR-NOT: scf.forall
// PAR: return
// CHECK: qlinear_dot_weights: "0x0100000001020304FFFEFDFC00000000
// CHECK: qlinear_dot_colsums: "0x040000000005000000FBFFFF
func.func @int8_groups(%xq: tensor<5x8xi8>, %xs: tensor<5x1xf32>) -> tensor<5x2xf32> {
  %w = lowbit.packed_constant dense<[[1, 2, 3, 4, 5, 6, 7, 8], [-1, -2, -3, -4, -5, -6, -7, -8]]> : tensor<2x8xi8> -> !lowbit.packed<2x8xi8, int8_bytes>
  %s = arith.constant dense<[[0.5, 0.25], [1.0, 2.0]]> : tensor<2x2xf32>
  %b = arith.constant dense<[1.0, -1.0]> : tensor<2xf32>
  %y = lowbit.qlinear %xq, %xs, %w, %s bias %b {a_bits = 8 : i64, group_size = 4 : i64, w_bits = 8 : i64} : (tensor<5x8xi8>, tensor<5x1xf32>, !lowbit.packed<2x8xi8, int8_bytes>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<5x2xf32>
  return %y : tensor<5x2xf32>
}

// -----

// Asymmetric INT4 (unsigned nibbles, a zero table): the weights are shifted
// by -128 (row 0 [15,0,8,0,1,0] -> 0x8F 0x80 0x88 0x80, row 1
// [0,1,2,3,6,7] -> 0x80 0x81 0x82 0x83), the zero table (a function
// argument) becomes fptosi(z) - 128 per group and column at run time, and
// sum_k x per row feeds the zero-point term. K = 6 is not a multiple of 4:
// the activations are padded to 8 columns with zeros.
// CHECK-LABEL: func.func @uint4_zero
// CHECK: arith.fptosi {{.*}} : f32 to i32
// CHECK: arith.subi
// CHECK: tensor.insert_slice {{.*}} into tensor<1x32xi32>
// CHECK: linalg.fill
// CHECK: tensor.insert_slice %arg0 into {{.*}} : tensor<3x6xi8> into tensor<3x8xi8>
// CHECK: arith.extsi {{.*}} : i8 to i32
// CHECK: vector.multi_reduction <add>
// CHECK: arith.muli {{.*}} : vector<16xi32>
// CHECK: qlinear_dot_weights: "0x010000008F808880808182830000
func.func @uint4_zero(%xq: tensor<3x6xi8>, %xs: tensor<3x1xf32>, %z: tensor<2x1xf32>) -> tensor<3x2xf32> {
  %w = lowbit.packed_constant dense<[[15, 8, 1], [16, 50, 118]]> : tensor<2x3xi8> -> !lowbit.packed<2x6xui4, int4_nibbles>
  %s = arith.constant dense<[[0.5], [1.0]]> : tensor<2x1xf32>
  %y = lowbit.qlinear %xq, %xs, %w, %s zero %z {a_bits = 8 : i64, group_size = 6 : i64, w_bits = 4 : i64} : (tensor<3x6xi8>, tensor<3x1xf32>, !lowbit.packed<2x6xui4, int4_nibbles>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Left alone: the weight is an argument, not a compile-time constant.
// CHECK-LABEL: func.func @weight_argument
// CHECK: lowbit.qlinear
// CHECK-NOT: qlinear_dot
func.func @weight_argument(%xq: tensor<2x8xi8>, %xs: tensor<2x1xf32>, %w: tensor<2x8xi8>) -> tensor<2x2xf32> {
  %s = arith.constant dense<[[0.5], [1.0]]> : tensor<2x1xf32>
  %y = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, group_size = 8 : i64, w_bits = 8 : i64} : (tensor<2x8xi8>, tensor<2x1xf32>, tensor<2x8xi8>, tensor<2x1xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Left alone: groups of 6 do not fall on 4-k boundaries.
// CHECK-LABEL: func.func @groups_of_six
// CHECK: lowbit.qlinear
// CHECK-NOT: qlinear_dot
func.func @groups_of_six(%xq: tensor<2x12xi8>, %xs: tensor<2x1xf32>) -> tensor<2x1xf32> {
  %w = lowbit.packed_constant dense<[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]> : tensor<1x12xi8> -> !lowbit.packed<1x12xi8, int8_bytes>
  %s = arith.constant dense<[[0.5, 0.25]]> : tensor<1x2xf32>
  %y = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, group_size = 6 : i64, w_bits = 8 : i64} : (tensor<2x12xi8>, tensor<2x1xf32>, !lowbit.packed<1x12xi8, int8_bytes>, tensor<1x2xf32>) -> tensor<2x1xf32>
  return %y : tensor<2x1xf32>
}

// -----

// 40 columns (two blocks of 32 after padding to 64): with num-threads=2 each
// block is one iteration of an scf.forall writing its own [M, 32] slice.
// CHECK-LABEL: func.func @two_blocks
// CHECK-NOT: scf.forall
// PAR-LABEL: func.func @two_blocks
// PAR: scf.forall (%[[I:.*]]) in (2) shared_outs(%[[OUT:.*]] = %{{.*}}) -> (tensor<3x64xf32>)
// PAR: tensor.extract_slice %[[OUT]][0, %{{.*}}] [3, 32] [1, 1]
// PAR: vector.multi_reduction <add>
// PAR: scf.forall.in_parallel
// PAR-NEXT: tensor.parallel_insert_slice {{.*}} into %[[OUT]][0, %{{.*}}] [3, 32] [1, 1]
// PAR: tensor.extract_slice {{.*}}[0, 0] [3, 40] [1, 1] : tensor<3x64xf32> to tensor<3x40xf32>
func.func @two_blocks(%xq: tensor<3x8xi8>, %xs: tensor<3x1xf32>) -> tensor<3x40xf32> {
  %w = lowbit.packed_constant dense<3> : tensor<40x8xi8> -> !lowbit.packed<40x8xi8, int8_bytes>
  %s = arith.constant dense<0.5> : tensor<40x1xf32>
  %y = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, group_size = 8 : i64, w_bits = 8 : i64} : (tensor<3x8xi8>, tensor<3x1xf32>, !lowbit.packed<40x8xi8, int8_bytes>, tensor<40x1xf32>) -> tensor<3x40xf32>
  return %y : tensor<3x40xf32>
}
