#!/usr/bin/env python3
"""Calibration inside lowbit and the calibrated recipes on all-MiniLM-L6-v2.

Builds MiniLM (scripts/build_minilm.py, batch 2, 16 tokens), calibrates it on
8 fixed sentences (disjoint from the 2 evaluation sentences) through the CPU
JIT, then quantizes it with every recipe and measures the minimum
sentence-embedding cosine to the float model (onnxruntime) and the seconds
spent calibrating and quantizing. Writes bench/results/calibrated_recipes.json
with the machine description and prints a table. Nothing is asserted.

    PYTHONPATH=build/python_packages python3 bench/calibrated_recipes.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO / "build" / "python_packages"))
from machine import machine  # noqa: E402

import lowbit  # noqa: E402

SEQ_LEN, BATCH = 16, 2


def load_minilm():
    spec = importlib.util.spec_from_file_location("build_minilm", REPO / "scripts" / "build_minilm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "calibrated_recipes.json")
    parser.add_argument("--recipes", default=",".join(lowbit.recipes()))
    args = parser.parse_args(argv)
    minilm = load_minilm()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ev = minilm.evaluation(tmp, seq_len=SEQ_LEN, batch=BATCH)
        paths, feeds = ev.paths, ev.feeds
        calibration = minilm.sentence_batches(minilm.CALIBRATION_SENTENCES, SEQ_LEN, BATCH)
        sidecar = tmp / "stats.npz"
        start = time.perf_counter()
        lowbit.calibrate(paths.model, calibration, stats_path=sidecar)
        calibrate_s = time.perf_counter() - start
        rows = []
        for name in args.recipes.split(","):
            needs = lowbit.recipes()[name]["needs_calibration"]
            start = time.perf_counter()
            module, report = lowbit.quantize(paths.model, name, stats_path=sidecar if needs else None)
            quantize_s = time.perf_counter() - start
            hidden = module.compile(1).run(feeds)["last_hidden_state"]
            rows.append({"recipe": name, "needs_calibration": needs,
                         "cosine_min": float(np.min(ev.cosines(hidden))),
                         "quantize_s": round(quantize_s, 2),
                         "stored_bytes": report["total_stored_bytes"]})
    result = {"benchmark": "calibrated_recipes", "model": "all-MiniLM-L6-v2 (batch 2, 16 tokens)",
              "calibration": {"sentences": len(minilm.CALIBRATION_SENTENCES), "batches": len(calibration),
                              "seconds": round(calibrate_s, 2)},
              "machine": machine(), "recipes": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"calibration: {len(minilm.CALIBRATION_SENTENCES)} sentences in {len(calibration)} batches, {calibrate_s:.1f} s")
    print(f"{'recipe':26s} {'cosine':>8s} {'quantize s':>10s} {'bytes':>10s}")
    for r in rows:
        print(f"{r['recipe']:26s} {r['cosine_min']:8.5f} {r['quantize_s']:10.2f} {r['stored_bytes']:10d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
