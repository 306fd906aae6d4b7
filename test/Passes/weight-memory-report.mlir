// weight-memory-report: one row per nn.linear / nn.conv2d with a model-constant
// weight and per lowbit.qlinear: layer name, weight shape, storage, bytes as
// f32, bytes as stored (integer part + scale/zero tables), f32 / stored;
// then the totals. The JSON also gives weight_bits and act_bits (32 = f32). Expected bytes, by hand:
//   fc_float     4x8 f32:                      128 / 128          1.00
//   nn.linear@42 2x4 f32 (no NameLoc: op name @ line):  32 / 32  1.00
//   fc_i8        4x8 int4 in i8, g4: 32 + [4x2] scale 32 = 64      2.00
//   fc_packed    4x8 ui4 nibbles: 4 rows x 4 bytes = 16, scale [4x1] 16,
//                zero [4x1] 16 -> 48; 128 / 48                     2.67
//   fc_planes    2x16 i3 bit planes: 2 x 3*16/8 = 12, scale [2x1] 8 -> 20;
//                128 / 20                                          6.40
//   conv_0       2x8 (filter 2x1x2x4) int6 planes: 2 x (4 + 2) = 12,
//                scale [2x2] 16 -> 28; 64 / 28                     2.29
//   q_proj       qlinear 4x16 W2A8 crumbs g8: 4 x 4 = 16, scale [4x2] 32
//                -> 48; 256 / 48                                   5.33
//   down_proj    qlinear 2x6 W6A8 i8 containers: 12, scale [2x1] 8, zero
//                [2x1] 8 -> 28; 48 / 28                            1.71
//   total        912 / 396                                         2.30
// Not listed (the CHECK-NEXT chain admits no other row): a weight that is
// not a constant, nn.matmul.

// RUN: lowbit-opt %s --weight-memory-report -o %t.after.mlir | FileCheck %s
// The pass changes nothing.
// RUN: lowbit-opt %s -o %t.before.mlir
// RUN: diff %t.before.mlir %t.after.mlir
// RUN: lowbit-opt %s --weight-memory-report=output=%t.json -o %t.ignored.mlir | FileCheck %s
// RUN: cat %t.json | FileCheck %s --check-prefix=JSON
// A path that cannot be written is an error.
// RUN: not lowbit-opt %s --weight-memory-report=output=%t.no-such-dir/report.json -o %t.ignored.mlir 2>&1 | FileCheck %s --check-prefix=BADPATH

// CHECK:      {{^}}layer{{ +}}shape{{ +}}storage{{ +}}f32 bytes{{ +}}stored bytes{{ +}}ratio{{$}}
// CHECK-NEXT: {{^}}fc_float{{ +}}4x8{{ +}}f32{{ +}}128{{ +}}128{{ +}}1.00{{$}}
// CHECK-NEXT: {{^}}nn.linear@42{{ +}}2x4{{ +}}f32{{ +}}32{{ +}}32{{ +}}1.00{{$}}
// CHECK-NEXT: {{^}}fc_i8{{ +}}4x8{{ +}}int4 in i8 containers g4{{ +}}128{{ +}}64{{ +}}2.00{{$}}
// CHECK-NEXT: {{^}}fc_packed{{ +}}4x8{{ +}}int4 int4_nibbles per-channel{{ +}}128{{ +}}48{{ +}}2.67{{$}}
// CHECK-NEXT: {{^}}fc_planes{{ +}}2x16{{ +}}int3 bit_planes per-channel{{ +}}128{{ +}}20{{ +}}6.40{{$}}
// CHECK-NEXT: {{^}}conv_0{{ +}}2x8{{ +}}int6 int6_planes g4{{ +}}64{{ +}}28{{ +}}2.29{{$}}
// CHECK-NEXT: {{^}}q_proj{{ +}}4x16{{ +}}W2A8 int2_crumbs g8{{ +}}256{{ +}}48{{ +}}5.33{{$}}
// CHECK-NEXT: {{^}}down_proj{{ +}}2x6{{ +}}W6A8 i8 containers per-channel{{ +}}48{{ +}}28{{ +}}1.71{{$}}
// CHECK-NEXT: {{^}}total{{ +}}912{{ +}}396{{ +}}2.30{{$}}

