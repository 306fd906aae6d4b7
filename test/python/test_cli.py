"""Command-line tests of lowbit-run and lowbit-opt on small ONNX models built
here with onnx.helper: parity with onnxruntime, the exit codes and messages
of the CLI contract, and the importer's output through lowbit-opt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

# Same rule as scripts/main.py: max|lowbit - onnxruntime| / max|onnxruntime|.
MAX_RELATIVE_ERROR = 1e-4
OPSET = 17
# IR 8 is what opset 17 needs; older than the newest so the tests exercise the
# ops, not the newest protobuf fields.
IR_VERSION = 8

EXIT_ERROR, EXIT_MISMATCH, EXIT_UNSUPPORTED = 1, 2, 3


# ---------------------------------------------------------------------------
# Models


def make_model(nodes, inputs, outputs, initializers=(), name="test") -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


def float_input(name: str, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def mlp_model(rng: np.random.Generator) -> onnx.ModelProto:
    """x[2,5,16] -> MatMul(W1) + b1 -> Relu -> MatMul(W2) -> Softmax(-1): two
    linear layers with constant weights, as in a transformer's MLP block."""
    w1 = (rng.standard_normal((16, 32)) / 4).astype(np.float32)
    b1 = (rng.standard_normal(32) / 4).astype(np.float32)
    w2 = (rng.standard_normal((32, 10)) / np.sqrt(32)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
        helper.make_node("Add", ["h0", "b1"], ["h1"], name="fc1_bias"),
        helper.make_node("Relu", ["h1"], ["h2"], name="act"),
        helper.make_node("MatMul", ["h2", "w2"], ["logits"], name="fc2"),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
    ]
    initializers = [
        numpy_helper.from_array(w1, "w1"),
        numpy_helper.from_array(b1, "b1"),
        numpy_helper.from_array(w2, "w2"),
    ]
    return make_model(
        nodes, [float_input("x", [2, 5, 16])], [float_input("probs", [2, 5, 10])], initializers, "mlp"
    )


def conv_model(rng: np.random.Generator, pads, strides) -> onnx.ModelProto:
    """x[1,3,17,17] -> Conv(8 filters 3x3, bias, pads, strides) -> Relu."""
    weight = (rng.standard_normal((8, 3, 3, 3)) / 5).astype(np.float32)
    bias = (rng.standard_normal(8) / 5).astype(np.float32)
    out_h = (17 + pads[0] + pads[2] - 3) // strides[0] + 1
    out_w = (17 + pads[1] + pads[3] - 3) // strides[1] + 1
    nodes = [
        helper.make_node(
            "Conv", ["x", "weight", "bias"], ["conv"], name="conv",
            kernel_shape=[3, 3], pads=list(pads), strides=list(strides),
        ),
        helper.make_node("Relu", ["conv"], ["y"], name="relu"),
    ]
    initializers = [numpy_helper.from_array(weight, "weight"), numpy_helper.from_array(bias, "bias")]
    return make_model(
        nodes, [float_input("x", [1, 3, 17, 17])], [float_input("y", [1, 8, out_h, out_w])], initializers, "conv"
    )


def add_model(lhs: str = "lhs_tensor", rhs: str = "rhs_tensor") -> onnx.ModelProto:
    nodes = [helper.make_node("Add", [lhs, rhs], ["sum"], name="add")]
    return make_model(
        nodes, [float_input(lhs, [2, 3]), float_input(rhs, [2, 3])], [float_input("sum", [2, 3])], name="add"
    )


# ---------------------------------------------------------------------------
# Helpers


