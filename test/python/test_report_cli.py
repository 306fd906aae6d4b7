"""`lowbit report` and lowbit.report(): a recipe against the float model on
the user's own inputs. The output errors are checked against numpy on the
outputs of separate lowbit-run runs (float, and the recipe), the per-layer
input errors against what they must be (zero for the first layer, which
reads the model input; above zero after a quantized layer), the storage
against the recipe's bits; bad flags give one error line naming them."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import Tool, error_line

RNG = np.random.default_rng(5)


@pytest.fixture(scope="module")
def lowbit_tool() -> Tool:
    return Tool("lowbit")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """x [1, 4, 10, 10] -> Conv 3x3 (8 filters) -> Relu -> Flatten -> MatMul
    [800, 16] -> y [1, 16]."""
    d = tmp_path_factory.mktemp("report")
    w = (RNG.standard_normal((8, 4, 3, 3)) * 0.3).astype(np.float32)
    fc = (RNG.standard_normal((800, 16)) * 0.05).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Flatten", ["r"], ["f"], name="flatten"),
             helper.make_node("MatMul", ["f", "fc"], ["y"], name="fc")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 10, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(fc, "fc")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(d / "m.onnx"))
    np.savez(d / "eval.npz", x=RNG.standard_normal((1, 4, 10, 10)).astype(np.float32))
    np.savez(d / "cal.npz", x=RNG.standard_normal((3, 1, 4, 10, 10)).astype(np.float32))
    return d


def lowbit_run_output(d, *flags):
    out = d / "out.npz"
    r = Tool("lowbit-run")(d / "m.onnx", "--inputs", d / "eval.npz", "--outputs", out, *flags)
    assert r.returncode == 0, r.stderr
    return np.load(out)["y"].astype(np.float64)


def test_report_matches_separate_runs(lowbit_tool, model):
    d = model
    r = lowbit_tool("report", d / "m.onnx", "--recipe", "rtn-w4a8-g128", "--inputs", d / "eval.npz",
                    "--json", d / "report.json")
    assert r.returncode == 0, r.stderr
    assert "rtn-w4a8-g128" in r.stdout and "cosine" in r.stdout
    report = json.loads((d / "report.json").read_text())
    f = lowbit_run_output(d)
    q = lowbit_run_output(d, "--recipe", "rtn-w4a8-g128")
    [out] = report["outputs"]
    assert out["name"] == "y" and out["shape"] == [1, 16]
    assert out["max_abs_error"] == pytest.approx(np.abs(q - f).max(), rel=1e-9)
    assert out["relative_error"] == pytest.approx(np.linalg.norm(q - f) / np.linalg.norm(f), rel=1e-9)
    cosine = (q * f).sum() / np.linalg.norm(q) / np.linalg.norm(f)
    assert out["cosine"] == pytest.approx(cosine, rel=1e-9)
    assert out["top1_agreement"] == float(np.argmax(q) == np.argmax(f))
    assert 0 < out["relative_error"] < 0.2
    layers = {row["layer"]: row for row in report["layers"]}
    assert len(layers) == 2, layers
    conv, fc = sorted(layers.values(), key=lambda row: row["f32_bytes"])
    # The conv reads the model input: nothing before it was quantized.
    assert conv["input_relative_error"] == 0.0
    # The linear layer reads the quantized conv's output.
    assert 0 < fc["input_relative_error"] < 0.2
    assert fc["f32_bytes"] == 800 * 16 * 4
    assert "4" in fc["storage"] and fc["stored_bytes"] < fc["f32_bytes"] / 4
    assert report["total_f32_bytes"] == conv["f32_bytes"] + fc["f32_bytes"]


def test_python_report_with_calibration(lowbit_module, model):
    d = model
    x = np.load(d / "eval.npz")["x"]
    cal = np.load(d / "cal.npz")["x"]
    report = lowbit_module.report(d / "m.onnx", "rtn-w8a8-static", {"x": x},
                                  calibration=[{"x": c} for c in cal])
    [out] = report["outputs"]
    assert report["recipe"] == "rtn-w8a8-static"
    assert 0 < out["relative_error"] < 0.1 and out["cosine"] > 0.99
    with pytest.raises(lowbit_module.LowbitError, match="calibrat"):
        lowbit_module.report(d / "m.onnx", "rtn-w8a8-static", {"x": x})


def test_report_bad_input(lowbit_tool, model, tmp_path):
    d = model
    m = d / "m.onnx"
    assert "--recipe" in error_line(lowbit_tool("report", m, "--inputs", d / "eval.npz"))
    assert "--inputs" in error_line(lowbit_tool("report", m, "--recipe", "rtn-w8a8"))
    assert "rtn-w9a9" in error_line(lowbit_tool("report", m, "--recipe", "rtn-w9a9", "--inputs", d / "eval.npz"))
    np.savez(tmp_path / "bad.npz", x=np.zeros((1, 4, 9, 10), np.float32))
    line = error_line(lowbit_tool("report", m, "--recipe", "rtn-w8a8", "--inputs", tmp_path / "bad.npz",
                                  "--json", tmp_path / "r.json"))
    assert "input 'x' expects" in line and "bad.npz" in line
    assert not (tmp_path / "r.json").exists()
