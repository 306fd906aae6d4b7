// smooth (SmoothQuant): s_j = max|X_j|^alpha / max|W_j|^(1-alpha) from the
// calibration sidecar written by make_stats.py; weight columns times s, the
// activations divided by s in the producing layer norm (when the group is its
// only user) or by a tosa.mul in front of the group. With max|X| = [4, 16]
// and max|W| = [1, 1] over q and k, alpha = 0.5 gives s = [2, 4]:
//   layer norm scale [1, 1] -> [0.5, 0.25] (0x3F000000, 0x3E800000),
//   bias [2, 4] -> [1, 1]; q [[1, 1], [0.5, -1]] -> [[2, 4], [1, -4]];
//   k [[0.25, 0.5], [-1, 0.125]] -> [[0.5, 2], [-2, 0.5]].

// RUN: split-file %s %t
// RUN: %python %t/make_stats.py %t
// RUN: lowbit-opt %t/fold.mlir --smooth=stats=%t/stats.npz | FileCheck %s --check-prefix=FOLD
// RUN: lowbit-opt %t/mul.mlir --smooth=stats=%t/stats.npz | FileCheck %s --check-prefix=MUL
// RUN: lowbit-opt %t/search.mlir "--smooth=stats=%t/hessian.npz search=true bits=4 group-size=0" | FileCheck %s --check-prefix=SEARCH

// Diagnostics.
// RUN: lowbit-opt %t/nostats.mlir --smooth -verify-diagnostics
// RUN: lowbit-opt %t/alpha.mlir "--smooth=stats=%t/stats.npz alpha=1.5" -verify-diagnostics
// RUN: lowbit-opt %t/alphas.mlir "--smooth=stats=%t/stats.npz search=true alphas=0.5,x" -verify-diagnostics
// RUN: not lowbit-opt %t/fold.mlir "--smooth=stats=%t/stats.npz search=true" 2>&1 | FileCheck %s --check-prefix=NOHESSIAN
// stats-out= that cannot be written is an error naming the option.
// RUN: not lowbit-opt %t/fold.mlir "--smooth=stats=%t/stats.npz stats-out=%t/no-such-dir/out.npz" 2>&1 | FileCheck %s --check-prefix=STATSOUT
// STATSOUT: error: smooth: stats-out: {{.*}}no-such-dir

//--- make_stats.py
import sys
import numpy as np

def layer(absmax, hessian=None):
    d = {"absmax": np.asarray(absmax, np.float32), "count": np.array(4, np.int64)}
    if hessian is not None:
        d["hessian"] = np.asarray(hessian, np.float64)
    return d

def save(path, layers):
    np.savez(path, **{f"{n}/{k}": v for n, s in layers.items() for k, v in s.items()})

save(sys.argv[1] + "/stats.npz", {"q": layer([4, 16]), "k": layer([4, 16])})
# One outlier channel (max |x| 100) next to 31 small ones, Hessian diag(x_j^2).
a = np.ones(32); a[0] = 100.0
save(sys.argv[1] + "/hessian.npz", {"fc": layer(a, np.diag(a * a) * 4)})

//--- fold.mlir
// FOLD-LABEL: func.func @main
// FOLD-DAG: %[[G:.*]] = arith.constant dense_resource<ln.smoothed_scale> : tensor<2xf32>
// FOLD-DAG: %[[B:.*]] = arith.constant dense_resource<ln.smoothed_bias> : tensor<2xf32>
// FOLD: %[[N:.*]] = nn.layer_norm %arg0, %[[G]], %[[B]]
// FOLD: %[[WQ:.*]] = arith.constant dense_resource<q.smoothed> : tensor<2x2xf32>
// FOLD: nn.linear %[[N]], %[[WQ]] {lowbit.smooth_alpha = 5.000000e-01 : f64}
// FOLD: %[[WK:.*]] = arith.constant dense_resource<k.smoothed> : tensor<2x2xf32>
// FOLD: nn.linear %[[N]], %[[WK]] {lowbit.smooth_alpha = 5.000000e-01 : f64}
// A layer without statistics, and one whose weight is not a constant, stay.
// FOLD: nn.linear %arg0, %{{.*}} : (tensor<3x2xf32>, tensor<4x2xf32>)
// FOLD: nn.linear %{{.*}}, %arg1 :
// FOLD-NOT: tosa.mul
// FOLD: ln.smoothed_scale: "0x040000000000003F0000803E"
// FOLD: ln.smoothed_bias: "0x040000000000803F0000803F"
// FOLD: q.smoothed: "0x0400000000000040000080400000803F000080C0"
// FOLD: k.smoothed: "0x040000000000003F00000040000000C00000003F"
func.func @main(%x: tensor<3x2xf32>, %w: tensor<2x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x4xf32>) {
  %g = arith.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %b = arith.constant dense<[2.0, 4.0]> : tensor<2xf32>
  %wq = arith.constant dense<[[1.0, 1.0], [0.5, -1.0]]> : tensor<2x2xf32>
  %wk = arith.constant dense<[[0.25, 0.5], [-1.0, 0.125]]> : tensor<2x2xf32>
  %wr = arith.constant dense<1.0> : tensor<4x2xf32>
  %n = nn.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32> loc("ln")
  %q = nn.linear %n, %wq : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("q")
  %k = nn.linear %n, %wk : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("k")
  %r = nn.linear %x, %wr : (tensor<3x2xf32>, tensor<4x2xf32>) -> tensor<3x4xf32> loc("r")
  %o = nn.linear %k, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("q")
  return %q, %o, %r : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x4xf32>
}

