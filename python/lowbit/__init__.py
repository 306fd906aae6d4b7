"""lowbit: an MLIR compiler for low-bit quantization of ONNX models.

    import lowbit
    model = lowbit.import_onnx("model.onnx", input_shapes={"x": [1, 3, 64, 64]})
    outputs = model.run({"x": x})          # dict: output name -> numpy array

Errors raise lowbit.LowbitError (lowbit.UnsupportedError for ops, attributes
or types lowbit does not handle yet) with the compiler's diagnostic.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Mapping, Sequence

import numpy as np

from ._lowbit import Executable, LowbitError, Module, UnsupportedError
from ._lowbit import accuracy_report as _accuracy_report
from ._lowbit import recipe_pipeline as _recipe_pipeline
from ._lowbit import recipes as _recipes
from ._lowbit import supported_onnx_ops as _supported_onnx_ops
from .artefact import ArtefactError, Session, load

__all__ = [
    "ArtefactError",
    "Executable",
    "LowbitError",
    "Module",
    "UnsupportedError",
    "calibrate",
    "describe",
    "import_onnx",
    "load",
    "load_mlir",
    "parse_mlir",
    "quantize",
    "recipes",
    "report",
    "run",
    "Session",
    "supported_onnx_ops",
]


def import_onnx(model, input_shapes: Mapping[str, Sequence[int]] | None = None,
                max_memory: int | str | None = None) -> Module:
    """Imports an ONNX model from a path, bytes, or an onnx.ModelProto.

    `input_shapes` makes dynamic input dimensions static, e.g. {"x": [1, 3, 64, 64]}.
    `max_memory` (bytes, or a size such as "8G"; default: the machine's
    memory) refuses a model with a larger tensor, as --max-memory does.
    """
    shapes = {name: [int(d) for d in dims] for name, dims in (input_shapes or {}).items()}
    limit = "" if max_memory is None else str(max_memory)
    if isinstance(model, (str, os.PathLike)):
        return Module.import_onnx(os.fspath(model), shapes, limit)
    if isinstance(model, (bytes, bytearray, memoryview)):
        return Module.import_onnx_bytes(bytes(model), shapes, limit)
    serialize = getattr(model, "SerializeToString", None)
    if serialize is not None:
        return Module.import_onnx_bytes(serialize(), shapes, limit)
    raise TypeError(f"import_onnx expects a path, bytes or onnx.ModelProto, got {type(model).__name__}")


def parse_mlir(text: str) -> Module:
    """Parses MLIR text in any lowbit or upstream dialect."""
    return Module.parse_mlir(text)


def load_mlir(path) -> Module:
    """Reads an MLIR text or bytecode file (Module.write("x.mlirbc") writes
    bytecode), whatever its name."""
    return Module.parse_mlir_file(os.fspath(path))


def describe(module: Module) -> dict:
    """{'ops': {op name: count}, 'quantized_layers': [{'op', 'name', 'w_bits',
    'a_bits', 'bits', 'group_size'}, ...]} of a module."""
    return json.loads(module.describe())


def run(module: Module, feeds, opt_level: int = 3, threads: int = 1,
        int8_kernel: str = "auto") -> dict[str, np.ndarray]:
    """Compiles `module` for the CPU (`threads` and `int8_kernel` as in
    Module.compile) and runs it once on `feeds`."""
    return module.compile(opt_level, threads=threads, int8_kernel=int8_kernel).run(feeds)


def recipes() -> dict[str, dict]:
    """Named quantization recipes: name -> {'description', 'pipeline',
    'needs_calibration'}."""
    return dict(_recipes())


def _calibration_samples(module: Module, calibration) -> list[dict[str, np.ndarray]]:
    """A list of per-run feeds from `calibration`: a list of {input: array}
    dicts (one model run each), or one dict whose arrays carry a leading
    sample dimension ([S, *input_shape])."""
    if isinstance(calibration, Mapping):
        specs = {spec["name"]: tuple(spec["shape"]) for spec in module.inputs}
        counts = set()
        for name, shape in specs.items():
            if name not in calibration:
                raise ValueError(f"calibration: input '{name}' is missing")
            array = np.asarray(calibration[name])
            if array.shape[1:] != shape:
                raise ValueError(f"calibration: input '{name}' expects [S, {', '.join(map(str, shape))}], "
                                 f"got {list(array.shape)}")
            counts.add(array.shape[0])
        if len(counts) != 1:
            raise ValueError(f"calibration: inputs hold different sample counts {sorted(counts)}")
        n = counts.pop()
        return [{name: np.asarray(calibration[name][i], order="C") for name in specs} for i in range(n)]
    samples = list(calibration)
    if not samples:
        raise ValueError("calibration: no samples given")
    return [{k: np.asarray(v, order="C") for k, v in s.items()} if isinstance(s, Mapping) else s
            for s in samples]


def _progress_bar(done: int, total: int, task: str = "calibrate", unit: str = "") -> None:
    width = 30
    filled = width * done // total
    print(f"\r{task} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}{unit}",
          end="\n" if done == total else "", file=sys.stderr, flush=True)


def _layer_progress_bar(task: str, done: int, total: int) -> None:
    _progress_bar(done, total, task, " layers")


def calibrate(model, calibration, *, ops: str = "linear,conv2d", hessians: bool = True,
              stats_path: str | os.PathLike | None = None, progress: bool = False,
              input_shapes: Mapping[str, Sequence[int]] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Runs `model` (a Module, or anything import_onnx takes) on calibration
    data through the CPU JIT, with taps on the inputs of the layers named in
    `ops` (linear, conv2d, matmul), and returns the statistics per layer:
    {layer: {'absmax', 'mean_abs', 'count', 'histogram', 'histogram_max',
    'percentiles', 'percentile_levels'[, 'hessian']}} (see
    docs/calibration.md). `calibration` is a list of {input: array} feeds or
    one dict of arrays with a leading sample dimension. `stats_path` also
    writes the sidecar .npz that quantize-weights{hessians=} and
    quantize-activations{mode=static stats=} read. The model is unchanged."""
    module = model if isinstance(model, Module) else import_onnx(model, input_shapes)
    samples = _calibration_samples(module, calibration)
    flat = module.calibrate(samples, ops=ops, hessians=hessians,
                            stats_path=os.fspath(stats_path) if stats_path else "",
                            progress=_progress_bar if progress else None)
    stats: dict[str, dict[str, np.ndarray]] = {}
    for key, value in flat.items():
        layer, _, stat = key.rpartition("/")
        stats.setdefault(layer, {})[stat] = value
    return stats


