"""uint8 / int16 / int4 graph inputs and outputs (the I/O of ONNX's
quantization ops): through lowbit-run (.npz in and out) and the Python
binding (numpy arrays in and out), compared with onnxruntime; wrong dtypes
and out-of-range int4 containers are errors naming the input."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

OPSET = 21


def _value(name, shape, elem):
    return helper.make_tensor_value_info(name, elem, shape)


def uint8_model() -> onnx.ModelProto:
    """uint8 in, uint8 / int32 / float out:
    y = DequantizeLinear(q, 0.05, 128); z = QuantizeLinear(x, 0.1, zx) with
    the zero point zx a uint8 graph input; m = MatMulInteger(q, a, 3, za)
    with za a uint8 graph input."""
    nodes = [
        helper.make_node("DequantizeLinear", ["q", "sq", "zq"], ["y"], name="dq"),
        helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["z"], name="qx"),
        helper.make_node("MatMulInteger", ["q", "a", "zq3", "za"], ["m"], name="mmi"),
    ]
    inits = [
        numpy_helper.from_array(np.array(0.05, np.float32), "sq"),
        numpy_helper.from_array(np.array(128, np.uint8), "zq"),
        numpy_helper.from_array(np.array(0.1, np.float32), "sx"),
        numpy_helper.from_array(np.array(3, np.uint8), "zq3"),
    ]
    inputs = [
        _value("q", [3, 4], TensorProto.UINT8),
        _value("x", [3, 4], TensorProto.FLOAT),
        _value("zx", [], TensorProto.UINT8),
        _value("a", [4, 5], TensorProto.UINT8),
        _value("za", [], TensorProto.UINT8),
    ]
    outputs = [
        _value("y", [3, 4], TensorProto.FLOAT),
        _value("z", [3, 4], TensorProto.UINT8),
        _value("m", [3, 5], TensorProto.INT32),
    ]
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model


def int4_int16_model() -> onnx.ModelProto:
    """int4 and int16 in: y4 = DequantizeLinear(w4, 0.25, zp4 = -1) and
    y16 = DequantizeLinear(w16, 0.001, zp16 = 100), both zero points graph
    inputs of the data's type; z16 = QuantizeLinear(x, 0.001) to int16."""
    nodes = [
        helper.make_node("DequantizeLinear", ["w4", "s4", "zp4"], ["y4"], name="dq4"),
        helper.make_node("DequantizeLinear", ["w16", "s16", "zp16"], ["y16"], name="dq16"),
        helper.make_node("QuantizeLinear", ["x", "s16"], ["z16"], name="q16",
                         output_dtype=TensorProto.INT16),
    ]
    inits = [
        numpy_helper.from_array(np.array(0.25, np.float32), "s4"),
        numpy_helper.from_array(np.array(0.001, np.float32), "s16"),
    ]
    inputs = [
        _value("w4", [6], TensorProto.INT4),
        _value("zp4", [], TensorProto.INT4),
        _value("w16", [5], TensorProto.INT16),
        _value("zp16", [], TensorProto.INT16),
        _value("x", [5], TensorProto.FLOAT),
    ]
    outputs = [
        _value("y4", [6], TensorProto.FLOAT),
        _value("y16", [5], TensorProto.FLOAT),
        _value("z16", [5], TensorProto.INT16),
    ]
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 10
    return model


def uint8_feeds() -> dict:
    rng = np.random.default_rng(5)
    return {
        "q": rng.integers(0, 256, (3, 4), dtype=np.uint8),
        "x": (rng.standard_normal((3, 4)) * 30).astype(np.float32),
        "zx": np.array(200, np.uint8),
        "a": rng.integers(0, 256, (4, 5), dtype=np.uint8),
        "za": np.array(250, np.uint8),
    }


def onnxruntime_outputs(model: onnx.ModelProto, feeds: dict) -> dict:
    options = ort.SessionOptions()
    # The graph's own semantics, not ORT's fused rewrites of it.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def check_against_onnxruntime(got: dict, expected: dict) -> None:
    assert set(got) == set(expected)
    for name, ref in expected.items():
        assert got[name].dtype == ref.dtype, name
        assert got[name].shape == ref.shape, name
        # Integer outputs and DequantizeLinear's (x - zp) * scale are exact.
        np.testing.assert_array_equal(got[name], ref, err_msg=name)


