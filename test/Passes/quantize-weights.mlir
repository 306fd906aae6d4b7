// quantize-weights: constant nn.linear / nn.conv2d weights become an i8
// integer part plus [N, K/G] scale (and zero) tables feeding
// lowbit.dequantize_weight. The tiny weights below are chosen so that RTN's
// scale and q can be computed by hand (symmetric 4-bit: scale = absmax / 7,
// q = round_half_even(w / scale); asymmetric: scale = (max - min) / 15,
// zero = round(-min / scale), q = round(w / scale) + zero); the resource
// blobs are checked byte for byte (4-byte alignment prefix first: 1 for the
// i8 q, 4 for the f32 tables; f32 bytes are little endian, e.g. 0.5 =
// 0x3F000000 -> "0000003F"). Layer names come from the ops' NameLocs.
// Parts that need different pass options are separate files (split-file).

// RUN: split-file %s %t

// RUN: lowbit-opt %t/per-channel.mlir --quantize-weights=group-size=0 | FileCheck %s --check-prefix=PC
// Layers already quantized are left alone: a second run changes nothing.
// RUN: lowbit-opt %t/per-channel.mlir --quantize-weights=group-size=0 | lowbit-opt --quantize-weights=group-size=0 --canonicalize | FileCheck %s --check-prefix=TWICE
// RUN: lowbit-opt %t/group.mlir --quantize-weights=group-size=2 --canonicalize | FileCheck %s --check-prefix=GROUP
// RUN: lowbit-opt %t/asym.mlir "--quantize-weights=group-size=0 symmetric=false" --canonicalize | FileCheck %s --check-prefix=ASYM
// RUN: lowbit-opt %t/fake.mlir "--quantize-weights=group-size=0 fake-quant=true" --canonicalize | FileCheck %s --check-prefix=FAKE
// RUN: lowbit-opt %t/methods.mlir "--quantize-weights=group-size=2 method=gaussian-mse" --canonicalize | FileCheck %s --check-prefix=METHOD
// RUN: lowbit-opt %t/methods.mlir "--quantize-weights=group-size=2 method=clip-search" --canonicalize | FileCheck %s --check-prefix=METHOD
// RUN: lowbit-opt %t/overrides.mlir "--quantize-weights=group-size=0 overrides=*down_proj*:bits=8;conv_*:skip" --canonicalize | FileCheck %s --check-prefix=OVR
// RUN: lowbit-opt %t/overrides.mlir "--quantize-weights=group-size=0 overrides=layers.0.*:group-size=2,symmetric=false;conv_0:method=clip-search" --canonicalize | FileCheck %s --check-prefix=OVR2
// RUN: lowbit-opt %t/indivisible.mlir "--quantize-weights=group-size=3 indivisible=per-channel" --canonicalize | FileCheck %s --check-prefix=INDIV

// Diagnostics.
// RUN: lowbit-opt %t/method.mlir --quantize-weights=method=awq -verify-diagnostics
// RUN: lowbit-opt %t/group-divides.mlir --quantize-weights=group-size=3 -verify-diagnostics
// RUN: lowbit-opt %t/override-syntax.mlir --quantize-weights=overrides=fc1 -verify-diagnostics
// RUN: lowbit-opt %t/override-key.mlir "--quantize-weights=overrides=fc1:bits" -verify-diagnostics
// RUN: lowbit-opt %t/override-bits.mlir "--quantize-weights=group-size=0 overrides=fc*:bits=9" -verify-diagnostics
// A malformed glob is an error, not a literal name that matches nothing.
// RUN: lowbit-opt %t/override-glob.mlir "--quantize-weights=overrides=fc[1:bits=8" -verify-diagnostics
// RUN: lowbit-opt %t/gptq.mlir "--quantize-weights=group-size=0 method=gptq" -verify-diagnostics
// RUN: lowbit-opt %t/elided.mlir --quantize-weights=group-size=0 -verify-diagnostics
// RUN: lowbit-opt %t/bits.mlir --quantize-weights=bits=9 -verify-diagnostics
// RUN: lowbit-opt %t/group-negative.mlir --quantize-weights=group-size=-1 -verify-diagnostics