def quantize(model, recipe: str, calibration=None,
             input_shapes: Mapping[str, Sequence[int]] | None = None,
             stats_path: str | os.PathLike | None = None,
             progress: bool = False) -> tuple[Module, dict]:
    """Quantizes `model` (a Module, or anything import_onnx takes) with a named
    recipe and returns (module, report): a new module; a Module given as
    `model` is left unchanged. A module that is already quantized is refused
    (ValueError). The report is the weight memory
    report: {'layers': [{'layer', 'shape', 'storage', 'f32_bytes',
    'stored_bytes'}, ...], 'total_f32_bytes', 'total_stored_bytes'}, plus
    'calibration': {'samples', 'layers'} for calibrated recipes.

    Recipes with needs_calibration (gptq-*, decoupleq-*, *-static) run
    calibrate() on `calibration` (a list of {input: array} feeds, or a dict
    of arrays with a leading sample dimension) first, or read an existing
    sidecar from `stats_path` when `calibration` is None; without either
    they raise ValueError. The round-to-nearest recipes reject calibration
    data rather than ignore it."""
    table = _recipes()
    if recipe not in table:
        raise ValueError(f"unknown recipe '{recipe}' (known: {', '.join(table)})")
    needs = table[recipe]["needs_calibration"]
    if not needs and (calibration is not None or stats_path is not None):
        raise ValueError(f"recipe '{recipe}' takes no calibration data")
    if needs and calibration is None and stats_path is None:
        raise ValueError(f"recipe '{recipe}' needs calibration data: "
                         "quantize(model, recipe, calibration=[{input: array}, ...])")
    # A Module argument is left as it is: the recipe runs on a copy.
    module = model.clone() if isinstance(model, Module) else import_onnx(model, input_shapes)
    if module.quantized_op:
        raise ValueError(f"the module is already quantized (it holds {module.quantized_op}); "
                         "apply a recipe to the float model")
    with tempfile.TemporaryDirectory() as tmp:
        calibration_report = None
        stats = ""
        if needs:
            if calibration is not None:
                stats = os.fspath(stats_path) if stats_path else os.path.join(tmp, "stats.npz")
                layers = calibrate(module, calibration, stats_path=stats, progress=progress)
                calibration_report = {"samples": len(_calibration_samples(module, calibration)),
                                      "layers": sorted(layers)}
            else:
                stats = os.fspath(stats_path)
                if not os.path.exists(stats):
                    raise ValueError(f"stats_path '{stats}' does not exist")
                calibration_report = {"samples": None, "stats_path": stats}
        module.run_pipeline(_recipe_pipeline(recipe, stats),
                            progress=_layer_progress_bar if progress else None)
        path = os.path.join(tmp, "report.json")
        module.run_pipeline(f"weight-memory-report{{output={path} print=false}}")
        with open(path) as f:
            report = json.load(f)
    if calibration_report is not None:
        report["calibration"] = calibration_report
    return module, report