// JSON: {
// JSON-NEXT: "layers": [
// JSON-NEXT: {
// JSON-NEXT: "act_bits": 32,
// JSON-NEXT: "f32_bytes": 128,
// JSON-NEXT: "layer": "fc_float",
// JSON-NEXT: "shape": "4x8",
// JSON-NEXT: "storage": "f32",
// JSON-NEXT: "stored_bytes": 128,
// JSON-NEXT: "weight_bits": 32
// JSON-NEXT: },
// JSON-NEXT: {
// JSON-NEXT: "act_bits": 32,
// JSON-NEXT: "f32_bytes": 32,
// JSON-NEXT: "layer": "nn.linear@42",
// JSON-NEXT: "shape": "2x4",
// JSON-NEXT: "storage": "f32",
// JSON-NEXT: "stored_bytes": 32,
// JSON-NEXT: "weight_bits": 32
// JSON-NEXT: },
// JSON-NEXT: {
// JSON-NEXT: "act_bits": 32,
// JSON-NEXT: "f32_bytes": 128,
// JSON-NEXT: "layer": "fc_i8",
// JSON-NEXT: "shape": "4x8",
// JSON-NEXT: "storage": "int4 in i8 containers g4",
// JSON-NEXT: "stored_bytes": 64,
// JSON-NEXT: "weight_bits": 4
// JSON-NEXT: },
// JSON-NEXT: {
// JSON-NEXT: "act_bits": 32,
// JSON-NEXT: "f32_bytes": 128,
// JSON-NEXT: "layer": "fc_packed",
// JSON-NEXT: "shape": "4x8",
// JSON-NEXT: "storage": "int4 int4_nibbles per-channel",
// JSON-NEXT: "stored_bytes": 48,
// JSON-NEXT: "weight_bits": 4
// JSON-NEXT: },
// JSON-NEXT: {
// JSON-NEXT: "act_bits": 32,
// JSON-NEXT: "f32_bytes": 128,
// JSON-NEXT: "layer": "fc_planes",
// JSON-NEXT: "shape": "2x16",
// JSON-NEXT: "storage": "int3 bit_planes per-channel",
// JSON-NEXT: "stored_bytes": 20,
// JSON-NEXT: "weight_bits": 3
// JSON-NEXT: },
// JSON-NEXT: {
// JSON-NEXT: "act_bits": 32,
// JSON-NEXT: "f32_bytes": 64,
// JSON-NEXT: "layer": "conv_0",
// JSON-NEXT: "shape": "2x8",
// JSON-NEXT: "storage": "int6 int6_planes g4",
// JSON-NEXT: "stored_bytes": 28,
// JSON-NEXT: "weight_bits": 6
// JSON-NEXT: },
// JSON-NEXT: {
// JSON-NEXT: "act_bits": 8,
// JSON-NEXT: "f32_bytes": 256,
// JSON-NEXT: "layer": "q_proj",
// JSON-NEXT: "shape": "4x16",
// JSON-NEXT: "storage": "W2A8 int2_crumbs g8",
// JSON-NEXT: "stored_bytes": 48,
// JSON-NEXT: "weight_bits": 2
// JSON-NEXT: },
// JSON-NEXT: {
// JSON-NEXT: "act_bits": 8,
// JSON-NEXT: "f32_bytes": 48,
// JSON-NEXT: "layer": "down_proj",
// JSON-NEXT: "shape": "2x6",
// JSON-NEXT: "storage": "W6A8 i8 containers per-channel",
// JSON-NEXT: "stored_bytes": 28,
// JSON-NEXT: "weight_bits": 6
// JSON-NEXT: }
// JSON-NEXT: ],
// JSON-NEXT: "total_f32_bytes": 912,
// JSON-NEXT: "total_stored_bytes": 396
// JSON-NEXT: }

// BADPATH: error: weight-memory-report: cannot write '{{.*}}no-such-dir{{[/\\]}}report.json'

func.func @float_layers(%x: tensor<3x8xf32>, %x4: tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<3x2xf32>) {
  %w = arith.constant dense<1.0> : tensor<4x8xf32>
  %y = nn.linear %x, %w : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32> loc("fc_float")
  %w2 = arith.constant dense<2.0> : tensor<2x4xf32>
  // Without a NameLoc the layer is named by the op name and its line.
  %y2 = nn.linear %x4, %w2 : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("model.onnx":42:0)
  return %y, %y2 : tensor<3x4xf32>, tensor<3x2xf32>
}

