// Verifier errors of lowbit.winograd_input_transform and
// lowbit.winograd_output_transform: one case per distinct message (matrix
// size, denominators, values vs rationals, precision, m/r, tile shapes).

// RUN: lowbit-opt %s -split-input-file -verify-diagnostics

func.func @input_matrix_size(%x: tensor<1x2x4x4xf32>) -> tensor<4x4x1x2xf32> {
  // F(2,3) needs a 4x4 BT; this one has 3 entries.
  // expected-error @+1 {{'lowbit.winograd_input_transform' op bt must have 4x4 = 16 entries for F(2, 3), got 3 numerators, 3 denominators and 3 values}}
  %v = lowbit.winograd_input_transform %x {m = 2 : i64, r = 3 : i64,
      bt_num = array<i64: 1, 0, -1>, bt_den = array<i64: 1, 1, 1>, bt = array<f64: 1.0, 0.0, -1.0>}
      : tensor<1x2x4x4xf32> -> tensor<4x4x1x2xf32>
  return %v : tensor<4x4x1x2xf32>
}

// -----

func.func @input_zero_denominator(%x: tensor<1x2x4x4xf32>) -> tensor<4x4x1x2xf32> {
  // expected-error @+1 {{'lowbit.winograd_input_transform' op bt denominator 1 must be positive, got 0}}
  %v = lowbit.winograd_input_transform %x {m = 2 : i64, r = 3 : i64,
      bt_num = array<i64: 1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1>,
      bt_den = array<i64: 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1>,
      bt = array<f64: 1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 1.0, 0.0, -1.0>}
      : tensor<1x2x4x4xf32> -> tensor<4x4x1x2xf32>
  return %v : tensor<4x4x1x2xf32>
}

// -----

func.func @input_value_mismatch(%x: tensor<1x2x4x4xf32>) -> tensor<4x4x1x2xf32> {
  // Entry 5 is 1/1 but its double says 0.5.
  // expected-error @+1 {{'lowbit.winograd_input_transform' op bt value 5 (5.000000e-01) is not its rational 1/1}}
  %v = lowbit.winograd_input_transform %x {m = 2 : i64, r = 3 : i64,
      bt_num = array<i64: 1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1>,
      bt_den = array<i64: 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1>,
      bt = array<f64: 1.0, 0.0, -1.0, 0.0, 0.0, 0.5, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 1.0, 0.0, -1.0>}
      : tensor<1x2x4x4xf32> -> tensor<4x4x1x2xf32>
  return %v : tensor<4x4x1x2xf32>
}

// -----

func.func @input_precision(%x: tensor<1x2x4x4xf32>) -> tensor<4x4x1x2xf32> {
  // expected-error @+1 {{'lowbit.winograd_input_transform' op precision must be "f32" or "f16", got "bf16"}}
  %v = lowbit.winograd_input_transform %x {m = 2 : i64, r = 3 : i64, precision = "bf16",
      bt_num = array<i64: 1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1>,
      bt_den = array<i64: 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1>,
      bt = array<f64: 1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 1.0, 0.0, -1.0>}
      : tensor<1x2x4x4xf32> -> tensor<4x4x1x2xf32>
  return %v : tensor<4x4x1x2xf32>
}

// -----

func.func @input_bad_m(%x: tensor<1x2x4x4xf32>) -> tensor<4x4x1x2xf32> {
  // expected-error @+1 {{'lowbit.winograd_input_transform' op needs m >= 1 and r >= 1, got m = 0, r = 3}}
  %v = lowbit.winograd_input_transform %x {m = 0 : i64, r = 3 : i64,
      bt_num = array<i64>, bt_den = array<i64>, bt = array<f64>}
      : tensor<1x2x4x4xf32> -> tensor<4x4x1x2xf32>
  return %v : tensor<4x4x1x2xf32>
}

// -----

func.func @input_not_tiled(%x: tensor<1x2x5x4xf32>) -> tensor<4x4x1x2xf32> {
  // Height 5 is not tiles * 2 + 2.
  // expected-error @+1 {{'lowbit.winograd_input_transform' op input height and width must be tiles * m + r - 1 = tiles * 2 + 2, got 5x4}}
  %v = lowbit.winograd_input_transform %x {m = 2 : i64, r = 3 : i64,
      bt_num = array<i64: 1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1>,
      bt_den = array<i64: 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1>,
      bt = array<f64: 1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 1.0, 0.0, -1.0>}
      : tensor<1x2x5x4xf32> -> tensor<4x4x1x2xf32>
  return %v : tensor<4x4x1x2xf32>
}