def report(model, recipe: str, inputs, calibration=None,
           input_shapes: Mapping[str, Sequence[int]] | None = None) -> dict:
    """What `recipe` costs on your data (lowbit report): `model` (an .onnx
    path) is prepared float and with the recipe (calibrated first on
    `calibration` when the recipe needs data), both with taps on the inputs
    of their linear and conv layers, and run on `inputs` (an .npz path, or
    {input name: array}). Returns {'outputs': [{'name', 'shape',
    'max_abs_error', 'relative_error', 'cosine', 'top1_agreement' (rank >=
    2)}], 'layers': [{'layer', 'storage', 'f32_bytes', 'stored_bytes',
    'input_relative_error'}], 'total_f32_bytes', 'total_stored_bytes',
    'model', 'recipe', 'inputs'}; the errors compare the quantized model
    with lowbit's float one. `calibration`: an .npz path, a list of
    {input: array} samples or a dict of arrays with a leading sample
    dimension."""
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(inputs, Mapping):
            path = os.path.join(tmp, "inputs.npz")
            np.savez(path, **{k: np.asarray(v) for k, v in inputs.items()})
            inputs = path
        files = []
        if calibration is not None:
            if isinstance(calibration, (str, os.PathLike)):
                files = [os.fspath(calibration)]
            else:
                # Arrays with a leading sample dimension, as the .npz reader
                # takes them; a list of feeds is stacked (the list branch of
                # _calibration_samples reads no module).
                if isinstance(calibration, Mapping):
                    arrays = dict(calibration)
                else:
                    samples = _calibration_samples(None, calibration)
                    arrays = {k: np.stack([s[k] for s in samples]) for k in samples[0]}
                files = [os.path.join(tmp, "calibration.npz")]
                np.savez(files[0], **arrays)
        shapes = {k: list(v) for k, v in (input_shapes or {}).items()}
        return json.loads(_accuracy_report(os.fspath(model), recipe, os.fspath(inputs),
                                           files, shapes))


def supported_onnx_ops() -> list[str]:
    """The ONNX op types (default domain) the importer handles."""
    return list(_supported_onnx_ops())


def _module_run(self: Module, feeds, opt_level: int = 3, threads: int = 1,
                int8_kernel: str = "auto") -> dict[str, np.ndarray]:
    """Compiles for the CPU and runs once; keep `compile()`'s Executable to run often."""
    return self.compile(opt_level, threads=threads, int8_kernel=int8_kernel).run(feeds)


def _module_str(self: Module) -> str:
    return self.to_mlir(elide_blobs=True)


if not hasattr(Executable, "_native_run"):  # once, even if this file runs again
    Executable._native_run = Executable.run


def _executable_run(self: Executable, feeds) -> dict[str, np.ndarray]:
    """Runs once. `feeds` maps input names to arrays (or lists them in
    order); numpy scalars and other array-likes are converted (a 0-d input
    stays 0-d); returns a dict of output name -> numpy array."""
    if isinstance(feeds, Mapping):
        feeds = {k: np.asarray(v, order="C") for k, v in feeds.items()}
    else:
        feeds = [np.asarray(v, order="C") for v in feeds]
    return self._native_run(feeds)


Executable.run = _executable_run
Module.run = _module_run
Module.__str__ = _module_str
