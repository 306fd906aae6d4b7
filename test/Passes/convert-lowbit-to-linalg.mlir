// convert-lowbit-to-linalg: every lowbit op becomes linalg.generic ops on
// tensors with exact integer semantics; !lowbit.packed becomes its bytes
// ([rows..., row bytes] of i8) and tensors of !quant / uiB elements tensors
// of their signless storage type (function signatures too). A function
// without lowbit ops is left unchanged; ops the pass cannot lower (a
// !quant.any type, dynamic shapes) are errors at the op.
// End-to-end numerics: test/python/test_lowbit_exact.py.

// RUN: lowbit-opt %s -split-input-file --convert-lowbit-to-linalg -verify-diagnostics | FileCheck %s

// A packed constant is its bytes.
// CHECK-LABEL: func.func @packed_constant() -> tensor<2x4xi8>
// CHECK-NEXT: %[[C:.*]] = arith.constant dense<{{\[\[}}1, 2, 3, 4], [5, 6, 7, 8]]> : tensor<2x4xi8>
// CHECK-NEXT: return %[[C]] : tensor<2x4xi8>
func.func @packed_constant() -> !lowbit.packed<2x8xi4, int4_nibbles> {
  %0 = lowbit.packed_constant dense<[[1, 2, 3, 4], [5, 6, 7, 8]]> : tensor<2x4xi8> -> !lowbit.packed<2x8xi4, int4_nibbles>
  return %0 : !lowbit.packed<2x8xi4, int4_nibbles>
}

// -----

// Packing i8 containers into nibbles: an OR-reduction over a [rows, bytes,
// 2] view; value k of a byte is shifted by 4 * k.
// CHECK-DAG: #[[VIEW:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[BYTE:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @pack_nibbles
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xi8>) -> tensor<4x4xi8>
// CHECK-NOT: lowbit.
// CHECK: %[[V:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1, 2]] output_shape [4, 4, 2] : tensor<4x8xi8> into tensor<4x4x2xi8>
// CHECK: %[[P:.*]] = linalg.generic {indexing_maps = [#[[VIEW]], #[[BYTE]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[V]] : tensor<4x4x2xi8>) outs(%{{.*}} : tensor<4x4xi8>)
// CHECK: arith.andi %{{.*}}, %c15_i32
// CHECK: linalg.index 2
// CHECK: arith.muli
// CHECK: arith.shli
// CHECK: arith.trunci %{{.*}} : i32 to i8
// CHECK: arith.ori
// CHECK: return %[[P]] : tensor<4x4xi8>
func.func @pack_nibbles(%x: tensor<4x8xi8>) -> !lowbit.packed<4x8xi4, int4_nibbles> {
  %0 = lowbit.pack %x : tensor<4x8xi8> -> !lowbit.packed<4x8xi4, int4_nibbles>
  return %0 : !lowbit.packed<4x8xi4, int4_nibbles>
}

// -----

// INT6 planes from a tensor of quant values (converted to i6): the 4-bit
// plane (v & 15) fills bytes [0, K/2), the 2-bit plane ((v >> 4) & 3) bytes
// [K/2, K/2 + K/4); signed values are sign-extended first.
// CHECK-LABEL: func.func @pack_int6_quant
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xi6>) -> tensor<2x6xi8>
// CHECK: tensor.expand_shape %[[X]] {{.*}} : tensor<2x8xi6> into tensor<2x4x2xi6>
// CHECK: linalg.generic
// CHECK: arith.extsi %{{.*}} : i6 to i32
// CHECK: arith.andi %{{.*}}, %c15_i32
// CHECK: %[[LO:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [2, 4] [1, 1] : tensor<2x4xi8> into tensor<2x6xi8>
// CHECK: tensor.expand_shape %[[X]] {{.*}} : tensor<2x8xi6> into tensor<2x2x4xi6>
// CHECK: linalg.generic
// CHECK: arith.shrui %{{.*}}, %c4_i32
// CHECK: arith.andi %{{.*}}, %c3_i32
// CHECK: %[[ALL:.*]] = tensor.insert_slice %{{.*}} into %[[LO]][0, 4] [2, 2] [1, 1] : tensor<2x2xi8> into tensor<2x6xi8>
// CHECK: return %[[ALL]]
func.func @pack_int6_quant(%x: tensor<2x8x!quant.uniform<i6:f32, 0.5>>) -> !lowbit.packed<2x8x!quant.uniform<i6:f32, 0.5>, int6_planes> {
  %0 = lowbit.pack %x : tensor<2x8x!quant.uniform<i6:f32, 0.5>> -> !lowbit.packed<2x8x!quant.uniform<i6:f32, 0.5>, int6_planes>
  return %0 : !lowbit.packed<2x8x!quant.uniform<i6:f32, 0.5>, int6_planes>
}

