#!/usr/bin/env python3
"""Perplexity of a byte-level ONNX decoder with build_llama's interface (the
trained model of scripts/train_llama.py) on the held-out text of
train_llama's corpus, through onnxruntime, lowbit-run or the lowbit Python
package, float or quantized with a lowbit recipe.

    python3 scripts/perplexity.py MODEL.onnx [--runtime ort|lowbit-run|lowbit]
        [--recipe NAME ...] [--seq-len 64] [--calib-windows 64] [--json FILE]

Windows: train_llama.windows(val, S): S + 1 bytes every S bytes of each
file's validation part; the model sees the first S as one prefill with an
empty cache (past = 0, attention mask all ones, positions 0..S-1), and the
perplexity is exp of the mean next-byte NLL (float64 log-softmax of the
logits) over all N x S predictions. All windows run as one batch (one
compile in lowbit). A recipe that needs calibration data is calibrated on
--calib-windows windows of the training split (evenly spaced over
train_llama.windows(train, S)), never on the validation text. With
--recipe, the float perplexity through the same runtime is computed too and
each recipe's delta ppl against it is printed, with its standard error
from the paired per-window NLL differences (s.e.). Exit code 1 with one line
on stderr for a missing model, unknown runtime or a failed lowbit run.

As a module: eval_tokens(), calibration_tokens(), feeds_for(inputs),
mean_nll(logits, targets), logits_onnxruntime(), logits_lowbit_run(),
logits_lowbit(), perplexity(model, runtime, recipe).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
SEQ = 64
CALIB_WINDOWS = 64
RUNTIMES = ("ort", "lowbit-run", "lowbit")


def _load(name: str):
    path = Path(__file__).resolve().parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train_llama = _load("train_llama")
build_llama = train_llama.load_build_llama()


def build_dir() -> Path:
    return Path(os.environ.get("LOWBIT_BUILD_DIR") or REPO_ROOT / "build").resolve()


def eval_tokens(seq: int = SEQ, corpus: dict | None = None) -> np.ndarray:
    """[N, seq + 1] validation windows."""
    corpus = corpus or train_llama.load_corpus()
    return train_llama.windows(corpus["val"], seq)


def calibration_tokens(count: int = CALIB_WINDOWS, seq: int = SEQ,
                       corpus: dict | None = None) -> np.ndarray:
    """[count, seq] inputs: evenly spaced windows of the training split."""
    corpus = corpus or train_llama.load_corpus()
    rows = train_llama.windows(corpus["train"], seq)
    pick = np.linspace(0, len(rows) - 1, count).round().astype(np.int64)
    return rows[pick, :-1]


def feeds_for(inputs: np.ndarray) -> dict[str, np.ndarray]:
    """build_llama's graph inputs for a prefill of inputs [B, S] with an empty
    cache."""
    c = build_llama.CONFIG
    b, s = inputs.shape
    feeds = {"input_ids": np.ascontiguousarray(inputs, dtype=np.int64),
             "attention_mask": np.ones((b, s), dtype=np.int64),
             "position_ids": np.tile(np.arange(s, dtype=np.int64), (b, 1))}
    for l in range(c["layers"]):
        for kind in ("key", "value"):
            feeds[f"past_key_values.{l}.{kind}"] = np.zeros((b, c["kv_heads"], 0, c["head_dim"]),
                                                            dtype=np.float32)
    return feeds


def token_nll(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """-log softmax(logits)[target] per prediction [B, S] in nats (float64;
    inf everywhere when a logit is not finite)."""
    z = np.asarray(logits, dtype=np.float64)
    if not np.all(np.isfinite(z)):
        return np.full(targets.shape, np.inf)
    z = z - z.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]


def mean_nll(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean -log softmax(logits)[target] in nats, computed in float64."""
    return float(token_nll(logits, targets).mean())


