#!/usr/bin/env python3
"""Validation perplexity of the trained byte-level Llama decoder
(test/Inputs/llama_trained/, from scripts/train_llama.py) in float through
onnxruntime, lowbit-run and the lowbit Python package, and through
lowbit-run for every lowbit recipe (calibrated recipes on training-split
windows), with delta ppl against lowbit's float ppl and its standard error from the
paired per-window NLL differences (s.e.). Uses
scripts/perplexity.py (windows of 64 bytes of the held-out last 10% of each
license file). Writes bench/results/decoder_ppl.json with the machine and
prints a table. Nothing is asserted; the issue's target (the W8A8 recipes and
flexq-w6a8-mixed: delta ppl <= 0.05) is reported as met or not.

    python3 bench/decoder_ppl.py [--recipe NAME ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402  (bench/machine.py)

WEIGHTS_DIR = REPO / "test" / "Inputs" / "llama_trained"
TARGET_DELTA = 0.05
TARGET_RECIPES = ("rtn-w8a8", "rtn-w8a8-static", "smoothquant-w8a8", "flexq-w6a8-mixed")


def load_perplexity():
    path = REPO / "scripts" / "perplexity.py"
    spec = importlib.util.spec_from_file_location("perplexity", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", action="append", default=None,
                        help="only these recipes (default: all of lowbit.recipes())")
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "decoder_ppl.json"))
    parser.add_argument("--lowbit-run", type=Path, default=None,
                        help="the lowbit-run binary (default: build/bin/lowbit-run)")
    args = parser.parse_args(argv)
    ppl = load_perplexity()
    meta = json.loads((WEIGHTS_DIR / "llama_trained.json").read_text())
    recipes = args.recipe or list(ppl.import_lowbit().recipes())
    corpus = ppl.train_llama.load_corpus()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        with np.load(WEIGHTS_DIR / "llama_trained_weights.npz") as data:
            weights = {k: data[k] for k in data.files}
        model = Path(tmp) / "llama_trained.onnx"
        model.write_bytes(ppl.build_llama.build_model(weights).SerializeToString())
        for runtime in ("ort", "lowbit-run", "lowbit"):
            rows.append(ppl.perplexity(model, runtime, corpus=corpus, tool=args.lowbit_run))
            print(f"{runtime:11s} float {rows[-1]['ppl']:.4f}", flush=True)
        base = rows[1]["ppl"]
        for recipe in recipes:
            try:
                r = ppl.perplexity(model, "lowbit-run", recipe, corpus=corpus,
                                   tool=args.lowbit_run)
                r["delta_ppl"] = r["ppl"] - base
                r["delta_ppl_se"] = ppl.delta_ppl_stderr(rows[1]["window_nll"], r["window_nll"],
                                                         base)
            except ppl.LowbitError as e:
                r = {"runtime": "lowbit-run", "recipe": recipe, "error": str(e)}
            rows.append(r)
            print(f"lowbit-run  {recipe} {r.get('ppl', float('nan')):.4f}", flush=True)
    targets = {name: {"delta_ppl": next((r.get("delta_ppl") for r in rows
                                         if r["recipe"] == name), None),
                      "delta_ppl_se": next((r.get("delta_ppl_se") for r in rows
                                            if r["recipe"] == name), None),
                      "target": TARGET_DELTA}
               for name in TARGET_RECIPES}
    for t in targets.values():
        d = t["delta_ppl"]
        t["met"] = None if d is None else bool(math.isfinite(d) and d <= TARGET_DELTA)
    rows = [{k: v for k, v in r.items() if k != "window_nll"} for r in rows]
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    report = {"benchmark": "decoder_ppl", "machine": machine(lowbit_commit=commit or "unknown"),
              "model": {"weights": str(WEIGHTS_DIR.relative_to(REPO)),
                        "config": meta["config"], "training": meta["training"],
                        "corpus": meta["corpus"], "recorded_val_ppl": meta["eval"]["val_ppl"],
                        "unigram_val_ppl": meta["eval"]["unigram_val_ppl"]},
              "eval": {"seq_len": ppl.SEQ, "calibration_windows": ppl.CALIB_WINDOWS,
                       "text": "validation split (last 10% of each file)"},
              "results": rows, "targets": targets}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(f"{'runtime':11s} {'recipe':26s} {'ppl':>9s} {'delta ppl':>10s} {'(s.e.)':>8s} "
          f"{'seconds':>8s}")
    for r in rows:
        if "error" in r:
            print(f"{r['runtime']:11s} {r['recipe']:26s} error: {r['error']}")
            continue
        delta = (f"{r['delta_ppl']:+10.4f} {r['delta_ppl_se']:8.4f}" if "delta_ppl" in r
                 else f"{'':10s} {'':8s}")
        print(f"{r['runtime']:11s} {r['recipe']:26s} {r['ppl']:9.4f} {delta} {r['seconds']:8.1f}")
    print(f"unigram ppl {meta['eval']['unigram_val_ppl']:.3f}; {rows[0]['windows']} windows, "
          f"{rows[0]['predictions']} predictions")
    for name, t in targets.items():
        d = "n/a" if t["delta_ppl"] is None else f"{t['delta_ppl']:+.4f}"
        verdict = {None: "not measured", True: "met", False: "NOT met"}[t["met"]]
        print(f"target {name}: delta ppl {d} <= {TARGET_DELTA}: {verdict}")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
