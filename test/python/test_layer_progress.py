"""Per-layer progress of the long quantization passes (issue 15, item 4):
quantize-weights reports after each layer (lib/Support/Progress.h), and the
CLI with --progress, lowbit.quantize(progress=True) and
Module.run_pipeline(progress=callback) show it. A model of three linear
layers quantized by GPTQ must report 1/3, 2/3 and 3/3, in order."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import Tool

RNG = np.random.default_rng(3)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("progress")
    weights = [(RNG.standard_normal((128, n)) * 0.1).astype(np.float32) for n in (128, 128, 64)]
    nodes = [helper.make_node("MatMul", ["x", "w0"], ["h0"], name="fc0"),
             helper.make_node("MatMul", ["h0", "w1"], ["h1"], name="fc1"),
             helper.make_node("MatMul", ["h1", "w2"], ["y"], name="fc2")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 128])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 64])],
        [numpy_helper.from_array(w, f"w{i}") for i, w in enumerate(weights)])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(d / "m.onnx"))
    np.savez(d / "cal.npz", x=RNG.standard_normal((8, 4, 128)).astype(np.float32))
    return d


def test_cli_progress_per_layer(model, tmp_path):
    r = Tool("lowbit")("quantize", model / "m.onnx", "--recipe", "gptq-w4a16-g128", "--calibrate",
                       model / "cal.npz", "--progress", "-o", tmp_path / "q.mlir")
    assert r.returncode == 0, r.stderr
    layers = [line.split()[-2] for line in r.stderr.splitlines()
              if line.startswith("quantize-weights gptq [")]
    assert layers == ["1/3", "2/3", "3/3"], r.stderr
    # Off by default when stderr is not a terminal.
    r = Tool("lowbit")("quantize", model / "m.onnx", "--recipe", "gptq-w4a16-g128", "--calibrate",
                       model / "cal.npz", "-o", tmp_path / "q2.mlir")
    assert r.returncode == 0 and "quantize-weights" not in r.stderr, r.stderr


# The raising callback below is reported as unraisable, on purpose.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_python_progress(model, lowbit_module, capfd):
    cal = np.load(model / "cal.npz")["x"]
    lowbit_module.quantize(str(model / "m.onnx"), "gptq-w4a16-g128",
                           calibration=[{"x": c} for c in cal], progress=True)
    err = capfd.readouterr().err
    assert "quantize-weights gptq [" in err and "3/3 layers" in err, err

    calls = []
    m = lowbit_module.import_onnx(str(model / "m.onnx"))
    m.run_pipeline("func.func(quantize-weights{bits=4 group-size=32})",
                   progress=lambda task, done, total: calls.append((task, done, total)))
    assert calls == [("quantize-weights rtn", i, 3) for i in (1, 2, 3)]
    # A callback that raises does not break the pipeline.
    m = lowbit_module.import_onnx(str(model / "m.onnx"))
    m.run_pipeline("func.func(quantize-weights{bits=4 group-size=32})",
                   progress=lambda *args: 1 / 0)
    assert "lowbit.dequantize_weight" in str(m)