def delta_ppl_stderr(window_nll_a: np.ndarray, window_nll_b: np.ndarray, ppl_a: float) -> float:
    """Standard error of ppl_b - ppl_a from the paired per-window mean NLLs
    (windows as the independent samples; delta ppl ~ ppl_a * delta NLL)."""
    d = np.asarray(window_nll_b, dtype=np.float64) - np.asarray(window_nll_a, dtype=np.float64)
    if not np.all(np.isfinite(d)) or d.size < 2:
        return math.inf
    return float(ppl_a * d.std(ddof=1) / math.sqrt(d.size))


def logits_onnxruntime(model, feeds) -> np.ndarray:
    return build_llama.run_onnxruntime(model, feeds)["logits"]


class LowbitError(RuntimeError):
    pass


def _lowbit_run(args: list[str]) -> None:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, errors="replace")
    except OSError as e:
        raise LowbitError(f"cannot run {args[0]}: {e}") from e
    if proc.returncode != 0:
        last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:]
        raise LowbitError(f"lowbit-run failed (exit {proc.returncode}): {' '.join(last)}")


def logits_lowbit_run(model, feeds, recipe: str | None = None, calibration=None,
                      tool: Path | None = None) -> np.ndarray:
    """Runs build/bin/lowbit-run (LOWBIT_BUILD_DIR overrides build/) on feeds.
    With calibration (feeds of any batch size), a first lowbit-run compiled
    for the calibration shapes writes the statistics sidecar (--calibrate
    --stats-out --import-only) and the run on feeds reads it (--stats-in)."""
    tool = Path(tool or build_dir() / "bin" / "lowbit-run")
    if not tool.is_file():
        raise LowbitError(f"{tool} does not exist: build lowbit first")
    with tempfile.TemporaryDirectory() as tmp:
        inputs, outputs = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(inputs, **feeds)
        args = [str(tool), str(model), *build_llama.input_shapes(feeds),
                "--inputs", str(inputs), "--outputs", str(outputs)]
        if recipe:
            args.append(f"--recipe={recipe}")
        if calibration is not None:
            calib, stats = Path(tmp) / "calib.npz", Path(tmp) / "stats.npz"
            np.savez(calib, **calibration)
            _lowbit_run([str(tool), str(model), *build_llama.input_shapes(calibration),
                         f"--calibrate={calib}", f"--stats-out={stats}", f"--recipe={recipe}",
                         "--import-only"])
            args.append(f"--stats-in={stats}")
        _lowbit_run(args)
        with np.load(outputs) as data:
            return data["logits"]


def import_lowbit():
    package = build_dir() / "python_packages"
    if str(package) not in sys.path:
        sys.path.insert(0, str(package))
    import lowbit

    return lowbit


def logits_lowbit(model, feeds, recipe: str | None = None, calibration=None) -> np.ndarray:
    """Through the lowbit Python package: import_onnx, quantize, run."""
    lowbit = import_lowbit()

    def shapes(f):
        return {k: list(v.shape) for k, v in f.items()}

    module = lowbit.import_onnx(str(model), shapes(feeds))
    if recipe and calibration is not None:
        # Calibrate a module compiled for the calibration shapes; the
        # statistics (per layer) do not depend on the batch size.
        with tempfile.TemporaryDirectory() as tmp:
            stats = Path(tmp) / "stats.npz"
            lowbit.calibrate(str(model), [calibration], stats_path=stats,
                             input_shapes=shapes(calibration))
            module, _ = lowbit.quantize(module, recipe=recipe, stats_path=stats)
    elif recipe:
        module, _ = lowbit.quantize(module, recipe=recipe)
    return module.run(feeds)["logits"]


def needs_calibration(recipe: str | None) -> bool:
    if not recipe:
        return False
    table = import_lowbit().recipes()
    if recipe not in table:
        raise LowbitError(f"unknown recipe '{recipe}' (known: {', '.join(table)})")
    return bool(table[recipe]["needs_calibration"])