def save(model: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    np.savez(path, **arrays)
    return path


def onnxruntime_outputs(model_path: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def max_relative_error(got: np.ndarray, ref: np.ndarray) -> float:
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    scale = float(np.max(np.abs(ref)))
    assert scale > 0, "reference output is all zeros; the test model is degenerate"
    return float(np.max(diff)) / scale  # NaN propagates and fails the <= check


def describe(proc) -> str:
    return f"exit {proc.returncode}\n--- stdout:\n{proc.stdout}\n--- stderr:\n{proc.stderr}"


def error_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.strip()]


def assert_one_error_line(proc) -> str:
    lines = error_lines(proc)
    assert len(lines) == 1, f"expected exactly one line on stderr\n{describe(proc)}"
    assert lines[0].startswith("error:"), f"stderr line does not start with 'error:'\n{describe(proc)}"
    return lines[0]


def check_parity(lowbit_run, tmp_path: Path, model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> None:
    model_path = save(model, tmp_path / "model.onnx")
    inputs = save_npz(tmp_path / "inputs.npz", feeds)
    outputs = tmp_path / "outputs.npz"
    proc = lowbit_run(model_path, f"--inputs={inputs}", f"--outputs={outputs}")
    assert proc.returncode == 0, describe(proc)
    assert outputs.is_file(), f"lowbit-run exited 0 but wrote no {outputs.name}\n{describe(proc)}"
    expected = onnxruntime_outputs(model_path, feeds)
    with np.load(outputs) as got:
        assert set(got.files) == set(expected), f"output names {got.files}, expected {sorted(expected)}"
        for name, ref in expected.items():
            assert got[name].shape == ref.shape, f"{name}: shape {got[name].shape}, expected {ref.shape}"
            error = max_relative_error(got[name], ref)
            assert error <= MAX_RELATIVE_ERROR, f"{name}: max relative error {error:.3g}"


# ---------------------------------------------------------------------------
# Parity with onnxruntime


def test_mlp_matches_onnxruntime(lowbit_run, tmp_path):
    rng = np.random.default_rng(1)
    feeds = {"x": rng.standard_normal((2, 5, 16)).astype(np.float32)}
    check_parity(lowbit_run, tmp_path, mlp_model(rng), feeds)


@pytest.mark.parametrize(
    "pads, strides",
    [([1, 1, 1, 1], [2, 2]), ([0, 1, 2, 1], [1, 2])],
    ids=["pad1-stride2", "asymmetric-pad-stride1x2"],
)
def test_conv_relu_matches_onnxruntime(lowbit_run, tmp_path, pads, strides):
    rng = np.random.default_rng(2)
    feeds = {"x": rng.standard_normal((1, 3, 17, 17)).astype(np.float32)}
    check_parity(lowbit_run, tmp_path, conv_model(rng, pads, strides), feeds)


# ---------------------------------------------------------------------------
# Malformed input


def run_on_garbage(lowbit_run, tmp_path: Path, model_bytes: bytes):
    """Runs lowbit-run on a bad model file with --outputs into an empty folder,
    and checks the error contract: exit 1, one "error:" line, nothing written."""
    model_path = tmp_path / "bad.onnx"
    model_path.write_bytes(model_bytes)
    inputs = save_npz(tmp_path / "inputs.npz", {"x": np.zeros((2, 5, 16), np.float32)})
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = lowbit_run(model_path, f"--inputs={inputs}", f"--outputs={out_dir / 'outputs.npz'}")
    assert proc.returncode == EXIT_ERROR, describe(proc)
    assert_one_error_line(proc)
    leftovers = sorted(p.name for p in out_dir.iterdir())
    assert leftovers == [], f"lowbit-run failed but left {leftovers} in the output folder"


def test_truncated_model_is_rejected(lowbit_run, tmp_path):
    data = mlp_model(np.random.default_rng(3)).SerializeToString()
    truncated = data[: len(data) // 2]
    # The cut falls inside the graph's weights, so no protobuf reader accepts it.
    with pytest.raises(Exception):
        onnx.load_model_from_string(truncated)
    run_on_garbage(lowbit_run, tmp_path, truncated)


def test_random_bytes_model_is_rejected(lowbit_run, tmp_path):
    run_on_garbage(lowbit_run, tmp_path, np.random.default_rng(4).bytes(4096))


# ---------------------------------------------------------------------------
# Errors that must name what is wrong


def test_unknown_op_names_the_node(lowbit_run, tmp_path):
    nodes = [helper.make_node("FooBar", ["x"], ["y"], name="mystery")]
    model = make_model(nodes, [float_input("x", [2, 3])], [float_input("y", [2, 3])], name="unknown_op")
    model_path = save(model, tmp_path / "unknown_op.onnx")
    inputs = save_npz(tmp_path / "inputs.npz", {"x": np.ones((2, 3), np.float32)})
    proc = lowbit_run(model_path, f"--inputs={inputs}", f"--outputs={tmp_path / 'outputs.npz'}")
    assert proc.returncode == EXIT_UNSUPPORTED, describe(proc)
    line = assert_one_error_line(proc)
    assert "mystery" in line and "FooBar" in line, describe(proc)
    assert not (tmp_path / "outputs.npz").exists()


def test_missing_input_is_named(lowbit_run, tmp_path):
    model_path = save(add_model(), tmp_path / "add.onnx")
    # Only one of the two graph inputs is given.
    inputs = save_npz(tmp_path / "inputs.npz", {"lhs_tensor": np.ones((2, 3), np.float32)})
    proc = lowbit_run(model_path, f"--inputs={inputs}", f"--outputs={tmp_path / 'outputs.npz'}")
    assert proc.returncode == EXIT_ERROR, describe(proc)
    assert "rhs_tensor" in proc.stderr, describe(proc)
    assert not (tmp_path / "outputs.npz").exists()


def test_nonexistent_model_path_is_named(lowbit_run, tmp_path):
    missing = tmp_path / "no_such_model.onnx"
    inputs = save_npz(tmp_path / "inputs.npz", {"x": np.ones((2, 3), np.float32)})
    proc = lowbit_run(missing, f"--inputs={inputs}")
    assert proc.returncode == EXIT_ERROR, describe(proc)
    assert str(missing) in proc.stderr, describe(proc)


def test_bad_input_shape_flag_is_named(lowbit_run, tmp_path):
    model_path = save(add_model("x", "y"), tmp_path / "add.onnx")
    proc = lowbit_run(model_path, "--input-shape=x=abc")
    assert proc.returncode == EXIT_ERROR, describe(proc)
    assert "input-shape" in proc.stderr, describe(proc)


# ---------------------------------------------------------------------------
# --test-data and --list-ops (what scripts/conformance.py relies on)


def write_test_data(data_dir: Path, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> Path:
    data_dir.mkdir()
    for i, array in enumerate(inputs):
        (data_dir / f"input_{i}.pb").write_bytes(numpy_helper.from_array(array).SerializeToString())
    for i, array in enumerate(outputs):
        (data_dir / f"output_{i}.pb").write_bytes(numpy_helper.from_array(array).SerializeToString())
    return data_dir


def test_test_data_pass_and_mismatch(lowbit_run, tmp_path):
    model_path = save(add_model(), tmp_path / "add.onnx")
    rng = np.random.default_rng(5)
    lhs = rng.standard_normal((2, 3)).astype(np.float32)
    rhs = rng.standard_normal((2, 3)).astype(np.float32)
    good = write_test_data(tmp_path / "good", [lhs, rhs], [lhs + rhs])
    proc = lowbit_run(model_path, f"--test-data={good}")
    assert proc.returncode == 0, describe(proc)

    wrong = lhs + rhs
    wrong[1, 2] += 1.0
    bad = write_test_data(tmp_path / "bad", [lhs, rhs], [wrong])
    proc = lowbit_run(model_path, f"--test-data={bad}")
    assert proc.returncode == EXIT_MISMATCH, describe(proc)


def test_list_ops_covers_the_parity_models(lowbit_run):
    proc = lowbit_run("--list-ops")
    assert proc.returncode == 0, describe(proc)
    listed = {line.strip() for line in proc.stdout.splitlines() if line.strip()}
    missing = {"MatMul", "Add", "Relu", "Softmax", "Conv"} - listed
    assert not missing, f"--list-ops lacks {sorted(missing)}\n{describe(proc)}"
    assert "FooBar" not in listed


# ---------------------------------------------------------------------------
# lowbit-opt on .onnx input


def test_lowbit_opt_imports_mlp(lowbit_opt, tmp_path):
    model_path = save(mlp_model(np.random.default_rng(6)), tmp_path / "mlp.onnx")
    proc = lowbit_opt(model_path, "--canonicalize")
    assert proc.returncode == 0, describe(proc)
    # MatMul with a constant weight becomes nn.linear; weights are resource blobs.
    for expected in ("func.func", "nn.linear", "dense_resource"):
        assert expected in proc.stdout, f"{expected!r} not in lowbit-opt output\n{describe(proc)}"


def test_lowbit_opt_imports_conv(lowbit_opt, tmp_path):
    model_path = save(conv_model(np.random.default_rng(7), [1, 1, 1, 1], [2, 2]), tmp_path / "conv.onnx")
    proc = lowbit_opt(model_path, "--canonicalize")
    assert proc.returncode == 0, describe(proc)
    assert "func.func" in proc.stdout, describe(proc)


def test_duplicate_and_passthrough_outputs(lowbit_run, tmp_path):
    """Two graph outputs that are the same value, and an output that is the
    input itself: each gets its own buffer (this used to crash the lowering)."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Identity", ["r"], ["r_copy"], name="copy"),
        helper.make_node("Identity", ["x"], ["x_copy"], name="passthrough"),
    ]
    model = make_model(nodes, [float_input("x", [2, 3])],
                       [float_input("r", [2, 3]), float_input("r_copy", [2, 3]), float_input("x_copy", [2, 3])])
    x = np.array([[-1, 2, -3], [4, -5, 6]], np.float32)
    path = save(model, tmp_path / "dup.onnx")
    inputs = save_npz(tmp_path / "in.npz", {"x": x})
    outputs = tmp_path / "out.npz"
    proc = lowbit_run(path, f"--inputs={inputs}", f"--outputs={outputs}")
    assert proc.returncode == 0, describe(proc)
    with np.load(outputs) as got:
        np.testing.assert_array_equal(got["r"], np.maximum(x, 0))
        np.testing.assert_array_equal(got["r_copy"], np.maximum(x, 0))
        np.testing.assert_array_equal(got["x_copy"], x)


def test_value_returned_twice_from_mlir(lowbit_run, tmp_path):
    """One element-wise result returned twice: the copy made for the second
    out-param must be a buffer of its own (tensor.empty + linalg.copy was
    merged by CSE with the producer's buffer and crashed the lowering)."""
    path = tmp_path / "dup.mlir"
    path.write_text(
        "func.func @main(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {\n"
        "  %0 = tosa.sigmoid %x : (tensor<4xf32>) -> tensor<4xf32>\n"
        "  return %0, %0 : tensor<4xf32>, tensor<4xf32>\n"
        "}\n")
    x = np.array([-1, 0, 1, 2], np.float32)
    inputs = save_npz(tmp_path / "in.npz", {"arg0": x})
    outputs = tmp_path / "out.npz"
    proc = lowbit_run(path, f"--inputs={inputs}", f"--outputs={outputs}")
    assert proc.returncode == 0, describe(proc)
    expected = 1 / (1 + np.exp(-x.astype(np.float64)))
    with np.load(outputs) as got:
        assert sorted(got.files) == ["result0", "result1"]
        for name in got.files:
            np.testing.assert_allclose(got[name], expected, rtol=1e-6)


def test_import_only_stops_after_import(lowbit_run, tmp_path):
    """--import-only imports (running --pipeline if given), reports, and
    compiles nothing: no --inputs needed."""
    path = save(mlp_model(np.random.default_rng(0)), tmp_path / "mlp.onnx")
    proc = lowbit_run(path, "--import-only", "--pipeline=func.func(quantize-weights{bits=4 group-size=8})")
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout.startswith("import: ") and "compile:" not in proc.stdout


def test_recipe_runs_and_unknown_recipe_is_an_error(lowbit_run, tmp_path):
    rng = np.random.default_rng(4)
    model = mlp_model(rng)
    path = save(model, tmp_path / "mlp.onnx")
    x = rng.standard_normal((2, 5, 16)).astype(np.float32)
    inputs = save_npz(tmp_path / "in.npz", {"x": x})
    outputs = tmp_path / "out.npz"
    proc = lowbit_run(path, f"--inputs={inputs}", f"--outputs={outputs}", "--recipe=rtn-w4a16-g128")
    assert proc.returncode == 0, describe(proc)
    with np.load(outputs) as got:
        ref = onnxruntime_outputs(path, {"x": x})["probs"]
        assert np.isfinite(got["probs"]).all() and np.max(np.abs(got["probs"] - ref)) < 0.2
    listed = lowbit_run("--list-recipes")
    assert listed.returncode == 0 and "rtn-w4a16-g128" in listed.stdout
    bad = lowbit_run(path, f"--inputs={inputs}", "--recipe=nope")
    assert bad.returncode == EXIT_ERROR and "unknown recipe 'nope'" in bad.stderr
