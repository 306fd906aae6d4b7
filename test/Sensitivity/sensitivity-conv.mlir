// sensitivity on nn.conv2d: each conv with a constant filter is measured on
// its captured im2col patches (`<layer>/samples`) with ONE activation scale
// per tensor (`<layer>/samples_absmax`, the max |x| of the tensor a patch
// came from), as quantize-activations quantizes conv inputs, and ranked
// together with the linears.
//
// Hand-computed expectations: one patch [15, 0.5] whose tensor max is 31.
//   6 bits: scale 31/31 = 1: 15 -> 15, 0.5 -> 0 (half to even).
//   8 bits: scale 31/127: 15 -> 61 -> 14.889764, 0.5 -> 2 -> 0.488189.
//   (Per-row scales would give scale 15/31 and another answer.)
//   c: dense 1x1, identity filter [2, 2, 1, 1] (exact on any per-channel
//      grid): err_A6 = 0.5 / |[15, 0.5]| = 0.0333148,
//      err_A8 = |[0.110236, 0.011811]| / 15.00833 = 0.00738703.
//   d: depthwise 1x1 (groups = 2), filter [2, 3]: output [2 x0, 3 x1]:
//      err_A6 = 1.5 / |[30, 1.5]| = 0.0499376, err_A8 = 0.00743409.
//   l: a linear, identity weight, per-token row [31, 0.25]:
//      err_A6 = 0.00806425, err_A8 = 0.000190494.
// Gains A6 - A8: d 0.0425 > c 0.0259 > l 0.0079 -> ranks d 1, c 2, l 3.

// RUN: split-file %s %t
// RUN: %python %t/make_stats.py %t
// RUN: lowbit-opt %t/mixed.mlir "--sensitivity=stats=%t/stats.npz group-size=0 budget=0.34 report=%t/report.json" --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=BUDGET
// RUN: FileCheck %s --check-prefix=REPORT --input-file=%t/report.json
// RUN: lowbit-opt %t/mixed.mlir "--sensitivity=stats=%t/stats.npz group-size=0 budget=0.67" --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=TWO
// Left alone: a conv whose filter is not a constant.
// RUN: lowbit-opt %t/argfilter.mlir --sensitivity=stats=%t/stats.npz | FileCheck %s --check-prefix=ALONE

// Diagnostics.
// RUN: not lowbit-opt %t/nosamples.mlir "--sensitivity=stats=%t/stats.npz" 2>&1 | FileCheck %s --check-prefix=NOSAMPLES
// RUN: not lowbit-opt %t/geometry.mlir "--sensitivity=stats=%t/stats.npz" 2>&1 | FileCheck %s --check-prefix=GEOMETRY

// BUDGET-LABEL: func.func @mixed
// BUDGET: nn.conv2d {{.*}}lowbit.act_bits = 6 : i64{{.*}} loc("c")
// BUDGET: nn.conv2d {{.*}}lowbit.act_bits = 8 : i64{{.*}} loc("d")
// BUDGET: nn.linear {{.*}} {lowbit.act_bits = 6 : i64} {{.*}} loc("l")

// REPORT: "budget": 0.34
// REPORT: "act_bits": 8,
// REPORT-NEXT: "err_a6": 0.04993
// REPORT-NEXT: "err_a8": 0.00743
// REPORT-NEXT: "layer": "d",
// REPORT-NEXT: "rank": 1,
// REPORT-NEXT: "type": "conv2d"
// REPORT: "act_bits": 6,
// REPORT-NEXT: "err_a6": 0.03331
// REPORT-NEXT: "err_a8": 0.00738
// REPORT-NEXT: "layer": "c",
// REPORT-NEXT: "rank": 2,
// REPORT-NEXT: "type": "conv2d"
// REPORT: "act_bits": 6,
// REPORT-NEXT: "err_a6": 0.0080642
// REPORT-NEXT: "err_a8": 0.00019049
// REPORT-NEXT: "layer": "l",
// REPORT-NEXT: "rank": 3,
// REPORT-NEXT: "type": "linear"
// REPORT: "promoted_to_a8": 1

// TWO: lowbit.act_bits = 8 : i64{{.*}} loc("c")
// TWO: lowbit.act_bits = 8 : i64{{.*}} loc("d")
// TWO: lowbit.act_bits = 6 : i64{{.*}} loc("l")

