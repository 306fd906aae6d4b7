// migrate-quant-steps (MergeQuant QSM): static per-channel activation steps
// s_j = c_j * absmax_j / qmax folded into the producing norm's gamma (and
// beta) and into the consuming weights' columns, with a unit-step quantizer
// between the norm and the group. Stats from make_stats.py (numbers by hand):
//   q, k read rms_norm %n: absmax [7, 14], bits=4 (qmax 7), no clip search
//     -> s = [1, 2]; gamma [2, 4] -> [2, 2] (0x40000000 twice);
//     q [[1, 1], [0.5, -1]] -> [[1, 2], [0.5, -2]];
//     k [[0.25, 0.5], [-1, 0.125]] -> [[0.25, 1], [-1, 0.25]].
//   fc reads layer_norm %l: absmax [7, 14] -> s = [1, 2];
//     gamma [1, 1] -> [1, 0.5], beta [2, 4] -> [2, 2].
//   stats-out: those layers' statistics divided by s (check_migrated.py).
//   clip: bits=2 (qmax 1); channel 0 samples = ten 1.0 and one 2.0
//     (absmax 2): step 2r puts the ones at 2r (r > 1/2), error
//     10 (2r-1)^2 + (2-2r)^2, smallest on the grid 1, 0.975, .., 0.5 at
//     r = 0.55 (0.91; 0.525: 0.9275; 0.575: 0.9425; 1: 10) -> s_0 = 1.1;
//     channel 1 samples all 1.0 (absmax 1): r = 1 is exact -> s_1 = 1.

// RUN: split-file %s %t
// RUN: %python %t/make_stats.py %t
// RUN: lowbit-opt %t/fold.mlir "--migrate-quant-steps=stats=%t/stats.npz clip-search=false" | FileCheck %s --check-prefix=FOLD
// RUN: lowbit-opt %t/fold.mlir "--migrate-quant-steps=stats=%t/stats.npz clip-search=false fold=false" | FileCheck %s --check-prefix=REF
// RUN: lowbit-opt %t/fold.mlir "--migrate-quant-steps=stats=%t/stats.npz clip-search=false" "--quantize-weights=bits=4 group-size=0" --quantize-activations=bits=4 --lower-to-lowbit --cse | FileCheck %s --check-prefix=LOWER --implicit-check-not=lowbit.quantize "--implicit-check-not=lowbit.dequantize "
// RUN: lowbit-opt %t/fold.mlir "--migrate-quant-steps=stats=%t/stats.npz clip-search=false stats-out=%t/migrated.npz" -o /dev/null
// RUN: %python %t/check_migrated.py %t/migrated.npz
// RUN: lowbit-opt %t/clip.mlir "--migrate-quant-steps=stats=%t/clip.npz bits=2 fold=false" | FileCheck %s --check-prefix=CLIP
// RUN: lowbit-opt %t/alone.mlir "--migrate-quant-steps=stats=%t/stats.npz clip-search=false" | FileCheck %s --check-prefix=ALONE

// Diagnostics.
// RUN: not lowbit-opt %t/alone.mlir --migrate-quant-steps 2>&1 | FileCheck %s --check-prefix=NOSTATS
// RUN: not lowbit-opt %t/alone.mlir --migrate-quant-steps=stats=%t/missing.npz 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not lowbit-opt %t/alone.mlir "--migrate-quant-steps=stats=%t/stats.npz bits=9" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not lowbit-opt %t/nolayer.mlir "--migrate-quant-steps=stats=%t/stats.npz" 2>&1 | FileCheck %s --check-prefix=NOLAYER
// RUN: not lowbit-opt %t/fold.mlir "--migrate-quant-steps=stats=%t/stats.npz" 2>&1 | FileCheck %s --check-prefix=NOSAMPLES
// RUN: not lowbit-opt %t/fold.mlir "--migrate-quant-steps=stats=%t/narrow.npz clip-search=false" 2>&1 | FileCheck %s --check-prefix=CHANNELS

