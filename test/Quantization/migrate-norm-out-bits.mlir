// nn.rms_norm / nn.layer_norm with out_bits (the integers migrate-quant-steps
// + lower-to-lowbit feed to lowbit.qlinear): i8 = clamp(round_half_even(y),
// -qmax, qmax). With x = [1]*8 and epsilon 0 the rms_norm output is gamma
// itself, so gamma holds the ties and the clamps: by hand, 4 bits (qmax 7)
//   gamma  2.5 -3.5 0.5 -0.5 1.5  9 -9 6.5
//   x = 1:   2   -4   0    0   2  7 -7   6
//   x = -2: -2    4   0    0  -2 -7  7  -6   (y = -gamma)
// layer_norm of [-1, 1] (mean 0, var 1, epsilon 0) is [-1, 1]; gamma
// [2.5, 2.5], beta [0, 10]: [-2.5, 12.5] -> 2 bits (qmax 1): [-1, 1].

// RUN: split-file %s %t
// RUN: lowbit-opt %t/norm.mlir --convert-nn-to-linalg | FileCheck %s --check-prefix=LOWER
// RUN: %python %t/io.py write %t/in.npz
// RUN: lowbit-run %t/norm.mlir --inputs %t/in.npz --outputs %t/out.npz
// RUN: %python %t/io.py check %t/out.npz
// RUN: lowbit-opt %t/invalid.mlir -split-input-file -verify-diagnostics

// LOWER-LABEL: func.func @main
// LOWER: linalg.generic
// LOWER: arith.fptosi
// LOWER: arith.trunci %{{.*}} : i32 to i8
// LOWER: -> tensor<2x8xi8>

//--- norm.mlir
func.func @main(%x: tensor<2x8xf32>, %y: tensor<1x2xf32>) -> (tensor<2x8xi8>, tensor<1x2xi8>) {
  %g = arith.constant dense<[2.5, -3.5, 0.5, -0.5, 1.5, 9.0, -9.0, 6.5]> : tensor<8xf32>
  %n = nn.rms_norm %x, %g {axis = 1 : i64, epsilon = 0.0 : f32, out_bits = 4 : i64} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xi8>
  %lg = arith.constant dense<[2.5, 2.5]> : tensor<2xf32>
  %lb = arith.constant dense<[0.0, 10.0]> : tensor<2xf32>
  %l = nn.layer_norm %y, %lg, %lb {axis = 1 : i64, epsilon = 0.0 : f32, out_bits = 2 : i64} : (tensor<1x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2xi8>
  return %n, %l : tensor<2x8xi8>, tensor<1x2xi8>
}

//--- io.py
import sys
import numpy as np

if sys.argv[1] == "write":
    x = np.stack([np.ones(8), -2 * np.ones(8)]).astype(np.float32)
    np.savez(sys.argv[2], arg0=x, arg1=np.array([[-1.0, 1.0]], np.float32))
else:
    out = np.load(sys.argv[2])
    expected = np.array([[2, -4, 0, 0, 2, 7, -7, 6], [-2, 4, 0, 0, -2, -7, 7, -6]], np.int8)
    assert out["result0"].dtype == np.int8, out["result0"].dtype
    np.testing.assert_array_equal(out["result0"], expected)
    np.testing.assert_array_equal(out["result1"], np.array([[-1, 1]], np.int8))

//--- invalid.mlir
func.func @bits(%x: tensor<2x8xf32>, %g: tensor<8xf32>) -> tensor<2x8xi8> {
  // expected-error @+1 {{out_bits must be 2..8, got 9}}
  %n = nn.rms_norm %x, %g {axis = 1 : i64, epsilon = 0.0 : f32, out_bits = 9 : i64} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xi8>
  return %n : tensor<2x8xi8>
}

// -----

func.func @float_result(%x: tensor<2x8xf32>, %g: tensor<8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{with out_bits the result must be i8 of the input's shape}}
  %n = nn.layer_norm %x, %g {axis = 1 : i64, epsilon = 0.0 : f32, out_bits = 4 : i64} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %n : tensor<2x8xf32>
}

// -----

func.func @no_bits(%x: tensor<2x8xf32>, %g: tensor<8xf32>) -> tensor<2x8xi8> {
  // expected-error @+1 {{result type must equal the input type}}
  %n = nn.rms_norm %x, %g {axis = 1 : i64, epsilon = 0.0 : f32} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xi8>
  return %n : tensor<2x8xi8>
}
