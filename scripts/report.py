#!/usr/bin/env python3
"""lowbit report: quantize a model with a recipe and write what it cost, per
layer and for the whole model, as JSON, Markdown and a PNG plot.

    python3 scripts/report.py [--model det|minilm|llama|PATH.onnx] [--recipe NAME]
        [--input-shape NAME=DIMS ...] [--calibration-samples N] [--out DIR]
    python3 scripts/report.py --model PATH.onnx --recipe NAME --inputs EVAL.npz
        [--calibrate CAL.npz]

Models (all from packages or the repository, nothing downloaded):
  det     PP-OCRv4 det from rapidocr-onnxruntime at 1x3x256x256 on a synthetic
          document image; metric: probability-map error and text-mask (p > 0.3)
          agreement / IoU against onnxruntime's float output. Calibration
          images: the same generator with other seeds.
  minilm  all-MiniLM-L6-v2 (scripts/build_minilm.py, batch 2, 16 tokens);
          metric: min sentence-embedding cosine to onnxruntime's float model on
          the 2 evaluation sentences; calibration: the 8 calibration sentences.
  llama   the trained decoder of scripts/train_llama.py (weights in
          test/Inputs/llama_trained); metric: held-out perplexity (float
          through onnxruntime) and delta ppl; calibration: windows of the
          training split (scripts/perplexity.py).
  PATH    any ONNX model; inputs from scripts/main.py's generator (seed 0),
          calibration from other seeds; metric: max relative error and cosine
          of each output against onnxruntime. With --inputs EVAL.npz the
          user's own evaluation data instead (its shapes fix the input
          shapes), and --calibrate CAL.npz the calibration samples.

What is measured, through the lowbit Python package (build/python_packages):
the model is imported twice with `insert-observers` taps on the inputs of its
linear and conv layers, one copy kept float, the other quantized with the
recipe (calibrated first when the recipe needs data); `observers-to-results`
turns the taps into outputs, and both run on the same evaluation input.
  * per layer: weight and activation bits, storage, bytes (the recipe's
    weight-memory-report) and the relative error ||x_q - x|| / ||x|| of the
    layer's input in the quantized model against the float model: the error
    the quantized layers before it have accumulated by the time it runs;
  * the model-level metric above;
  * per_layer.png: that error per layer in graph order (log scale), bars
    coloured by weight / activation bits.
Writes DIR/report.json, DIR/report.md and DIR/per_layer.png (default DIR:
build/report/<model>-<recipe>) and prints the Markdown. Exit code 1 with one
line on stderr on a bad flag, a missing model or a failed compile.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
DET_SHAPE = (1, 3, 256, 256)
DET_THRESHOLD = 0.3
TAP = "func.func(insert-observers{hessians=false})"
OBSERVE_PREFIX = "observe:"


class ReportError(Exception):
    """A problem that ends the report with a one-line message."""


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def import_lowbit():
    build = Path(os.environ.get("LOWBIT_BUILD_DIR") or REPO_ROOT / "build").resolve()
    package = build / "python_packages"
    if str(package) not in sys.path:
        sys.path.insert(0, str(package))
    try:
        import lowbit
    except ImportError as err:
        raise ReportError(f"cannot import the lowbit Python package from {package} ({err}); "
                          "build it first (bash scripts/build.sh)") from None
    return lowbit


# --- model profiles -----------------------------------------------------------
#
# A profile gives the model file, the static input shapes, the evaluation
# feeds, calibration feeds (a list of dicts, made only when asked) and the
# metric: metric(reference_outputs, outputs) -> dict of numbers, where
# reference_outputs are onnxruntime's float outputs on the evaluation feeds.


class Profile:
    name = ""
    description = ""

    def calibration(self, count: int) -> list[dict[str, np.ndarray]]:
        raise NotImplementedError

    def metric(self, reference: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> dict:
        raise NotImplementedError

    def headline(self, metric: dict) -> str:
        raise NotImplementedError


def onnxruntime_outputs(model: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def output_errors(reference: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> dict:
    """Per output: max |q - ref| / max |ref| and the cosine of the flattened
    tensors, both in float64."""
    result = {}
    for name, ref in reference.items():
        got = outputs.get(name)
        if got is None or got.shape != ref.shape:
            raise ReportError(f"the quantized model's output {name} is missing or has another shape")
        r = ref.astype(np.float64).ravel()
        g = got.astype(np.float64).ravel()
        denom = float(np.linalg.norm(r) * np.linalg.norm(g))
        result[name] = {
            "max_relative_error": float(np.abs(g - r).max() / max(float(np.abs(r).max()), 1e-30)),
            "cosine": float(r @ g / denom) if denom > 0 else float("nan"),
        }
    return result


class GenericProfile(Profile):
    """Any ONNX model, with scripts/main.py's deterministic inputs."""

    def __init__(self, model: Path, shape_flags: list[str], main_module, seed: int = 0):
        import onnx

        self.main = main_module
        self.name = model.stem
        self.model = model
        self.description = f"{model} (inputs: scripts/main.py's generator)"
        graph_model = onnx.load(str(model), load_external_data=False)
        self.inputs = main_module.graph_inputs(graph_model)
        overrides = dict(main_module.parse_shape_flag(flag) for flag in shape_flags)
        self.shapes = main_module.resolve_input_shapes(self.inputs, overrides)
        self.seed = seed
        self.feeds, _ = main_module.make_inputs(self.inputs, self.shapes, seed)

    def calibration(self, count: int) -> list[dict[str, np.ndarray]]:
        # Seeds far from the evaluation seed: calibration never sees the
        # evaluation input.
        return [self.main.make_inputs(self.inputs, self.shapes, self.seed + 1000 + i)[0]
                for i in range(count)]

    def metric(self, reference, outputs) -> dict:
        return {"outputs": output_errors(reference, outputs)}

    def headline(self, metric: dict) -> str:
        worst = min(v["cosine"] for v in metric["outputs"].values())
        return f"min output cosine {worst:.4f}"