// NOSTATS: error: migrate-quant-steps: needs stats=FILE.npz (a calibration sidecar)
// NOFILE: error: migrate-quant-steps: stats: {{.*}}missing.npz
// BITS: error: migrate-quant-steps: bits must be 2..8, got 9
// NOLAYER: error: {{.*}}migrate-quant-steps: layer 'v' has no statistics in '{{.*}}stats.npz'
// NOSAMPLES: error: {{.*}}migrate-quant-steps: layer 'q' has no samples in the statistics
// CHANNELS: error: {{.*}}migrate-quant-steps: layer 'q' has statistics for 3 channels, its input has 2

//--- make_stats.py
import sys
import numpy as np

def layer(absmax, samples=None):
    d = {"absmax": np.asarray(absmax, np.float32), "count": np.array(4, np.int64),
         "mean_abs": np.asarray(absmax, np.float32) / 2,
         "histogram": np.zeros(2048), "histogram_max": np.array(float(max(absmax)))}
    d["histogram"][-1] = 4 * len(absmax)
    if samples is not None:
        samples = np.asarray(samples, np.float32)
        d["hessian"] = (samples.T @ samples).astype(np.float64)
        d["samples"] = samples
        d["count"] = np.array(samples.shape[0], np.int64)
    return d

def save(path, layers):
    np.savez(path, **{f"{n}/{k}": v for n, s in layers.items() for k, v in s.items()})

stats = {n: layer([7, 14]) for n in ("q", "k", "fc", "r", "w")}
stats["q"]["hessian"] = np.array([[4.0, 8.0], [8.0, 32.0]])
save(sys.argv[1] + "/stats.npz", stats)
save(sys.argv[1] + "/narrow.npz", {n: layer([7, 14, 1]) for n in ("q", "k", "fc")})
x = np.ones((11, 2)); x[10, 0] = 2.0
save(sys.argv[1] + "/clip.npz", {"c": layer([2, 1], x)})

//--- check_migrated.py
# stats-out: the statistics of the migrated inputs X diag(1/s), s = [1, 2]:
# absmax [7, 14] -> [7, 7]; q's Hessian [[4, 8], [8, 32]] -> [[4, 4], [4, 8]];
# r and w (not migrated) unchanged.
import sys
import numpy as np

d = np.load(sys.argv[1])
for n in ("q", "k", "fc"):
    np.testing.assert_array_equal(d[n + "/absmax"], [7, 7])
    np.testing.assert_array_equal(d[n + "/mean_abs"], [3.5, 3.5])
np.testing.assert_array_equal(d["q/hessian"], [[4, 4], [4, 8]])
for n in ("r", "w"):
    np.testing.assert_array_equal(d[n + "/absmax"], [7, 14])

