#!/usr/bin/env python3
"""MiniLM accuracy on an evaluation set of real size, with 95 % confidence
intervals, for lowbit's recipes and onnxruntime's quantizers in one run.

all-MiniLM-L6-v2 (scripts/build_minilm.py, static [BATCH, SEQ_LEN]) embeds
the evaluation sentences of test/Inputs/eval_sets/ (scripts/build_eval_sets.py:
1,024 sentences, and 128 disjoint calibration sentences) in float
(onnxruntime), with each lowbit recipe asked for, and with onnxruntime's
quantize_dynamic (int8) and quantize_static (QDQ, per-channel int8, MinMax,
the same calibration sentences). Metrics of each configuration against
float, all "higher is better":

    mean_cosine     mean over sentences of cos(embedding, float embedding)
    p1_cosine       1st percentile of that cosine (the bad tail)
    top10_agreement for each sentence, |its 10 nearest neighbours among the
                    evaluation set (cosine) ∩ float's 10| / 10, averaged
    spearman        Spearman's rho between all pairwise sentence similarities
                    and float's (n (n - 1) / 2 pairs)

Each gets a 95 % percentile-bootstrap interval over sentences (RESAMPLES
resamples of the evaluation sentences with replacement, seed SEED). All
configurations use the SAME resamples, so the difference between two
configurations is bootstrapped paired, and a comparison says "better" only
when the 95 % interval of the difference excludes 0.

Writes bench/results/eval_minilm.json (every number, the machine and the
command) and docs/eval-minilm.md (the tables, printed too).

    PYTHONPATH=build/python_packages python3 bench/eval_harness.py
    python3 bench/eval_harness.py --recipes rtn-w8a8 --ort dynamic --limit 64 \\
        --out /tmp/e.json --doc /tmp/e.md        # smoke run

As a module (the statistics need neither lowbit nor a model):
resample_indices(), bootstrap_ci(), percentile_interval(), rankdata(),
spearman(), top_k_agreement(), pair_ranks(), Metrics, compare(), evaluate().
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import NamedTuple

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
import ort_quantizers  # noqa: E402
from machine import machine  # noqa: E402

SEQ_LEN = 64
BATCH = 16
TOP_K = 10
RESAMPLES = 1000
SEED = 20240523
LEVEL = 0.95
DEFAULT_RECIPES = ("rtn-w8a8", "smoothquant-w8a8", "flexq-w6a8-mixed", "rtn-w4a16-g128")
# onnxruntime configurations, by ort_quantizers.ort_quantize's names.
ORT_CONFIGS = {name: ort_quantizers.ORT_DESCRIPTIONS[name]
               for name in ("dynamic", "static-minmax", "static-minmax-inputs-only")}
# static-minmax is onnxruntime's default (it also quantizes each MatMul's
# output); -inputs-only quantizes what lowbit quantizes (inputs and weights).
DEFAULT_ORT = ("dynamic", "static-minmax", "static-minmax-inputs-only")
METRICS = ("mean_cosine", "p1_cosine", "top10_agreement", "spearman")
RESULT_PATH = REPO_ROOT / "bench" / "results" / "eval_minilm.json"
DOC_PATH = REPO_ROOT / "docs" / "eval-minilm.md"
EVAL_SETS = REPO_ROOT / "test" / "Inputs" / "eval_sets"


# ---------------------------------------------------------------------------
# Statistics (numpy only)


def resample_indices(n: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """[resamples, n] indices drawn with replacement: the bootstrap resamples
    every configuration shares (which makes differences paired)."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central `level` interval of bootstrap replicates."""
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(np.asarray(samples, dtype=np.float64), [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_ci(values, statistic=np.mean, resamples: int = RESAMPLES, seed: int = SEED,
                 level: float = LEVEL) -> tuple[float, float, float]:
    """(point, low, high): statistic(values) and its percentile-bootstrap
    interval over the items of the 1-D `values`. `statistic` must take an
    `axis` keyword (np.mean, np.median, ...)."""
    values = np.asarray(values, dtype=np.float64)
    indices = resample_indices(len(values), resamples, seed)
    replicates = statistic(values[indices], axis=1)
    return (float(statistic(values)), *percentile_interval(replicates, level))


def rankdata(a) -> np.ndarray:
    """Ranks 1..n of a 1-D array, ties get their average rank (as
    scipy.stats.rankdata(method='average'))."""
    a = np.asarray(a).ravel()
    sorter = np.argsort(a, kind="mergesort")
    inverse = np.empty(sorter.size, dtype=np.intp)
    inverse[sorter] = np.arange(sorter.size)
    ordered = a[sorter]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = np.cumsum(first)[inverse]
    bounds = np.r_[np.nonzero(first)[0], len(a)]
    return 0.5 * (bounds[dense] + bounds[dense - 1] + 1)


def spearman(x, y) -> float:
    """Spearman's rho: the Pearson correlation of the (average) ranks."""
    rx, ry = rankdata(x), rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx @ ry) / np.sqrt((rx @ rx) * (ry @ ry)))


