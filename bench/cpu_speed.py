#!/usr/bin/env python3
"""CPU speed of lowbit's float path against onnxruntime on the real models.

For each model (PP-OCRv4 det from rapidocr-onnxruntime, all-MiniLM-L6-v2
built by scripts/build_minilm.py, the Llama-architecture decoder of
scripts/build_llama.py, PP-OCRv4 rec), runs the same input through
  * `lowbit-run --repeat N --report` (one thread; compile time reported
    separately from the fastest run),
  * onnxruntime with 1 and with 2 intra-op threads (fastest of N runs),
and prints a table of milliseconds and ratios (lowbit / onnxruntime), then
writes bench/results/cpu_speed.json with the machine it ran on. Timings are
recorded, never asserted.

    python3 bench/cpu_speed.py [--repeat 5] [--lowbit-run build/bin/lowbit-run]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
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


def time_lowbit(lowbit_run: str, m: dict, repeat: int) -> dict:
    cmd = [lowbit_run, str(m["model"]), f"--inputs={m['inputs']}", "--report", f"--repeat={repeat}"]
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
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "cpu_speed.json"))
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in models(Path(tmp)):
            lb = time_lowbit(args.lowbit_run, m, args.repeat)
            ort1 = time_onnxruntime(m, 1, args.repeat)
            ort2 = time_onnxruntime(m, 2, args.repeat)
            results.append({"model": m["name"], "lowbit_compile_ms": lb["compile_ms"],
                            "lowbit_run_ms": lb["run_ms"], "onnxruntime_1thread_ms": round(ort1, 3),
                            "onnxruntime_2threads_ms": round(ort2, 3),
                            "ratio_vs_ort_1thread": round(lb["run_ms"] / ort1, 2),
                            "ratio_vs_ort_2threads": round(lb["run_ms"] / ort2, 2)})
    print(f"{'model':34s} {'lowbit ms':>10s} {'compile ms':>11s} {'ort 1t ms':>10s} {'ort 2t ms':>10s} "
          f"{'x ort 1t':>9s} {'x ort 2t':>9s}")
    for r in results:
        print(f"{r['model']:34s} {r['lowbit_run_ms']:10.1f} {r['lowbit_compile_ms']:11.0f} "
              f"{r['onnxruntime_1thread_ms']:10.1f} {r['onnxruntime_2threads_ms']:10.1f} "
              f"{r['ratio_vs_ort_1thread']:9.1f} {r['ratio_vs_ort_2threads']:9.1f}")
    print("(x ort = lowbit run time / onnxruntime run time; lowbit runs on one thread)")
    report = {"benchmark": "cpu_speed", "machine": machine(onnxruntime=ort.__version__),
              "repeat": args.repeat, "results": results,
              "note": "float CPU path, one thread: contractions register-tiled and vectorised "
                      "(lowbit-cpu-tile-vectorize, convs through im2col), everything else scalar loops; "
                      "lowbit has no multi-threaded execution yet, so the 2-thread column compares "
                      "one lowbit thread with two onnxruntime threads"}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