def perplexity(model, runtime: str = "ort", recipe: str | None = None, seq: int = SEQ,
               calib_windows: int = CALIB_WINDOWS, tokens: np.ndarray | None = None,
               corpus: dict | None = None, tool: Path | None = None) -> dict:
    """{'runtime', 'recipe', 'nll', 'window_nll' (mean NLL per window, an
    array), 'ppl', 'windows', 'predictions', 'calibration_windows', 'seconds'}."""
    if runtime not in RUNTIMES:
        raise LowbitError(f"unknown runtime '{runtime}' (known: {', '.join(RUNTIMES)})")
    if recipe and runtime == "ort":
        raise LowbitError("--recipe needs a lowbit runtime (lowbit-run or lowbit)")
    corpus = corpus or train_llama.load_corpus()
    tokens = eval_tokens(seq, corpus) if tokens is None else tokens
    feeds = feeds_for(tokens[:, :-1])
    calibration = None
    if needs_calibration(recipe):
        calibration = feeds_for(calibration_tokens(calib_windows, seq, corpus))
    start = time.perf_counter()
    if runtime == "ort":
        logits = logits_onnxruntime(model, feeds)
    elif runtime == "lowbit-run":
        logits = logits_lowbit_run(model, feeds, recipe, calibration, tool)
    else:
        logits = logits_lowbit(model, feeds, recipe, calibration)
    seconds = time.perf_counter() - start
    per_token = token_nll(logits, tokens[:, 1:])
    nll = float(per_token.mean())
    return {"runtime": runtime, "recipe": recipe or "float", "nll": nll,
            "window_nll": per_token.mean(axis=1),
            "ppl": math.exp(nll) if math.isfinite(nll) else math.inf,
            "windows": int(tokens.shape[0]), "predictions": int(tokens[:, 1:].size),
            "calibration_windows": calib_windows if calibration is not None else 0,
            "seconds": round(seconds, 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--runtime", default=None, choices=RUNTIMES,
                        help="default: ort, or lowbit-run with --recipe")
    parser.add_argument("--recipe", action="append", default=[],
                        help="lowbit recipe (repeatable); see lowbit-run --list-recipes")
    parser.add_argument("--seq-len", type=int, default=SEQ)
    parser.add_argument("--calib-windows", type=int, default=CALIB_WINDOWS)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--lowbit-run", type=Path, default=None,
                        help="the lowbit-run binary (default: build/bin/lowbit-run)")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        print(f"error: model '{args.model}' does not exist", file=sys.stderr)
        return 1
    if args.seq_len < 2 or args.calib_windows < 1:
        print("error: --seq-len must be >= 2 and --calib-windows >= 1", file=sys.stderr)
        return 1
    runtime = args.runtime or ("lowbit-run" if args.recipe else "ort")
    corpus = train_llama.load_corpus()
    results = []
    try:
        if runtime == "ort" and args.recipe:
            raise LowbitError("--recipe needs a lowbit runtime (lowbit-run or lowbit)")
        for recipe in args.recipe:
            needs_calibration(recipe)  # unknown names fail before any run
        base = perplexity(args.model, runtime, None, args.seq_len, corpus=corpus,
                          tool=args.lowbit_run)
        results.append(base)
        for recipe in args.recipe:
            r = perplexity(args.model, runtime, recipe, args.seq_len, args.calib_windows,
                           corpus=corpus, tool=args.lowbit_run)
            r["delta_ppl"] = r["ppl"] - base["ppl"]
            r["delta_ppl_se"] = delta_ppl_stderr(base["window_nll"], r["window_nll"], base["ppl"])
            results.append(r)
    except LowbitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{'runtime':11s} {'recipe':26s} {'ppl':>9s} {'delta':>9s} {'(s.e.)':>8s} "
          f"{'seconds':>8s}")
    for r in results:
        delta = (f"{r['delta_ppl']:+9.4f} {r['delta_ppl_se']:8.4f}" if "delta_ppl" in r
                 else f"{'':9s} {'':8s}")
        print(f"{r['runtime']:11s} {r['recipe']:26s} {r['ppl']:9.4f} {delta} {r['seconds']:8.1f}")
    print(f"({results[0]['windows']} windows x {args.seq_len} predictions of held-out text)")
    if args.json:
        rows = [{k: v for k, v in r.items() if k != "window_nll"} for r in results]
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