// -----

// Unpacking INT6 planes: the byte tensor is read twice, through the nibble
// map (k floordiv 2) and the crumb map (K/2 + k floordiv 4); the value is
// sign-extended from 6 bits.
// CHECK-DAG: #[[NIB:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 2)>
// CHECK-DAG: #[[CRUMB:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 4 + 4)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @unpack_int6
// CHECK-SAME: (%[[P:.*]]: tensor<2x6xi8>) -> tensor<2x8xi6>
// CHECK: linalg.generic {indexing_maps = [#[[NIB]], #[[CRUMB]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[P]], %[[P]] : tensor<2x6xi8>, tensor<2x6xi8>) outs(%{{.*}} : tensor<2x8xi6>)
// CHECK: arith.extui %{{.*}} : i8 to i32
// CHECK: arith.remui
// CHECK: arith.shrui
// CHECK: arith.shli %{{.*}}, %c4_i32
// CHECK: arith.ori
// CHECK: arith.shli %{{.*}}, %c26_i32
// CHECK: arith.shrsi %{{.*}}, %c26_i32
// CHECK: arith.trunci %{{.*}} : i32 to i6
func.func @unpack_int6(%p: !lowbit.packed<2x8xi6, int6_planes>) -> tensor<2x8xi6> {
  %0 = lowbit.unpack %p : !lowbit.packed<2x8xi6, int6_planes> -> tensor<2x8xi6>
  return %0 : tensor<2x8xi6>
}

// -----

// Bit planes of unsigned 3-bit values: plane i is read at i * K/8 + k
// floordiv 8 and becomes bit i; unsigned values are not sign-extended.
// CHECK-DAG: #[[P0:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 8)>
// CHECK-DAG: #[[P1:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 8 + 2)>
// CHECK-DAG: #[[P2:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 8 + 4)>
// CHECK-LABEL: func.func @unpack_bit_planes_unsigned
// CHECK-SAME: -> tensor<2x16xi3>
// CHECK: linalg.generic {indexing_maps = [#[[P0]], #[[P1]], #[[P2]], #{{.*}}]
// CHECK-NOT: arith.shrsi
// CHECK: arith.trunci %{{.*}} : i32 to i3
func.func @unpack_bit_planes_unsigned(%p: !lowbit.packed<2x16xui3, bit_planes>) -> tensor<2x16xui3> {
  %0 = lowbit.unpack %p : !lowbit.packed<2x16xui3, bit_planes> -> tensor<2x16xui3>
  return %0 : tensor<2x16xui3>
}

// -----