class UserDataProfile(GenericProfile):
    """Any ONNX model on the user's own data: evaluation feeds from an .npz
    (one array per input, by name; their shapes fix the input shapes) and,
    for calibrated recipes, calibration samples from another .npz (per
    input [S, *shape], or one sample of exactly the input's shape)."""

    def __init__(self, model: Path, inputs: Path, calibrate: Path | None):
        import onnx

        self.name = model.stem
        self.model = model
        self.description = f"{model} (inputs: {inputs})"
        graph = onnx.load(str(model), load_external_data=False)
        initializers = {i.name for i in graph.graph.initializer}
        names = [i.name for i in graph.graph.input if i.name not in initializers]
        self.feeds = self._read(inputs, names, "--inputs")
        self.shapes = {k: tuple(v.shape) for k, v in self.feeds.items()}
        self.calibrate_path = calibrate
        self.names = names

    @staticmethod
    def _read(path: Path, names: list[str], flag: str) -> dict[str, np.ndarray]:
        if not path.is_file():
            raise ReportError(f"{flag}: '{path}' does not exist")
        try:
            with np.load(path) as data:
                arrays = {k: data[k] for k in data.files}
        except Exception as err:  # noqa: BLE001 - any unreadable file: one line
            raise ReportError(f"{flag}: cannot read '{path}' as .npz: {err}") from None
        missing = [n for n in names if n not in arrays]
        if missing:
            raise ReportError(f"{flag}: '{path}' has no array for input(s) {missing}")
        return {n: arrays[n] for n in names}

    def calibration(self, count: int) -> list[dict[str, np.ndarray]]:
        if self.calibrate_path is None:
            raise ReportError("the recipe needs calibration data: give --calibrate CAL.npz")
        arrays = self._read(self.calibrate_path, self.names, "--calibrate")
        counts = set()
        for name, a in arrays.items():
            shape = self.shapes[name]
            if a.shape == shape:
                arrays[name] = a[None]
            elif a.shape[1:] != shape:
                raise ReportError(f"--calibrate: input '{name}' expects [S, {', '.join(map(str, shape))}] "
                                  f"or {list(shape)}, got {list(a.shape)}")
            counts.add(arrays[name].shape[0])
        if len(counts) != 1:
            raise ReportError(f"--calibrate: inputs hold different sample counts {sorted(counts)}")
        n = counts.pop()
        if count:
            n = min(n, count)
        return [{k: np.ascontiguousarray(v[i]) for k, v in arrays.items()} for i in range(n)]


