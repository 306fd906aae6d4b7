#!/usr/bin/env python3
"""QuEST W4A4 (hadamard-rotate + Gaussian-MSE scales) against plain RTN W4A4,
part by part, on all-MiniLM-L6-v2 and on the trained byte-level decoder.

Every configuration is one explicit lowbit-run --pipeline (no calibration):

  rtn-w4a4            RTN W4 per channel + dynamic per-token A4, absmax scales
  rot+rtn             hadamard-rotate, then the same
  rot+gmse-w          hadamard-rotate, Gaussian-MSE W4 per channel, absmax A4
  gmse-w+gmse-a       no rotation, Gaussian-MSE W4 and A4 scales
  quest-w4a4          hadamard-rotate + Gaussian-MSE W4 + Gaussian-MSE A4
  quest-w4a4-g128     the same with W4 in groups of 128 (per channel where
                      128 does not divide K)

with block=128 (the recipe) and, on the decoder, whose hidden size is 64,
also block=0 (the block is each layer's K where that is a power of two;
block 128 rotates none of its layers). The rotated column counts the
nn.linear layers hadamard-rotate rewrote. MiniLM (batch 2, 16 tokens, the 2
sentences of scripts/build_minilm.py): minimum sentence-embedding cosine to
onnxruntime's float model. Decoder: held-out perplexity over the windows of
scripts/perplexity.py and delta ppl against lowbit's float ppl, with the
standard error of the paired per-window differences. Writes
bench/results/quest.json with the machine description and prints a table.
Nothing is asserted.

    python3 bench/quest.py [--only minilm|decoder] [--json FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402  (bench/machine.py)

TOOL = REPO / "build" / "bin" / "lowbit-run"
WEIGHTS_DIR = REPO / "test" / "Inputs" / "llama_trained"
SEQ_LEN, BATCH = 16, 2

RTN_W = "quantize-weights{method=rtn bits=4 group-size=0}"
GMSE_W = "quantize-weights{method=gaussian-mse bits=4 group-size=0}"
GMSE_W_G128 = "quantize-weights{method=gaussian-mse bits=4 group-size=128 indivisible=per-channel}"
ABS_A = "quantize-activations{bits=4}"
GMSE_A = "quantize-activations{bits=4 scale=gaussian-mse}"


def configs(block: int) -> dict[str, list[str]]:
    rot = f"hadamard-rotate{{block={block}}}"
    return {
        "rtn-w4a4": [RTN_W, ABS_A],
        "rot+rtn": [rot, RTN_W, ABS_A],
        "rot+gmse-w": [rot, GMSE_W, ABS_A],
        "gmse-w+gmse-a": [GMSE_W, GMSE_A],
        "quest-w4a4": [rot, GMSE_W, GMSE_A],
        "quest-w4a4-g128": [rot, GMSE_W_G128, GMSE_A],
    }


def pipeline(passes: list[str]) -> str:
    return "func.func(" + ", ".join(passes + ["lower-to-lowbit"]) + "), canonicalize"


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lowbit_run(model: Path, inputs: Path, outputs: Path, extra: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([str(TOOL), str(model), f"--inputs={inputs}", f"--outputs={outputs}", *extra],
                          capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"lowbit-run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return time.perf_counter() - start


def rotation_coverage(model: Path, shapes: list[str], block: int) -> str:
    """'rotated/linears' after hadamard-rotate{block} (lowbit-opt; the
    pass's remarks about layers left alone are not shown by lowbit-run)."""
    proc = subprocess.run([str(TOOL.parent / "lowbit-opt"), str(model), *shapes,
                           f"--pass-pipeline=builtin.module(func.func(hadamard-rotate{{block={block}}}))",
                           "--mlir-elide-resource-strings-if-larger=1"],
                          capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"lowbit-opt failed: {proc.stderr[-2000:]}")
    lines = [line for line in proc.stdout.splitlines() if "nn.linear" in line]
    return f"{sum('lowbit.rotated' in line for line in lines)}/{len(lines)}"


def bench_minilm(tmp: Path) -> dict:
    minilm = load("build_minilm", REPO / "scripts" / "build_minilm.py")
    ev = minilm.evaluation(tmp, seq_len=SEQ_LEN, batch=BATCH)
    paths = ev.paths
    rows = []
    runs = [("float", 0, [])] + [(name, 128, passes) for name, passes in configs(128).items()]
    coverage = {128: rotation_coverage(paths.model, [], 128)}
    for name, block, passes in runs:
        out = tmp / "minilm_out.npz"
        extra = ["-O=1"] + ([f"--pipeline={pipeline(passes)}"] if passes else [])
        seconds = lowbit_run(paths.model, paths.inputs, out, extra)
        with np.load(out) as data:
            cosines = ev.cosines(data["last_hidden_state"])
        rotated = "hadamard" in " ".join(passes)
        rows.append({"config": name, "block": block if rotated else None,
                     "pipeline": pipeline(passes) if passes else None,
                     "cosine_min": float(np.min(cosines)),
                     "rotated_layers": coverage[block] if rotated else None,
                     "seconds": round(seconds, 1)})
        print(f"minilm  {name:18s} cosine {rows[-1]['cosine_min']:.5f}  ({seconds:.0f} s)", flush=True)
    return {"model": f"all-MiniLM-L6-v2 (batch {BATCH}, {SEQ_LEN} tokens)",
            "metric": "min over sentences of cosine(sentence embedding, onnxruntime float)", "rows": rows}


def bench_decoder(tmp: Path) -> dict:
    ppl = load("perplexity", REPO / "scripts" / "perplexity.py")
    corpus = ppl.train_llama.load_corpus()
    tokens = ppl.eval_tokens(ppl.SEQ, corpus)
    feeds = ppl.feeds_for(tokens[:, :-1])
    with np.load(WEIGHTS_DIR / "llama_trained_weights.npz") as data:
        weights = {k: data[k] for k in data.files}
    model = tmp / "llama_trained.onnx"
    model.write_bytes(ppl.build_llama.build_model(weights).SerializeToString())
    inputs = tmp / "decoder_in.npz"
    np.savez(inputs, **feeds)
    shapes = ppl.build_llama.input_shapes(feeds)
    runs = [("float", None, [])]
    runs += [(name, 128, passes) for name, passes in configs(128).items()]
    runs += [(name, 0, passes) for name, passes in configs(0).items() if "hadamard" in " ".join(passes)]
    rows, base = [], None
    coverage = {b: rotation_coverage(model, shapes, b) for b in (128, 0)}
    for name, block, passes in runs:
        out = tmp / "decoder_out.npz"
        extra = [*shapes] + ([f"--pipeline={pipeline(passes)}"] if passes else [])
        seconds = lowbit_run(model, inputs, out, extra)
        with np.load(out) as data:
            per_token = ppl.token_nll(data["logits"], tokens[:, 1:])
        nll = float(per_token.mean())
        rotated = "hadamard" in " ".join(passes)
        row = {"config": name, "block": block if rotated else None,
               "pipeline": pipeline(passes) if passes else None,
               "ppl": math.exp(nll) if math.isfinite(nll) else math.inf,
               "rotated_layers": coverage[block] if rotated else None,
               "seconds": round(seconds, 1)}
        window = per_token.mean(axis=1)
        if base is None:
            base = (row["ppl"], window)
        else:
            row["delta_ppl"] = row["ppl"] - base[0]
            row["delta_ppl_se"] = ppl.delta_ppl_stderr(base[1], window, base[0])
        rows.append(row)
        print(f"decoder {name:18s} block {str(row['block']):4s} ppl {row['ppl']:.4f}  ({seconds:.0f} s)", flush=True)
    return {"model": "trained byte-level Llama decoder (test/Inputs/llama_trained: hidden 64, "
                     "intermediate 172, 2 layers)",
            "metric": f"held-out perplexity, {tokens.shape[0]} windows of {ppl.SEQ} bytes",
            "rows": rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("minilm", "decoder"))
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "quest.json")
    args = parser.parse_args(argv)
    if not TOOL.is_file():
        print(f"error: {TOOL} does not exist: build lowbit first", file=sys.stderr)
        return 1
    result = {"benchmark": "quest", "machine": machine(),
              "gaussian_mse_rms_clip": "quantize_dynamic rms_clip = gaussianMseAlpha(bits, Symmetric), "
                                       "lib/Numerics/ClipSearch.h (4 bits: 2.4739)"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.only in (None, "minilm"):
            result["minilm"] = bench_minilm(tmp)
        if args.only in (None, "decoder"):
            result["decoder"] = bench_decoder(tmp)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    if "minilm" in result:
        print(f"\nMiniLM: {result['minilm']['metric']}")
        print(f"{'config':18s} {'block':>5s} {'rotated':>8s} {'cosine':>8s}")
        for r in result["minilm"]["rows"]:
            print(f"{r['config']:18s} {str(r['block'] or '-'):>5s} {r['rotated_layers'] or '-':>8s} "
                  f"{r['cosine_min']:8.5f}")
    if "decoder" in result:
        print(f"\nDecoder: {result['decoder']['metric']}")
        print(f"{'config':18s} {'block':>5s} {'rotated':>8s} {'ppl':>8s} {'delta':>8s} {'(s.e.)':>8s}")
        for r in result["decoder"]["rows"]:
            delta = f"{r['delta_ppl']:8.4f} {r['delta_ppl_se']:8.4f}" if "delta_ppl" in r else f"{'':8s} {'':8s}"
            block = "-" if r["block"] is None else str(r["block"])
            print(f"{r['config']:18s} {block:>5s} {r['rotated_layers'] or '-':>8s} {r['ppl']:8.4f} {delta}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
