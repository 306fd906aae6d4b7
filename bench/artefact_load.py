#!/usr/bin/env python3
"""Ahead-of-time artefacts against the JIT and onnxruntime (issue 15): how
long a fresh process takes to get a model ready, and how fast it then runs.

For each model (all-MiniLM-L6-v2 1x128 tokens, the Llama-architecture
decoder prefill of 128 tokens, PP-OCRv4 det 1x3x256x256) and recipe (float,
rtn-w8a8), `lowbit compile` writes an artefact once (its time and size are
recorded). Then, in rounds interleaved between the configurations, each in a
fresh process on one thread:

  lowbit JIT   lowbit-run: import + lower + JIT-compile ("ready"), then runs
  lowbit AOT   lowbit run: dlopen the artefact + create a session ("ready")
  onnxruntime  InferenceSession creation ("ready"), then runs (float model)

The best of the rounds is kept for the ready time and the run time (best of
--repeat runs in the process); the peak RSS is that of the process. The AOT
outputs are compared bit for bit with the JIT's. Writes
bench/results/artefact_load.json (with the machine and load average) and
prints a table; nothing is asserted.

    python3 bench/artefact_load.py [--rounds 3] [--repeat 10] [--models minilm,llama,det256]
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
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402  (bench/machine.py)


_spec = importlib.util.spec_from_file_location("int8_speed", REPO / "bench" / "int8_speed.py")
speed = importlib.util.module_from_spec(_spec)  # model builders and onnxruntime helpers
_spec.loader.exec_module(speed)

RECIPES = {"float": [], "rtn-w8a8": ["--recipe=rtn-w8a8"]}

ORT_CHILD = r"""
import sys, time, numpy as np, onnxruntime as ort
model, inputs, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = time.perf_counter()
o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.inter_op_num_threads = 1; o.log_severity_level = 3
s = ort.InferenceSession(model, o, providers=["CPUExecutionProvider"])
ready = (time.perf_counter() - t) * 1000
with np.load(inputs) as d: feeds = {i.name: d[i.name] for i in s.get_inputs()}
best = float("inf")
for _ in range(repeat):
    t = time.perf_counter(); s.run(None, feeds); best = min(best, (time.perf_counter() - t) * 1000)