def nearest_neighbours(embeddings: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """[n, k]: for each row, the k other rows with the largest cosine
    (rows are L2-normalised), most similar first."""
    sim = np.asarray(embeddings, dtype=np.float64) @ np.asarray(embeddings, dtype=np.float64).T
    np.fill_diagonal(sim, -np.inf)
    return np.argsort(-sim, axis=1, kind="stable")[:, :k]


def top_k_agreement(embeddings: np.ndarray, reference: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """Per row: |k nearest neighbours under `embeddings` ∩ those under
    `reference`| / k (neighbours among the other rows, by cosine)."""
    got, want = nearest_neighbours(embeddings, k), nearest_neighbours(reference, k)
    return np.array([len(set(a) & set(b)) / k for a, b in zip(got.tolist(), want.tolist())])


def pair_ranks(embeddings: np.ndarray) -> np.ndarray:
    """[n, n]: the rank of each pairwise cosine among all n (n - 1) / 2 pairs
    i < j, centred (mean 0), symmetric, zero on the diagonal."""
    emb = np.asarray(embeddings, dtype=np.float64)
    n = len(emb)
    upper = np.triu_indices(n, 1)
    ranks = rankdata((emb @ emb.T)[upper])
    out = np.zeros((n, n))
    out[upper] = ranks - ranks.mean()
    return out + out.T


class PairRankStats:
    """Spearman's rho of the pairwise similarities against a reference, for
    the full set and for bootstrap resamples of the sentences.

    Ranks are taken once over all pairs of the full set. A resample draws
    sentence i c_i times; pair (i, j), i != j, then counts c_i c_j times,
    and rho is the weighted Pearson correlation of the ranks (for the full
    set, all c_i = 1, that is exactly Spearman's rho over the pairs). The
    weighted sums are c^T M c, so 1,000 resamples of 1,000 sentences cost a
    few matrix products instead of 1,000 sorts of 500,000 pairs."""

    def __init__(self, reference: np.ndarray, indices: np.ndarray):
        n = len(reference)
        self.counts = np.stack([np.bincount(row, minlength=n) for row in indices]).astype(np.float64)
        self.x = pair_ranks(reference)
        self.weight = self.counts.sum(1) ** 2 - (self.counts ** 2).sum(1)
        self.sx = self._weighted(self.x)
        self.sxx = self._weighted(self.x * self.x)

    def _weighted(self, matrix: np.ndarray) -> np.ndarray:
        return np.einsum("rj,rj->r", self.counts @ matrix, self.counts)

    @staticmethod
    def _rho(sx, sy, sxx, syy, sxy, w):
        mx, my = sx / w, sy / w
        return (sxy / w - mx * my) / np.sqrt((sxx / w - mx * mx) * (syy / w - my * my))

    def point(self, embeddings: np.ndarray) -> float:
        y = pair_ranks(embeddings)
        # Centred ranks over all pairs: the plain correlation of the triangles.
        upper = np.triu_indices(len(y), 1)
        a, b = self.x[upper], y[upper]
        return float((a @ b) / np.sqrt((a @ a) * (b @ b)))

    def replicates(self, embeddings: np.ndarray) -> np.ndarray:
        y = pair_ranks(embeddings)
        return self._rho(self.sx, self._weighted(y), self.sxx, self._weighted(y * y),
                         self._weighted(self.x * y), self.weight)


class Metric(NamedTuple):
    value: float
    replicates: np.ndarray  # one per bootstrap resample

    def interval(self, level: float = LEVEL) -> tuple[float, float]:
        return percentile_interval(self.replicates, level)


def metrics(embeddings: np.ndarray, reference: np.ndarray, indices: np.ndarray,
            pairs: PairRankStats | None = None, k: int = TOP_K) -> dict[str, Metric]:
    """The four metrics of `embeddings` against `reference` (both [n, d],
    L2-normalised), each with its bootstrap replicates over `indices`."""
    cos = np.sum(np.asarray(embeddings, np.float64) * np.asarray(reference, np.float64), axis=1)
    agree = top_k_agreement(embeddings, reference, k)
    pairs = pairs or PairRankStats(reference, indices)
    return {
        "mean_cosine": Metric(float(cos.mean()), cos[indices].mean(1)),
        "p1_cosine": Metric(float(np.percentile(cos, 1)), np.percentile(cos[indices], 1, axis=1)),
        f"top{k}_agreement": Metric(float(agree.mean()), agree[indices].mean(1)),
        "spearman": Metric(pairs.point(embeddings), pairs.replicates(embeddings)),
    }


def compare(a: Metric, b: Metric, level: float = LEVEL) -> dict:
    """a - b with the paired bootstrap interval of the difference; the
    verdict names a side only when the interval excludes 0."""
    low, high = percentile_interval(a.replicates - b.replicates, level)
    verdict = "a better" if low > 0 else "b better" if high < 0 else "no difference shown"
    return {"difference": a.value - b.value, "ci95": [low, high], "verdict": verdict}


# ---------------------------------------------------------------------------
# The model and the configurations


class MiniLMEvalSet(ort_quantizers.Bench):
    """MiniLM on the evaluation sets, in the shape ort_quantizers' runners
    take (model, calib, evals, output, input_shapes, name)."""

    name = "minilm"
    output = "last_hidden_state"
    input_shapes = None

    def __init__(self, work: Path, calibration: list[str], evaluation: list[str],
                 seq_len: int = SEQ_LEN, batch: int = BATCH):
        if len(calibration) % batch or len(evaluation) % batch:
            raise ValueError(f"the set sizes ({len(calibration)}, {len(evaluation)}) must be multiples "
                             f"of the batch ({batch}) of the static-shape model")
        self.script = ort_quantizers.load_script("build_minilm.py")
        self.model = self.script.build(work / "minilm", seq_len=seq_len, batch=batch).model
        self.calib = self.script.sentence_batches(calibration, seq_len, batch)
        self.evals = self.script.sentence_batches(evaluation, seq_len, batch)
        # Word pieces per sentence, without the model's truncation.
        _, mask = self.script.tokenize(evaluation, 512, self.script.load_vocab())
        self.token_counts = (mask.sum(1) - 2).astype(int).tolist()
        self.truncated = int(sum(p > seq_len - 2 for p in self.token_counts))

    def embeddings(self, outputs: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([self.script.sentence_embeddings(o.astype(np.float64), f["attention_mask"])
                               for o, f in zip(outputs, self.evals)])


def run_ort(config: str, bench: MiniLMEvalSet, work: Path) -> dict:
    start = time.perf_counter()
    path = ort_quantizers.ort_quantize(config, bench, work)
    quant_s = time.perf_counter() - start
    import onnx

    start = time.perf_counter()
    outputs = ort_quantizers.ort_outputs(path, bench)
    return {"outputs": outputs, "weight_bytes": ort_quantizers.initializer_bytes(onnx.load(str(path))),
            "quant_time_s": quant_s, "run_time_s": time.perf_counter() - start}


def evaluate(bench: MiniLMEvalSet, work: Path, recipes, ort_configs, lowbit=None,
             resamples: int = RESAMPLES, seed: int = SEED, log=print) -> dict:
    """Runs float and every configuration; returns the rows (with Metric
    objects under "metrics") and the pairwise comparisons. A configuration
    that fails is recorded with its error and left out of the comparisons."""
    import onnx

    float_bytes = ort_quantizers.initializer_bytes(onnx.load(str(bench.model)))
    start = time.perf_counter()
    reference = bench.embeddings(ort_quantizers.ort_outputs(bench.model, bench))
    rows = [{"config": "float", "tool": "onnxruntime", "description": "float32 model in onnxruntime",
             "status": "ok", "weight_bytes": float_bytes, "run_time_s": time.perf_counter() - start}]
    indices = resample_indices(len(reference), resamples, seed)
    pairs = PairRankStats(reference, indices)
    rows[0]["metrics"] = metrics(reference, reference, indices, pairs)

    jobs = [("onnxruntime", c, ORT_CONFIGS[c], lambda c=c: run_ort(c, bench, work)) for c in ort_configs]
    if recipes:
        side = ort_quantizers.LowbitSide(lowbit, bench, work, float_bytes)
        table = lowbit.recipes()

        jobs += [("lowbit", r, table.get(r, {}).get("description", "unknown recipe"),
                  lambda r=r: side.run(r)) for r in recipes]
    for tool, config, description, job in jobs:
        log(f"eval_harness: {tool} {config} ...")
        row = {"config": config, "tool": tool, "description": description}
        start = time.perf_counter()
        try:
            result = job()
            emb = bench.embeddings(result.pop("outputs"))
            row.update(result)
            if not np.all(np.isfinite(emb)):
                row["status"] = "non-finite embeddings"
            else:
                row["metrics"] = metrics(emb, reference, indices, pairs)
                row["status"] = "ok"
        except Exception as e:  # noqa: BLE001 - a failing configuration is recorded, the rest go on
            traceback.print_exc()
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            row["status"] = f"error: {type(e).__name__}: {first}"
        row["wall_s"] = time.perf_counter() - start
        rows.append(row)
        log(f"eval_harness: {tool} {config}: {row['status']} ({row['wall_s']:.1f} s)")

    measured = [r for r in rows[1:] if r["status"] == "ok"]
    comparisons = []
    for i, a in enumerate(measured):
        for b in measured[i + 1:]:
            comparisons.append({"a": a["config"], "b": b["config"],
                                **{m: compare(a["metrics"][m], b["metrics"][m]) for m in METRICS}})
    return {"rows": rows, "comparisons": comparisons}


# ---------------------------------------------------------------------------
# Output


def jsonable(result: dict) -> dict:
    rows = []
    for row in result["rows"]:
        row = dict(row)
        if "metrics" in row:
            row["metrics"] = {k: {"value": m.value, "ci95": list(m.interval())} for k, m in row["metrics"].items()}
        rows.append(row)
    return {**result, "rows": rows}


def _cell(metric: dict) -> str:
    low, high = metric["ci95"]
    return f"{metric['value']:.4f} [{low:.4f}, {high:.4f}]"


def _signed(x: float) -> str:
    return f"{x:+.4f}"


def markdown(report: dict) -> str:
    s = report["settings"]
    lines = [
        "# MiniLM accuracy with confidence intervals",
        "",
        "Made by `bench/eval_harness.py` (issue 23): all-MiniLM-L6-v2 "
        f"(static [{s['batch']}, {s['seq_len']}]) on {s['evaluation_sentences']} evaluation sentences "
        f"of `test/Inputs/eval_sets/` ({s['truncated_sentences']} longer than {s['seq_len'] - 2} "
        f"word pieces, truncated), calibrated on its {s['calibration_sentences']} disjoint calibration "
        "sentences. Every metric compares a configuration's sentence embeddings with the float model's "
        "(onnxruntime); higher is better. Brackets: 95 % percentile-bootstrap interval over sentences "
        f"({s['resamples']} resamples, seed {s['seed']}).",
        "",
        "```sh",
        report["command"],
        "```",
        "",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores; "
        f"onnxruntime {report['machine'].get('onnxruntime')}, lowbit {report['machine'].get('lowbit_git')}; "
        f"total {report['wall_s'] / 60:.1f} min.",
        "",
        "* `mean_cosine`: mean over sentences of cos(embedding, float embedding).",
        "* `p1_cosine`: 1st percentile of that cosine (the worst 1 % of sentences).",
        f"* `top{s['top_k']}_agreement`: for each sentence, the share of its {s['top_k']} nearest "
        "neighbours in the evaluation set (by cosine) that are also its float neighbours; mean.",
        "* `spearman`: Spearman's rho between all pairwise sentence similarities and float's "
        f"({s['evaluation_sentences'] * (s['evaluation_sentences'] - 1) // 2} pairs).",
        "",
        "| tool | config | mean_cosine | p1_cosine | top10_agreement | spearman | weights MiB | quantize s "
        "| status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        cells = [_cell(row["metrics"][m]) if "metrics" in row else "-" for m in METRICS]
        size = f"{row['weight_bytes'] / 2**20:.1f}" if row.get("weight_bytes") else "-"
        seconds = f"{row['quant_time_s']:.1f}" if "quant_time_s" in row else "-"
        lines.append(f"| {row['tool']} | {row['config']} | " + " | ".join(cells)
                     + f" | {size} | {seconds} | {row['status']} |")
    lines += [
        "",
        "## Paired comparisons",
        "",
        "Difference a - b on the same sentences, with the 95 % interval of the paired bootstrap "
        "difference. A side is named better only when the interval excludes 0; otherwise the "
        "evaluation set does not separate them (`=`).",
        "",
        "| a | b | " + " | ".join(METRICS) + " |",
        "|---|---|" + "---|" * len(METRICS),
    ]
    for c in report["comparisons"]:
        cells = []
        for m in METRICS:
            d = c[m]
            who = {"a better": f"**{c['a']} better**", "b better": f"**{c['b']} better**"}.get(d["verdict"], "=")
            cells.append(f"{_signed(d['difference'])} [{_signed(d['ci95'][0])}, {_signed(d['ci95'][1])}] {who}")
        lines.append(f"| {c['a']} | {c['b']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Method",
        "",
        "* Sets: `scripts/build_eval_sets.py` (sentences from licence texts, Debian copyright files and "
        "package READMEs installed on the build machine; filtered to plain prose, deduplicated on a "
        "lower-case letters-and-digits key, at most 12 per file, ordered by a seeded sha256). "
        "`test/Inputs/eval_sets/provenance.json` lists every source file with its sha256; "
        "`test/python/test_eval_sets.py` rebuilds the sets byte for byte and checks that calibration "
        "and evaluation share no sentence.",
        "* Float: onnxruntime on the float model. lowbit: `lowbit.quantize(model, recipe)` "
        "(calibrated recipes read one `lowbit.calibrate` sidecar of the calibration sentences), "
        "`compile(0)`, CPU JIT. onnxruntime: `quantize_dynamic` (per-channel int8 weights, dynamic "
        "uint8 activations) and `quantize_static` (QDQ, per-channel int8 weights, static int8 "
        "activations, MinMax on the calibration sentences), both on the weight MatMuls only, run in "
        "onnxruntime (functions of `bench/ort_quantizers.py`). `static-minmax` is onnxruntime's "
        "default, which also quantizes each MatMul's output; `static-minmax-inputs-only` "
        "(OpTypesToExcludeOutputQuantization=[MatMul]) quantizes only inputs and weights, as lowbit does.",
        "* `quantize s`: quantization wall time; for calibrated lowbit recipes it includes the one "
        "`lowbit.calibrate` run (shared by all of them, so counted in each).",
        "* Intervals: one set of resamples (sentences drawn with replacement) is shared by every "
        "configuration, so differences are paired. mean/p1 cosine and top-10 agreement are "
        "statistics of per-sentence values (neighbours are found once in the full evaluation set). "
        "For spearman the pair ranks are taken once over all pairs and a resample weights pair (i, j) "
        "by how often both sentences were drawn (exactly Spearman's rho on the full set).",
        "* Weight bytes: as `bench/ort_quantizers.py` counts them (float model's initializers, with "
        "each quantized layer at its stored size; the 47 MB word embedding stays float in all).",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default=",".join(DEFAULT_RECIPES),
                        help="comma-separated lowbit recipes (lowbit-run --list-recipes); '' for none")
    parser.add_argument("--ort", default=",".join(DEFAULT_ORT),
                        help=f"comma-separated onnxruntime configurations from: {', '.join(ORT_CONFIGS)}")
    parser.add_argument("--sets", type=Path, default=EVAL_SETS, help="folder of scripts/build_eval_sets.py output")
    parser.add_argument("--limit", type=int, default=0,
                        help="use only the first N evaluation sentences (a multiple of the batch; smoke runs)")
    parser.add_argument("--resamples", type=int, default=RESAMPLES)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=RESULT_PATH, help=f"JSON output (default {RESULT_PATH})")
    parser.add_argument("--doc", type=Path, default=DOC_PATH, help=f"markdown output (default {DOC_PATH})")
    args = parser.parse_args(argv)
    recipes = [r for r in args.recipes.split(",") if r.strip()]
    ort_configs = [c for c in args.ort.split(",") if c.strip()]
    unknown = [c for c in ort_configs if c not in ORT_CONFIGS]
    if unknown:
        parser.error(f"--ort: unknown configuration(s) {', '.join(unknown)}; known: {', '.join(ORT_CONFIGS)}")

    start = time.perf_counter()
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    import build_eval_sets

    calibration, evaluation = build_eval_sets.load_sets(args.sets)
    if args.limit:
        evaluation = evaluation[: args.limit]
    provenance = json.loads((args.sets / build_eval_sets.PROVENANCE_FILE).read_text())
    lowbit = ort_quantizers.import_lowbit() if recipes else None
    import logging

    import onnx
    import onnxruntime

    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
    command = "python3 bench/eval_harness.py" + "".join(f" {shlex.quote(a)}" for a in (argv or sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix="eval-harness-") as tmp:
        bench = MiniLMEvalSet(Path(tmp), calibration, evaluation)
        result = evaluate(bench, Path(tmp), recipes, ort_configs, lowbit, args.resamples, args.seed,
                          log=lambda m: print(m, file=sys.stderr, flush=True))
    report = {
        "benchmark": "eval_harness minilm",
        "command": command,
        "machine": machine(onnxruntime=onnxruntime.__version__, onnx=onnx.__version__,
                           lowbit_git=ort_quantizers.git_revision()),
        "settings": {"seq_len": SEQ_LEN, "batch": BATCH, "top_k": TOP_K, "resamples": args.resamples,
                     "seed": args.seed, "level": LEVEL, "calibration_sentences": len(calibration),
                     "evaluation_sentences": len(evaluation), "truncated_sentences": bench.truncated,
                     "word_pieces_max": int(max(bench.token_counts)),
                     "word_pieces_mean": float(np.mean(bench.token_counts)),
                     "sets": provenance["sets"]},
        **jsonable(result),
        "wall_s": time.perf_counter() - start,
    }
    text = markdown(report)
    print(text)
    for path, data in ((args.out, json.dumps(report, indent=1) + "\n"), (args.doc, text)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data)
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
