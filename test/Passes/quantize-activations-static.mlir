// quantize-activations mode=static: one scale per tensor fixed at compile
// time from a calibration sidecar (scale = clip / (2^(bits-1)-1), clip = the
// layer's calibrated max |x| or a percentile of |x|), as a lowbit.quantize /
// lowbit.dequantize pair with a symmetric !quant.uniform type; lower-to-lowbit
// forms lowbit.qlinear from it (integer part through quant.scast, the scale as
// a constant column). The sidecar is written by make_stats.py below:
//   fc1:  max |x| = 127        -> scale 1    at 8 bits
//   conv: max |x| = 15.5       -> scale 0.5  at 6 bits (override)
//   pct:  99 of 100 values in [31.5, 31.75), one at 500 -> p99 clip 31.75,
//         scale 0.25 at 8 bits with percentile=99; max |x| 500.25 otherwise.

// RUN: split-file %s %t
// RUN: %python %t/make_stats.py %t/stats.npz
// RUN: lowbit-opt %t/model.mlir "--quantize-activations=mode=static stats=%t/stats.npz overrides=conv:6" | FileCheck %s --check-prefix=STA
// Running it twice inserts nothing more.
// RUN: lowbit-opt %t/model.mlir "--quantize-activations=mode=static stats=%t/stats.npz overrides=conv:6" | lowbit-opt "--quantize-activations=mode=static stats=%t/stats.npz" | FileCheck %s --check-prefix=STA
// RUN: lowbit-opt %t/pct.mlir "--quantize-activations=mode=static stats=%t/stats.npz percentile=99" | FileCheck %s --check-prefix=PCT
// RUN: lowbit-opt %t/pct.mlir "--quantize-activations=mode=static stats=%t/stats.npz" | FileCheck %s --check-prefix=MAX
// RUN: lowbit-opt %t/model.mlir "--quantize-weights=bits=8 group-size=0" "--quantize-activations=mode=static stats=%t/stats.npz overrides=conv:6" --lower-to-lowbit | FileCheck %s --check-prefix=LOW
// RUN: lowbit-opt %t/model.mlir "--quantize-weights=bits=8 group-size=0" "--quantize-activations=mode=static stats=%t/stats.npz overrides=conv:6" --lower-to-lowbit --lowbit-cpu-lowering | FileCheck %s --check-prefix=CPU

// Diagnostics.
// RUN: lowbit-opt %t/mode.mlir --quantize-activations=mode=fixed -verify-diagnostics
// RUN: lowbit-opt %t/nostats.mlir --quantize-activations=mode=static -verify-diagnostics
// RUN: not lowbit-opt %t/missing.mlir "--quantize-activations=mode=static stats=%t/stats.npz" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: lowbit-opt %t/percentile.mlir "--quantize-activations=mode=static stats=%t/stats.npz percentile=0" -verify-diagnostics
// RUN: lowbit-opt %t/dynamic.mlir "--quantize-activations=stats=%t/stats.npz" -verify-diagnostics
// RUN: not lowbit-opt %t/model.mlir "--quantize-activations=mode=static stats=%t/none.npz" 2>&1 | FileCheck %s --check-prefix=NOFILE

//--- make_stats.py
import sys
import numpy as np

bins = 2048
def layer(absmax, hist=None, hist_max=0.0):
    absmax = np.asarray(absmax, np.float32)
    return {"absmax": absmax, "count": np.array(4, np.int64),
            "mean_abs": absmax / 2,
            "histogram": np.zeros(bins) if hist is None else hist,
            "histogram_max": np.array(hist_max)}
hist = np.zeros(bins)
hist[126] = 99    # bin width 512 / 2048 = 0.25: [31.5, 31.75)
hist[2000] = 1
stats = {"fc1": layer([1.0] * 7 + [127.0]), "conv": layer([15.5, 3.0]),
         "pct": layer([500.25] + [1.0] * 7, hist, 512.0)}
np.savez(sys.argv[1], **{f"{name}/{key}": value for name, s in stats.items() for key, value in s.items()})

//--- model.mlir
// STA-LABEL: func.func @main
// STA-SAME: (%[[X:.*]]: tensor<2x3x8xf32>, %[[W:.*]]: tensor<4x8xf32>, %[[I:.*]]: tensor<1x2x5x5xf32>, %[[F:.*]]: tensor<3x2x3x3xf32>)
// STA: %[[QC:.*]] = lowbit.quantize %[[I]] : tensor<1x2x5x5xf32> -> tensor<1x2x5x5x!quant.uniform<i8<-31:31>:f32, 5.000000e-01>>
// STA-NEXT: %[[DC:.*]] = lowbit.dequantize %[[QC]] : tensor<1x2x5x5x!quant.uniform<i8<-31:31>:f32, 5.000000e-01>> -> tensor<1x2x5x5xf32>
// STA-NEXT: nn.conv2d %[[DC]], %{{.*}}
// STA: %[[Q:.*]] = lowbit.quantize %[[X]] : tensor<2x3x8xf32> -> tensor<2x3x8x!quant.uniform<i8<-127:127>:f32, 1.000000e+00>>
// STA-NEXT: %[[D:.*]] = lowbit.dequantize %[[Q]] : tensor<2x3x8x!quant.uniform<i8<-127:127>:f32, 1.000000e+00>> -> tensor<2x3x8xf32>
// STA-NEXT: nn.linear %[[D]], %{{.*}}
// STA-NOT: lowbit.quantize
// STA: return