//--- mul.mlir
// The layer norm output is also returned (a residual path): the scale is a
// multiply by 1/s in front of q and k, and the layer norm keeps its constants.
// MUL-LABEL: func.func @main
// MUL: %[[N:.*]] = nn.layer_norm %arg0, %[[G:[^,]*]], %[[B:[^ ]*]] {axis
// MUL: %[[INV:.*]] = "tosa.const"() <{values = dense<{{\[\[}}5.000000e-01, 2.500000e-01]]> : tensor<1x2xf32>}>
// MUL: %[[S:.*]] = tosa.mul %[[N]], %[[INV]]
// MUL: nn.linear %[[S]], %{{.*}} {lowbit.smooth_alpha = 5.000000e-01 : f64}
// MUL: nn.linear %[[S]], %{{.*}} {lowbit.smooth_alpha = 5.000000e-01 : f64}
// MUL: return %{{.*}}, %{{.*}}, %[[N]]
func.func @main(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %g = arith.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %b = arith.constant dense<[2.0, 4.0]> : tensor<2xf32>
  %wq = arith.constant dense<[[1.0, 1.0], [0.5, -1.0]]> : tensor<2x2xf32>
  %wk = arith.constant dense<[[0.25, 0.5], [-1.0, 0.125]]> : tensor<2x2xf32>
  %n = nn.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32> loc("ln")
  %q = nn.linear %n, %wq : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("q")
  %k = nn.linear %n, %wk : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("k")
  return %q, %k, %n : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}

//--- search.mlir
// SmoothQuant+ search, per-channel W4: with an outlier input channel whose
// weight column is small, some alpha in the grid beats no smoothing.
// SEARCH: nn.linear %{{.*}}, %{{.*}} {lowbit.smooth_alpha = {{[0-9]}}.{{[0-9]+}}e{{.*}} : f64}
func.func @main(%x: tensor<8x32xf32>) -> tensor<8x4xf32> {
  %w = arith.constant dense<[[0.01, 1.0, -1.0, 0.5, 0.25, -0.75, 0.9, -0.3, 0.6, -0.6, 0.1, 0.2, -0.2, 0.3, 0.4, -0.4, 0.7, -0.7, 0.8, -0.8, 0.15, -0.15, 0.35, -0.35, 0.45, -0.45, 0.55, -0.55, 0.65, -0.65, 0.95, -0.95],
                             [-0.02, 0.9, -0.8, 0.7, -0.6, 0.5, -0.4, 0.3, -0.2, 0.1, 0.05, -0.05, 0.15, -0.15, 0.25, -0.25, 0.35, -0.35, 0.45, -0.45, 0.55, -0.55, 0.65, -0.65, 0.75, -0.75, 0.85, -0.85, 0.95, -0.95, 1.0, -1.0],
                             [0.015, -1.0, 0.95, -0.9, 0.85, -0.8, 0.75, -0.7, 0.65, -0.6, 0.55, -0.5, 0.45, -0.4, 0.35, -0.3, 0.25, -0.2, 0.15, -0.1, 0.05, 0.1, -0.15, 0.2, -0.25, 0.3, -0.35, 0.4, -0.45, 0.5, -0.55, 0.6],
                             [-0.01, 0.33, -0.66, 0.99, -0.11, 0.22, -0.44, 0.55, -0.77, 0.88, -0.12, 0.24, -0.36, 0.48, -0.6, 0.72, -0.84, 0.96, -0.13, 0.26, -0.39, 0.52, -0.65, 0.78, -0.91, 0.14, -0.28, 0.42, -0.56, 0.7, -0.84, 0.98]]> : tensor<4x32xf32>
  %y = nn.linear %x, %w : (tensor<8x32xf32>, tensor<4x32xf32>) -> tensor<8x4xf32> loc("fc")
  return %y : tensor<8x4xf32>
}
// NOHESSIAN: error: {{.*}}smooth: layer 'q': search needs its Hessian in the statistics

//--- alpha.mlir
// expected-error @+1 {{smooth: alpha must be in [0, 1], got 1.5}}
func.func @main(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  return %x : tensor<3x2xf32>
}

//--- alphas.mlir
// expected-error @+1 {{smooth: alphas: 'x' is not a number in [0, 1]}}
func.func @main(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  return %x : tensor<3x2xf32>
}

//--- nostats.mlir
// expected-error @+1 {{smooth: needs stats=FILE.npz (a calibration sidecar)}}
func.func @main(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  return %x : tensor<3x2xf32>
}