//--- per-channel.mlir
// Symmetric 4-bit, per channel (group-size=0 -> group_size = K = 4):
//   row 0 [3.5, -1.75, 0.5, 0.25]: scale 3.5/7 = 0.5,
//         q [7, -3.5 -> -4, 1, 0.5 -> 0] (ties to even)
//   row 1 [-7, 1, 3, 2.5]: scale 1, q [-7, 1, 3, 2.5 -> 2]
// PC-LABEL: func.func @linear
// PC-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// PC-DAG: %[[Q:.*]] = arith.constant dense_resource<fc1.q> : tensor<2x4xi8>
// PC-DAG: %[[S:.*]] = arith.constant dense_resource<fc1.scale> : tensor<2x1xf32>
// PC: %[[W:.*]] = lowbit.dequantize_weight %[[Q]], %[[S]] {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x4xi8>, tensor<2x1xf32>) -> tensor<2x4xf32>
// PC: %[[Y:.*]] = nn.linear %[[X]], %[[W]] : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
// PC: return %[[Y]]
func.func @linear(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[3.5, -1.75, 0.5, 0.25], [-7.0, 1.0, 3.0, 2.5]]> : tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

// The filter [F=2, C=1, KH=2, KW=2] is quantized as a [2, 4] matrix (same
// values as above) and reshaped back for the convolution.
// PC-LABEL: func.func @conv
// PC-SAME: (%[[X:.*]]: tensor<1x1x4x4xf32>)
// PC-DAG: %[[Q:.*]] = arith.constant dense_resource<conv_0.q> : tensor<2x4xi8>
// PC-DAG: %[[S:.*]] = arith.constant dense_resource<conv_0.scale> : tensor<2x1xf32>
// PC: %[[W:.*]] = lowbit.dequantize_weight %[[Q]], %[[S]] {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x4xi8>, tensor<2x1xf32>) -> tensor<2x4xf32>
// PC: %[[SHAPE:.*]] = tosa.const_shape {{.*}}dense<[2, 1, 2, 2]> : tensor<4xindex>
// PC: %[[F:.*]] = tosa.reshape %[[W]], %[[SHAPE]] : (tensor<2x4xf32>, !tosa.shape<4>) -> tensor<2x1x2x2xf32>
// PC: nn.conv2d %[[X]], %[[F]] {{.*}} : (tensor<1x1x4x4xf32>, tensor<2x1x2x2xf32>) -> tensor<1x2x3x3xf32>
func.func @conv(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x3x3xf32> {
  %f = arith.constant dense<[[[[3.5, -1.75], [0.5, 0.25]]], [[[-7.0, 1.0], [3.0, 2.5]]]]> : tensor<2x1x2x2xf32>
  %y = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x4x4xf32>, tensor<2x1x2x2xf32>) -> tensor<1x2x3x3xf32> loc("conv_0")
  return %y : tensor<1x2x3x3xf32>
}

// Left alone: a weight that is not a constant, and nn.matmul.
// PC-LABEL: func.func @leave_alone
// PC-SAME: (%[[X:.*]]: tensor<3x4xf32>, %[[W:.*]]: tensor<2x4xf32>)
// PC-NOT: lowbit.
// PC: nn.linear %[[X]], %[[W]] :
// PC: %[[C:.*]] = arith.constant dense<1.000000e+00> : tensor<4x2xf32>
// PC-NOT: lowbit.
// PC: nn.matmul %[[X]], %[[C]] :
// PC-NOT: lowbit.
// PC: return
func.func @leave_alone(%x: tensor<3x4xf32>, %w: tensor<2x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc_arg")
  %c = arith.constant dense<1.0> : tensor<4x2xf32>
  %z = nn.matmul %x, %c : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32> loc("mm")
  return %y, %z : tensor<3x2xf32>, tensor<3x2xf32>
}