def test_lowbit_run_uint8_io_matches_onnxruntime(lowbit_run, tmp_path):
    model = uint8_model()
    feeds = uint8_feeds()
    onnx.save(model, tmp_path / "m.onnx")
    np.savez(tmp_path / "in.npz", **feeds)
    proc = lowbit_run(tmp_path / "m.onnx", "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "out.npz")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "out.npz") as out:
        got = {k: out[k] for k in out.files}
    expected = onnxruntime_outputs(model, feeds)
    check_against_onnxruntime(got, expected)
    # Saturation at both ends of uint8 is exercised: x / 0.1 + 200 spans it.
    assert got["z"].min() == 0 and got["z"].max() == 255


def test_lowbit_run_rejects_int8_for_uint8_input(lowbit_run, tmp_path):
    onnx.save(uint8_model(), tmp_path / "m.onnx")
    feeds = uint8_feeds()
    feeds["q"] = feeds["q"].view(np.int8)
    np.savez(tmp_path / "in.npz", **feeds)
    proc = lowbit_run(tmp_path / "m.onnx", "--inputs", tmp_path / "in.npz")
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: input 'q' expects u1 [3x4], {tmp_path / 'in.npz'} has i1 [3x4]"


def test_python_binding_uint8_io(lowbit_module):
    model = uint8_model()
    feeds = uint8_feeds()
    exe = lowbit_module.import_onnx(model).compile()
    assert [(i["name"], i["dtype"]) for i in exe.inputs] == [
        ("q", "u1"), ("x", "f4"), ("zx", "u1"), ("a", "u1"), ("za", "u1")]
    assert [(o["name"], o["dtype"]) for o in exe.outputs] == [("y", "f4"), ("z", "u1"), ("m", "i4")]
    got = exe.run(feeds)
    check_against_onnxruntime(got, onnxruntime_outputs(model, feeds))
    with pytest.raises(ValueError, match=r"input 'q' expects u1 \(3, 4\), got i1 \(3, 4\)"):
        exe.run({**feeds, "q": feeds["q"].view(np.int8)})


def test_int4_and_int16_io(lowbit_run, lowbit_module, tmp_path):
    """int4 travels one value per int8; expected values from ONNX's formula
    (x - zp) * scale and round-half-even quantization, in numpy."""
    model = int4_int16_model()
    w4 = np.array([-8, -1, 0, 3, 7, -5], np.int8)
    w16 = np.array([-32768, -1, 100, 1234, 32767], np.int16)
    x = np.array([-40.0, -0.0125, 0.0025, 1.2345, 40.0], np.float32)
    feeds = {"w4": w4, "zp4": np.array(-1, np.int8), "w16": w16, "zp16": np.array(100, np.int16), "x": x}
    expected = {
        "y4": ((w4.astype(np.float32) + 1) * np.float32(0.25)),
        "y16": ((w16.astype(np.float32) - 100) * np.float32(0.001)),
        "z16": np.clip(np.rint(x / np.float32(0.001)), -32768, 32767).astype(np.int16),
    }
    assert expected["z16"].tolist() == [-32768, -12, 2, 1234, 32767]  # half-even, saturated

    got = lowbit_module.import_onnx(model).run(feeds)
    for name, ref in expected.items():
        assert got[name].dtype == ref.dtype, name
        np.testing.assert_array_equal(got[name], ref, err_msg=name)

    onnx.save(model, tmp_path / "m.onnx")
    np.savez(tmp_path / "in.npz", **feeds)
    proc = lowbit_run(tmp_path / "m.onnx", "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "out.npz")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "out.npz") as out:
        for name, ref in expected.items():
            np.testing.assert_array_equal(out[name], ref, err_msg=name)

    # An int8 container holding 9 is not an int4.
    np.savez(tmp_path / "bad.npz", **{**feeds, "w4": np.array([9, 0, 0, 0, 0, 0], np.int8)})
    proc = lowbit_run(tmp_path / "m.onnx", "--inputs", tmp_path / "bad.npz")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "error: input 'w4' holds 9 at flat index 0, outside the range -8..7 of its ONNX type (one value per i1 byte)")


def test_cast_to_int4_wraps_and_uint8_reads_unsigned(lowbit_module, lowbit_run, tmp_path):
    """Cast of a float to an integer of any width truncates toward zero to
    int64 and keeps the target's low bits (docs/onnx-cast.md): the ONNX spec
    leaves out-of-range float -> fixed point undefined, and lowbit defines it
    the same way for every width (NaN, +-inf and |x| >= 2^63 give 0), so the
    result does not depend on the ml_dtypes version installed. Cast of uint8
    to float reads the bits as unsigned. The expected values are written out
    by hand from that rule."""
    targets = {
        "c8": TensorProto.INT8,
        "c4": TensorProto.INT4,
        "u4": TensorProto.UINT4,
        "c2": TensorProto.INT2,
        "u2": TensorProto.UINT2,
    }
    nodes = [helper.make_node("Cast", ["x"], [name], to=to) for name, to in targets.items()]
    nodes.append(helper.make_node("Cast", ["q"], ["f"], to=TensorProto.FLOAT))
    n = 11
    graph = helper.make_graph(
        nodes, "g", [_value("x", [n], TensorProto.FLOAT), _value("q", [3], TensorProto.UINT8)],
        [_value(name, [n], to) for name, to in targets.items()] + [_value("f", [3], TensorProto.FLOAT)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    x = np.array([-9, -1.5, 7.9, 8, 200, -300, 2.0**70, np.inf, -np.inf, np.nan, -0.5], np.float32)
    # Truncated to int64: -9, -1, 7, 8, 200, -300, then 0 (2^70, +-inf, NaN, -0.5).
    q = np.array([0, 128, 255], np.uint8)
    expected = {
        "c8": np.array([-9, -1, 7, 8, -56, -44, 0, 0, 0, 0, 0], np.int8),
        "c4": np.array([7, -1, 7, -8, -8, 4, 0, 0, 0, 0, 0], np.int8),
        "u4": np.array([7, 15, 7, 8, 8, 4, 0, 0, 0, 0, 0], np.uint8),
        "c2": np.array([-1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0], np.int8),
        "u2": np.array([3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0], np.uint8),
        "f": np.array([0, 128, 255], np.float32),
    }
    got = lowbit_module.import_onnx(model).run({"x": x, "q": q})
    for name, ref in expected.items():
        assert got[name].dtype == ref.dtype, name
        np.testing.assert_array_equal(got[name], ref, err_msg=name)
    onnx.save(model, tmp_path / "m.onnx")
    np.savez(tmp_path / "in.npz", x=x, q=q)
    proc = lowbit_run(tmp_path / "m.onnx", "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "out.npz")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "out.npz") as out:
        for name, ref in expected.items():
            np.testing.assert_array_equal(out[name], ref, err_msg=name)