// LOW-LABEL: func.func @main
// LOW-DAG: %[[XS:.*]] = arith.constant dense<1.000000e+00> : tensor<6x1xf32>
// LOW-DAG: %[[CS:.*]] = arith.constant dense<5.000000e-01> : tensor<9x1xf32>
// LOW: %[[QC:.*]] = lowbit.quantize %{{.*}} : tensor<1x2x5x5xf32> -> tensor<1x2x5x5x!quant.uniform<i8<-31:31>:f32, 5.000000e-01>>
// LOW: quant.scast %[[QC]] : tensor<1x2x5x5x!quant.uniform<i8<-31:31>:f32, 5.000000e-01>> to tensor<1x2x5x5xi8>
// LOW: lowbit.qlinear %{{.*}}, %[[CS]], {{.*}} {a_bits = 6 : i64, group_size = 18 : i64, w_bits = 8 : i64}
// LOW: %[[Q:.*]] = lowbit.quantize %{{.*}} : tensor<2x3x8xf32> -> tensor<2x3x8x!quant.uniform<i8<-127:127>:f32, 1.000000e+00>>
// LOW: %[[S:.*]] = quant.scast %[[Q]] : tensor<2x3x8x!quant.uniform<i8<-127:127>:f32, 1.000000e+00>> to tensor<2x3x8xi8>
// LOW: %[[R:.*]] = tosa.reshape %[[S]]
// LOW: lowbit.qlinear %[[R]], %[[XS]], {{.*}} {a_bits = 8 : i64, group_size = 8 : i64, w_bits = 8 : i64}
// LOW-NOT: nn.linear
// LOW-NOT: nn.conv2d
// CPU-NOT: lowbit.
// CPU-NOT: quant.
// CPU: llvm.func @main
func.func @main(%x: tensor<2x3x8xf32>, %w: tensor<4x8xf32>, %img: tensor<1x2x5x5xf32>, %f: tensor<3x2x3x3xf32>) -> (tensor<2x3x4xf32>, tensor<1x3x3x3xf32>) {
  %cw = arith.constant dense<0.5> : tensor<4x8xf32>
  %cf = arith.constant dense<0.25> : tensor<3x2x3x3xf32>
  %c = nn.conv2d %img, %cf {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x3x3xf32> loc("conv")
  %y = nn.linear %x, %cw : (tensor<2x3x8xf32>, tensor<4x8xf32>) -> tensor<2x3x4xf32> loc("fc1")
  return %y, %c : tensor<2x3x4xf32>, tensor<1x3x3x3xf32>
}

//--- pct.mlir
// PCT: lowbit.quantize %{{.*}} : tensor<4x8xf32> -> tensor<4x8x!quant.uniform<i8<-127:127>:f32, 2.500000e-01>>
// MAX: lowbit.quantize %{{.*}} : tensor<4x8xf32> -> tensor<4x8x!quant.uniform<i8<-127:127>:f32, 3.9389762{{[0-9]*}}>>
func.func @main(%x: tensor<4x8xf32>, %w: tensor<2x8xf32>) -> tensor<4x2xf32> {
  %y = nn.linear %x, %w : (tensor<4x8xf32>, tensor<2x8xf32>) -> tensor<4x2xf32> loc("pct")
  return %y : tensor<4x2xf32>
}

//--- nostats.mlir
// expected-error @+1 {{quantize-activations: mode=static needs stats=FILE.npz (a calibration sidecar)}}
func.func @main(%x: tensor<4x8xf32>, %w: tensor<2x8xf32>) -> tensor<4x2xf32> {
  %y = nn.linear %x, %w : (tensor<4x8xf32>, tensor<2x8xf32>) -> tensor<4x2xf32> loc("pct")
  return %y : tensor<4x2xf32>
}

//--- missing.mlir
// MISSING: error: {{.*}}quantize-activations: layer 'fc9' has no statistics in '{{.*}}stats.npz'
func.func @main(%x: tensor<4x8xf32>, %w: tensor<2x8xf32>) -> tensor<4x2xf32> {
  %y = nn.linear %x, %w : (tensor<4x8xf32>, tensor<2x8xf32>) -> tensor<4x2xf32> loc("fc9")
  return %y : tensor<4x2xf32>
}

//--- percentile.mlir
// expected-error @+1 {{quantize-activations: percentile must be in (0, 100], got 0}}
func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  return %x : tensor<4x8xf32>
}

//--- dynamic.mlir
// expected-error @+1 {{quantize-activations: stats= and percentile= apply to mode=static only}}
func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  return %x : tensor<4x8xf32>
}
// NOFILE: error: quantize-activations: stats: {{.*}}none.npz

//--- mode.mlir
// expected-error @+1 {{quantize-activations: mode must be dynamic or static, got 'fixed'}}
func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  return %x : tensor<4x8xf32>
}