class DetProfile(GenericProfile):
    """PP-OCRv4 det: probability-map error and text-mask agreement."""

    def __init__(self, main_module, model: Path | None = None, shape_flags=None, seed: int = 0):
        model = model or main_module.find_det_model()
        flags = shape_flags or ["x=" + "x".join(map(str, DET_SHAPE))]
        super().__init__(model, flags, main_module, seed)
        self.name = "det"
        self.description = (f"PP-OCRv4 det ({model.name}), synthetic document image "
                            f"{'x'.join(map(str, next(iter(self.shapes.values()))))}, seed {seed}")

    def metric(self, reference, outputs) -> dict:
        result = super().metric(reference, outputs)
        name, ref = next(iter(reference.items()))
        got = outputs[name]
        ref_mask, got_mask = ref > DET_THRESHOLD, got > DET_THRESHOLD
        union = int(np.logical_or(ref_mask, got_mask).sum())
        result.update({
            "max_abs_error": float(np.abs(got.astype(np.float64) - ref).max()),
            "mean_abs_error": float(np.abs(got.astype(np.float64) - ref).mean()),
            "mask_agreement": float(np.mean(ref_mask == got_mask)),
            "mask_iou": float(np.logical_and(ref_mask, got_mask).sum() / union) if union else 1.0,
            "text_pixels_float": int(ref_mask.sum()),
        })
        return result

    def headline(self, metric: dict) -> str:
        return (f"text mask (p > {DET_THRESHOLD}) pixel agreement {metric['mask_agreement']:.2%}, "
                f"IoU {metric['mask_iou']:.3f} ({metric['text_pixels_float']} text pixels in float)")


class MiniLMProfile(Profile):
    seq_len, batch = 16, 2

    def __init__(self, tmp: Path):
        self.minilm = _load("build_minilm", REPO_ROOT / "scripts" / "build_minilm.py")
        self.evaluation = self.minilm.evaluation(tmp, seq_len=self.seq_len, batch=self.batch)
        self.name = "minilm"
        self.model = self.evaluation.paths.model
        self.description = (f"all-MiniLM-L6-v2 (scripts/build_minilm.py), batch {self.batch}, "
                            f"{self.seq_len} tokens, the 2 evaluation sentences")
        self.feeds = self.evaluation.feeds
        self.shapes = {k: v.shape for k, v in self.feeds.items()}

    def calibration(self, count: int) -> list[dict[str, np.ndarray]]:
        batches = self.minilm.sentence_batches(self.minilm.CALIBRATION_SENTENCES, self.seq_len, self.batch)
        return batches[:count] if count else batches

    def metric(self, reference, outputs) -> dict:
        cosines = self.evaluation.cosines(outputs["last_hidden_state"])
        return {"sentence_cosine": [float(c) for c in cosines], "sentence_cosine_min": float(cosines.min()),
                "outputs": output_errors(reference, outputs)}

    def headline(self, metric: dict) -> str:
        return f"min sentence-embedding cosine to float {metric['sentence_cosine_min']:.4f}"


class LlamaProfile(Profile):
    windows = 16

    def __init__(self, tmp: Path):
        self.ppl = _load("perplexity", REPO_ROOT / "scripts" / "perplexity.py")
        weights_dir = REPO_ROOT / "test" / "Inputs" / "llama_trained"
        with np.load(weights_dir / "llama_trained_weights.npz") as data:
            weights = {k: data[k] for k in data.files}
        self.model = tmp / "llama_trained.onnx"
        self.model.write_bytes(self.ppl.build_llama.build_model(weights).SerializeToString())
        self.name = "llama"
        self.corpus = self.ppl.train_llama.load_corpus()
        tokens = self.ppl.eval_tokens(self.ppl.SEQ, self.corpus)
        pick = np.linspace(0, len(tokens) - 1, min(self.windows, len(tokens))).round().astype(np.int64)
        self.tokens = tokens[pick]
        self.feeds = self.ppl.feeds_for(self.tokens[:, :-1])
        self.shapes = {k: v.shape for k, v in self.feeds.items()}
        self.description = (f"trained Llama-architecture decoder (test/Inputs/llama_trained), "
                            f"{len(self.tokens)} held-out windows of {self.ppl.SEQ} bytes")

    def calibration(self, count: int) -> list[dict[str, np.ndarray]]:
        rows = self.ppl.calibration_tokens(count or self.ppl.CALIB_WINDOWS, self.ppl.SEQ, self.corpus)
        # One batch per window keeps the calibration module at batch 1.
        return [self.ppl.feeds_for(rows[i:i + 1]) for i in range(len(rows))]

    def metric(self, reference, outputs) -> dict:
        targets = self.tokens[:, 1:]
        ref_nll = self.ppl.mean_nll(reference["logits"], targets)
        got_nll = self.ppl.mean_nll(outputs["logits"], targets)
        ppl_f, ppl_q = math.exp(ref_nll), math.exp(got_nll) if math.isfinite(got_nll) else math.inf
        return {"ppl_float": ppl_f, "ppl": ppl_q, "delta_ppl": ppl_q - ppl_f,
                "windows": int(len(self.tokens)), "outputs": output_errors(
                    {"logits": reference["logits"]}, {"logits": outputs["logits"]})}

    def headline(self, metric: dict) -> str:
        return (f"perplexity {metric['ppl']:.4f} vs float {metric['ppl_float']:.4f} "
                f"(delta {metric['delta_ppl']:+.4f}, {metric['windows']} windows)")