// -----

func.func @input_result_shape(%x: tensor<2x2x6x4xf32>) -> tensor<4x4x2x2xf32> {
  // 2 images x 2 x 1 tiles = 4 tiles.
  // expected-error @+1 {{'lowbit.winograd_input_transform' op result must be [n, n, tiles, C] = [4, 4, 4, 2], got 'tensor<4x4x2x2xf32>'}}
  %v = lowbit.winograd_input_transform %x {m = 2 : i64, r = 3 : i64,
      bt_num = array<i64: 1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1>,
      bt_den = array<i64: 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1>,
      bt = array<f64: 1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 1.0, 0.0, -1.0>}
      : tensor<2x2x6x4xf32> -> tensor<4x4x2x2xf32>
  return %v : tensor<4x4x2x2xf32>
}

// -----

func.func @output_matrix_size(%p: tensor<4x4x1x3xf32>) -> tensor<1x3x2x2xf32> {
  // AT of F(2,3) is 2x4; a 4x4 matrix is wrong.
  // expected-error @+1 {{'lowbit.winograd_output_transform' op at must have 2x4 = 8 entries for F(2, 3), got 16 numerators, 16 denominators and 16 values}}
  %y = lowbit.winograd_output_transform %p {m = 2 : i64, r = 3 : i64,
      at_num = array<i64: 1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1>,
      at_den = array<i64: 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1>,
      at = array<f64: 1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 1.0, 0.0, -1.0>}
      : tensor<4x4x1x3xf32> -> tensor<1x3x2x2xf32>
  return %y : tensor<1x3x2x2xf32>
}

// -----

func.func @output_input_n(%p: tensor<3x3x1x3xf32>) -> tensor<1x3x2x2xf32> {
  // expected-error @+1 {{'lowbit.winograd_output_transform' op input must be a static [n, n, tiles, F] tensor with n = m + r - 1 = 4, got 'tensor<3x3x1x3xf32>'}}
  %y = lowbit.winograd_output_transform %p {m = 2 : i64, r = 3 : i64,
      at_num = array<i64: 1, 1, 1, 0, 0, 1, -1, -1>, at_den = array<i64: 1, 1, 1, 1, 1, 1, 1, 1>,
      at = array<f64: 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, -1.0, -1.0>}
      : tensor<3x3x1x3xf32> -> tensor<1x3x2x2xf32>
  return %y : tensor<1x3x2x2xf32>
}

// -----

func.func @output_not_multiple(%p: tensor<4x4x1x3xf32>) -> tensor<1x3x3x2xf32> {
  // expected-error @+1 {{'lowbit.winograd_output_transform' op result height and width must be multiples of m = 2, got 3x2}}
  %y = lowbit.winograd_output_transform %p {m = 2 : i64, r = 3 : i64,
      at_num = array<i64: 1, 1, 1, 0, 0, 1, -1, -1>, at_den = array<i64: 1, 1, 1, 1, 1, 1, 1, 1>,
      at = array<f64: 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, -1.0, -1.0>}
      : tensor<4x4x1x3xf32> -> tensor<1x3x3x2xf32>
  return %y : tensor<1x3x3x2xf32>
}

// -----

func.func @output_tiles(%p: tensor<4x4x3x3xf32>) -> tensor<1x3x2x4xf32> {
  // expected-error @+1 {{'lowbit.winograd_output_transform' op input has 3 tiles of 3 channels, the result needs 2 tiles (1 x 1 x 2) of 3}}
  %y = lowbit.winograd_output_transform %p {m = 2 : i64, r = 3 : i64,
      at_num = array<i64: 1, 1, 1, 0, 0, 1, -1, -1>, at_den = array<i64: 1, 1, 1, 1, 1, 1, 1, 1>,
      at = array<f64: 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, -1.0, -1.0>}
      : tensor<4x4x3x3xf32> -> tensor<1x3x2x4xf32>
  return %y : tensor<1x3x2x4xf32>
}