func.func @weight_only(%x: tensor<3x8xf32>, %x16: tensor<3x16xf32>, %img: tensor<1x1x4x4xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x2xf32>, tensor<1x2x3x1xf32>) {
  %q = arith.constant dense<1> : tensor<4x8xi8>
  %s = arith.constant dense<0.5> : tensor<4x2xf32>
  %w = lowbit.dequantize_weight %q, %s {bits = 4 : i64, group_size = 4 : i64} : (tensor<4x8xi8>, tensor<4x2xf32>) -> tensor<4x8xf32>
  %y = nn.linear %x, %w : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32> loc("fc_i8")

  %p = lowbit.packed_constant dense<17> : tensor<4x4xi8> -> !lowbit.packed<4x8xui4, int4_nibbles>
  %s1 = arith.constant dense<0.5> : tensor<4x1xf32>
  %z1 = arith.constant dense<8.0> : tensor<4x1xf32>
  %wp = lowbit.dequantize_weight %p, %s1, %z1 {bits = 4 : i64, group_size = 8 : i64} : (!lowbit.packed<4x8xui4, int4_nibbles>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %yp = nn.linear %x, %wp : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32> loc("fc_packed")

  %bp = lowbit.packed_constant dense<0> : tensor<2x6xi8> -> !lowbit.packed<2x16xi3, bit_planes>
  %s2 = arith.constant dense<0.5> : tensor<2x1xf32>
  %wb = lowbit.dequantize_weight %bp, %s2 {bits = 3 : i64, group_size = 16 : i64} : (!lowbit.packed<2x16xi3, bit_planes>, tensor<2x1xf32>) -> tensor<2x16xf32>
  %yb = nn.linear %x16, %wb : (tensor<3x16xf32>, tensor<2x16xf32>) -> tensor<3x2xf32> loc("fc_planes")

  %cp = lowbit.packed_constant dense<0> : tensor<2x6xi8> -> !lowbit.packed<2x8xi6, int6_planes>
  %cs = arith.constant dense<0.25> : tensor<2x2xf32>
  %cw = lowbit.dequantize_weight %cp, %cs {bits = 6 : i64, group_size = 4 : i64} : (!lowbit.packed<2x8xi6, int6_planes>, tensor<2x2xf32>) -> tensor<2x8xf32>
  %shape = tosa.const_shape {values = dense<[2, 1, 2, 4]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %f = tosa.reshape %cw, %shape : (tensor<2x8xf32>, !tosa.shape<4>) -> tensor<2x1x2x4xf32>
  %c = nn.conv2d %img, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x4x4xf32>, tensor<2x1x2x4xf32>) -> tensor<1x2x3x1xf32> loc("conv_0")
  return %y, %yp, %yb, %c : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x2xf32>, tensor<1x2x3x1xf32>
}

func.func @qlinears(%xq: tensor<3x16xi8>, %xs: tensor<3x1xf32>, %xq6: tensor<3x6xi8>) -> (tensor<3x4xf32>, tensor<3x2xf32>) {
  %w = lowbit.packed_constant dense<0> : tensor<4x4xi8> -> !lowbit.packed<4x16xi2, int2_crumbs>
  %s = arith.constant dense<0.5> : tensor<4x2xf32>
  %y = lowbit.qlinear %xq, %xs, %w, %s {a_bits = 8 : i64, w_bits = 2 : i64, group_size = 8 : i64} : (tensor<3x16xi8>, tensor<3x1xf32>, !lowbit.packed<4x16xi2, int2_crumbs>, tensor<4x2xf32>) -> tensor<3x4xf32> loc("q_proj")
  %w6 = arith.constant dense<3> : tensor<2x6xi8>
  %s6 = arith.constant dense<0.5> : tensor<2x1xf32>
  %z6 = arith.constant dense<1.0> : tensor<2x1xf32>
  %y6 = lowbit.qlinear %xq6, %xs, %w6, %s6 zero %z6 {a_bits = 8 : i64, w_bits = 6 : i64, group_size = 6 : i64} : (tensor<3x6xi8>, tensor<3x1xf32>, tensor<2x6xi8>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<3x2xf32> loc("down_proj")
  return %y, %y6 : tensor<3x4xf32>, tensor<3x2xf32>
}

// Not listed.
func.func @not_listed(%x: tensor<3x8xf32>, %w: tensor<4x8xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>) {
  %y = nn.linear %x, %w : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32> loc("fc_arg")
  %c = arith.constant dense<1.0> : tensor<8x4xf32>
  %z = nn.matmul %x, %c : (tensor<3x8xf32>, tensor<8x4xf32>) -> tensor<3x4xf32> loc("mm")
  return %y, %z : tensor<3x4xf32>, tensor<3x4xf32>
}
