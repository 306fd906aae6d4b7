// Verifier diagnostics of rms_norm, gelu, silu and attention.

// RUN: lowbit-opt %s -split-input-file -verify-diagnostics

func.func @rms_norm_axis(%x: tensor<2x8xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.rms_norm' op axis 2 out of range for rank 2}}
  %0 = nn.rms_norm %x, %s {axis = 2 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @rms_norm_scale(%x: tensor<2x4x8xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.rms_norm' op scale has shape [8], expected [4x8]}}
  %0 = nn.rms_norm %x, %s {axis = 1 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  return
}

// -----

func.func @rms_norm_scale_type(%x: tensor<2x8xf32>, %s: tensor<8xf16>) {
  // expected-error @+1 {{'nn.rms_norm' op scale element type differs from the input's}}
  %0 = nn.rms_norm %x, %s {axis = 1 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x8xf32>, tensor<8xf16>) -> tensor<2x8xf32>
  return
}

// -----

func.func @rms_norm_epsilon(%x: tensor<2x8xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.rms_norm' op epsilon must be >= 0}}
  %0 = nn.rms_norm %x, %s {axis = 1 : i64, epsilon = -1.0e-06 : f32} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @rms_norm_result(%x: tensor<2x8xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.rms_norm' op result type must equal the input type}}
  %0 = nn.rms_norm %x, %s {axis = 1 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @gelu_approximate(%x: tensor<4xf32>) {
  // expected-error @+1 {{'nn.gelu' op approximate must be "none" or "tanh", got "erf"}}
  %0 = nn.gelu %x {approximate = "erf"} : tensor<4xf32>
  return
}

// -----

func.func @silu_integer(%x: tensor<4xi32>) {
  // expected-error @+1 {{'nn.silu' op operand #0 must be statically shaped tensor of 16-bit float or bfloat16 type or 32-bit float values}}
  %0 = nn.silu %x : tensor<4xi32>
  return
}

// -----

func.func @gelu_dynamic(%x: tensor<?xf32>) {
  // expected-error @+1 {{'nn.gelu' op operand #0 must be statically shaped tensor}}
  %0 = nn.gelu %x : tensor<?xf32>
  return
}

// -----

func.func @attention_rank(%q: tensor<4x6x16xf32>, %k: tensor<2x9x16xf32>) {
  // expected-error @+1 {{'nn.attention' op query, key and value must have rank 4 ([B, H, S, D]), got 3, 3 and 3}}
  %0 = nn.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<4x6x16xf32>, tensor<2x9x16xf32>, tensor<2x9x16xf32>) -> tensor<4x6x16xf32>
  return
}

// -----

func.func @attention_heads(%q: tensor<1x3x6x16xf32>, %k: tensor<1x2x9x16xf32>) {
  // expected-error @+1 {{'nn.attention' op query heads 3 are not a multiple of key/value heads 2}}
  %0 = nn.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<1x3x6x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>) -> tensor<1x3x6x16xf32>
  return
}

// -----

func.func @attention_key(%q: tensor<1x4x6x16xf32>, %k: tensor<1x2x9x8xf32>) {
  // expected-error @+1 {{'nn.attention' op key has shape [1x2x9x8], expected [1x2x9x16]}}
  %0 = nn.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<1x4x6x16xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>) -> tensor<1x4x6x8xf32>
  return
}

// -----

func.func @attention_value(%q: tensor<1x4x6x16xf32>, %k: tensor<1x2x9x16xf32>, %v: tensor<1x2x7x16xf32>) {
  // expected-error @+1 {{'nn.attention' op value has shape [1x2x7x16], expected [1x2x9x16]}}
  %0 = nn.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<1x4x6x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x7x16xf32>) -> tensor<1x4x6x16xf32>
  return
}

// -----

func.func @attention_mask(%q: tensor<1x4x6x16xf32>, %k: tensor<1x2x9x16xf32>, %m: tensor<1x1x6x8xf32>) {
  // expected-error @+1 {{'nn.attention' op mask of shape [1x1x6x8] does not broadcast to [1x4x6x9]}}
  %0 = nn.attention %q, %k, %k, %m {scale = 1.0 : f32} : (tensor<1x4x6x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>, tensor<1x1x6x8xf32>) -> tensor<1x4x6x16xf32>
  return
}

// -----

func.func @attention_result(%q: tensor<1x4x6x16xf32>, %k: tensor<1x2x9x16xf32>) {
  // expected-error @+1 {{'nn.attention' op result has shape [1x2x6x16], expected [1x4x6x16]}}
  %0 = nn.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<1x4x6x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>) -> tensor<1x2x6x16xf32>
  return
}