// Integer zero points: unsigned containers (extui), tables read through
// k floordiv G.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 4)>
// CHECK-LABEL: func.func @dequantize_weight_integer
// CHECK-SAME: (%[[Q:.*]]: tensor<4x16xi8>, %[[S:.*]]: tensor<4x4xf32>, %[[Z:.*]]: tensor<4x4xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]], #[[GROUP]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[Q]], %[[S]], %[[Z]] : tensor<4x16xi8>, tensor<4x4xf32>, tensor<4x4xf32>)
// CHECK: ^bb0(%[[QV:.*]]: i8, %[[SV:.*]]: f32, %[[ZV:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[E:.*]] = arith.extui %[[QV]] : i8 to i32
// CHECK: %[[F:.*]] = arith.sitofp %[[E]] : i32 to f32
// CHECK: %[[C:.*]] = arith.subf %[[F]], %[[ZV]] : f32
// CHECK: %[[W:.*]] = arith.mulf %[[C]], %[[SV]] : f32
// CHECK: linalg.yield %[[W]]
func.func @dequantize_weight_integer(%q: tensor<4x16xi8>, %s: tensor<4x4xf32>, %z: tensor<4x4xf32>) -> tensor<4x16xf32> {
  %0 = lowbit.dequantize_weight %q, %s, %z {bits = 8 : i64, group_size = 4 : i64} : (tensor<4x16xi8>, tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

// decoupleQ float offsets on packed signed weights: unpack (sign-extended
// to i8 containers), then q * s + z; per channel the tables are read at
// column 0.
// CHECK-DAG: #[[COL0:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @dequantize_weight_float_offset
// CHECK-SAME: (%[[P:.*]]: tensor<4x8xi8>
// CHECK: %[[U:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<4x8xi8>) outs(%{{.*}} : tensor<4x16xi8>)
// CHECK: arith.shrsi
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[COL0]], #[[COL0]], #{{.*}}]
// CHECK-SAME: ins(%[[U]], %{{.*}}, %{{.*}} : tensor<4x16xi8>, tensor<4x1xf32>, tensor<4x1xf32>)
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK: arith.sitofp
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @dequantize_weight_float_offset(%p: !lowbit.packed<4x16xi4, int4_nibbles>, %s: tensor<4x1xf32>, %z: tensor<4x1xf32>) -> tensor<4x16xf32> {
  %0 = lowbit.dequantize_weight %p, %s, %z {bits = 4 : i64, group_size = 16 : i64, zero_kind = "float_offset"} : (!lowbit.packed<4x16xi4, int4_nibbles>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

// CHECK-LABEL: func.func @dequantize_weight_symmetric
// CHECK: linalg.generic
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK-NEXT: arith.sitofp
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: linalg.yield
func.func @dequantize_weight_symmetric(%q: tensor<4x16xi8>, %s: tensor<4x2xf32>) -> tensor<4x16xf32> {
  %0 = lowbit.dequantize_weight %q, %s {bits = 3 : i64, group_size = 8 : i64} : (tensor<4x16xi8>, tensor<4x2xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

// Per-row absmax (a reduction over the last dimension), scale = absmax / 7
// (1 where that is not positive), q = clamp(roundeven(x / scale), -7, 7).
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[SCALE:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @quantize_dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<3x16xf32>) -> (tensor<3x16xi8>, tensor<3x1xf32>)
// CHECK: %[[AMAX:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<3x16xf32>)
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[AMAX]] : tensor<3xf32>) outs(%{{.*}} : tensor<3x1xf32>)
// CHECK: arith.divf %{{.*}}, %{{.*}} : f32
// CHECK: arith.cmpf ogt
// CHECK: arith.select
// CHECK: %[[Q:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[SCALE]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[S]] : tensor<3x16xf32>, tensor<3x1xf32>) outs(%{{.*}} : tensor<3x16xi8>)
// CHECK: ^bb0(%[[XV:.*]]: f32, %[[SV:.*]]: f32, %{{.*}}: i8):
// CHECK: %[[D:.*]] = arith.divf %[[XV]], %[[SV]] : f32
// CHECK: math.roundeven %[[D]] : f32
// CHECK: %c-7_i32
// CHECK: %c7_i32
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK: arith.fptosi %{{.*}} : f32 to i32
// CHECK: arith.trunci %{{.*}} : i32 to i8
// CHECK: return %[[Q]], %[[S]]
func.func @quantize_dynamic(%x: tensor<3x16xf32>) -> (tensor<3x16xi8>, tensor<3x1xf32>) {
  %q, %s = lowbit.quantize_dynamic %x {bits = 4 : i64} : tensor<3x16xf32> -> tensor<3x16xi8>, tensor<3x1xf32>
  return %q, %s : tensor<3x16xi8>, tensor<3x1xf32>
}

// -----

// CHECK-LABEL: func.func @dequantize_dynamic
// CHECK: linalg.generic
// CHECK: arith.sitofp %{{.*}} : i8 to f32
// CHECK: arith.mulf
func.func @dequantize_dynamic(%q: tensor<3x16xi8>, %s: tensor<3x1xf32>) -> tensor<3x16xf32> {
  %0 = lowbit.dequantize_dynamic %q, %s {bits = 8 : i64} : tensor<3x16xi8>, tensor<3x1xf32> -> tensor<3x16xf32>
  return %0 : tensor<3x16xf32>
}

// -----

// qlinear with packed unsigned INT4 weights, zero points and bias:
// unpack (zero-extended), view K as [K/G, G], accumulate
// x * (w - zero) per (m, n, g) in i32 over kk, then
// sum_g (float(acc) * x_scale) * w_scale in f32, then add the bias.
// CHECK-DAG: #[[X3:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[W3:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
// CHECK-DAG: #[[Z:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-DAG: #[[ACC:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[XS:.*]] = affine_map<(d0, d1, d2) -> (d0, 0)>
// CHECK-DAG: #[[WS:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @qlinear
// CHECK-SAME: (%[[X:.*]]: tensor<3x16xi8>, %[[XS_:.*]]: tensor<3x1xf32>, %[[W:.*]]: tensor<4x8xi8>, %[[WS_:.*]]: tensor<4x2xf32>, %[[WZ:.*]]: tensor<4x2xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK: %[[U:.*]] = linalg.generic {{.*}} ins(%[[W]] : tensor<4x8xi8>) outs(%{{.*}} : tensor<4x16xi8>)
// CHECK-NOT: arith.shrsi
// CHECK: %[[XV:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1, 2]] output_shape [3, 2, 8] : tensor<3x16xi8> into tensor<3x2x8xi8>
// CHECK: %[[WV:.*]] = tensor.expand_shape %[[U]] {{\[\[}}0], [1, 2]] output_shape [4, 2, 8] : tensor<4x16xi8> into tensor<4x2x8xi8>
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%c0_i32 : i32) outs(%{{.*}} : tensor<3x4x2xi32>)
// CHECK: %[[A:.*]] = linalg.generic {indexing_maps = [#[[X3]], #[[W3]], #[[Z]], #[[ACC]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[XV]], %[[WV]], %[[WZ]] : tensor<3x2x8xi8>, tensor<4x2x8xi8>, tensor<4x2xf32>) outs(%[[ZERO]] : tensor<3x4x2xi32>)
// CHECK: ^bb0(%[[XE:.*]]: i8, %[[WE:.*]]: i8, %[[ZE:.*]]: f32, %[[AE:.*]]: i32):
// CHECK: %[[XI:.*]] = arith.extsi %[[XE]] : i8 to i32
// CHECK: %[[WI:.*]] = arith.extui %[[WE]] : i8 to i32
// CHECK: %[[ZI:.*]] = arith.fptosi %[[ZE]] : f32 to i32
// CHECK: %[[WC:.*]] = arith.subi %[[WI]], %[[ZI]] : i32
// CHECK: %[[PR:.*]] = arith.muli %[[XI]], %[[WC]] : i32
// CHECK: %[[SUM:.*]] = arith.addi %[[AE]], %[[PR]] : i32
// CHECK: linalg.yield %[[SUM]] : i32
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[XS]], #[[WS]], #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[A]], %[[XS_]], %[[WS_]] : tensor<3x4x2xi32>, tensor<3x1xf32>, tensor<4x2xf32>) outs(%{{.*}} : tensor<3x4xf32>)
// CHECK: ^bb0(%[[AI:.*]]: i32, %[[XSE:.*]]: f32, %[[WSE:.*]]: f32, %[[YE:.*]]: f32):
// CHECK: %[[AF:.*]] = arith.sitofp %[[AI]] : i32 to f32
// CHECK: %[[T0:.*]] = arith.mulf %[[AF]], %[[XSE]] : f32
// CHECK: %[[T1:.*]] = arith.mulf %[[T0]], %[[WSE]] : f32
// CHECK: arith.addf %[[YE]], %[[T1]] : f32
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[Y]], %[[B]] : tensor<3x4xf32>, tensor<4xf32>)
// CHECK: arith.addf
// CHECK: return %[[R]] : tensor<3x4xf32>
func.func @qlinear(%x: tensor<3x16xi8>, %xs: tensor<3x1xf32>, %w: !lowbit.packed<4x16xui4, int4_nibbles>, %ws: tensor<4x2xf32>, %wz: tensor<4x2xf32>, %b: tensor<4xf32>) -> tensor<3x4xf32> {
  %0 = lowbit.qlinear %x, %xs, %w, %ws zero %wz bias %b {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 8 : i64} : (tensor<3x16xi8>, tensor<3x1xf32>, !lowbit.packed<4x16xui4, int4_nibbles>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// Symmetric i8-container weights, per channel: both operands sign-extended,
// no zero point, no bias.
// CHECK-LABEL: func.func @qlinear_containers
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME: outs(%{{.*}} : tensor<3x4x1xi32>)
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK-NEXT: arith.extsi %{{.*}} : i8 to i32
// CHECK-NEXT: arith.muli
// CHECK-NEXT: arith.addi
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: return %[[Y]]
func.func @qlinear_containers(%x: tensor<3x16xi8>, %xs: tensor<3x1xf32>, %w: tensor<4x16xi8>, %ws: tensor<4x1xf32>) -> tensor<3x4xf32> {
  %0 = lowbit.qlinear %x, %xs, %w, %ws {a_bits = 6 : i64, w_bits = 8 : i64, group_size = 16 : i64} : (tensor<3x16xi8>, tensor<3x1xf32>, tensor<4x16xi8>, tensor<4x1xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// quantize with per-tensor (restricted i8 range), per-axis (u4 with zero
// points) and sub-channel (blocks of 128 along dimension 1) types: tables
// become constants read through the axis / block maps; results are tensors
// of the storage type.
// CHECK-DAG: #[[AXIS:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[BLOCK:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 128)>
// CHECK-LABEL: func.func @quantize
// CHECK-SAME: -> (tensor<3x16xi8>, tensor<3x16xi4>, tensor<2x256xi4>)
// CHECK: linalg.generic
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: arith.divf
// CHECK: math.roundeven
// CHECK: %c-127_i32
// CHECK: %c127_i32
// CHECK: arith.trunci %{{.*}} : i32 to i8
// CHECK: %[[SC:.*]] = arith.constant dense<[1.000000e-01, 2.000000e-01, 3.000000e-01]> : tensor<3xf32>
// CHECK: %[[ZP:.*]] = arith.constant dense<[1, 2, 3]> : tensor<3xi32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[AXIS]], #[[AXIS]], #{{.*}}]
// CHECK-SAME: ins(%{{.*}}, %[[SC]], %[[ZP]] : tensor<3x16xf32>, tensor<3xf32>, tensor<3xi32>) outs(%{{.*}} : tensor<3x16xi4>)
// CHECK: math.roundeven
// CHECK: %c0_i32
// CHECK: %c15_i32
// CHECK: arith.trunci %{{.*}} : i32 to i4
// CHECK: arith.constant dense<{{\[\[}}2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00]]> : tensor<2x2xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[BLOCK]], #[[BLOCK]], #{{.*}}]
// CHECK: %c-8_i32
// CHECK: %c7_i32
func.func @quantize(%x: tensor<3x16xf32>, %w: tensor<2x256xf32>) -> (tensor<3x16x!quant.uniform<i8<-127:127>:f32, 0.5>>, tensor<3x16x!quant.uniform<u4:f32:0, {0.1:1, 0.2:2, 0.3:3}>>, tensor<2x256x!quant.uniform<i4:f32:{1:128}, {{2.0, 3.0}, {4.0, 5.0}}>>) {
  %0 = lowbit.quantize %x : tensor<3x16xf32> -> tensor<3x16x!quant.uniform<i8<-127:127>:f32, 0.5>>
  %1 = lowbit.quantize %x : tensor<3x16xf32> -> tensor<3x16x!quant.uniform<u4:f32:0, {0.1:1, 0.2:2, 0.3:3}>>
  %2 = lowbit.quantize %w : tensor<2x256xf32> -> tensor<2x256x!quant.uniform<i4:f32:{1:128}, {{2.0, 3.0}, {4.0, 5.0}}>>
  return %0, %1, %2 : tensor<3x16x!quant.uniform<i8<-127:127>:f32, 0.5>>, tensor<3x16x!quant.uniform<u4:f32:0, {0.1:1, 0.2:2, 0.3:3}>>, tensor<2x256x!quant.uniform<i4:f32:{1:128}, {{2.0, 3.0}, {4.0, 5.0}}>>
}

// -----

// dequantize of unsigned storage: (extui(q) - zp) * scale in f32, then f16.
// CHECK-LABEL: func.func @dequantize
// CHECK-SAME: (%{{.*}}: tensor<8xi2>) -> tensor<8xf16>
// CHECK: arith.extui %{{.*}} : i2 to i32
// CHECK: arith.subi
// CHECK: arith.sitofp
// CHECK: arith.mulf
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @dequantize(%q: tensor<8x!quant.uniform<u2:f16, 0.25:1>>) -> tensor<8xf16> {
  %0 = lowbit.dequantize %q : tensor<8x!quant.uniform<u2:f16, 0.25:1>> -> tensor<8xf16>
  return %0 : tensor<8xf16>
}

// -----

// Nothing to do: the function is left as it is.
// CHECK-LABEL: func.func @no_lowbit
// CHECK-SAME: (%[[A:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xi8>) -> tensor<4xf32>
// CHECK-NEXT: %[[R:.*]] = tosa.add %[[A]], %[[A]] : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT: return %[[R]] : tensor<4xf32>
func.func @no_lowbit(%a: tensor<4xf32>, %b: tensor<4xi8>) -> tensor<4xf32> {
  %0 = tosa.add %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// !quant.any has no scale or zero point to quantize with.
func.func @quantize_any(%x: tensor<4xf32>) -> tensor<4x!quant.any<i8:f32>> {
  // expected-error @+1 {{'lowbit.quantize' op cannot be lowered to linalg: '!quant.any<i8:f32>' has no scale and zero point}}
  %0 = lowbit.quantize %x : tensor<4xf32> -> tensor<4x!quant.any<i8:f32>>
  return %0 : tensor<4x!quant.any<i8:f32>>
}

// -----

func.func @quantize_dynamic_dynamic_shape(%x: tensor<?x16xf32>) -> (tensor<?x16xi8>, tensor<?x1xf32>) {
  // expected-error @+1 {{'lowbit.quantize_dynamic' op cannot be lowered to linalg: needs statically shaped tensors, got 'tensor<?x16xf32>'}}
  %q, %s = lowbit.quantize_dynamic %x {bits = 8 : i64} : tensor<?x16xf32> -> tensor<?x16xi8>, tensor<?x1xf32>
  return %q, %s : tensor<?x16xi8>, tensor<?x1xf32>
}
