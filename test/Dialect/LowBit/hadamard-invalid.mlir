// Verifier errors of lowbit.hadamard (block a power of two >= 2 dividing the
// static last dimension; f32 only; result type = input type) and of
// quantize_dynamic's rms_clip (positive and finite).

// RUN: lowbit-opt %s -split-input-file -verify-diagnostics

func.func @block_three(%x: tensor<2x12xf32>) -> tensor<2x12xf32> {
  // expected-error @+1 {{'lowbit.hadamard' op block must be a power of two >= 2, got 3}}
  %0 = lowbit.hadamard %x {block = 3 : i64} : tensor<2x12xf32>
  return %0 : tensor<2x12xf32>
}

// -----

func.func @block_one(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'lowbit.hadamard' op block must be a power of two >= 2, got 1}}
  %0 = lowbit.hadamard %x {block = 1 : i64} : tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @block_negative(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'lowbit.hadamard' op block must be a power of two >= 2, got -4}}
  %0 = lowbit.hadamard %x {block = -4 : i64} : tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @not_dividing(%x: tensor<2x24xf32>) -> tensor<2x24xf32> {
  // expected-error @+1 {{'lowbit.hadamard' op block 16 does not divide the last dimension 24}}
  %0 = lowbit.hadamard %x {block = 16 : i64} : tensor<2x24xf32>
  return %0 : tensor<2x24xf32>
}

// -----

func.func @dynamic(%x: tensor<2x?xf32>) -> tensor<2x?xf32> {
  // expected-error @+1 {{'lowbit.hadamard' op input needs a static last dimension}}
  %0 = lowbit.hadamard %x {block = 4 : i64} : tensor<2x?xf32>
  return %0 : tensor<2x?xf32>
}

// -----

func.func @f16(%x: tensor<2x8xf16>) -> tensor<2x8xf16> {
  // expected-error @+1 {{'lowbit.hadamard' op operand #0 must be ranked tensor of 32-bit float values}}
  %0 = lowbit.hadamard %x {block = 4 : i64} : tensor<2x8xf16>
  return %0 : tensor<2x8xf16>
}

// -----

func.func @rms_clip_zero(%x: tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.quantize_dynamic' op rms_clip must be a positive finite number, got 0}}
  %q, %s = lowbit.quantize_dynamic %x {bits = 4 : i64, rms_clip = 0.0 : f64} : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x1xf32>
  return %q, %s : tensor<4x8xi8>, tensor<4x1xf32>
}

// -----

func.func @rms_clip_negative(%x: tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4x1xf32>) {
  // expected-error @+1 {{'lowbit.quantize_dynamic' op rms_clip must be a positive finite number, got -2}}
  %q, %s = lowbit.quantize_dynamic %x {bits = 4 : i64, rms_clip = -2.0 : f64} : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x1xf32>
  return %q, %s : tensor<4x8xi8>, tensor<4x1xf32>
}