//--- fold.mlir
// q and k read the rms_norm, which is also returned (a residual): the norm
// is cloned for them with gamma / s; the original keeps gamma for the return.
// FOLD-LABEL: func.func @main
// FOLD: %[[N:.*]] = nn.rms_norm %arg0, %[[G:[^ ]*]] {axis = 1 : i64
// FOLD: %[[G2:.*]] = arith.constant dense_resource<n.qsm_scale> : tensor<2xf32>
// FOLD: %[[N2:.*]] = nn.rms_norm %arg0, %[[G2]] {axis = 1 : i64
// FOLD: %[[Q:.*]] = lowbit.quantize %[[N2]] : tensor<3x2xf32> -> tensor<3x2x!quant.uniform<i8<-7:7>:f32, 1.000000e+00>>
// FOLD: %[[DQ:.*]] = lowbit.dequantize %[[Q]]
// FOLD: %[[LG:.*]] = arith.constant dense_resource<l.qsm_scale> : tensor<2xf32>
// FOLD: %[[LB:.*]] = arith.constant dense_resource<l.qsm_bias> : tensor<2xf32>
// FOLD: %[[L:.*]] = nn.layer_norm %arg0, %[[LG]], %[[LB]]
// FOLD: %[[LQ:.*]] = lowbit.quantize %[[L]]
// FOLD: %[[LDQ:.*]] = lowbit.dequantize %[[LQ]]
// FOLD: %[[WQ:.*]] = arith.constant dense_resource<q.qsm> : tensor<2x2xf32>
// FOLD: nn.linear %[[DQ]], %[[WQ]] {lowbit.qsm}
// FOLD: %[[WK:.*]] = arith.constant dense_resource<k.qsm> : tensor<2x2xf32>
// FOLD: nn.linear %[[DQ]], %[[WK]] {lowbit.qsm}
// FOLD: %[[WF:.*]] = arith.constant dense_resource<fc.qsm> : tensor<1x2xf32>
// FOLD: nn.linear %[[LDQ]], %[[WF]] {lowbit.qsm}
// FOLD: return %{{.*}}, %{{.*}}, %{{.*}}, %[[N]]
// FOLD: n.qsm_scale: "0x040000000000004000000040"
// FOLD: l.qsm_scale: "0x040000000000803F0000003F"
// FOLD: l.qsm_bias: "0x040000000000004000000040"
// FOLD: q.qsm: "0x040000000000803F000000400000003F000000C0"
// FOLD: k.qsm: "0x040000000000803E0000803F000080BF0000803E"
// FOLD: fc.qsm: "0x040000000000803F00000040"

// fold=false: norm and weights unchanged, one per-channel pair per group.
// REF-LABEL: func.func @main
// REF: %[[N:.*]] = nn.rms_norm %arg0, %[[G:[^ ]*]] {axis = 1 : i64
// REF: %[[Q:.*]] = lowbit.quantize %[[N]] : tensor<3x2xf32> -> tensor<3x2x!quant.uniform<i8<-7:7>:f32:1, {1.000000e+00,2.000000e+00}>>
// REF: %[[DQ:.*]] = lowbit.dequantize %[[Q]]
// REF: %[[L:.*]] = nn.layer_norm %arg0, %[[LG:[^,]*]], %[[LB:[^ ]*]]
// REF: %[[LQ:.*]] = lowbit.quantize %[[L]] : tensor<3x2xf32> -> tensor<3x2x!quant.uniform<i8<-7:7>:f32:1, {1.000000e+00,2.000000e+00}>>
// REF: %[[LDQ:.*]] = lowbit.dequantize %[[LQ]]
// REF: nn.linear %[[DQ]], %[[WQ:[^ ]*]] {lowbit.qsm}
// REF: nn.linear %[[DQ]], %[[WK:[^ ]*]] {lowbit.qsm}
// REF: nn.linear %[[LDQ]], %[[WF:[^ ]*]] {lowbit.qsm}
// REF: return %{{.*}}, %{{.*}}, %{{.*}}, %[[N]]
// REF-NOT: qsm_scale
// REF-NOT: .qsm:

