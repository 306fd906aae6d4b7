"""The Python package over the embedded C++ API: import + run parity with
onnxruntime, the three ways to hand over a model, and errors as exceptions
carrying the compiler's diagnostic."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import functools

from test_cli import conv_model, float_input, make_model, mlp_model

MAX_RELATIVE_ERROR = 1e-4


def reference(model: onnx.ModelProto, feeds: dict) -> dict:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def relative_error(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30))


@pytest.mark.parametrize(
    "builder", [mlp_model, functools.partial(conv_model, pads=[0, 1, 2, 1], strides=[1, 2])], ids=["mlp", "conv"]
)
def test_run_matches_onnxruntime(lowbit_module, builder, tmp_path):
    rng = np.random.default_rng(7)
    model = builder(rng)
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    feeds = {
        i.name: rng.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim]).astype(np.float32)
        for i in model.graph.input
    }
    module = lowbit_module.import_onnx(path)
    got = module.run(feeds)
    expected = reference(model, feeds)
    assert set(got) == set(expected)
    for name, ref in expected.items():
        assert got[name].shape == ref.shape and got[name].dtype == ref.dtype
        assert relative_error(got[name], ref) <= MAX_RELATIVE_ERROR


def test_model_from_bytes_and_proto_and_repeated_runs(lowbit_module):
    rng = np.random.default_rng(3)
    model = mlp_model(rng)
    x = rng.standard_normal((2, 5, 16)).astype(np.float32)
    from_proto = lowbit_module.import_onnx(model)
    from_bytes = lowbit_module.import_onnx(model.SerializeToString())
    exe = from_proto.compile()
    assert [i["name"] for i in exe.inputs] == ["x"]
    assert exe.outputs[0]["shape"] == (2, 5, 10)
    first = exe.run([x])["probs"]
    second = exe.run({"x": x * 2})["probs"]
    assert not np.allclose(first, second), "outputs must depend on the inputs"
    np.testing.assert_array_equal(first, from_bytes.run({"x": x})["probs"])
    np.testing.assert_allclose(second, reference(model, {"x": x * 2})["probs"], rtol=1e-4, atol=1e-6)


def test_pipeline_and_text(lowbit_module):
    module = lowbit_module.import_onnx(mlp_model(np.random.default_rng(0)))
    text = str(module)
    assert "nn.linear" in text and "dense_resource" in text
    module.run_pipeline("func.func(convert-nn-to-linalg)")
    assert "nn.linear" not in module.to_mlir(elide_blobs=True)
    assert "linalg.generic" in module.to_mlir(elide_blobs=True)


def test_input_shapes_make_dynamic_dims_static(lowbit_module):
    node = helper.make_node("Relu", ["x"], ["y"], name="act")
    model = make_model([node], [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])])
    with pytest.raises(lowbit_module.LowbitError, match="--input-shape x"):
        lowbit_module.import_onnx(model)
    module = lowbit_module.import_onnx(model, input_shapes={"x": [3, 4]})
    assert module.inputs[0]["shape"] == (3, 4)
    x = np.array([[-1, 2, -3, 4]] * 3, np.float32)
    np.testing.assert_array_equal(module.run({"x": x})["y"], np.maximum(x, 0))


def test_errors_are_exceptions_with_the_diagnostic(lowbit_module, tmp_path):
    with pytest.raises(lowbit_module.LowbitError, match="absent.onnx"):
        lowbit_module.import_onnx(tmp_path / "absent.onnx")
    with pytest.raises(lowbit_module.LowbitError, match="not a valid"):
        lowbit_module.import_onnx(b"\x00\x01garbage" * 10)
    unknown = make_model([helper.make_node("FooBar", ["x"], ["y"], name="mystery")],
                         [float_input("x", [2])], [float_input("y", [2])])
    with pytest.raises(lowbit_module.UnsupportedError, match="mystery.*FooBar"):
        lowbit_module.import_onnx(unknown)
    module = lowbit_module.import_onnx(mlp_model(np.random.default_rng(0)))
    with pytest.raises(ValueError, match=r"input 'x' expects f4 \(2, 5, 16\)"):
        module.run({"x": np.zeros((2, 5, 15), np.float32)})
    with pytest.raises(ValueError, match="input 'x' is missing"):
        module.run({})
    with pytest.raises(lowbit_module.LowbitError, match="no-such-pass"):
        module.run_pipeline("no-such-pass")
    with pytest.raises(TypeError):
        lowbit_module.import_onnx(42)


def test_supported_ops_listed(lowbit_module):
    ops = lowbit_module.supported_onnx_ops()
    assert {"Conv", "MatMul", "Softmax", "LayerNormalization"} <= set(ops)
    assert ops == sorted(ops)


def test_quantize_round_trip(lowbit_module):
    """quantize() with a recipe: the module runs, its result stays close to
    the float model, and the report's byte counts are the packed sizes."""
    rng = np.random.default_rng(21)
    model = mlp_model(rng)
    x = rng.standard_normal((2, 5, 16)).astype(np.float32)
    expected = reference(model, {"x": x})["probs"]
    assert "rtn-w8a8" in lowbit_module.recipes()
    module, report = lowbit_module.quantize(model, recipe="rtn-w8a8")
    assert "lowbit.qlinear" in module.to_mlir(elide_blobs=True)
    got = module.run({"x": x})["probs"]
    assert got.shape == expected.shape and np.isfinite(got).all()
    assert np.max(np.abs(got - expected)) < 0.05  # 8-bit noise on probabilities
    layers = {layer["layer"]: layer for layer in report["layers"]}
    # fc1: W [32, 16] at 8 bits per channel = 512 bytes + 32 scales; fc2: [10, 32].
    assert layers["fc1"]["stored_bytes"] == 32 * 16 + 32 * 4
    assert layers["fc2"]["stored_bytes"] == 10 * 32 + 10 * 4
    assert report["total_f32_bytes"] == (32 * 16 + 10 * 32) * 4


