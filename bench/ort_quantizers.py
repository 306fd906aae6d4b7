#!/usr/bin/env python3
"""lowbit's quantization recipes side by side with onnxruntime's own quantizers.

For each model: float reference outputs from onnxruntime, then

  W8A8          onnxruntime quantize_static (QDQ, per-channel int8 weights,
                static int8 activations; MinMax, Percentile, MinMax+SmoothQuant)
                vs lowbit rtn-w8a8, rtn-w8a8-static, smoothquant-w8a8
  W4 g128       onnxruntime MatMulNBits (DEFAULT blockwise RTN, INC RTN, GPTQ,
                HQQ; block 128) vs lowbit rtn-w4a16-g128, gptq-w4a16-g128,
                smoothquant+-w4a16-g128
  W6 / W2       lowbit-only rows (rtn-w6a8, rtn-w2a16-g64, decoupleq-w2a16-g64),
                marked as having no onnxruntime counterpart

Every configuration gets the SAME calibration inputs and the SAME evaluation
inputs. onnxruntime-quantized models run in onnxruntime, lowbit-quantized
models in lowbit (Python package, CPU JIT). Recorded per row: the model's
metric against float, the weight bytes of the quantized model, and the
quantization wall time (calibration included). One table is printed and
bench/results/ort_quantizers.json is written with the machine description.

  python3 bench/ort_quantizers.py --models minilm,ppocr,llama
  python3 bench/ort_quantizers.py --models minilm --quick   # < 3 min smoke run

The decoder is the committed trained model (test/Inputs/llama_trained/);
LOWBIT_LLAMA_MODEL=FILE.onnx runs another one with the same interface.

A configuration that cannot run here (a missing optional package, an error
in either tool) is recorded with status "unavailable: ..." or "error: ...",
never dropped.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402

RESULT_PATH = REPO_ROOT / "bench" / "results" / "ort_quantizers.json"

MINILM_SEQ_LEN = 16
MINILM_BATCH = 2

PPOCR_SHAPE = (1, 3, 256, 256)
PPOCR_THRESHOLD = 0.3
LLAMA_WEIGHTS = REPO_ROOT / "test" / "Inputs" / "llama_trained" / "llama_trained_weights.npz"
LLAMA_BATCH = 32  # PP-OCR's DB binarisation threshold

# (group, tool, config name); the group decides which rows a verdict compares.
W8A8, W4, LOWBIT_ONLY = "W8A8", "W4 g128 weight-only", "lowbit only"
ORT_CONFIGS = [
    (W8A8, "static-minmax"),
    (W8A8, "static-minmax-inputs-only"),
    (W8A8, "static-percentile"),
    (W8A8, "static-percentile-inputs-only"),
    (W8A8, "static-minmax+smoothquant"),
    (W8A8, "dynamic"),
    (W4, "matmulnbits-default-rtn"),
    (W4, "matmulnbits-default-rtn-sym"),
    (W4, "matmulnbits-rtn"),
    (W4, "matmulnbits-rtn-sym"),
    (W4, "matmulnbits-gptq"),
    (W4, "matmulnbits-gptq-sym"),
    (W4, "matmulnbits-hqq"),
]
LOWBIT_RECIPES = [
    (W8A8, "rtn-w8a8"),
    (W8A8, "rtn-w8a8-static"),
    (W8A8, "smoothquant-w8a8"),
    (W4, "rtn-w4a16-g128"),
    (W4, "gptq-w4a16-g128"),
    (W4, "smoothquant+-w4a16-g128"),
    (LOWBIT_ONLY, "rtn-w6a8"),
    (LOWBIT_ONLY, "flexq-w6a8-mixed"),
    (LOWBIT_ONLY, "rtn-w2a16-g64"),
    (LOWBIT_ONLY, "decoupleq-w2a16-g64"),
]
QUICK_ORT = {"static-minmax", "static-minmax+smoothquant", "dynamic", "matmulnbits-default-rtn"}
QUICK_LOWBIT = {"rtn-w8a8", "rtn-w4a16-g128", "gptq-w4a16-g128"}


def load_script(name: str):
    path = REPO_ROOT / "scripts" / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def import_lowbit():
    build = Path(os.environ.get("LOWBIT_BUILD_DIR") or REPO_ROOT / "build").resolve()
    sys.path.insert(0, str(build / "python_packages"))
    import lowbit

    return lowbit


# ---------------------------------------------------------------------------
# Models: float ONNX file, calibration feeds, evaluation feeds, metric


class Bench:
    """name, model (float .onnx path), calib / evals (lists of feeds),
    output name, metric(outputs, references) -> dict with the primary key
    `self.primary` (higher_is_better says which way is better)."""

    name: str
    primary: str
    higher_is_better: bool
    input_shapes: dict | None = None

    def describe(self) -> dict:
        return {"calibration_batches": len(self.calib), "evaluation_batches": len(self.evals),
                "metric": self.primary, "secondary": self.secondary, "higher_is_better": self.higher_is_better,
                "metric_definition": self.definition, **self.extra}


class MiniLM(Bench):
    name = "minilm"
    primary = "min_cosine"
    secondary = "mean_cosine"
    higher_is_better = True
    output = "last_hidden_state"
    definition = ("sentence-embedding cosine to the float model (mean pooling + L2 norm), "
                  "min over the evaluation sentences; mean_cosine is the mean")

    def __init__(self, work: Path, quick: bool):
        self.script = load_script("build_minilm.py")
        paths = self.script.build(work / "minilm", seq_len=MINILM_SEQ_LEN, batch=MINILM_BATCH)
        self.model = paths.model
        # Calibration text: build_minilm's CALIBRATION_SENTENCES, disjoint
        # from the evaluation set (its SENTENCES).
        calib = self.script.CALIBRATION_SENTENCES
        calib = calib[:4] if quick else calib
        evals = self.script.SENTENCES[:2] if quick else self.script.SENTENCES
        assert len(calib) % MINILM_BATCH == 0 and len(evals) % MINILM_BATCH == 0
        self.calib = self.script.sentence_batches(calib, MINILM_SEQ_LEN, MINILM_BATCH)
        self.evals = self.script.sentence_batches(evals, MINILM_SEQ_LEN, MINILM_BATCH)
        self.extra = {"calibration_sentences": list(calib), "evaluation_sentences": list(evals),
                      "seq_len": MINILM_SEQ_LEN, "batch": MINILM_BATCH}

    def metric(self, outputs, references):
        cos = []
        for feeds, got, ref in zip(self.evals, outputs, references):
            m = feeds["attention_mask"]
            a = self.script.sentence_embeddings(got.astype(np.float64), m)
            b = self.script.sentence_embeddings(ref.astype(np.float64), m)
            cos.extend(np.sum(a * b, axis=1).tolist())
        return {"min_cosine": float(np.min(cos)), "mean_cosine": float(np.mean(cos))}


class PPOCR(Bench):
    name = "ppocr"
    primary = "mask_iou"
    secondary = "max_abs"
    higher_is_better = True
    definition = (f"probability map vs float: mask_iou = IoU of the pixels above {PPOCR_THRESHOLD} "
                  "(quantized vs float, all evaluation images together), agreement = fraction of "
                  "pixels on the same side of the threshold, max_abs / mean_abs = |p - p_float|")

    def __init__(self, work: Path, quick: bool):
        main = load_script("main.py")
        model = onnx.load(str(main.find_det_model()))
        # The file keeps its weights in Constant nodes; both quantizers look
        # for initializers, so they become initializers (same function, same
        # bytes) in the float model that both tools start from.
        nodes = []
        for node in model.graph.node:
            if node.op_type == "Constant" and [a.name for a in node.attribute] == ["value"]:
                tensor = onnx.TensorProto()
                tensor.CopyFrom(node.attribute[0].t)
                tensor.name = node.output[0]
                model.graph.initializer.append(tensor)
            else:
                nodes.append(node)
        del model.graph.node[:]
        model.graph.node.extend(nodes)
        # Opset 12 -> 13: onnxruntime's per-channel weights need the axis
        # attribute of DequantizeLinear (opset 13); the converted model is
        # the same function (checked: onnxruntime outputs identical).
        model = onnx.version_converter.convert_version(model, 13)
        self.model = work / "ppocr_det_float.onnx"
        self.model.write_bytes(model.SerializeToString())
        self.input_name = model.graph.input[0].name
        self.output = model.graph.output[0].name
        self.input_shapes = {self.input_name: list(PPOCR_SHAPE)}

        def image(seed):
            rng = np.random.default_rng(seed)
            return {self.input_name: ((main.synthetic_document_image(PPOCR_SHAPE, rng) - 0.5) / 0.5)
                    .astype(np.float32)}

        calib_seeds = range(100, 102 if quick else 108)
        eval_seeds = range(200, 201 if quick else 204)
        self.calib = [image(s) for s in calib_seeds]
        self.evals = [image(s) for s in eval_seeds]
        self.extra = {"input_shape": list(PPOCR_SHAPE), "calibration_seeds": list(calib_seeds),
                      "evaluation_seeds": list(eval_seeds),
                      "images": "scripts/main.py synthetic_document_image, normalised (v-0.5)/0.5"}

    def metric(self, outputs, references):
        got = np.concatenate([o.ravel() for o in outputs]).astype(np.float64)
        ref = np.concatenate([r.ravel() for r in references]).astype(np.float64)
        a, b = got > PPOCR_THRESHOLD, ref > PPOCR_THRESHOLD
        union = np.logical_or(a, b).sum()
        return {"mask_iou": float(np.logical_and(a, b).sum() / union) if union else 1.0,
                "agreement": float(np.mean(a == b)),
                "max_abs": float(np.max(np.abs(got - ref))),
                "mean_abs": float(np.mean(np.abs(got - ref))),
                "float_mask_pixels": int(b.sum())}


class Llama(Bench):
    """The trained byte-level decoder of scripts/train_llama.py (the committed
    weights in test/Inputs/llama_trained/, or LOWBIT_LLAMA_MODEL), perplexity as
    scripts/perplexity.py defines it (validation windows of SEQ + 1 bytes, one
    prefill with an empty cache, exp of the mean next-byte NLL in float64),
    calibrated on perplexity.calibration_tokens() (training split only).
    Windows go in fixed batches of LLAMA_BATCH so that calibration and
    evaluation share one static shape; the validation windows past the last
    full batch are dropped (recorded)."""

    name = "llama"
    primary = "ppl"
    secondary = "delta_ppl"
    higher_is_better = False
    output = "logits"
    definition = ("perplexity exp(mean next-byte NLL) on train_llama's validation windows, "
                  "delta_ppl = ppl - float ppl (onnxruntime)")

    def __init__(self, work: Path, quick: bool):
        missing = [s for s in ("train_llama.py", "perplexity.py") if not (REPO_ROOT / "scripts" / s).is_file()]
        if missing:
            raise Unavailable(f"scripts/{', scripts/'.join(missing)} not in this tree yet")
        self.ppl = load_script("perplexity.py")
        if os.environ.get("LOWBIT_LLAMA_MODEL"):
            self.model = Path(os.environ["LOWBIT_LLAMA_MODEL"])
        else:
            # The committed weights, exported as bench/decoder_ppl.py does.
            if not LLAMA_WEIGHTS.is_file():
                raise Unavailable(f"no trained weights at {LLAMA_WEIGHTS} (or set LOWBIT_LLAMA_MODEL)")
            with np.load(LLAMA_WEIGHTS) as data:
                weights = {k: data[k] for k in data.files}
            self.model = work / "llama_trained.onnx"
            self.model.write_bytes(self.ppl.build_llama.build_model(weights).SerializeToString())
        if not self.model.is_file():
            raise Unavailable(f"no trained decoder at {self.model}")
        seq = self.ppl.SEQ
        corpus = self.ppl.train_llama.load_corpus()
        tokens = self.ppl.eval_tokens(seq, corpus)
        n_eval = (len(tokens) // LLAMA_BATCH) * LLAMA_BATCH
        if quick:
            n_eval = LLAMA_BATCH
        tokens = tokens[:n_eval]
        calib = self.ppl.calibration_tokens(LLAMA_BATCH if quick else 2 * LLAMA_BATCH, seq, corpus)
        self.targets = [tokens[i:i + LLAMA_BATCH, 1:] for i in range(0, n_eval, LLAMA_BATCH)]
        self.evals = [self.ppl.feeds_for(tokens[i:i + LLAMA_BATCH, :-1]) for i in range(0, n_eval, LLAMA_BATCH)]
        self.calib = [self.ppl.feeds_for(calib[i:i + LLAMA_BATCH]) for i in range(0, len(calib), LLAMA_BATCH)]
        self.input_shapes = {k: list(v.shape) for k, v in self.evals[0].items()}
        self.extra = {"seq_len": seq, "batch": LLAMA_BATCH, "evaluation_windows": n_eval,
                      "validation_windows_total": int(len(self.ppl.eval_tokens(seq, corpus))),
                      "calibration_windows": int(len(calib)),
                      "model": os.environ.get("LOWBIT_LLAMA_MODEL") or str(LLAMA_WEIGHTS.relative_to(REPO_ROOT))}
        self.float_ppl = None

    def _ppl(self, outputs):
        nll = np.mean([self.ppl.mean_nll(o, t) for o, t in zip(outputs, self.targets)])
        return float(np.exp(nll)) if np.isfinite(nll) else float("inf")

    def metric(self, outputs, references):
        if self.float_ppl is None:
            self.float_ppl = self._ppl(references)
        ppl = self._ppl(outputs)
        return {"ppl": ppl, "delta_ppl": ppl - self.float_ppl}


class Unavailable(Exception):
    pass


BENCHES = {"minilm": MiniLM, "ppocr": PPOCR, "llama": Llama}


# ---------------------------------------------------------------------------
# Sizes


def initializer_bytes(model: onnx.ModelProto) -> int:
    total = 0
    for t in model.graph.initializer:
        if t.raw_data:
            total += len(t.raw_data)
        else:
            total += onnx.numpy_helper.to_array(t).nbytes
    return total


# ---------------------------------------------------------------------------
# onnxruntime


def ort_session(model) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    data = model if isinstance(model, (str, Path)) else model.SerializeToString()
    return ort.InferenceSession(str(data) if isinstance(data, Path) else data, options,
                                providers=["CPUExecutionProvider"])


def ort_outputs(model, bench: Bench) -> list[np.ndarray]:
    session = ort_session(model)
    return [session.run([bench.output], feeds)[0] for feeds in bench.evals]


def reader_for(feeds_list):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feeds = feeds_list
            self.index = 0

        def get_next(self):
            if self.index >= len(self.feeds):
                return None
            self.index += 1
            return self.feeds[self.index - 1]

        def rewind(self):
            self.index = 0

        def __deepcopy__(self, memo):
            return reader_for(self.feeds)

    return Reader()


def weight_nodes(model: onnx.ModelProto) -> list[str]:
    """MatMul / Gemm / Conv nodes whose weight is an initializer: the layers
    lowbit quantizes (activation x activation MatMuls stay float in both)."""
    inits = {t.name for t in model.graph.initializer}
    return [n.name for n in model.graph.node
            if n.op_type in ("MatMul", "Gemm", "Conv") and len(n.input) > 1 and n.input[1] in inits]


def ort_quantize(config: str, bench: Bench, work: Path) -> Path:
    from onnxruntime import quantization as q

    src = Path(bench.model)
    dst = work / f"{bench.name}-{config}.onnx"
    if config == "dynamic":
        model = onnx.load(str(src))
        q.quantize_dynamic(str(src), str(dst), per_channel=True, weight_type=q.QuantType.QInt8,
                           nodes_to_quantize=weight_nodes(model))
        return dst
    if config.startswith("static-"):
        model = onnx.load(str(src))
        options = {}
        if "inputs-only" in config:
            options["OpTypesToExcludeOutputQuantization"] = ["MatMul", "Gemm", "Conv"]
        if config.endswith("+smoothquant"):
            try:
                importlib.import_module("neural_compressor.adaptor.ox_utils.smooth_quant")
            except Exception as e:  # noqa: BLE001
                raise Unavailable("extra_options SmoothQuant=True needs neural-compressor 2.x "
                                  "(neural_compressor.adaptor.ox_utils.smooth_quant): "
                                  f"{type(e).__name__}: {e}") from None
            options.update(SmoothQuant=True, SmoothQuantAlpha=0.5)
        method = q.CalibrationMethod.Percentile if "percentile" in config else q.CalibrationMethod.MinMax
        q.quantize_static(str(src), str(dst), reader_for(bench.calib), quant_format=q.QuantFormat.QDQ,
                          activation_type=q.QuantType.QInt8, weight_type=q.QuantType.QInt8,
                          per_channel=True, calibrate_method=method,
                          nodes_to_quantize=weight_nodes(model), extra_options=options)
        return dst
    try:
        from onnxruntime.quantization import matmul_nbits_quantizer as nb
    except ImportError as e:
        raise Unavailable(f"onnxruntime.quantization.matmul_nbits_quantizer does not import: {e} "
                          "(pip install onnx-ir)") from None

    model = onnx.load(str(src))
    if not any(n.op_type == "MatMul" for n in model.graph.node if n.name in set(weight_nodes(model))):
        raise Unavailable("MatMulNBits quantizes MatMul weights only; this model has none")
    algo = config.removeprefix("matmulnbits-")
    symmetric = algo.endswith("-sym")
    algo = algo.removesuffix("-sym")
    if algo == "default-rtn":
        cfg = nb.DefaultWeightOnlyQuantConfig(block_size=128, is_symmetric=symmetric)
    elif algo == "rtn":
        cfg = nb.RTNWeightOnlyQuantConfig()
    elif algo == "gptq":
        cfg = nb.GPTQWeightOnlyQuantConfig(calibration_data_reader=reader_for(bench.calib), block_size=128)
    elif algo == "hqq":
        if importlib.util.find_spec("torch") is None:
            raise Unavailable("HQQWeightOnlyQuantizer needs torch, which is not installed")
        cfg = nb.HQQWeightOnlyQuantConfig(block_size=128, bits=4)
    else:
        raise ValueError(config)
    quantizer = nb.MatMulNBitsQuantizer(model, bits=4, block_size=128, is_symmetric=symmetric,
                                        algo_config=cfg)
    quantizer.process()
    quantizer.model.save_model_to_file(str(dst), use_external_data_format=False)
    return dst


ORT_DESCRIPTIONS = {
    "static-minmax": "quantize_static QDQ, QInt8 activations (per tensor, static) and weights "
                     "(per_channel=True), CalibrationMethod.MinMax, weight MatMul/Conv nodes only",
    "static-minmax-inputs-only": "as static-minmax with extra_options OpTypesToExcludeOutputQuantization="
                                 "[MatMul, Gemm, Conv]: only the layer inputs and weights are quantized, "
                                 "as in lowbit (by default onnxruntime also quantizes each layer's output)",
    "static-percentile": "as static-minmax with CalibrationMethod.Percentile (default 99.999)",
    "static-percentile-inputs-only": "as static-minmax-inputs-only with CalibrationMethod.Percentile",
    "dynamic": "quantize_dynamic (QOperator, MatMulInteger / ConvInteger): per_channel=True QInt8 weights, "
               "dynamic per-tensor uint8 activations, weight MatMul/Conv nodes only; no calibration",
    "static-minmax+smoothquant": "as static-minmax with extra_options SmoothQuant=True, SmoothQuantAlpha=0.5",
    "matmulnbits-default-rtn": "MatMulNBitsQuantizer DefaultWeightOnlyQuantConfig(block_size=128, "
                               "is_symmetric=False): onnxruntime's own blockwise RTN, int4 + zero points",
    "matmulnbits-default-rtn-sym": "as matmulnbits-default-rtn with is_symmetric=True (no zero points)",
    "matmulnbits-rtn": "MatMulNBitsQuantizer RTNWeightOnlyQuantConfig (INC RTN), block 128, asymmetric",
    "matmulnbits-rtn-sym": "as matmulnbits-rtn with is_symmetric=True",
    "matmulnbits-gptq": "MatMulNBitsQuantizer GPTQWeightOnlyQuantConfig(block_size=128, percdamp=0.01), "
                        "asymmetric, calibration reader = the calibration inputs",
    "matmulnbits-gptq-sym": "as matmulnbits-gptq with is_symmetric=True",
    "matmulnbits-hqq": "MatMulNBitsQuantizer HQQWeightOnlyQuantConfig(block_size=128, bits=4)",
}


# ---------------------------------------------------------------------------
# lowbit


class LowbitSide:
    def __init__(self, lowbit, bench: Bench, work: Path, float_bytes: int):
        self.lowbit = lowbit
        self.bench = bench
        self.float_bytes = float_bytes
        self.stats = work / f"{bench.name}-stats.npz"
        self.calibration_s = None

    def calibrate(self):
        if self.calibration_s is None:
            start = time.perf_counter()
            self.lowbit.calibrate(str(self.bench.model), self.bench.calib, stats_path=self.stats,
                                  input_shapes=self.bench.input_shapes)
            self.calibration_s = time.perf_counter() - start
        return self.calibration_s

    def run(self, recipe: str) -> dict:
        needs = self.lowbit.recipes()[recipe]["needs_calibration"]
        calib_s = self.calibrate() if needs else 0.0
        start = time.perf_counter()
        kwargs = {"stats_path": self.stats} if needs else {}
        module, report = self.lowbit.quantize(str(self.bench.model), recipe=recipe,
                                              input_shapes=self.bench.input_shapes, **kwargs)
        quant_s = time.perf_counter() - start
        # -O0: compile time dominates, and the integer kernels are exact at any level.
        exe = module.compile(0)
        outputs = [exe.run(feeds)[self.bench.output] for feeds in self.bench.evals]
        size = self.float_bytes - report["total_f32_bytes"] + report["total_stored_bytes"]
        return {"outputs": outputs, "weight_bytes": int(size), "quant_time_s": calib_s + quant_s,
                "calibration_time_s": calib_s, "quantized_layers": len(report["layers"])}


# ---------------------------------------------------------------------------


def run_bench(bench: Bench, lowbit, work: Path, quick: bool) -> dict:
    float_model = onnx.load(str(bench.model))
    float_bytes = initializer_bytes(float_model)
    references = ort_outputs(bench.model, bench)
    rows = []

    def record(group, tool, config, description, fn):
        row = {"group": group, "tool": tool, "config": config, "description": description}
        print(f"[{bench.name}] {tool} {config} ...", file=sys.stderr, flush=True)
        try:
            result = fn()
            outputs = result.pop("outputs")
            row.update(result)
            row["metrics"] = bench.metric(outputs, references)
            row["status"] = "ok" if all(np.isfinite(v) for v in row["metrics"].values()) else "non-finite"
        except Unavailable as e:
            row["status"] = f"unavailable: {e}"
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            row["status"] = f"error: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
        rows.append(row)

    for group, config in ORT_CONFIGS:
        if quick and config not in QUICK_ORT:
            continue

        def ort_fn(config=config):
            start = time.perf_counter()
            path = ort_quantize(config, bench, work)
            quant_s = time.perf_counter() - start
            qmodel = onnx.load(str(path))
            ops = sorted({n.op_type for n in qmodel.graph.node} - {n.op_type for n in float_model.graph.node})
            return {"outputs": ort_outputs(path, bench), "weight_bytes": initializer_bytes(qmodel),
                    "quant_time_s": quant_s, "new_ops": ops}

        record(group, "onnxruntime", config, ORT_DESCRIPTIONS[config], ort_fn)

    side = LowbitSide(lowbit, bench, work, float_bytes)
    recipes = lowbit.recipes()
    for group, recipe in LOWBIT_RECIPES:
        if quick and recipe not in QUICK_LOWBIT:
            continue
        description = recipes[recipe]["description"] if recipe in recipes else "unknown recipe"
        if group == LOWBIT_ONLY:
            description += " (no onnxruntime counterpart at this bit width)"
        record(group, "lowbit", recipe, description, lambda recipe=recipe: side.run(recipe))

    verdicts = []
    sign = 1 if bench.higher_is_better else -1
    for group in (W8A8, W4):
        def best(tool):
            ok = [r for r in rows if r["group"] == group and r["tool"] == tool and r["status"] == "ok"]
            return max(ok, key=lambda r: sign * r["metrics"][bench.primary]) if ok else None

        lb, ob = best("lowbit"), best("onnxruntime")
        verdict = {"group": group, "metric": bench.primary}
        if lb is None or ob is None:
            verdict.update(lowbit_ge_ort_best=None,
                           reason="no successful " + ("lowbit" if lb is None else "onnxruntime") + " row")
        else:
            lv, ov = lb["metrics"][bench.primary], ob["metrics"][bench.primary]
            verdict.update(lowbit_best=lb["config"], lowbit_value=lv, ort_best=ob["config"], ort_value=ov,
                           lowbit_ge_ort_best=bool(sign * lv >= sign * ov))
        verdicts.append(verdict)
    return {"float_weight_bytes": float_bytes, "inputs": bench.describe(), "rows": rows,
            "verdicts": verdicts}


def fmt_bytes(n):
    return f"{n / 2**20:.2f} MiB" if n is not None else "-"


def print_table(results: dict) -> None:
    header = f"{'model':7s} {'group':20s} {'tool':11s} {'config':30s} {'metric':>9s} {'2nd':>9s} " \
             f"{'weights':>11s} {'quant s':>8s}  status"
    print(header)
    print("-" * len(header))
    for name, res in results["models"].items():
        if "rows" not in res:
            print(f"{name:7s} {res['status']}")
            continue
        primary = res["inputs"]["metric"]
        for r in res["rows"]:
            m = r.get("metrics", {})
            second = [res["inputs"]["secondary"]] if res["inputs"]["secondary"] in m else []
            mv = f"{m[primary]:.5f}" if primary in m else "-"
            sv = f"{m[second[0]]:.5f}" if second else "-"
            ts = f"{r['quant_time_s']:.1f}" if "quant_time_s" in r else "-"
            print(f"{name:7s} {r['group']:20s} {r['tool']:11s} {r['config']:30s} {mv:>9s} {sv:>9s} "
                  f"{fmt_bytes(r.get('weight_bytes')):>11s} {ts:>8s}  {r['status'][:90]}")
        print(f"{name:7s} float weights {fmt_bytes(res['float_weight_bytes'])}; metric {primary} "
              f"({'higher' if res['inputs']['higher_is_better'] else 'lower'} is better)")
        for v in res["verdicts"]:
            if v["lowbit_ge_ort_best"] is None:
                print(f"{name:7s} verdict {v['group']}: lowbit >= ORT best: n/a ({v['reason']})")
            else:
                print(f"{name:7s} verdict {v['group']}: lowbit >= ORT best: {v['lowbit_ge_ort_best']} "
                      f"(lowbit {v['lowbit_best']} {v['lowbit_value']:.5f} vs onnxruntime "
                      f"{v['ort_best']} {v['ort_value']:.5f})")
        print()


def git_revision() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except Exception:  # noqa: BLE001
        return "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="minilm,ppocr,llama",
                        help="comma-separated: minilm, ppocr, llama (default all)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: fewer calibration / evaluation inputs and configurations")
    parser.add_argument("--out", type=Path, default=RESULT_PATH, help=f"JSON output (default {RESULT_PATH})")
    args = parser.parse_args(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in BENCHES]
    if unknown or not names:
        parser.error(f"--models: unknown model(s) {', '.join(unknown) or '(none)'}; known: {', '.join(BENCHES)}")

    lowbit = import_lowbit()
    import logging

    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)

    results = {"machine": machine(onnxruntime=ort.__version__, onnx=onnx.__version__,
                                  lowbit_git=git_revision()),
               "quick": args.quick, "models": {}}
    with tempfile.TemporaryDirectory(prefix="ort-quantizers-") as tmp:
        work = Path(tmp)
        for name in names:
            start = time.perf_counter()
            try:
                bench = BENCHES[name](work, args.quick)
            except Unavailable as e:
                results["models"][name] = {"status": f"unavailable: {e}"}
                continue
            results["models"][name] = run_bench(bench, lowbit, work, args.quick)
            results["models"][name]["wall_s"] = time.perf_counter() - start
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(results, indent=1) + "\n")
    tmp_out.replace(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
