#!/usr/bin/env python3
"""The conv-capable recipes on PP-OCRv4 det, scored with scripts/main.py's metric.

Calibrates PP-OCRv4 det (1x3xSxS) on synthetic document images made by
scripts/main.py's generator with seeds 1..N, then quantizes it with each
recipe through lowbit-run and runs it on the evaluation images (seeds 0 and
100.., disjoint from the calibration seeds; seed 0 is the image main.py
uses). Reported per recipe, against the float onnxruntime output: mean |error|
of the probability map, text-mask pixel agreement and IoU at the detector's
threshold 0.3 (scripts/main.py's report), averaged over the evaluation
images, and the wall time of the lowbit-run call (calibration + quantization
+ JIT + run). Writes bench/results/ppocr_det_recipes.json with the machine
description and prints a table. Nothing is asserted.

    python3 bench/ppocr_det_recipes.py
    python3 bench/ppocr_det_recipes.py --recipes flexq-w6a6,flexq-w6a8-mixed/overrides

`flexq-w6a8-mixed/overrides` is flexq-w6a8-mixed's choice (the sensitivity
pass, budget 0.25) applied as quantize-activations overrides; `float` with
--pipeline runs any pipeline.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402

# PP-OCR's DB post-processing binarises the probability map here (as
# scripts/main.py's report does).
THRESHOLD = 0.3
DEFAULT_RECIPES = ("rtn-w4a16-g128,gptq-w4a16-g128,rtn-w2a16-g64,decoupleq-w2a16-g64,"
                   "rtn-w6a6,flexq-w6a6,flexq-w6a8-mixed,rtn-w8a8")


def load_main():
    spec = importlib.util.spec_from_file_location("lowbit_main", REPO / "scripts" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image(main, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = main.synthetic_document_image((1, 3, size, size), rng)
    return ((img - 0.5) / 0.5).astype(np.float32)


def scores(got: np.ndarray, ref: np.ndarray, threshold: float) -> dict:
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    ref_mask, got_mask = ref > threshold, got > threshold
    union = int(np.logical_or(ref_mask, got_mask).sum())
    iou = float(np.logical_and(ref_mask, got_mask).sum() / union) if union else 1.0
    return {"mean_abs_error": float(diff.mean()), "max_abs_error": float(diff.max()),
            "agreement": float(np.mean(ref_mask == got_mask)), "iou": iou}


OVERRIDES = "flexq-w6a8-mixed/overrides"


def mixed_by_overrides(args, model: Path, shape: str, tmp: Path, row: dict) -> str | None:
    """Calibrates, runs the sensitivity pass (flexq-w6a8-mixed's settings) and
    returns a pipeline with the same W6 g128 / A6 and A8 on the promoted
    layers given as quantize-activations overrides; None (row['error']) on
    failure."""
    stats, report = tmp / "stats_mixed.npz", tmp / "rank.json"
    steps = [[str(args.lowbit_run), str(model), f"--input-shape={shape}", f"--calibrate={tmp / 'calib.npz'}",
              f"--stats-out={stats}"],
             [str(args.lowbit_run.parent / "lowbit-opt"), str(model), f"--input-shape={shape}", "-o", "/dev/null",
              "--pass-pipeline=builtin.module(func.func(sensitivity{weight-bits=6 group-size=128 budget=0.25 "
              f"stats={stats} report={report}}}))"]]
    for command in steps:
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            row["error"] = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            return None
    ranking = json.loads(report.read_text())
    promoted = [layer["layer"] for layer in ranking["layers"] if layer["act_bits"] == 8]
    row["promoted_to_a8"] = promoted
    overrides = ";".join(f"{name}:8" for name in promoted)
    return ("func.func(quantize-weights{method=rtn bits=6 group-size=128 indivisible=per-channel}, "
            f"quantize-activations{{bits=6 overrides=\"{overrides}\"}}, lower-to-lowbit), canonicalize")


def main_(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default=DEFAULT_RECIPES)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--calibration-images", type=int, default=8)
    parser.add_argument("--eval-images", type=int, default=3)
    parser.add_argument("--lowbit-run", type=Path, default=REPO / "build" / "bin" / "lowbit-run")
    parser.add_argument("--pipeline", default="", help="extra --pipeline for every recipe (e.g. a pass after it)")
    parser.add_argument("--label", default="", help="a word stored with the results")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ppocr_det_recipes.json")
    args = parser.parse_args(argv)
    main = load_main()
    import onnxruntime as ort

    model = main.find_det_model()
    shape = f"x=1x3x{args.size}x{args.size}"
    eval_seeds = [0] + [100 + i for i in range(args.eval_images - 1)]
    calib_seeds = list(range(1, args.calibration_images + 1))
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    out_name = session.get_outputs()[0].name
    rows = []
    with tempfile.TemporaryDirectory(prefix="ppocr-recipes-") as tmp:
        tmp = Path(tmp)
        calib = np.concatenate([image(main, args.size, s) for s in calib_seeds])
        np.savez(tmp / "calib.npz", x=calib[:, None])  # [S, 1, 3, H, W]
        evals = [image(main, args.size, s) for s in eval_seeds]
        refs = [session.run([out_name], {"x": e})[0] for e in evals]
        for i, e in enumerate(evals):
            np.savez(tmp / f"in{i}.npz", x=e)
        for recipe in [r for r in args.recipes.split(",") if r]:
            row = {"recipe": recipe}
            per_image = []
            start = time.perf_counter()
            pipeline = args.pipeline
            if recipe == OVERRIDES:
                # flexq-w6a8-mixed's choice applied through quantize-activations
                # overrides (for when conv layers' lowbit.act_bits is not honoured).
                pipeline = mixed_by_overrides(args, model, shape, tmp, row)
                if pipeline is None:
                    rows.append(row)
                    print(f"{recipe:22s} error: {row['error']}", flush=True)
                    continue
            named = recipe not in ("float", OVERRIDES)
            for i in range(len(evals)):
                command = [str(args.lowbit_run), str(model), f"--input-shape={shape}",
                           f"--inputs={tmp / f'in{i}.npz'}", f"--outputs={tmp / 'out.npz'}"]
                if named:
                    command.append(f"--recipe={recipe}")
                if i == 0 and named:
                    command += [f"--calibrate={tmp / 'calib.npz'}", f"--stats-out={tmp / 'stats.npz'}"]
                elif named:
                    command.append(f"--stats-in={tmp / 'stats.npz'}")
                if pipeline:
                    command.append(f"--pipeline={pipeline}")
                # recipes without calibration reject --calibrate / --stats-in
                proc = subprocess.run(command, capture_output=True, text=True)
                if proc.returncode != 0 and "takes no calibration data" in proc.stderr:
                    command = [c for c in command if not c.startswith(("--calibrate", "--stats-"))]
                    proc = subprocess.run(command, capture_output=True, text=True)
                if proc.returncode != 0:
                    row["error"] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
                    break
                with np.load(tmp / "out.npz") as npz:
                    per_image.append(scores(npz[out_name], refs[i], THRESHOLD))
            row["seconds"] = time.perf_counter() - start
            if per_image:
                for key in per_image[0]:
                    row[key] = float(np.mean([p[key] for p in per_image]))
                row["iou_per_image"] = [p["iou"] for p in per_image]
            rows.append(row)
            if "error" in row:
                print(f"{recipe:22s} error: {row['error']}", flush=True)
            else:
                print(f"{recipe:22s} mean|err| {row['mean_abs_error']:.4f}  agreement {row['agreement']:.4f}  "
                      f"IoU {row['iou']:.3f} {['%.3f' % v for v in row['iou_per_image']]}  {row['seconds']:.0f} s",
                      flush=True)
    result = {"model": model.name, "input": shape, "calibration_seeds": calib_seeds,
              "eval_seeds": eval_seeds, "threshold": THRESHOLD, "label": args.label,
              "pipeline_extra": args.pipeline, "lowbit_run": str(args.lowbit_run),
              "machine": machine(), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{'recipe':22s} {'mean|err|':>9s} {'agree':>7s} {'IoU':>6s}")
    for row in rows:
        if "error" in row:
            print(f"{row['recipe']:22s} error: {row['error'][:90]}")
        else:
            print(f"{row['recipe']:22s} {row['mean_abs_error']:9.4f} {row['agreement']:7.4f} {row['iou']:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main_())
