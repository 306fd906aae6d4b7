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
import tempfile
from typing import Mapping, Sequence

import numpy as np

from ._lowbit import Executable, LowbitError, Module, UnsupportedError
from ._lowbit import recipes as _recipes
from ._lowbit import supported_onnx_ops as _supported_onnx_ops

__all__ = [
    "Executable",
    "LowbitError",
    "Module",
    "UnsupportedError",
    "import_onnx",
    "parse_mlir",
    "quantize",
    "recipes",
    "run",
    "supported_onnx_ops",
]


def import_onnx(model, input_shapes: Mapping[str, Sequence[int]] | None = None) -> Module:
    """Imports an ONNX model from a path, bytes, or an onnx.ModelProto.

    `input_shapes` makes dynamic input dimensions static, e.g. {"x": [1, 3, 64, 64]}.
    """
    shapes = {name: [int(d) for d in dims] for name, dims in (input_shapes or {}).items()}
    if isinstance(model, (str, os.PathLike)):
        return Module.import_onnx(os.fspath(model), shapes)
    if isinstance(model, (bytes, bytearray, memoryview)):
        return Module.import_onnx_bytes(bytes(model), shapes)
    serialize = getattr(model, "SerializeToString", None)
    if serialize is not None:
        return Module.import_onnx_bytes(serialize(), shapes)
    raise TypeError(f"import_onnx expects a path, bytes or onnx.ModelProto, got {type(model).__name__}")


def parse_mlir(text: str) -> Module:
    """Parses MLIR text in any lowbit or upstream dialect."""
    return Module.parse_mlir(text)


def run(module: Module, feeds, opt_level: int = 3) -> dict[str, np.ndarray]:
    """Compiles `module` for the CPU and runs it once on `feeds`."""
    return module.compile(opt_level).run(feeds)


def recipes() -> dict[str, dict[str, str]]:
    """Named quantization recipes: name -> {'description', 'pipeline'}."""
    return dict(_recipes())


def quantize(model, recipe: str, calibration=None,
             input_shapes: Mapping[str, Sequence[int]] | None = None) -> tuple[Module, dict]:
    """Quantizes `model` (a Module, or anything import_onnx takes) with a named
    recipe and returns (module, report). The report is the weight memory
    report: {'layers': [{'layer', 'shape', 'storage', 'f32_bytes',
    'stored_bytes'}, ...], 'total_f32_bytes', 'total_stored_bytes'}.

    The recipes available today (round-to-nearest family) need no
    calibration data; `calibration` is rejected rather than ignored.
    """
    table = _recipes()
    if recipe not in table:
        raise ValueError(f"unknown recipe '{recipe}' (known: {', '.join(table)})")
    if calibration is not None:
        raise ValueError(f"recipe '{recipe}' takes no calibration data "
                         "(calibrated recipes come with the calibrate pass)")
    module = model if isinstance(model, Module) else import_onnx(model, input_shapes)
    module.run_pipeline(table[recipe]["pipeline"])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "report.json")
        module.run_pipeline(f"weight-memory-report{{output={path} print=false}}")
        with open(path) as f:
            report = json.load(f)
    return module, report


def supported_onnx_ops() -> list[str]:
    """The ONNX op types (default domain) the importer handles."""
    return list(_supported_onnx_ops())


def _module_run(self: Module, feeds, opt_level: int = 3) -> dict[str, np.ndarray]:
    """Compiles for the CPU and runs once; keep `compile()`'s Executable to run often."""
    return self.compile(opt_level).run(feeds)


def _module_str(self: Module) -> str:
    return self.to_mlir(elide_blobs=True)


Module.run = _module_run
Module.__str__ = _module_str
