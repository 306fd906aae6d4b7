#!/usr/bin/env python3
"""FlexQ sensitivity on all-MiniLM-L6-v2: which linear layers need A8.

Calibrates MiniLM inside lowbit (the 8 calibration sentences of
test/python/test_quantized_minilm.py, 16 tokens each), runs the `sensitivity`
pass (W6 g128 RTN weights; per-layer relative output error of dynamic
per-token A6 and A8 on the 128 calibration rows), and measures the
sentence-embedding cosine to the float model (onnxruntime; min over the 2
evaluation sentences of scripts/build_minilm.py, disjoint from calibration)
of:
  rtn-w8a8, rtn-w6a8 (W6 + A8 everywhere: the upper bound of any A6/A8 mix),
  flexq-w6a6 (A6 everywhere), flexq-w6a8-mixed (A8 on the top 25% = 9 layers),
  the top 6 and top 18 layers by measured sensitivity, and A8 on the 6 FFN
  down projections (layer.N.output.dense), the choice FlexQ's released code
  hard-codes (down_proj), for comparison at the same count.

Writes bench/results/sensitivity_minilm.json (with the machine) and
bench/results/sensitivity_minilm.png (per-layer errors, promoted layers
marked), and prints both tables. `--plot-only` redraws the PNG from the JSON.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
SEQ_LEN, BATCH = 16, 2
W6 = "quantize-weights{method=rtn bits=6 group-size=128 indivisible=per-channel}"


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mixed(stats: Path, budget: float, report: Path | None = None) -> str:
    rep = f" report={report}" if report else ""
    return (f"func.func(sensitivity{{weight-bits=6 group-size=128 budget={budget} stats={stats}{rep}}}, "
            f"{W6}, quantize-activations{{bits=6}}, lower-to-lowbit), canonicalize")


def measure(build: Path) -> dict:
    sys.path.insert(0, str(build / "python_packages"))
    import lowbit
    machine = load("machine", REPO / "bench" / "machine.py")
    minilm = load("build_minilm", REPO / "scripts" / "build_minilm.py")
    tmp = Path(tempfile.mkdtemp(prefix="lowbit-sensitivity-"))
    ev = minilm.evaluation(tmp, seq_len=SEQ_LEN, batch=BATCH)
    paths, feeds = ev.paths, ev.feeds
    calibration = minilm.sentence_batches(minilm.CALIBRATION_SENTENCES, SEQ_LEN, BATCH)
    stats = tmp / "stats.npz"
    start = time.perf_counter()
    lowbit.calibrate(paths.model, calibration, stats_path=stats)
    calibrate_s = time.perf_counter() - start

    report = tmp / "sensitivity.json"
    module = lowbit.import_onnx(paths.model)
    start = time.perf_counter()
    module.run_pipeline(f"func.func(sensitivity{{weight-bits=6 group-size=128 budget=0.25 stats={stats} report={report}}})")
    sensitivity_s = time.perf_counter() - start
    ranking = json.loads(report.read_text())

    configs = {
        "rtn-w8a8": ("recipe", "rtn-w8a8"),
        "rtn-w6a8 (A8 everywhere)": ("recipe", "rtn-w6a8"),
        "flexq-w6a6 (A6 everywhere)": ("recipe", "flexq-w6a6"),
        "flexq-w6a8-mixed (top 9 = 25% A8)": ("recipe", "flexq-w6a8-mixed"),
        "measured top 6 A8": ("pipeline", mixed(stats, 6 / 36)),
        "FFN down (output.dense) 6 A8": (
            "pipeline", f"func.func({W6}, quantize-activations{{bits=6 overrides=layer.?.output.dense:8}}, "
                        "lower-to-lowbit), canonicalize"),
        "measured top 18 A8": ("pipeline", mixed(stats, 0.5)),
    }
    cosines = {}
    for name, (kind, what) in configs.items():
        if kind == "recipe":
            needs = lowbit.recipes()[what]["needs_calibration"]
            module, _ = lowbit.quantize(paths.model, recipe=what, **({"stats_path": stats} if needs else {}))
        else:
            module = lowbit.import_onnx(paths.model)
            module.run_pipeline(what)
        hidden = module.compile(0).run(feeds)["last_hidden_state"]
        cosines[name] = float(np.min(ev.cosines(hidden)))
        print(f"  {name:40s} {cosines[name]:.5f}", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"machine": machine.machine(), "model": "all-MiniLM-L6-v2 (scripts/build_minilm.py)",
            "calibration": f"{len(minilm.CALIBRATION_SENTENCES)} sentences x {SEQ_LEN} tokens",
            "evaluation": f"{BATCH} sentences x {SEQ_LEN} tokens, min sentence-embedding cosine vs onnxruntime float",
            "calibrate_seconds": calibrate_s, "sensitivity_seconds": sensitivity_s,
            "ranking": ranking, "cosine": cosines}


def print_tables(result: dict) -> None:
    print(f"\n{'rank':>4} {'layer':40s} {'err_a6':>8} {'err_a8':>8} bits")
    for layer in result["ranking"]["layers"]:
        print(f"{layer['rank']:4d} {layer['layer']:40s} {layer['err_a6']:8.4f} {layer['err_a8']:8.4f} {layer['act_bits']}")
    print(f"\n{'configuration':40s} cosine")
    for name, c in result["cosine"].items():
        print(f"{name:40s} {c:.5f}")


def plot(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    layers = result["ranking"]["layers"]
    x = np.arange(len(layers))
    fig, ax = plt.subplots(figsize=(13, 5))
    a6 = [l["err_a6"] for l in layers]
    a8 = [l["err_a8"] for l in layers]
    colors = ["tab:red" if l["act_bits"] == 8 else "tab:blue" for l in layers]
    ax.bar(x - 0.2, a6, 0.4, color=colors, label="A6 (red: promoted to A8 by flexq-w6a8-mixed)")
    ax.bar(x + 0.2, a8, 0.4, color="tab:gray", label="A8")
    ax.set_xticks(x)
    ax.set_xticklabels([l["layer"].replace("attention.", "att.").replace("layer.", "L") for l in layers],
                       rotation=75, ha="right", fontsize=7)
    ax.set_ylabel("relative output error, W6 g128 weights")
    ax.set_title("MiniLM-L6: per-layer sensitivity, ranked by err(A6) - err(A8) (128 calibration tokens)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--plot-only", action="store_true", help="redraw the PNG from the recorded JSON")
    args = parser.parse_args()
    json_path = RESULTS / "sensitivity_minilm.json"
    if args.plot_only:
        result = json.loads(json_path.read_text())
    else:
        result = measure(args.build)
        json_path.write_text(json.dumps(result, indent=2) + "\n")
    print_tables(result)
    plot(result, RESULTS / "sensitivity_minilm.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