// PC: dialect_resources
// PC-DAG: fc1.q: "0x0100000007FC0100F9010302"
// PC-DAG: fc1.scale: "0x040000000000003F0000803F"
// PC-DAG: conv_0.q: "0x0100000007FC0100F9010302"
// PC-DAG: conv_0.scale: "0x040000000000003F0000803F"

// TWICE-LABEL: func.func @linear
// TWICE: lowbit.dequantize_weight
// TWICE-NOT: lowbit.dequantize_weight
// TWICE: nn.linear
// TWICE-LABEL: func.func @conv
// TWICE: lowbit.dequantize_weight
// TWICE-NOT: lowbit.dequantize_weight
// TWICE: nn.conv2d
// TWICE: dialect_resources
// TWICE-DAG: fc1.q: "0x0100000007FC0100F9010302"
// TWICE-DAG: conv_0.q: "0x0100000007FC0100F9010302"

//--- group.mlir
// Groups of 2 along K = 4: scale table [2, 2].
//   row 0 [3.5, -1.75 | 14, 7]: scales 0.5, 2; q [7, -4 | 7, 3.5 -> 4]
//   row 1 [-7, 1 | 0, 0]: scales 1, 1 (all-zero group: scale 1); q [-7, 1 | 0, 0]
// GROUP-LABEL: func.func @grouped
// GROUP-DAG: %[[Q:.*]] = arith.constant dense_resource<fc1.q> : tensor<2x4xi8>
// GROUP-DAG: %[[S:.*]] = arith.constant dense_resource<fc1.scale> : tensor<2x2xf32>
// GROUP: lowbit.dequantize_weight %[[Q]], %[[S]] {bits = 4 : i64, group_size = 2 : i64} : (tensor<2x4xi8>, tensor<2x2xf32>) -> tensor<2x4xf32>
// GROUP-DAG: fc1.q: "0x0100000007FC0704F9010000"
// GROUP-DAG: fc1.scale: "0x040000000000003F000000400000803F0000803F"
func.func @grouped(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[3.5, -1.75, 14.0, 7.0], [-7.0, 1.0, 0.0, 0.0]]> : tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

//--- asym.mlir
// Asymmetric 4-bit per channel: an integer zero table beside the scales.
//   row 0 [-3, 4.5, 0.25, 1.25]: scale 7.5/15 = 0.5, zero 6,
//         q [0, 15, 0.5 -> 0 + 6 = 6, 2.5 -> 2 + 6 = 8]
//   row 1 [0, 7.5, 3.75, 1]: scale 0.5, zero 0, q [0, 15, 7.5 -> 8, 2]
// ASYM-LABEL: func.func @asymmetric
// ASYM-DAG: %[[Q:.*]] = arith.constant dense_resource<fc1.q> : tensor<2x4xi8>
// ASYM-DAG: %[[S:.*]] = arith.constant dense_resource<fc1.scale> : tensor<2x1xf32>
// ASYM-DAG: %[[Z:.*]] = arith.constant dense_resource<fc1.zero> : tensor<2x1xf32>
// ASYM: lowbit.dequantize_weight %[[Q]], %[[S]], %[[Z]] {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x4xi8>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
// ASYM-NOT: float_offset
// ASYM-DAG: fc1.q: "0x01000000000F0608000F0802"
// ASYM-DAG: fc1.scale: "0x040000000000003F0000003F"
// ASYM-DAG: fc1.zero: "0x040000000000C04000000000"
func.func @asymmetric(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[-3.0, 4.5, 0.25, 1.25], [0.0, 7.5, 3.75, 1.0]]> : tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