# --- measurement ----------------------------------------------------------------


def _tapped_module(lowbit, profile: Profile):
    module = lowbit.import_onnx(str(profile.model), {k: list(v) for k, v in profile.shapes.items()})
    module.run_pipeline(TAP)
    return module


def _split(outputs: dict[str, np.ndarray], tap_names: dict[str, list[str]]) -> tuple[dict, dict]:
    """(model outputs, taps by result name): results added for taps are
    named observe:<layer>; a model output can be a tap too."""
    taps = {k: v for k, v in outputs.items() if k in tap_names}
    model = {k: v for k, v in outputs.items() if not k.startswith(OBSERVE_PREFIX)}
    return model, taps


def observed_names(module_text: str) -> dict[str, list[str]]:
    """{result name: layer names} of the taps observers-to-results turned
    into results: its `lowbit.observe = [...]` result attributes. A tap of a
    value the model already returns (or another tap returns) is listed on
    that result, so the key can be a model output's name."""
    names = {}
    for attrs in re.findall(r"\{([^{}]*lowbit\.observe = \[[^\]]*\][^{}]*)\}", module_text):
        listed = re.search(r"lowbit\.observe = \[([^\]]*)\]", attrs).group(1)
        key = re.search(r'onnx\.name = "((?:[^"\\]|\\.)*)"', attrs)
        layers = re.findall(r'"((?:[^"\\]|\\.)*)"', listed)
        if key and layers:
            names[key.group(1)] = layers
    return names