print(f"ready: {ready:.2f} ms\nrun: {best:.3f} ms")
"""


def measure(cmd: list[str]) -> dict:
    marker = "artefact-load-usage"
    proc = subprocess.run(["/usr/bin/time", "-f", f"{marker} %e %M", *map(str, cmd)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stderr}")
    usage = re.search(marker + r" ([0-9.]+) (\d+)", proc.stderr)
    out = proc.stdout
    # JIT: import + quantize + compile; artefact: load; onnxruntime: ready.
    steps = re.findall(r"^(?:ready|load|import|calibrate|quantize|compile):(?: \d+ ops,)? ([0-9.]+) ms",
                       out, re.M)
    ready_ms = sum(map(float, steps))
    return {"ready_ms": round(ready_ms, 2), "run_ms": float(re.search(r"run: ([0-9.]+) ms", out).group(1)),
            "process_s": float(usage.group(1)), "peak_rss_mb": round(int(usage.group(2)) / 1024, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--models", default="minilm,llama,det256")
    parser.add_argument("--build", default=str(REPO / "build"))
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "artefact_load.json"))
    args = parser.parse_args()
    import onnxruntime as ort

    lowbit = Path(args.build) / "bin" / "lowbit"
    lowbit_run = Path(args.build) / "bin" / "lowbit-run"
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for m in speed.build_models(work, args.models.split(",")):
            load_before = os.getloadavg()[0]
            shapes = [f"--input-shape={s}" for s in m["shapes"]]
            onnx_mb = Path(m["model"]).stat().st_size / 2**20
            row = {"model": m["name"], "onnx_mb": round(onnx_mb, 1), "recipes": {}}
            commands = {}
            ort_src = speed.fixed_shapes(m, work)
            commands["onnxruntime float"] = [sys.executable, "-c", ORT_CHILD, ort_src, m["inputs"],
                                             args.repeat]
            for recipe, flags in RECIPES.items():
                name = work / f"{Path(m['model']).stem}-{recipe}"
                t = time.perf_counter()
                subprocess.run([lowbit, "compile", m["model"], "-o", name, *flags, *shapes], check=True,
                               capture_output=True)
                compile_s = time.perf_counter() - t
                so = Path(str(name) + ".so")
                jit_out, aot_out = work / f"jit-{recipe}.npz", work / f"aot-{recipe}.npz"
                subprocess.run([lowbit_run, m["model"], f"--inputs={m['inputs']}", f"--outputs={jit_out}",
                                *flags, *shapes], check=True, capture_output=True)
                subprocess.run([lowbit, "run", so, f"--inputs={m['inputs']}", f"--outputs={aot_out}"],
                               check=True, capture_output=True)
                with np.load(jit_out) as a, np.load(aot_out) as b:
                    exact = all(np.array_equal(a[k], b[k]) for k in a.files)
                row["recipes"][recipe] = {"compile_s": round(compile_s, 2),
                                          "artefact_mb": round(so.stat().st_size / 2**20, 1),
                                          "bit_exact_vs_jit": exact}
                commands[f"lowbit JIT {recipe}"] = [lowbit_run, m["model"], f"--inputs={m['inputs']}",
                                                    "--report", f"--repeat={args.repeat}", "--threads=1",
                                                    *flags, *shapes]
                commands[f"lowbit AOT {recipe}"] = [lowbit, "run", so, f"--inputs={m['inputs']}", "--report",
                                                    f"--repeat={args.repeat}"]
            best: dict[str, dict] = {}
            for _ in range(args.rounds):
                for name, cmd in commands.items():
                    s = measure(cmd)
                    b = best.setdefault(name, s)
                    b["ready_ms"] = min(b["ready_ms"], s["ready_ms"])
                    b["run_ms"] = min(b["run_ms"], s["run_ms"])
                    b["peak_rss_mb"] = min(b["peak_rss_mb"], s["peak_rss_mb"])
                    b["process_s"] = min(b["process_s"], s["process_s"])
            ort_run = best["onnxruntime float"]["run_ms"]
            for s in best.values():
                s["run_vs_ort_float"] = round(s["run_ms"] / ort_run, 3)
            row["configs"] = best
            row["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            results.append(row)
            print_row(row)
    report = {"benchmark": "artefact_load", "machine": machine(onnxruntime=ort.__version__),
              "rounds": args.rounds, "repeat": args.repeat, "threads": 1, "results": results,
              "note": "ready_ms: from process start of the work to a runnable model: JIT = import + "
                      "quantization + lowering + JIT compilation (lowbit-run --report import + quantize + "
                      "compile), AOT = dlopen + "
                      "session creation (lowbit run --report load), onnxruntime = InferenceSession "
                      "creation. Best of the rounds, each in its own process, interleaved; the machine "
                      "may be shared (load_average_1min before/after each model)."}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


def print_row(r: dict) -> None:
    print(f"\n{r['model']}  (.onnx {r['onnx_mb']} MB; load {r['load_average_1min'][0]:.1f} -> "
          f"{r['load_average_1min'][1]:.1f})")
    for recipe, c in r["recipes"].items():
        print(f"  lowbit compile {recipe:9s} {c['compile_s']:6.1f} s, artefact {c['artefact_mb']} MB, "
              f"bit-exact vs JIT: {c['bit_exact_vs_jit']}")
    print(f"  {'config':24s} {'ready ms':>10s} {'run ms':>9s} {'x ort fp32':>10s} {'rss MB':>7s}")
    for name, c in r["configs"].items():
        print(f"  {name:24s} {c['ready_ms']:10.2f} {c['run_ms']:9.3f} {c['run_vs_ort_float']:10.2f} "
              f"{c['peak_rss_mb']:7.1f}")


if __name__ == "__main__":
    sys.exit(main())
