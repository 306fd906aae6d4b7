// sensitivity (FlexQ): per nn.linear, the relative output error of 6- and
// 8-bit dynamic per-token activations with the RTN weight format, measured on
// the calibration rows `<layer>/samples`; the layers with the largest
// err_A6 - err_A8 get lowbit.act_bits = 8, the rest 6.
//
// Hand-computed expectations (K = 2, W = identity, exact on any per-channel
// grid, so err_B = |Q_B(x) - x| / |x| for the single row x = [31, v]):
//   6 bits: scale = 31/31 = 1;  8 bits: scale = 31/127 (f32).
//   a: v = 1    -> A6 exact (0); A8: 1/s = 4.097 -> 4, err 0.000761605
//   b: v = 0.5  -> A6: 0.5 rounds (half to even) to 0, err 0.5/sqrt(961.25)
//                  = 0.0161269; A8: 2.048 -> 2, err 0.000380951
//   c: v = 0.25 -> A6: err 0.25/sqrt(961.0625) = 0.00806425; A8: err 0.000190494
// Gains A6 - A8: b 0.01575 > c 0.00787 > a -0.00076 -> ranks b 1, c 2, a 3.

// RUN: split-file %s %t
// RUN: %python %t/make_stats.py %t
// RUN: lowbit-opt %t/three.mlir "--sensitivity=stats=%t/stats.npz group-size=0 budget=0.34 report=%t/report.json" --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=BUDGET
// RUN: FileCheck %s --check-prefix=REPORT --input-file=%t/report.json
// RUN: lowbit-opt %t/three.mlir "--sensitivity=stats=%t/stats.npz group-size=0 budget=0.5" --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=HALF
// RUN: lowbit-opt %t/three.mlir "--sensitivity=stats=%t/stats.npz group-size=0 target-error=0.01" --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=TARGET
// quantize-activations takes the chosen bits over its default.
// RUN: lowbit-opt %t/three.mlir "--sensitivity=stats=%t/stats.npz group-size=0 budget=0.34" --quantize-activations=bits=6 --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=QA
// Left alone: a linear whose weight is not a constant (nothing measured).
// RUN: lowbit-opt %t/argweight.mlir --sensitivity=stats=%t/stats.npz | FileCheck %s --check-prefix=ALONE

// Diagnostics.
// RUN: not lowbit-opt %t/three.mlir --sensitivity 2>&1 | FileCheck %s --check-prefix=NOSTATS
// RUN: not lowbit-opt %t/three.mlir "--sensitivity=stats=%t/stats.npz budget=1.5" 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not lowbit-opt %t/three.mlir "--sensitivity=stats=%t/stats.npz budget=0.5 target-error=0.1" 2>&1 | FileCheck %s --check-prefix=BOTH
// RUN: not lowbit-opt %t/three.mlir "--sensitivity=stats=%t/missing.npz" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not lowbit-opt %t/nosamples.mlir "--sensitivity=stats=%t/stats.npz" 2>&1 | FileCheck %s --check-prefix=NOSAMPLES

// BUDGET-LABEL: func.func @three
// BUDGET: nn.linear {{.*}} {lowbit.act_bits = 6 : i64} {{.*}} loc("a")
// BUDGET: nn.linear {{.*}} {lowbit.act_bits = 8 : i64} {{.*}} loc("b")
// BUDGET: nn.linear {{.*}} {lowbit.act_bits = 6 : i64} {{.*}} loc("c")

// REPORT: "budget": 0.34
// REPORT: "layers": [
// REPORT: "act_bits": 8,
// REPORT-NEXT: "err_a6": 0.016126
// REPORT-NEXT: "err_a8": 0.00038095
// REPORT-NEXT: "layer": "b",
// REPORT-NEXT: "rank": 1
// REPORT: "act_bits": 6,
// REPORT-NEXT: "err_a6": 0.0080642
// REPORT-NEXT: "err_a8": 0.00019049
// REPORT-NEXT: "layer": "c",
// REPORT-NEXT: "rank": 2
// REPORT: "act_bits": 6,
// REPORT-NEXT: "err_a6": 0,
// REPORT-NEXT: "err_a8": 0.00076160
// REPORT-NEXT: "layer": "a",
// REPORT-NEXT: "rank": 3
// REPORT: "promoted_to_a8": 1

// HALF: {lowbit.act_bits = 6 : i64} {{.*}} loc("a")
// HALF: {lowbit.act_bits = 8 : i64} {{.*}} loc("b")
// HALF: {lowbit.act_bits = 8 : i64} {{.*}} loc("c")

// TARGET: {lowbit.act_bits = 6 : i64} {{.*}} loc("a")
// TARGET: {lowbit.act_bits = 8 : i64} {{.*}} loc("b")
// TARGET: {lowbit.act_bits = 6 : i64} {{.*}} loc("c")

// QA: lowbit.quantize_dynamic %{{.*}} {bits = 6 : i64}
// QA: loc("a")
// QA: lowbit.quantize_dynamic %{{.*}} {bits = 8 : i64}
// QA: loc("b")
// QA: lowbit.quantize_dynamic %{{.*}} {bits = 6 : i64}
// QA: loc("c")

// ALONE-LABEL: func.func @argweight
// ALONE-NOT: lowbit.act_bits

// NOSTATS: error: sensitivity: needs stats=FILE.npz
// RANGE: error: sensitivity: budget must be in [0, 1], got 1.5
// BOTH: error: sensitivity: give budget or target-error, not both
// MISSING: error: sensitivity: stats: {{.*}}missing.npz
// NOSAMPLES: error: {{.*}}sensitivity: layer 'd' has no samples in '{{.*}}stats.npz'

//--- make_stats.py
import sys
import numpy as np

def layer(row):
    x = np.asarray([row], np.float32)
    return {"absmax": np.abs(x).max(0), "count": np.array(1, np.int64),
            "hessian": (x.T @ x).astype(np.float64), "samples": x}

entries = {}
for name, v in (("a", 1.0), ("b", 0.5), ("c", 0.25)):
    for stat, value in layer([31.0, v]).items():
        entries[f"{name}/{stat}"] = value
# A layer with statistics but without captured rows.
entries["d/absmax"] = np.array([1, 1], np.float32)
entries["d/count"] = np.array(1, np.int64)
np.savez(sys.argv[1] + "/stats.npz", **entries)

//--- three.mlir
func.func @three(%x: tensor<1x2xf32>) -> (tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>) {
  %w = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %a = nn.linear %x, %w : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32> loc("a")
  %b = nn.linear %x, %w : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32> loc("b")
  %c = nn.linear %x, %w : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32> loc("c")
  return %a, %b, %c : tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>
}

//--- argweight.mlir
func.func @argweight(%x: tensor<1x2xf32>, %w: tensor<2x2xf32>) -> tensor<1x2xf32> {
  %a = nn.linear %x, %w : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32> loc("a")
  return %a : tensor<1x2xf32>
}

//--- nosamples.mlir
func.func @nosamples(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %d = nn.linear %x, %w : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32> loc("d")
  return %d : tensor<1x2xf32>
}