def test_quantize_errors(lowbit_module):
    model = mlp_model(np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown recipe 'nope'"):
        lowbit_module.quantize(model, recipe="nope")
    with pytest.raises(ValueError, match="takes no calibration"):
        lowbit_module.quantize(model, recipe="rtn-w4a16-g128", calibration={"x": np.zeros((2, 5, 16), np.float32)})
    with pytest.raises(ValueError, match="recipe 'gptq-w4a16-g128' needs calibration data"):
        lowbit_module.quantize(model, recipe="gptq-w4a16-g128")


def test_quantize_leaves_its_argument_and_refuses_twice(lowbit_module):
    """quantize(module, ...) returns a new module and leaves the one it was
    given float (it used to rewrite it in place); a quantized module refuses
    a second recipe."""
    rng = np.random.default_rng(3)
    model = mlp_model(rng)
    x = rng.standard_normal((2, 5, 16)).astype(np.float32)
    module = lowbit_module.import_onnx(model)
    before = module.to_mlir(elide_blobs=True)
    quantized, _ = lowbit_module.quantize(module, "rtn-w8a8")
    assert quantized is not module
    assert module.to_mlir(elide_blobs=True) == before
    assert "lowbit.qlinear" not in lowbit_module.describe(module)["ops"]
    assert lowbit_module.describe(quantized)["ops"]["lowbit.qlinear"] == 2
    # The float module still runs as float: onnxruntime's result.
    ref = reference(model, {"x": x})["probs"]
    assert relative_error(module.run({"x": x})["probs"], ref) < MAX_RELATIVE_ERROR
    with pytest.raises(ValueError, match=r"already quantized \(it holds lowbit\."):
        lowbit_module.quantize(quantized, "rtn-w4a16-g128")


def test_bytecode_files_of_any_name(lowbit_module, tmp_path):
    """Module.write("x.mlirbc") writes bytecode (no hex-printed blobs);
    load_mlir reads text or bytecode whatever the file is called, and the
    CLI recognises bytecode by its magic number."""
    rng = np.random.default_rng(4)
    model = mlp_model(rng)
    quantized, _ = lowbit_module.quantize(model, "rtn-w8a8")
    quantized.write(str(tmp_path / "q.mlirbc"))
    quantized.write(str(tmp_path / "q.mlir"))
    data = (tmp_path / "q.mlirbc").read_bytes()
    assert data[:4] == b"ML\xefR"
    assert len(data) < (tmp_path / "q.mlir").stat().st_size
    (tmp_path / "model.bin").write_bytes(data)
    x = rng.standard_normal((2, 5, 16)).astype(np.float32)
    want = quantized.run({"x": x})["probs"]
    for name in ("q.mlirbc", "model.bin", "q.mlir"):
        loaded = lowbit_module.load_mlir(tmp_path / name)
        assert np.array_equal(loaded.run({"x": x})["probs"], want), name


def test_scalar_inputs_in_calibration(lowbit_module):
    """A 0-d input (a scalar) in calibration samples keeps its shape ()."""
    w = np.random.default_rng(5).standard_normal((8, 4)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
         helper.make_node("Mul", ["h", "s"], ["y"], name="scale")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8]),
         helper.make_tensor_value_info("s", TensorProto.FLOAT, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = np.ones((2, 8), np.float32)
    samples = [{"x": x, "s": np.float32(2.0)}, {"x": 2 * x, "s": np.array(0.5, np.float32)}]
    module, report = lowbit_module.quantize(model, "rtn-w8a8-static", calibration=samples)
    assert report["calibration"] == {"samples": 2, "layers": ["fc"]}
    as_dict = {"x": np.stack([x, 2 * x]), "s": np.array([2.0, 0.5], np.float32)}
    _, report = lowbit_module.quantize(model, "rtn-w8a8-static", calibration=as_dict)
    assert report["calibration"]["samples"] == 2
    got = module.run({"x": x, "s": np.float32(3.0)})["y"]
    np.testing.assert_allclose(got, 3.0 * (x @ w), rtol=0.05, atol=0.05)
