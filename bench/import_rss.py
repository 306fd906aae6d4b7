#!/usr/bin/env python3
"""Import time and peak memory of lowbit on a large external-data model.

Builds (once, cached) an ONNX model whose weights live in an external-data
file of about --gigabytes GB: a chain of MatMul layers with [4096, 4096]
float32 weights. Then measures, each in a fresh process:
  * `lowbit-run --import-only` (protobuf read, external data memory-mapped,
    weights wrapped as dense_resource blobs without copies),
  * `lowbit-run` compiling and running the model once on one token (weights
    are passed to the JIT by pointer, so running touches all of them once),
  * onnxruntime creating an InferenceSession on the same file (for scale).
Peak RSS is each child's maximum resident set size (GNU time). Writes JSON
with the machine it ran on to bench/results/import_rss.json and prints a
table. Nothing is asserted: the target (peak RSS of the import below 1.5x the
model size) is reported as met or not.

    python3 bench/import_rss.py [--gigabytes 1.0] [--lowbit-run build/bin/lowbit-run]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402  (bench/machine.py)
HIDDEN = 4096


def build_model(directory: Path, layers: int) -> Path:
    """x[1, 4096] -> MatMul(W_i) -> Relu ... with W_i stored externally."""
    # One weights file per size: onnx.save appends to an existing file, so
    # models of different sizes must not share one.
    path = directory / f"chain_{layers}x{HIDDEN}.onnx"
    weights = directory / f"chain_{layers}x{HIDDEN}.bin"
    if path.exists() and weights.exists():
        return path
    weights.unlink(missing_ok=True)
    nodes, inits = [], []
    prev = "x"
    base = (np.arange(HIDDEN * HIDDEN, dtype=np.float32) % 251 - 125) / (125.0 * HIDDEN)
    for i in range(layers):
        w = np.roll(base, i).reshape(HIDDEN, HIDDEN)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"h{i}"], name=f"layer{i}"))
        nodes.append(helper.make_node("Relu", [f"h{i}"], [f"a{i}"], name=f"act{i}"))
        prev = f"a{i}"
    graph = helper.make_graph(
        nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, HIDDEN])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, HIDDEN])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
              location=weights.name, size_threshold=1024)
    return path


def measure(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in bytes of this one child (GNU time's %M),
    and its stdout."""
    marker = "LOWBIT_BENCH_MAXRSS_KIB="
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", marker + "%M", *cmd], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    kib = [int(line[len(marker):]) for line in proc.stderr.splitlines() if line.startswith(marker)]
    if not kib:
        sys.exit(f"no RSS reported for {' '.join(cmd)}")
    return seconds, kib[-1] * 1024, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--lowbit-run", default=str(REPO / "build" / "bin" / "lowbit-run"))
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "lowbit-bench-import"))
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "import_rss.json"))
    args = parser.parse_args()

    layers = max(1, round(args.gigabytes * 2**30 / (HIDDEN * HIDDEN * 4)))
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    model = build_model(cache, layers)
    weights = model.with_suffix(".bin").stat().st_size
    x = cache / "x.npz"
    np.savez(x, x=np.ones((1, HIDDEN), np.float32))

    rows = []
    seconds, rss, out = measure([args.lowbit_run, str(model), "--import-only"])
    rows.append(("lowbit import", seconds, rss))
    ort_script = ("import onnxruntime as ort, sys; o = ort.SessionOptions(); o.intra_op_num_threads = 1; "
                  "ort.InferenceSession(sys.argv[1], o, providers=['CPUExecutionProvider'])")
    seconds, rss, _ = measure([sys.executable, "-c", ort_script, str(model)])
    rows.append(("onnxruntime session", seconds, rss))
    seconds, rss, _ = measure([args.lowbit_run, str(model), f"--inputs={x}", "-O=1"])
    rows.append(("lowbit import+compile+run", seconds, rss))

    print(f"model: {layers} x MatMul [{HIDDEN}, {HIDDEN}] f32, external data {weights / 2**30:.2f} GiB")
    print(f"{'step':28s} {'seconds':>8s} {'peak RSS MiB':>13s} {'RSS / model':>12s}")
    results = []
    for name, seconds, rss in rows:
        print(f"{name:28s} {seconds:8.2f} {rss / 2**20:13.1f} {rss / weights:12.2f}")
        results.append({"step": name, "seconds": round(seconds, 3), "peak_rss_bytes": rss,
                        "rss_over_model_size": round(rss / weights, 3)})
    target_met = results[0]["rss_over_model_size"] < 1.5
    print(f"target (lowbit import peak RSS < 1.5x model size): {'met' if target_met else 'NOT met'}")
    report = {"benchmark": "import_rss", "machine": machine(), "model_bytes": weights,
              "layers": layers, "results": results, "target_import_rss_below_1_5x": target_met,
              "note": "peak RSS of each child process (/usr/bin/time %M)"}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