// After quantize-weights / quantize-activations / lower-to-lowbit: the
// cloned norm produces the i8 integers itself (out_bits), feeding
// lowbit.qlinear with x_scale ones; no quantize op is left anywhere, and
// quantize-activations left the marked layers alone.
// LOWER-LABEL: func.func @main
// LOWER-DAG: %[[ONES:.*]] = arith.constant dense<1.000000e+00> : tensor<3x1xf32>
// LOWER: %[[N:.*]] = nn.rms_norm %arg0, %{{[^ ]*}} {axis = 1 : i64, epsilon = {{.*}}} : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
// LOWER: %[[NI:.*]] = nn.rms_norm %arg0, %{{[^ ]*}} {axis = 1 : i64, epsilon = {{.*}}, out_bits = 4 : i64} : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xi8>
// LOWER: %[[LI:.*]] = nn.layer_norm %arg0, %{{.*}}, %{{.*}} {axis = 1 : i64, epsilon = {{.*}}, out_bits = 4 : i64} : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xi8>
// LOWER: lowbit.qlinear %[[NI]], %[[ONES]]
// LOWER: lowbit.qlinear %[[NI]], %[[ONES]]
// LOWER: lowbit.qlinear %[[LI]], %[[ONES]]
// LOWER: return
func.func @main(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x2xf32>) {
  %g = arith.constant dense<[2.0, 4.0]> : tensor<2xf32>
  %lg = arith.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %lb = arith.constant dense<[2.0, 4.0]> : tensor<2xf32>
  %wq = arith.constant dense<[[1.0, 1.0], [0.5, -1.0]]> : tensor<2x2xf32>
  %wk = arith.constant dense<[[0.25, 0.5], [-1.0, 0.125]]> : tensor<2x2xf32>
  %wf = arith.constant dense<[[1.0, 1.0]]> : tensor<1x2xf32>
  %n = nn.rms_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-6 : f32} : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32> loc("n")
  %l = nn.layer_norm %x, %lg, %lb {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32> loc("l")
  %q = nn.linear %n, %wq : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("q")
  %k = nn.linear %n, %wk : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("k")
  %f = nn.linear %l, %wf : (tensor<3x2xf32>, tensor<1x2xf32>) -> tensor<3x1xf32> loc("fc")
  return %q, %k, %f, %n : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x2xf32>
}

//--- clip.mlir
// CLIP-LABEL: func.func @main
// CLIP: lowbit.quantize %{{.*}} : tensor<3x2xf32> -> tensor<3x2x!quant.uniform<i8<-1:1>:f32:1, {{[{]}}{{1\.0999|1\.1000}}{{[0-9]*}}{{(e\+00)?}},1.000000e+00}>>
func.func @main(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %g = arith.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %w = arith.constant dense<[[1.0, 1.0], [0.5, -1.0]]> : tensor<2x2xf32>
  %n = nn.rms_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-6 : f32} : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32> loc("n")
  %c = nn.linear %n, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("c")
  return %c : tensor<3x2xf32>
}

//--- alone.mlir
// Left alone: a linear without a norm producer (r), a linear whose weight
// is not a constant (w), a norm that feeds no linear, a norm over a leading
// dimension (axis 0).
// ALONE-LABEL: func.func @main
// ALONE-NOT: lowbit.quantize
// ALONE-NOT: lowbit.qsm
// ALONE-NOT: qsm_scale
// ALONE: return
func.func @main(%x: tensor<3x2xf32>, %wv: tensor<2x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %g = arith.constant dense<[2.0, 4.0]> : tensor<2xf32>
  %g3 = arith.constant dense<1.0> : tensor<3x2xf32>
  %w = arith.constant dense<[[1.0, 1.0], [0.5, -1.0]]> : tensor<2x2xf32>
  %r = nn.linear %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("r")
  %n = nn.rms_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-6 : f32} : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32> loc("n")
  %v = nn.linear %n, %wv : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("w")
  %m = nn.rms_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-6 : f32} : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32> loc("m")
  %s = tosa.sigmoid %m : (tensor<3x2xf32>) -> tensor<3x2xf32>
  %a = nn.rms_norm %x, %g3 {axis = 0 : i64, epsilon = 1.0e-6 : f32} : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32> loc("a")
  %aw = nn.linear %a, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("r")
  return %r, %v, %s, %aw : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}

//--- nolayer.mlir
func.func @main(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %g = arith.constant dense<[2.0, 4.0]> : tensor<2xf32>
  %w = arith.constant dense<[[1.0, 1.0], [0.5, -1.0]]> : tensor<2x2xf32>
  %n = nn.rms_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-6 : f32} : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32> loc("n")
  %v = nn.linear %n, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("v")
  return %v : tensor<3x2xf32>
}
