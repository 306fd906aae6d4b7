#!/usr/bin/env python3
"""Winograd convolution experiments on lowbit's CPU path.

(a) speed: CPU time of single 3x3 convolutions (stride 1, pad 1, bias) in
    `lowbit-run --repeat N --report`, direct (linalg conv) against the
    `winograd` pass for m = 2, 4, 6 (standard points); the fastest of N runs,
    one thread. The error of each Winograd run against the direct one is
    recorded too.
(b) fp16: PP-OCRv4 det (rapidocr-onnxruntime's model, 1x3x256x256, the
    synthetic document image of scripts/main.py) with every eligible conv
    (3x3, stride 1, groups 1) rewritten by
    `winograd{m=M points=P precision=f16}` for M = 4, 6, 8 and the point
    sets standard, nova, ours, and the wincnn-style explicit list
    {0, ±1, ±2, ±1/2} (F(6,3) only: it has 7 points). precision=f16 rounds
    the conv input, the transformed input and filter, the products and the
    transformed output to f16 (arithmetic in f32); the rest of the model
    stays f32. Reported: max|y - y_f32| / max|y_f32| of the model output,
    where y_f32 is the unrewritten model on lowbit's CPU path; the same for
    precision=f32 shows what is conditioning alone.

Writes bench/results/winograd_conv.json (with the machine and the 1-minute
load average at the start and end of the speed part) and prints tables;
bench/results/winograd_conv.png (speed bars, fp16 errors) too when matplotlib
is installed.
Timings are recorded, never asserted.

    python3 bench/winograd_conv.py [--part speed|fp16|all] [--repeat 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402  (bench/machine.py)

SPEED_SHAPES = [  # (name, N, C, F, H, W)
    ("64->64 3x3 @56x56", 1, 64, 64, 56, 56),
    ("128->128 3x3 @28x28", 1, 128, 128, 28, 28),
    ("32->32 3x3 @112x112", 1, 32, 32, 112, 112),
]
SPEED_M = [2, 4, 6]
FP16_M = [4, 6, 8]
POINT_SETS = ["standard", "nova", "ours", "wincnn"]
# The floor: F(1,3) on {0, 1, inf} has transforms of entries 0/±1, so with
# precision=f16 its error is about that of rounding each conv's input and
# output to f16 (plus the same f32 summation-order noise as every row).
BASELINE = ("fp16 data only: F(1,3) {0,1}", 1, "0,1")
WINCNN = {6: "0,1,-1,2,-2,1/2,-1/2"}  # the wincnn-style set has 7 finite points: F(6,3)


def conv_model(n, c, f, h, w) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    weight = (rng.standard_normal((f, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    bias = (rng.standard_normal(f) / 10).astype(np.float32)
    node = helper.make_node("Conv", ["x", "weight", "bias"], ["y"], name="conv", kernel_shape=[3, 3],
                            pads=[1, 1, 1, 1])
    graph = helper.make_graph([node], "conv", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [n, c, h, w])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [n, f, h, w])],
                              initializer=[numpy_helper.from_array(weight, "weight"),
                                           numpy_helper.from_array(bias, "bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def lowbit(lowbit_run: str, model: Path, inputs: Path, outputs: Path, pipeline: str, repeat: int,
           shapes=()) -> dict:
    cmd = [lowbit_run, str(model), f"--inputs={inputs}", f"--outputs={outputs}", "--report", f"--repeat={repeat}"]
    cmd += [f"--input-shape={s}" for s in shapes]
    if pipeline:
        cmd.append(f"--pipeline={pipeline}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1]}
    with np.load(outputs) as data:
        y = data[data.files[0]]
    return {"compile_ms": float(re.search(r"compile: ([0-9.]+) ms", proc.stdout).group(1)),
            "run_ms": float(re.search(r"run: ([0-9.]+) ms", proc.stdout).group(1)), "y": y}


def rel(y, ref):
    """max|y - ref| / max|ref|; "overflow" when y holds inf/nan (a value past
    the f16 range in the transformed domain)."""
    if not np.all(np.isfinite(y)):
        return "overflow"
    return float(np.max(np.abs(y.astype(np.float64) - ref)) / np.max(np.abs(ref)))


def fastest(args, path, inputs, out, pipeline) -> dict:
    """The fastest of `--rounds` lowbit-run processes (each the fastest of
    `--repeat` runs): other load on the machine comes in bursts."""
    best = None
    for _ in range(args.rounds):
        r = lowbit(args.lowbit_run, path, inputs, out, pipeline, args.repeat)
        if "error" in r:
            return r
        if best is None or r["run_ms"] < best["run_ms"]:
            best = r
    return best


def bench_speed(args, work: Path) -> list[dict]:
    rows = []
    for name, n, c, f, h, w in SPEED_SHAPES:
        path = work / "conv.onnx"
        path.write_bytes(conv_model(n, c, f, h, w).SerializeToString())
        inputs = work / "conv_in.npz"
        np.savez(inputs, x=np.random.default_rng(1).standard_normal((n, c, h, w)).astype(np.float32))
        direct = fastest(args, path, inputs, work / "out.npz", "")
        if "error" in direct:
            sys.exit(f"lowbit-run failed on {name}: {direct['error']}")
        row = {"shape": name, "direct_ms": direct["run_ms"], "winograd": {}}
        for m in SPEED_M:
            r = fastest(args, path, inputs, work / "out.npz", f"func.func(winograd{{m={m}}})")
            if "error" in r:
                row["winograd"][m] = {"error": r["error"]}
                continue
            row["winograd"][m] = {"run_ms": r["run_ms"], "speedup": direct["run_ms"] / r["run_ms"],
                                  "rel_error": rel(r["y"], direct["y"].astype(np.float64))}
        rows.append(row)
    print(f"\n(a) 3x3 conv, stride 1, pad 1, N=1: lowbit-run, fastest of {args.rounds} x {args.repeat} runs (ms); "
          "speed-up over direct")
    print(f"{'shape':<22} {'direct':>9} " + " ".join(f"{'F(%d,3)' % m:>18}" for m in SPEED_M))
    for row in rows:
        cells = []
        for m in SPEED_M:
            r = row["winograd"][m]
            cells.append(f"{'error':>18}" if "error" in r else f"{r['run_ms']:>9.1f} ({r['speedup']:4.2f}x)")
        print(f"{row['shape']:<22} {row['direct_ms']:>9.1f} " + " ".join(cells))
    return rows


def bench_fp16(args, work: Path) -> dict:
    spec = importlib.util.spec_from_file_location("lowbit_main", REPO / "scripts" / "main.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)
    model = main.find_det_model()
    shape = (1, 3, 256, 256)
    x = np.asarray(main.synthetic_document_image(shape, np.random.default_rng(0)), np.float32)
    inputs = work / "det_in.npz"
    np.savez(inputs, x=x)
    shapes = ["x=1x3x256x256"]
    ref = lowbit(args.lowbit_run, model, inputs, work / "det_out.npz", "", 1, shapes)
    if "error" in ref:
        sys.exit(f"lowbit-run failed on PP-OCRv4 det: {ref['error']}")
    ref_y = ref["y"].astype(np.float64)
    table: dict = {}
    baseline = {}
    for precision in ("f16", "f32"):
        r = lowbit(args.lowbit_run, model, inputs, work / "det_out.npz",
                   f"func.func(winograd{{m={BASELINE[1]} points={BASELINE[2]} precision={precision}}})", 1, shapes)
        baseline[precision] = {"error": r["error"]} if "error" in r else rel(r["y"], ref_y)
    for points in POINT_SETS:
        table[points] = {}
        for m in FP16_M:
            option = WINCNN.get(m) if points == "wincnn" else points
            if option is None:
                continue
            cell = {}
            for precision in ("f16", "f32"):
                r = lowbit(args.lowbit_run, model, inputs, work / "det_out.npz",
                           f"func.func(winograd{{m={m} points={option} precision={precision}}})", 1, shapes)
                cell[precision] = {"error": r["error"]} if "error" in r else rel(r["y"], ref_y)
            table[points][m] = cell
    print("\n(b) PP-OCRv4 det 1x3x256x256, 3x3 stride-1 convs in Winograd: max|y - y_f32| / max|y_f32| "
          "of the model output, transforms in f16 (f32 in brackets)")
    print(f"{'points':<10} " + " ".join(f"{'F(%d,3)' % m:>22}" for m in FP16_M))
    for points in POINT_SETS:
        cells = []
        for m in FP16_M:
            c = table[points].get(m)
            if c is None:
                cells.append(f"{'-':>22}")
            elif isinstance(c["f16"], dict):
                cells.append(f"{'n/a':>22}")
            else:
                f16, f32 = (f"{v:.2e}" if isinstance(v, float) else str(v) for v in (c["f16"], c["f32"]))
                cells.append(f"{f16:>10} ({f32:>9})")
        print(f"{points:<10} " + " ".join(cells))
    print(f"floor ({BASELINE[0]}): {baseline['f16']} in f16, {baseline['f32']} in f32")
    print("overflow: a value past the f16 range (65504) in the transformed domain (inf/nan output)")
    for points in POINT_SETS:
        for m, c in table[points].items():
            if isinstance(c["f16"], dict):
                print(f"  {points} F({m},3): {c['f16']['error']}")
    return {"model": "PP-OCRv4 det (rapidocr-onnxruntime)", "input": "1x3x256x256 synthetic document image",
            "wincnn_points": WINCNN, "errors": table,
            "baseline": {"name": BASELINE[0], "m": BASELINE[1], "points": BASELINE[2], "errors": baseline}}


def plot(result: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = [p for p in ("speed", "fp16") if p in result]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        if panel == "fp16":
            for points, cells in result["fp16"]["errors"].items():
                ms = [m for m, c in cells.items() if isinstance(c["f16"], float)]
                ax.semilogy([int(m) for m in ms], [cells[m]["f16"] for m in ms], "o-", label=points)
            ax.set_xticks(FP16_M)
            ax.set_xlabel("m of F(m, 3)")
            ax.set_ylabel("PP-OCRv4 det output error (fp16 transforms)")
        else:
            rows = result["speed"]["rows"]
            names = ["direct"] + [f"F({m},3)" for m in SPEED_M]
            width = 0.8 / len(names)
            for k, name in enumerate(names):
                ms = [r["direct_ms"] if k == 0 else r["winograd"].get(str(SPEED_M[k - 1]),
                      r["winograd"].get(SPEED_M[k - 1], {})).get("run_ms", 0.0) for r in rows]
                ax.bar([i + k * width for i in range(len(rows))], ms, width, label=name)
            ax.set_xticks([i + 0.4 - width / 2 for i in range(len(rows))])
            ax.set_xticklabels([r["shape"].replace(" 3x3 ", "\n") for r in rows])
            ax.set_ylabel("ms, 1 thread (fastest run)")
            load = result["speed"].get("load_average_1min")
            ax.set_title("3x3 conv on the CPU" + (f" (1-min load {load[0]:.1f} at start, {load[1]:.1f} at end)" if load else ""))
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["speed", "fp16", "all"], default="all")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="lowbit-run processes per configuration (speed)")
    parser.add_argument("--lowbit-run", default=str(REPO / "build" / "bin" / "lowbit-run"))
    parser.add_argument("--output", default=str(REPO / "bench" / "results" / "winograd_conv.json"))
    args = parser.parse_args()
    out = Path(args.output)
    result = json.loads(out.read_text()) if out.is_file() else {}
    # Other jobs on the machine skew timings: the 1-minute load average at
    # the start is recorded with them.
    result["machine"] = machine(load_average_1min=os.getloadavg()[0])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.part in ("speed", "all"):
            load_start = os.getloadavg()[0]
            rows = bench_speed(args, work)
            result["speed"] = {"repeat": args.repeat, "rounds": args.rounds, "threads": 1,
                               "load_average_1min": [load_start, os.getloadavg()[0]], "rows": rows}
        if args.part in ("fp16", "all"):
            result["fp16"] = bench_fp16(args, work)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwrote {out}")
    if plot(result, out.with_suffix(".png")):
        print(f"wrote {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
