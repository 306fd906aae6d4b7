// Every verifier error of the nn ops (NNOps.cpp), one case each, plus the
// element-type constraint shared by all nn ops.

// RUN: lowbit-opt %s -split-input-file -verify-diagnostics

func.func @linear_weight_rank(%x: tensor<4x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{weight must have rank 2 ([N, K]), got rank 1}}
  %0 = nn.linear %x, %w : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @linear_input_rank(%x: tensor<f32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{input must have rank >= 1}}
  %0 = nn.linear %x, %w : (tensor<f32>, tensor<32x64xf32>) -> tensor<32xf32>
  return
}

// -----

func.func @linear_k_mismatch(%x: tensor<4x60xf32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{input reduction dimension 60 does not match weight K = 64}}
  %0 = nn.linear %x, %w : (tensor<4x60xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @linear_bias_shape(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{bias has shape [64], expected [32]}}
  %0 = nn.linear %x, %w, %b : (tensor<4x64xf32>, tensor<32x64xf32>, tensor<64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @linear_result_shape(%x: tensor<2x4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{result has shape [8x32], expected [2x4x32]}}
  %0 = nn.linear %x, %w : (tensor<2x4x64xf32>, tensor<32x64xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @linear_int(%x: tensor<4x64xi8>, %w: tensor<32x64xi8>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 16-bit float or bfloat16 type or 32-bit float values}}
  %0 = nn.linear %x, %w : (tensor<4x64xi8>, tensor<32x64xi8>) -> tensor<4x32xi8>
  return
}

// -----

func.func @matmul_rank(%a: tensor<8xf32>, %b: tensor<8x5xf32>) {
  // expected-error @+1 {{operands must have rank >= 2, got 1 and 2}}
  %0 = nn.matmul %a, %b : (tensor<8xf32>, tensor<8x5xf32>) -> tensor<5xf32>
  return
}

// -----

func.func @matmul_k(%a: tensor<4x8xf32>, %b: tensor<7x5xf32>) {
  // expected-error @+1 {{reduction dimensions differ: 8 vs 7}}
  %0 = nn.matmul %a, %b : (tensor<4x8xf32>, tensor<7x5xf32>) -> tensor<4x5xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x4x8xf32>, %b: tensor<3x8x5xf32>) {
  // expected-error @+1 {{batch dimensions do not broadcast: 2 vs 3}}
  %0 = nn.matmul %a, %b : (tensor<2x4x8xf32>, tensor<3x8x5xf32>) -> tensor<3x4x5xf32>
  return
}

// -----

func.func @matmul_result(%a: tensor<2x1x4x8xf32>, %b: tensor<3x8x5xf32>) {
  // expected-error @+1 {{result has shape [2x1x4x5], expected [2x3x4x5]}}
  %0 = nn.matmul %a, %b : (tensor<2x1x4x8xf32>, tensor<3x8x5xf32>) -> tensor<2x1x4x5xf32>
  return
}

// -----

func.func @conv_rank(%x: tensor<3x8x8xf32>, %f: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{input and filter must have rank 4 (NCHW, FCHW)}}
  %0 = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_attr_sizes(%x: tensor<1x3x8x8xf32>, %f: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{expects 2 strides, 2 dilations and 4 pads}}
  %0 = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_stride(%x: tensor<1x3x8x8xf32>, %f: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{strides must be >= 1}}
  %0 = nn.conv2d %x, %f {strides = array<i64: 0, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_dilation(%x: tensor<1x3x8x8xf32>, %f: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{dilations must be >= 1}}
  %0 = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 0>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_pads(%x: tensor<1x3x8x8xf32>, %f: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{pads must be >= 0}}
  %0 = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, -1, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_groups(%x: tensor<1x4x8x8xf32>, %f: tensor<8x1x3x3xf32>) {
  // expected-error @+1 {{groups = 3 must divide input channels 4 and output channels 8}}
  %0 = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 3 : i64} : (tensor<1x4x8x8xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x6x6xf32>
  return
}

// -----

func.func @conv_filter_channels(%x: tensor<1x4x8x8xf32>, %f: tensor<8x3x3x3xf32>) {
  // expected-error @+1 {{filter has 3 input channels per group, expected 2}}
  %0 = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
  return
}

// -----

func.func @conv_bias(%x: tensor<1x3x8x8xf32>, %f: tensor<4x3x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{bias has shape [3], expected [4]}}
  %0 = nn.conv2d %x, %f, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_kernel_too_big(%x: tensor<1x3x4x4xf32>, %f: tensor<4x3x3x3xf32>) {
  // A dilated 3x3 kernel spans 5 rows; the input has 4.
  // expected-error @+1 {{kernel does not fit the padded input}}
  %0 = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 1>, groups = 1 : i64} : (tensor<1x3x4x4xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x1x2xf32>
  return
}

// -----

func.func @conv_result(%x: tensor<1x3x8x8xf32>, %f: tensor<4x3x3x3xf32>) {
  // Stride 2 with one pixel of padding: (8 + 2 - 3) / 2 + 1 = 4.
  // expected-error @+1 {{result has shape [1x4x6x6], expected [1x4x4x4]}}
  %0 = nn.conv2d %x, %f {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @layer_norm_axis(%x: tensor<2x8xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{axis 2 out of range for rank 2}}
  %0 = nn.layer_norm %x, %s {axis = 2 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @layer_norm_scale(%x: tensor<2x4x8xf32>, %s: tensor<8xf32>) {
  // axis 1 normalises over [4, 8], so scale must have that shape.
  // expected-error @+1 {{scale has shape [8], expected [4x8]}}
  %0 = nn.layer_norm %x, %s {axis = 1 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  return
}

// -----

func.func @layer_norm_bias(%x: tensor<2x8xf32>, %s: tensor<8xf32>, %b: tensor<2x8xf32>) {
  // expected-error @+1 {{bias has shape [2x8], expected [8]}}
  %0 = nn.layer_norm %x, %s, %b {axis = 1 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x8xf32>, tensor<8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @layer_norm_result(%x: tensor<2x8xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{result type must equal the input type}}
  %0 = nn.layer_norm %x, %s {axis = 1 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf16>
  return
}

// -----

func.func @softmax_axis(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{axis -1 out of range for rank 2}}
  %0 = nn.softmax %x {axis = -1 : i64} : tensor<2x8xf32>
  return
}

// -----

// nn ops need static shapes: the importer makes them static, lowerings rely on it.
func.func @dynamic_shape(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{operand #0 must be statically shaped tensor}}
  %0 = nn.linear %x, %w : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}
