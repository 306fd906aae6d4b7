#!/usr/bin/env python3
"""CPU speed of lowbit's float path against onnxruntime on the real models.

For each model (PP-OCRv4 det from rapidocr-onnxruntime, all-MiniLM-L6-v2
built by scripts/build_minilm.py, the Llama-architecture decoder of
scripts/build_llama.py, PP-OCRv4 rec), runs the same input through
  * `lowbit-run --repeat N --report --threads T` for T = 1 and T = 2
    (compile time reported separately from the fastest run),
  * onnxruntime with 1 and with 2 intra-op threads (fastest of N runs),
and prints a table of milliseconds and ratios (lowbit T threads /
onnxruntime T threads, same run), then writes bench/results/cpu_speed.json
with the machine it ran on and the load average around each model (the
machine may be shared: timings can be noisy). Timings are recorded, never
asserted.

    python3 bench/cpu_speed.py [--repeat 5] [--lowbit-run build/bin/lowbit-run] [--threads 2]
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
import onnxruntime as ort

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402  (bench/machine.py)


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def models(work: Path) -> list[dict]:
    main = load("lowbit_main", REPO / "scripts" / "main.py")
    out = []
    det = Path(importlib.util.find_spec("rapidocr_onnxruntime").origin).parent / "models" / "ch_PP-OCRv4_det_infer.onnx"
    for size in (256, 640):
        x = np.asarray(main.synthetic_document_image((1, 3, size, size), np.random.default_rng(0)), np.float32)
        inputs = work / f"det_{size}.npz"
        np.savez(inputs, x=x)
        out.append({"name": f"PP-OCRv4 det 1x3x{size}x{size}", "model": det, "inputs": inputs,
                    "shapes": [f"x=1x3x{size}x{size}"], "feeds": {"x": x}})
    minilm = load("build_minilm", REPO / "scripts" / "build_minilm.py")
    paths = minilm.build(work / "minilm", seq_len=128, batch=1)
    with np.load(paths.inputs) as data:
        feeds = {k: data[k] for k in data.files}
    out.append({"name": "all-MiniLM-L6-v2 1x128 tokens", "model": paths.model, "inputs": paths.inputs,
                "shapes": [], "feeds": feeds})
    # The Llama-architecture decoder of scripts/build_llama.py: a 128-token
    # prefill with an empty cache (weights do not change the run time).
    llama = load("build_llama", REPO / "scripts" / "build_llama.py")
    lpaths = llama.build(work / "llama")
    feeds = llama.prefill_inputs(batch=1, seq=128, past=0)
    inputs = work / "llama_prefill128.npz"
    np.savez(inputs, **feeds)
    out.append({"name": "Llama decoder (2x64) prefill 128", "model": lpaths.model, "inputs": inputs,
                "shapes": [a.split("=", 1)[1] for a in llama.input_shapes(feeds)], "feeds": feeds})
    rec = det.parent / "ch_PP-OCRv4_rec_infer.onnx"
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 48, 320)).astype(np.float32)
    inputs = work / "rec.npz"
    np.savez(inputs, x=x)
    out.append({"name": "PP-OCRv4 rec 1x3x48x320", "model": rec, "inputs": inputs,
                "shapes": ["x=1x3x48x320"], "feeds": {"x": x}})
    return out


def time_lowbit(lowbit_run: str, m: dict, repeat: int, threads: int = 1) -> dict:
    cmd = [lowbit_run, str(m["model"]), f"--inputs={m['inputs']}", "--report", f"--repeat={repeat}",
           f"--threads={threads}"]
    cmd += [f"--input-shape={s}" for s in m["shapes"]]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"lowbit-run failed on {m['name']}:\n{proc.stderr}")
    compile_ms = float(re.search(r"compile: ([0-9.]+) ms", proc.stdout).group(1))
    run_ms = float(re.search(r"run: ([0-9.]+) ms", proc.stdout).group(1))
    return {"compile_ms": compile_ms, "run_ms": run_ms}


def time_onnxruntime(m: dict, threads: int, repeat: int) -> float:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(m["model"]), options, providers=["CPUExecutionProvider"])
    session.run(None, m["feeds"])  # warm-up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        session.run(None, m["feeds"])
        best = min(best, (time.perf_counter() - start) * 1000)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--lowbit-run", default=str(REPO / "build" / "bin" / "lowbit-run"))
    parser.add_argument("--threads", type=int, default=2,
                        help="the multi-threaded column: lowbit and onnxruntime on this many threads")
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "cpu_speed.json"))
    args = parser.parse_args()
    n = args.threads
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in models(Path(tmp)):
            load_before = os.getloadavg()[0]
            lb1 = time_lowbit(args.lowbit_run, m, args.repeat, 1)
            lbn = time_lowbit(args.lowbit_run, m, args.repeat, n)
            ort1 = time_onnxruntime(m, 1, args.repeat)
            ortn = time_onnxruntime(m, n, args.repeat)
            results.append({"model": m["name"],
                            "lowbit_compile_ms": lb1["compile_ms"], "lowbit_run_ms": lb1["run_ms"],
                            f"lowbit_compile_{n}threads_ms": lbn["compile_ms"],
                            f"lowbit_run_{n}threads_ms": lbn["run_ms"],
                            "onnxruntime_1thread_ms": round(ort1, 3),
                            f"onnxruntime_{n}threads_ms": round(ortn, 3),
                            "ratio_vs_ort_1thread": round(lb1["run_ms"] / ort1, 2),
                            f"ratio_{n}threads_vs_ort_{n}threads": round(lbn["run_ms"] / ortn, 2),
                            f"lowbit_speedup_{n}threads": round(lb1["run_ms"] / lbn["run_ms"], 2),
                            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]})
    print(f"{'model':34s} {'lb 1t ms':>9s} {f'lb {n}t ms':>9s} {'ort 1t ms':>9s} {f'ort {n}t ms':>9s} "
          f"{'x ort 1t':>8s} {f'x ort {n}t':>8s} {'compile 1t/' + str(n) + 't s':>15s} {'load':>9s}")
    for r in results:
        print(f"{r['model']:34s} {r['lowbit_run_ms']:9.1f} {r[f'lowbit_run_{n}threads_ms']:9.1f} "
              f"{r['onnxruntime_1thread_ms']:9.1f} {r[f'onnxruntime_{n}threads_ms']:9.1f} "
              f"{r['ratio_vs_ort_1thread']:8.2f} {r[f'ratio_{n}threads_vs_ort_{n}threads']:8.2f} "
              f"{r['lowbit_compile_ms'] / 1000:7.1f}/{r[f'lowbit_compile_{n}threads_ms'] / 1000:<7.1f} "
              f"{r['load_average_1min'][0]:4.1f}/{r['load_average_1min'][1]:<4.1f}")
    print(f"(x ort Nt = lowbit run time on N threads / onnxruntime run time on N threads, same run; "
          f"load = 1-minute load average before/after the model on this {os.cpu_count()}-core machine)")
    report = {"benchmark": "cpu_speed", "machine": machine(onnxruntime=ort.__version__),
              "repeat": args.repeat, "threads": n, "results": results,
              "note": f"float CPU path: contractions register-tiled and vectorised "
                      f"(lowbit-cpu-tile-vectorize, convs through im2col), everything else scalar loops; "
                      f"lowbit on {n} threads (--threads {n}) splits the output tiles / rows of large ops "
                      f"over MLIR's async runtime. The machine may be shared with other jobs "
                      f"(load_average_1min before/after each model): timings, the {n}-thread ones most, "
                      f"can be noisy."}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
