// quantize-activations: a lowbit.quantize_dynamic + lowbit.dequantize_dynamic
// pair (per-row scales: shape of the input with the last dimension 1) is
// inserted in front of every f32 nn.linear; bits come from the option, or
// from the first matching GLOB:BITS override (0 leaves the layer float).
// Inputs that are already quantized, and non-f32 layers, are left alone.
// Parts that need different pass options are separate files (split-file).

// RUN: split-file %s %t
// RUN: lowbit-opt %t/default.mlir --quantize-activations | FileCheck %s --check-prefix=DEF
// Running the pass twice inserts nothing more.
// RUN: lowbit-opt %t/default.mlir --quantize-activations | lowbit-opt --quantize-activations | FileCheck %s --check-prefix=DEF
// RUN: lowbit-opt %t/overrides.mlir "--quantize-activations=bits=6 overrides=*down_proj*:4;layers.*:0" | FileCheck %s --check-prefix=OVR

// Diagnostics.
// RUN: lowbit-opt %t/override-range.mlir "--quantize-activations=overrides=*down_proj*:9" -verify-diagnostics
// RUN: lowbit-opt %t/override-one.mlir "--quantize-activations=overrides=fc1:1" -verify-diagnostics
// RUN: lowbit-opt %t/override-syntax.mlir --quantize-activations=overrides=fc1 -verify-diagnostics
// RUN: lowbit-opt %t/override-int.mlir "--quantize-activations=overrides=fc1:eight" -verify-diagnostics
// RUN: lowbit-opt %t/override-glob.mlir "--quantize-activations=overrides=fc[1:8" -verify-diagnostics
// RUN: lowbit-opt %t/bits.mlir --quantize-activations=bits=1 -verify-diagnostics

