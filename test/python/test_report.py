"""scripts/report.py (the accuracy report): per-layer bits, bytes and input
error, the model metric, and the PNG, on a two-layer MLP whose hidden
activation is also a graph output, so the per-layer error can be checked
against lowbit-run's quantized output and onnxruntime's float output
independently of the report's taps."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import REPO_ROOT, Tool

REPORT = REPO_ROOT / "scripts" / "report.py"


def make_mlp(path):
    rng = np.random.default_rng(7)
    w1 = rng.standard_normal((32, 16)).astype(np.float32) * 0.3
    w2 = rng.standard_normal((8, 32)).astype(np.float32) * 0.3
    nodes = [
        helper.make_node("Gemm", ["x", "w1"], ["pre"], name="fc1", transB=1),
        helper.make_node("Relu", ["pre"], ["h"], name="relu"),
        helper.make_node("Gemm", ["h", "w2"], ["y"], name="fc2", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 8]),
         helper.make_tensor_value_info("h", TensorProto.FLOAT, [4, 32])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def run_report(*args):
    return subprocess.run([sys.executable, str(REPORT), *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def evaluation_feeds(model_path):
    """The inputs the report evaluates on (scripts/main.py's generator, seed 0)."""
    spec = importlib.util.spec_from_file_location("lowbit_main", REPO_ROOT / "scripts" / "main.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)
    model = onnx.load(str(model_path))
    inputs = main.graph_inputs(model)
    feeds, _ = main.make_inputs(inputs, main.resolve_input_shapes(inputs, {}), 0)
    return feeds


def test_report_per_layer_error_matches_an_independent_measurement(tmp_path):
    model = make_mlp(tmp_path / "mlp.onnx")
    out = tmp_path / "report"
    proc = run_report("--model", model, "--recipe", "rtn-w8a8", "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    layers = {row["layer"]: row for row in report["layers"]}
    assert list(layers) == ["fc1", "fc2"]
    for row in layers.values():
        assert (row["weight_bits"], row["act_bits"]) == (8, 8), row
        # int8 per output channel: one byte per weight plus an f32 scale per row.
        n, k = map(int, row["shape"].split("x"))
        assert row["stored_bytes"] == n * k + 4 * n
    # fc1 reads the model input: nothing before it is quantized.
    assert layers["fc1"]["input_relative_error"] == 0.0

    # fc2 reads relu(fc1(x)): compare the report with lowbit-run's quantized h
    # and onnxruntime's float h on the same input.
    feeds = evaluation_feeds(model)
    np.savez(tmp_path / "in.npz", **feeds)
    run = Tool("lowbit-run")(model, "--recipe", "rtn-w8a8", "--inputs", tmp_path / "in.npz",
                             "--outputs", tmp_path / "out.npz")
    assert run.returncode == 0, run.stderr
    with np.load(tmp_path / "out.npz") as data:
        h_q = data["h"].astype(np.float64)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    h_f = session.run(["h"], feeds)[0].astype(np.float64)
    expected = np.linalg.norm(h_q - h_f) / np.linalg.norm(h_f)
    assert expected > 0
    assert layers["fc2"]["input_relative_error"] == pytest.approx(expected, rel=1e-5)

    # The model metric: y against onnxruntime's float y.
    y_f = session.run(["y"], feeds)[0].astype(np.float64)
    with np.load(tmp_path / "out.npz") as data:
        y_q = data["y"].astype(np.float64)
    cosine = float(y_f.ravel() @ y_q.ravel() / (np.linalg.norm(y_f) * np.linalg.norm(y_q)))
    assert report["metric"]["outputs"]["y"]["cosine"] == pytest.approx(cosine, abs=1e-6)

    # The Markdown has one table row per layer, the PNG is a PNG.
    md = (out / "report.md").read_text()
    assert "| 0 | fc1 | 32x16 | 8 | 8 |" in md and "| 1 | fc2 | 8x32 | 8 | 8 |" in md
    png = (out / "per_layer.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_report_calibrates_a_recipe_that_needs_data(tmp_path):
    model = make_mlp(tmp_path / "mlp.onnx")
    out = tmp_path / "report"
    proc = run_report("--model", model, "--recipe", "rtn-w8a8-static", "--calibration-samples", 2,
                      "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["calibration_samples"] == 2
    assert [(r["weight_bits"], r["act_bits"]) for r in report["layers"]] == [(8, 8), (8, 8)]


@pytest.mark.parametrize("args, message", [
    (["--recipe", "no-such-recipe"], "unknown recipe 'no-such-recipe'"),
    (["--calibration-samples", "-1"], "--calibration-samples"),
])
def test_report_rejects_bad_flags(tmp_path, args, message):
    model = make_mlp(tmp_path / "mlp.onnx")
    proc = run_report("--model", model, *args, "--out", tmp_path / "report")
    assert proc.returncode == 1
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "report").exists()


def test_report_rejects_a_missing_model(tmp_path):
    proc = run_report("--model", tmp_path / "absent.onnx")
    assert proc.returncode == 1
    assert "absent.onnx" in proc.stderr


def test_report_on_the_users_data(tmp_path):
    """--inputs EVAL.npz / --calibrate CAL.npz: the report evaluates on the
    user's arrays (their shapes fix the input shapes) and calibrates on
    theirs; its model metric is the
    cosine against onnxruntime on exactly those inputs, recomputed here."""
    model = make_mlp(tmp_path / "mlp.onnx")
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 16)).astype(np.float32)
    np.savez(tmp_path / "eval.npz", x=x)
    np.savez(tmp_path / "cal.npz", x=rng.standard_normal((5, 4, 16)).astype(np.float32))
    out = tmp_path / "report"
    proc = run_report("--model", model, "--recipe", "rtn-w8a8-static", "--inputs", tmp_path / "eval.npz",
                      "--calibrate", tmp_path / "cal.npz", "--out", out)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["calibration_samples"] == 5
    assert "eval.npz" in report["model_description"]
    # Independent check of the metric: lowbit-run with the same recipe and
    # calibration, against onnxruntime float, on the same x.
    run = Tool("lowbit-run")(model, "--recipe", "rtn-w8a8-static", "--calibrate", tmp_path / "cal.npz",
                             "--inputs", tmp_path / "eval.npz", "--outputs", tmp_path / "q.npz")
    assert run.returncode == 0, run.stderr
    ref = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
    got = np.load(tmp_path / "q.npz")["y"].astype(np.float64)
    r = ref.astype(np.float64).ravel()
    cosine = float(r @ got.ravel() / (np.linalg.norm(r) * np.linalg.norm(got)))
    assert report["metric"]["outputs"]["y"]["cosine"] == pytest.approx(cosine, abs=1e-6)


@pytest.mark.parametrize("extra, message", [
    ([], "give --calibrate CAL.npz"),
    (["--calibrate", "missing.npz"], "--calibrate: 'missing.npz' does not exist"),
])
def test_report_users_data_errors(tmp_path, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    model = make_mlp(tmp_path / "mlp.onnx")
    np.savez(tmp_path / "eval.npz", x=np.zeros((4, 16), np.float32))
    proc = run_report("--model", model, "--recipe", "rtn-w8a8-static", "--inputs", "eval.npz", *extra,
                      "--out", tmp_path / "r")
    assert proc.returncode == 1
    assert message in proc.stderr
    np.savez(tmp_path / "wrong.npz", y=np.zeros((4, 16), np.float32))
    proc = run_report("--model", model, "--recipe", "rtn-w8a8", "--inputs", "wrong.npz", "--out", tmp_path / "r")
    assert proc.returncode == 1 and "has no array for input(s) ['x']" in proc.stderr