// ALONE-LABEL: func.func @argfilter
// ALONE-NOT: lowbit.act_bits

// NOSAMPLES: error: {{.*}}sensitivity: conv 'e' has no patch samples in '{{.*}}stats.npz' (calibrate with Hessians: taps on nn.conv2d inputs)
// GEOMETRY: error: {{.*}}sensitivity: conv 'c': the patches in '{{.*}}stats.npz' were taken for another kernel, stride, padding, dilation or group count

//--- make_stats.py
import sys
import numpy as np

entries = {}

def conv(name, groups, k):
    # One patch [15, 0.5] of a 1x1 conv over 2 channels; its tensor max is 31.
    x = np.array([[15.0, 0.5]], np.float32)
    entries[f"{name}/absmax"] = np.array([31.0, 0.5], np.float32)
    entries[f"{name}/count"] = np.array(1, np.int64)
    entries[f"{name}/samples"] = x
    entries[f"{name}/samples_absmax"] = np.array([31.0], np.float32)
    entries[f"{name}/hessian_count"] = np.array(1, np.int64)
    # kernel, strides, pads (t, l, b, r), dilations, groups
    entries[f"{name}/conv_geometry"] = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 1, groups], np.int64)
    h = np.stack([x[:, g * k:(g + 1) * k].T @ x[:, g * k:(g + 1) * k] for g in range(groups)])
    entries[f"{name}/hessian"] = (h if groups > 1 else h[0]).astype(np.float64)

conv("c", 1, 2)
conv("d", 2, 1)
row = np.array([[31.0, 0.25]], np.float32)
entries["l/absmax"] = np.abs(row).max(0)
entries["l/count"] = np.array(1, np.int64)
entries["l/hessian"] = (row.T @ row).astype(np.float64)
entries["l/samples"] = row
# A conv with statistics but no patches (calibrated with hessians=false).
entries["e/absmax"] = np.array([1, 1], np.float32)
entries["e/count"] = np.array(1, np.int64)
np.savez(sys.argv[1] + "/stats.npz", **entries)

//--- mixed.mlir
func.func @mixed(%x: tensor<1x2x1x1xf32>, %v: tensor<1x2xf32>) -> (tensor<1x2x1x1xf32>, tensor<1x2x1x1xf32>, tensor<1x2xf32>) {
  %f = arith.constant dense<[[[[1.0]], [[0.0]]], [[[0.0]], [[1.0]]]]> : tensor<2x2x1x1xf32>
  %fd = arith.constant dense<[[[[2.0]]], [[[3.0]]]]> : tensor<2x1x1x1xf32>
  %w = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %c = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x1x1xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x1x1xf32> loc("c")
  %d = nn.conv2d %x, %fd {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x2x1x1xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x1x1xf32> loc("d")
  %l = nn.linear %v, %w : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32> loc("l")
  return %c, %d, %l : tensor<1x2x1x1xf32>, tensor<1x2x1x1xf32>, tensor<1x2xf32>
}

//--- argfilter.mlir
func.func @argfilter(%x: tensor<1x2x1x1xf32>, %f: tensor<2x2x1x1xf32>) -> tensor<1x2x1x1xf32> {
  %c = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x1x1xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x1x1xf32> loc("c")
  return %c : tensor<1x2x1x1xf32>
}

//--- nosamples.mlir
func.func @nosamples(%x: tensor<1x2x1x1xf32>) -> tensor<1x2x1x1xf32> {
  %f = arith.constant dense<[[[[1.0]], [[0.0]]], [[[0.0]], [[1.0]]]]> : tensor<2x2x1x1xf32>
  %e = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x1x1xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x1x1xf32> loc("e")
  return %e : tensor<1x2x1x1xf32>
}

//--- geometry.mlir
// "c" was calibrated as a stride-1 conv; this one has stride 2.
func.func @geometry(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x2x2xf32> {
  %f = arith.constant dense<[[[[1.0]], [[0.0]]], [[[0.0]], [[1.0]]]]> : tensor<2x2x1x1xf32>
  %c = nn.conv2d %x, %f {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x2x2xf32> loc("c")
  return %c : tensor<1x2x2x2xf32>
}