def measure(profile: Profile, recipe: str, calibration_samples: int, tmp: Path) -> dict:
    lowbit = import_lowbit()
    table = lowbit.recipes()
    if recipe not in table:
        raise ReportError(f"unknown recipe '{recipe}' (known: {', '.join(table)})")
    needs = bool(table[recipe]["needs_calibration"])
    timings = {}

    start = time.perf_counter()
    float_module = _tapped_module(lowbit, profile)
    float_module.run_pipeline("observers-to-results")
    tap_names = observed_names(str(float_module))
    _, float_taps = _split(float_module.run(profile.feeds), tap_names)
    timings["float_s"] = round(time.perf_counter() - start, 2)

    stats = None
    calibration = []
    if needs:
        start = time.perf_counter()
        calibration = profile.calibration(calibration_samples)
        stats = tmp / "stats.npz"
        shapes = {k: list(v.shape) for k, v in calibration[0].items()}
        lowbit.calibrate(str(profile.model), calibration, stats_path=stats, input_shapes=shapes)
        timings["calibrate_s"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    quant_module = _tapped_module(lowbit, profile)
    quant_module, weights = lowbit.quantize(quant_module, recipe, stats_path=stats)
    quant_module.run_pipeline("observers-to-results")
    timings["quantize_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    quant_outputs, quant_taps = _split(quant_module.run(profile.feeds), tap_names)
    timings["quantized_run_s"] = round(time.perf_counter() - start, 2)

    reference = onnxruntime_outputs(profile.model, profile.feeds)
    metric = profile.metric(reference, quant_outputs)

    # A value read by several layers (q/k/v) has one tap, returned once under
    # the first layer's name; the result attribute lists them all.
    tap_error = {}
    for key, f in float_taps.items():
        q = quant_taps.get(key)
        if q is None or q.shape != f.shape:
            raise ReportError(f"tap {key} is missing from the quantized model or changed shape")
        norm = float(np.linalg.norm(f.astype(np.float64)))
        diff = float(np.linalg.norm(q.astype(np.float64) - f.astype(np.float64)))
        error = diff / norm if norm > 0 else (0.0 if diff == 0 else math.inf)
        for layer in tap_names[key]:
            tap_error[layer] = error
    layers = []
    for entry in weights["layers"]:
        row = dict(entry)
        row["input_relative_error"] = tap_error.get(entry["layer"])
        layers.append(row)

    return {
        "model": profile.name, "model_description": profile.description,
        "recipe": recipe, "recipe_description": table[recipe]["description"],
        "calibration_samples": len(calibration),
        "metric": metric, "headline": profile.headline(metric),
        "total_f32_bytes": weights["total_f32_bytes"], "total_stored_bytes": weights["total_stored_bytes"],
        "layers": layers, "timings": timings,
    }


# --- output ---------------------------------------------------------------------


def markdown(report: dict) -> str:
    lines = [f"# lowbit report: {report['model']} with {report['recipe']}", "",
             f"- model: {report['model_description']}",
             f"- recipe: {report['recipe']}: {report['recipe_description']}"]
    if report["calibration_samples"]:
        lines.append(f"- calibration: {report['calibration_samples']} samples")
    ratio = report["total_f32_bytes"] / max(report["total_stored_bytes"], 1)
    lines += [f"- model metric: {report['headline']}",
              f"- weights: {report['total_f32_bytes'] / 1e6:.2f} MB as f32 -> "
              f"{report['total_stored_bytes'] / 1e6:.2f} MB stored ({ratio:.2f}x smaller)",
              "- per-layer error: ||x_q - x|| / ||x|| of the layer's input, quantized model vs float "
              "model, same input (error accumulated before the layer runs)", "",
              "| # | layer | shape | W bits | A bits | storage | stored bytes | input rel. error |",
              "|---:|---|---|---:|---:|---|---:|---:|"]
    for i, row in enumerate(report["layers"]):
        err = row.get("input_relative_error")
        bits = lambda b: "f32" if b == 32 else str(b)  # noqa: E731
        lines.append(f"| {i} | {row['layer']} | {row['shape']} | {bits(row.get('weight_bits', 32))} | "
                     f"{bits(row.get('act_bits', 32))} | {row['storage']} | {row['stored_bytes']} | "
                     f"{'-' if err is None else f'{err:.3g}'} |")
    return "\n".join(lines) + "\n"


BIT_COLOURS = {  # (weight bits, act bits) -> RGB; anything else grey
    8: (52, 101, 164), 6: (78, 154, 6), 4: (245, 121, 0), 3: (204, 0, 0), 2: (204, 0, 0),
}


def plot(report: dict, path: Path) -> None:
    """Bar chart of the per-layer input error (log10 axis), one bar per layer
    in graph order, coloured by weight bits, hatched darker when the
    activations are quantized too. Pillow (installed with rapidocr-onnxruntime)."""
    from PIL import Image, ImageDraw

    rows = [r for r in report["layers"] if r.get("input_relative_error") is not None]
    width, height = max(640, 80 + 8 * len(rows)), 360
    left, right, top, bottom = 60, 20, 40, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((left, 8), f"lowbit report: {report['model']} / {report['recipe']}: {report['headline']}",
              fill="black")
    # The axis spans the non-zero errors (at most 6 decades); an exact input
    # (error 0, e.g. the first layer) gets no bar.
    errors = [r["input_relative_error"] for r in rows if 0 < r["input_relative_error"] < math.inf]
    hi = math.ceil(math.log10(max(errors))) if errors else 0
    lo = max(math.floor(math.log10(min(errors))), hi - 6) if errors else -1
    hi = max(hi, lo + 1)
    plot_h, plot_w = height - top - bottom, width - left - right

    def y_of(value: float) -> float:
        return top + plot_h * (hi - math.log10(max(value, 10.0 ** lo))) / (hi - lo)

    for decade in range(lo, hi + 1):
        y = y_of(10.0 ** decade)
        draw.line([(left, y), (width - right, y)], fill=(220, 220, 220))
        draw.text((4, y - 6), f"1e{decade}", fill="black")
    draw.line([(left, top), (left, top + plot_h)], fill="black")
    draw.line([(left, top + plot_h), (width - right, top + plot_h)], fill="black")
    bar = plot_w / max(len(rows), 1)
    for i, row in enumerate(rows):
        colour = BIT_COLOURS.get(row.get("weight_bits", 32), (136, 138, 133))
        if row.get("act_bits", 32) == 32:
            colour = tuple(min(255, c + 90) for c in colour)
        x0 = left + i * bar + 1
        if row["input_relative_error"] > 0:
            draw.rectangle([x0, y_of(min(row["input_relative_error"], 10.0 ** hi)),
                            x0 + max(bar - 2, 1), top + plot_h], fill=colour)
        if len(rows) <= 60 or i % 10 == 0:
            draw.text((x0, top + plot_h + 4), str(i), fill="black")
    draw.text((left, height - 36), "layer (graph order; table in report.md)   y: ||x_q - x|| / ||x|| of "
              "the layer input", fill="black")
    draw.text((left, height - 20), "colour: weight bits (blue 8, green 6, orange 4, red 2-3, grey f32); "
              "pale = float activations", fill="black")
    image.save(path, format="PNG")


def write(report: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "report.md").write_text(markdown(report))
    plot(report, out_dir / "per_layer.png")


def make_profile(model: str, shape_flags: list[str], tmp: Path, inputs: Path | None = None,
                 calibrate: Path | None = None) -> Profile:
    main_module = _load("lowbit_main", REPO_ROOT / "scripts" / "main.py")
    if inputs is not None or calibrate is not None:
        path = Path(model)
        if inputs is None:
            raise ReportError("--calibrate needs --inputs (the evaluation data)")
        if not path.is_file():
            raise ReportError(f"--inputs applies to an .onnx file; '{model}' is not one")
        if shape_flags:
            raise ReportError("--input-shape and --inputs exclude each other (the arrays fix the shapes)")
        return UserDataProfile(path, inputs, calibrate)
    try:
        if model == "det":
            return DetProfile(main_module, shape_flags=shape_flags)
        if model == "minilm":
            return MiniLMProfile(tmp)
        if model == "llama":
            return LlamaProfile(tmp)
        path = Path(model)
        if not path.is_file():
            raise ReportError(f"--model {model}: not det, minilm, llama or an existing .onnx file")
        return GenericProfile(path, shape_flags, main_module)
    except main_module.JobError as err:
        raise ReportError(str(err)) from None


DEFAULT_RECIPES = {"det": "rtn-w8a8", "minilm": "rtn-w8a8", "llama": "rtn-w8a8"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="det", help="det | minilm | llama | PATH.onnx (default det)")
    parser.add_argument("--recipe", default="rtn-w8a8", help="recipe name (lowbit-run --list-recipes)")
    parser.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS",
                        help="static input shape for det / a PATH model, e.g. x=1x3x128x128")
    parser.add_argument("--calibration-samples", type=int, default=0,
                        help="calibration samples for recipes that need them (default: det and PATH 4, "
                             "minilm its 8 sentences in 4 batches, llama 64 windows)")
    parser.add_argument("--inputs", type=Path, metavar="EVAL.npz",
                        help="evaluate a PATH.onnx model on these inputs (one array per input) instead of "
                             "generated ones; the error is measured against onnxruntime's float output")
    parser.add_argument("--calibrate", type=Path, metavar="CAL.npz",
                        help="calibration samples for calibrated recipes with --inputs "
                             "(per input [S, *shape])")
    parser.add_argument("--out", type=Path, help="output folder (default build/report/<model>-<recipe>)")
    args = parser.parse_args(argv)
    if args.calibration_samples < 0:
        print("report.py: error: --calibration-samples must be >= 0", file=sys.stderr)
        return 1
    try:
        with tempfile.TemporaryDirectory(prefix="lowbit-report-") as tmp:
            profile = make_profile(args.model, args.input_shape, Path(tmp), args.inputs, args.calibrate)
            samples = args.calibration_samples or (
                4 if isinstance(profile, GenericProfile) and not isinstance(profile, UserDataProfile) else 0)
            report = measure(profile, args.recipe, samples, Path(tmp))
        out = args.out or REPO_ROOT / "build" / "report" / f"{profile.name}-{args.recipe}"
        write(report, out)
    except ReportError as err:
        print(f"report.py: error: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # lowbit.LowbitError and friends: one line, non-zero
        if type(err).__name__ in ("LowbitError", "UnsupportedError"):
            print(f"report.py: error: {err}", file=sys.stderr)
            return 1
        raise
    print(markdown(report))
    print(f"wrote {out}/report.json, report.md, per_layer.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