//--- fake.mlir
// fake-quant: the weight becomes the dequantized float values q * scale,
// [[3.5, -2, 0.5, 0], [-7, 1, 3, 2]], and no lowbit op is left.
// FAKE-LABEL: func.func @fake
// FAKE-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// FAKE-NOT: lowbit.
// FAKE: %[[W:.*]] = arith.constant dense_resource<fc1.fake_quant> : tensor<2x4xf32>
// FAKE-NOT: lowbit.
// FAKE: nn.linear %[[X]], %[[W]] :
// FAKE-NOT: lowbit.
// FAKE: fc1.fake_quant: "0x0400000000006040000000C00000003F000000000000E0C00000803F0000404000000040"
func.func @fake(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[3.5, -1.75, 0.5, 0.25], [-7.0, 1.0, 3.0, 2.5]]> : tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

//--- methods.mlir
// gaussian-mse and clip-search give the same structure as rtn.
// METHOD-LABEL: func.func @method
// METHOD-DAG: %[[Q:.*]] = arith.constant dense_resource<fc1.q> : tensor<4x8xi8>
// METHOD-DAG: %[[S:.*]] = arith.constant dense_resource<fc1.scale> : tensor<4x4xf32>
// METHOD: %[[W:.*]] = lowbit.dequantize_weight %[[Q]], %[[S]] {bits = 4 : i64, group_size = 2 : i64} : (tensor<4x8xi8>, tensor<4x4xf32>) -> tensor<4x8xf32>
// METHOD: nn.linear %{{.*}}, %[[W]]
// METHOD-NOT: arith.constant dense<
func.func @method(%x: tensor<3x8xf32>) -> tensor<3x4xf32> {
  %w = arith.constant dense<[[0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8],
                             [1.0, 0.5, 0.25, 0.125, -1.0, -0.5, -0.25, -0.125],
                             [0.3, 0.3, -0.9, 0.05, 0.0, 0.0, 2.0, -1.5],
                             [-0.01, 0.02, -0.03, 0.04, 0.9, 0.8, 0.7, 0.6]]> : tensor<4x8xf32>
  %y = nn.linear %x, %w : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32> loc("fc1")
  return %y : tensor<3x4xf32>
}

//--- overrides.mlir
// OVR-LABEL: func.func @overrides
// Not matched: the default 4 bits.
// OVR: lowbit.dequantize_weight {{.*}} {bits = 4 : i64, group_size = 4 : i64}
// OVR: nn.linear
// "*down_proj*:bits=8": this layer is 8-bit.
// OVR: lowbit.dequantize_weight {{.*}} {bits = 8 : i64, group_size = 4 : i64}
// OVR: nn.linear
// "conv_*:skip": the convolution stays float.
// OVR-NOT: lowbit.
// OVR: nn.conv2d %{{.*}}, %{{.*}} {{.*}} : (tensor<1x1x4x4xf32>, tensor<2x1x2x2xf32>)
// OVR-DAG: layers.0.fc1.q: "0x0100000007FC0100F9010302"
// 8-bit (qmax 127): row 0 scale 3.5/127, q [127, -63.5 -> -64, 18.14 -> 18,
// 9.07 -> 9]; row 1 scale 7/127, q [-127, 18.14 -> 18, 54.43 -> 54, 45.36 -> 45].
// OVR-DAG: layers.0.down_proj.q: "0x010000007FC012098112362D"
// OVR-NOT: conv_0