//--- default.mlir
// DEF-LABEL: func.func @rank3
// DEF-SAME: (%[[X:.*]]: tensor<2x3x8xf32>, %[[W:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<4xf32>)
// DEF: %[[Q:.*]], %[[S:.*]] = lowbit.quantize_dynamic %[[X]] {bits = 8 : i64} : tensor<2x3x8xf32> -> tensor<2x3x8xi8>, tensor<2x3x1xf32>
// DEF: %[[D:.*]] = lowbit.dequantize_dynamic %[[Q]], %[[S]] {bits = 8 : i64} : tensor<2x3x8xi8>, tensor<2x3x1xf32> -> tensor<2x3x8xf32>
// DEF: %[[Y:.*]] = nn.linear %[[D]], %[[W]], %[[B]] : (tensor<2x3x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
// DEF-NOT: quantize_dynamic
// DEF: return %[[Y]]
func.func @rank3(%x: tensor<2x3x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>) -> tensor<2x3x4xf32> {
  %y = nn.linear %x, %w, %b : (tensor<2x3x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x3x4xf32> loc("fc1")
  return %y : tensor<2x3x4xf32>
}

// Two layers reading the same input each get their own pair.
// DEF-LABEL: func.func @shared_input
// DEF-SAME: (%[[X:.*]]: tensor<5x8xf32>,
// DEF: %[[Q0:.*]], %[[S0:.*]] = lowbit.quantize_dynamic %[[X]] {bits = 8 : i64} : tensor<5x8xf32> -> tensor<5x8xi8>, tensor<5x1xf32>
// DEF: %[[D0:.*]] = lowbit.dequantize_dynamic %[[Q0]], %[[S0]]
// DEF: nn.linear %[[D0]],
// DEF: %[[Q1:.*]], %[[S1:.*]] = lowbit.quantize_dynamic %[[X]] {bits = 8 : i64}
// DEF: %[[D1:.*]] = lowbit.dequantize_dynamic %[[Q1]], %[[S1]]
// DEF: nn.linear %[[D1]],
func.func @shared_input(%x: tensor<5x8xf32>, %w: tensor<4x8xf32>) -> (tensor<5x4xf32>, tensor<5x4xf32>) {
  %y = nn.linear %x, %w : (tensor<5x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32> loc("a")
  %z = nn.linear %x, %w : (tensor<5x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32> loc("b")
  return %y, %z : tensor<5x4xf32>, tensor<5x4xf32>
}

// Already quantized (the input is a dequantize_dynamic): left alone.
// DEF-LABEL: func.func @already_quantized
// DEF-SAME: (%[[X:.*]]: tensor<5x8xf32>,
// DEF: %[[Q:.*]], %[[S:.*]] = lowbit.quantize_dynamic %[[X]] {bits = 4 : i64}
// DEF: %[[D:.*]] = lowbit.dequantize_dynamic %[[Q]], %[[S]] {bits = 4 : i64}
// DEF-NOT: quantize_dynamic
// DEF: nn.linear %[[D]],
func.func @already_quantized(%x: tensor<5x8xf32>, %w: tensor<4x8xf32>) -> tensor<5x4xf32> {
  %q, %s = lowbit.quantize_dynamic %x {bits = 4 : i64} : tensor<5x8xf32> -> tensor<5x8xi8>, tensor<5x1xf32>
  %d = lowbit.dequantize_dynamic %q, %s {bits = 4 : i64} : tensor<5x8xi8>, tensor<5x1xf32> -> tensor<5x8xf32>
  %y = nn.linear %d, %w : (tensor<5x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32> loc("fc1")
  return %y : tensor<5x4xf32>
}

// Not f32 (quantize_dynamic reads f32): left alone.
// DEF-LABEL: func.func @half
// DEF-SAME: (%[[X:.*]]: tensor<2x8xf16>, %[[W:.*]]: tensor<4x8xf16>)
// DEF-NOT: lowbit.
// DEF: nn.linear %[[X]], %[[W]] : (tensor<2x8xf16>, tensor<4x8xf16>) -> tensor<2x4xf16>
// DEF-NOT: lowbit.
// DEF: return
func.func @half(%x: tensor<2x8xf16>, %w: tensor<4x8xf16>) -> tensor<2x4xf16> {
  %y = nn.linear %x, %w : (tensor<2x8xf16>, tensor<4x8xf16>) -> tensor<2x4xf16> loc("fc_half")
  return %y : tensor<2x4xf16>
}

//--- overrides.mlir
// "*down_proj*:4" wins over the later "layers.*:0"; layers.0.q_proj matches
// only "layers.*:0" and stays float; "head" matches nothing: bits=6.
// OVR-LABEL: func.func @overrides
// OVR-SAME: (%[[X:.*]]: tensor<5x8xf32>, %[[W:.*]]: tensor<4x8xf32>)
// OVR: %[[Q:.*]], %[[S:.*]] = lowbit.quantize_dynamic %[[X]] {bits = 4 : i64}
// OVR: %[[D:.*]] = lowbit.dequantize_dynamic %[[Q]], %[[S]] {bits = 4 : i64}
// OVR: nn.linear %[[D]], %[[W]]
// OVR-NOT: quantize_dynamic
// OVR: nn.linear %[[X]], %[[W]]
// OVR: %[[Q2:.*]], %[[S2:.*]] = lowbit.quantize_dynamic %[[X]] {bits = 6 : i64}
// OVR: %[[D2:.*]] = lowbit.dequantize_dynamic %[[Q2]], %[[S2]] {bits = 6 : i64}
// OVR: nn.linear %[[D2]], %[[W]]
func.func @overrides(%x: tensor<5x8xf32>, %w: tensor<4x8xf32>) -> (tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>) {
  %a = nn.linear %x, %w : (tensor<5x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32> loc("layers.0.mlp.down_proj")
  %b = nn.linear %x, %w : (tensor<5x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32> loc("layers.0.q_proj")
  %c = nn.linear %x, %w : (tensor<5x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32> loc("head")
  return %a, %b, %c : tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>
}

//--- override-range.mlir
// expected-error @+1 {{quantize-activations: override '*down_proj*:9' is not GLOB:BITS with BITS 0 or 2..8}}
func.func @override_range(%x: tensor<5x8xf32>, %w: tensor<4x8xf32>) -> tensor<5x4xf32> {
  %y = nn.linear %x, %w : (tensor<5x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32> loc("down_proj")
  return %y : tensor<5x4xf32>
}

//--- override-one.mlir
// expected-error @+1 {{quantize-activations: override 'fc1:1' is not GLOB:BITS with BITS 0 or 2..8}}
func.func @override_one(%x: tensor<5x8xf32>, %w: tensor<4x8xf32>) -> tensor<5x4xf32> {
  %y = nn.linear %x, %w : (tensor<5x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32> loc("fc1")
  return %y : tensor<5x4xf32>
}

//--- override-syntax.mlir
// expected-error @+1 {{quantize-activations: override 'fc1' is not GLOB:BITS with BITS 0 or 2..8}}
func.func @override_syntax(%x: tensor<5x8xf32>, %w: tensor<4x8xf32>) -> tensor<5x4xf32> {
  %y = nn.linear %x, %w : (tensor<5x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32> loc("fc1")
  return %y : tensor<5x4xf32>
}

//--- override-int.mlir
// expected-error @+1 {{quantize-activations: override 'fc1:eight' is not GLOB:BITS with BITS 0 or 2..8}}
func.func @override_int(%x: tensor<5x8xf32>, %w: tensor<4x8xf32>) -> tensor<5x4xf32> {
  %y = nn.linear %x, %w : (tensor<5x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32> loc("fc1")
  return %y : tensor<5x4xf32>
}

//--- override-glob.mlir
// expected-error @+1 {{quantize-activations: override 'fc[1:8': 'fc[1' is not a valid glob}}
func.func @override_glob(%x: tensor<5x8xf32>, %w: tensor<4x8xf32>) -> tensor<5x4xf32> {
  %y = nn.linear %x, %w : (tensor<5x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32> loc("fc1")
  return %y : tensor<5x4xf32>
}

//--- bits.mlir
// expected-error @+1 {{quantize-activations: bits must be 2..8, got 1}}
func.func @bits(%x: tensor<5x8xf32>, %w: tensor<4x8xf32>) -> tensor<5x4xf32> {
  %y = nn.linear %x, %w : (tensor<5x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32> loc("fc1")
  return %y : tensor<5x4xf32>
}