// OVR2-LABEL: func.func @overrides
// "layers.0.*:group-size=2,symmetric=false" applies to both linears.
// OVR2: lowbit.dequantize_weight %{{.*}}, %{{.*}}, %{{.*}} {bits = 4 : i64, group_size = 2 : i64} : (tensor<2x4xi8>, tensor<2x2xf32>, tensor<2x2xf32>)
// OVR2: lowbit.dequantize_weight %{{.*}}, %{{.*}}, %{{.*}} {bits = 4 : i64, group_size = 2 : i64} : (tensor<2x4xi8>, tensor<2x2xf32>, tensor<2x2xf32>)
// The convolution gets the global settings (per channel, symmetric).
// OVR2: lowbit.dequantize_weight %{{.*}}, %{{.*}} {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x4xi8>, tensor<2x1xf32>)
// OVR2: nn.conv2d
func.func @overrides(%x: tensor<3x4xf32>, %img: tensor<1x1x4x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<1x2x3x3xf32>) {
  %w = arith.constant dense<[[3.5, -1.75, 0.5, 0.25], [-7.0, 1.0, 3.0, 2.5]]> : tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("layers.0.fc1")
  %z = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("layers.0.down_proj")
  %f = arith.constant dense<[[[[3.5, -1.75], [0.5, 0.25]]], [[[-7.0, 1.0], [3.0, 2.5]]]]> : tensor<2x1x2x2xf32>
  %c = nn.conv2d %img, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x4x4xf32>, tensor<2x1x2x2xf32>) -> tensor<1x2x3x3xf32> loc("conv_0")
  return %y, %z, %c : tensor<3x2xf32>, tensor<3x2xf32>, tensor<1x2x3x3xf32>
}

//--- indivisible.mlir
// Group size 3 does not divide K = 4: indivisible=per-channel falls back to
// group_size = K.
// INDIV-LABEL: func.func @indivisible
// INDIV: lowbit.dequantize_weight %{{.*}}, %{{.*}} {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x4xi8>, tensor<2x1xf32>) -> tensor<2x4xf32>
// INDIV: fc1.q: "0x0100000007FC0100F9010302"
func.func @indivisible(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[3.5, -1.75, 0.5, 0.25], [-7.0, 1.0, 3.0, 2.5]]> : tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

//--- bits.mlir
// expected-error @+1 {{quantize-weights: bits must be 2..8, got 9}}
func.func @bits(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

//--- group-negative.mlir
// expected-error @+1 {{quantize-weights: group-size must be >= 0 (0 = per channel), got -1}}
func.func @group_negative(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

//--- method.mlir
// expected-error @+1 {{quantize-weights: unknown method 'awq' (rtn, gaussian-mse, clip-search, gptq, decoupleq)}}
func.func @method(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

//--- group-divides.mlir
// The layer's location is a bare NameLoc (no file position): @unknown.
func.func @group(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error @unknown {{quantize-weights: layer 'fc1': group size 3 does not divide K = 4 (use indivisible=per-channel or an override)}}
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

//--- override-syntax.mlir
// expected-error @+1 {{quantize-weights: override 'fc1' is not GLOB:key=value,...}}
func.func @override_syntax(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

//--- override-key.mlir
// expected-error @+1 {{quantize-weights: override 'fc1:bits': unknown setting 'bits' (expected skip, bits=, group-size=, method=, symmetric=)}}
func.func @override_key(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

//--- override-glob.mlir
// expected-error @+1 {{quantize-weights: override 'fc[1:bits=8': 'fc[1' is not a valid glob}}
func.func @override_glob(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

//--- override-bits.mlir
func.func @override_bits(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error @unknown {{quantize-weights: layer 'fc1': bits must be 2..8, got 9}}
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

//--- gptq.mlir
func.func @gptq(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error @unknown {{quantize-weights: layer 'layers.3.mlp': method gptq needs its Hessian (hessians=FILE.npz with an entry 'layers.3.mlp')}}
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("layers.3.mlp")
  return %y : tensor<3x2xf32>
}

//--- elided.mlir
// A resource weight whose bytes are missing (elided when printed) is an
// error, not a silently float layer.
func.func @elided(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense_resource<w_gone> : tensor<2x4xf32>
  // expected-error @unknown {{quantize-weights: layer 'fc1': the weight's data ('w_gone') is missing (elided?)}}
  %y = nn.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}
