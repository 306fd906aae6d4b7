"""onnxruntime's QOperator format (quantize_static with
QuantFormat.QOperator): QLinearConv, QLinearMatMul and ConvInteger import
as exact int32 products and requantize as onnxruntime does, so lowbit's
outputs equal onnxruntime's bit for bit (issue 19)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import run_single_io


def _float_model(rng) -> onnx.ModelProto:
    """Conv (stride 2, pads, bias) -> depthwise Conv -> Reshape -> MatMul."""
    inits = [
        numpy_helper.from_array((rng.standard_normal((8, 3, 3, 3)) / 3).astype(np.float32), "w"),
        numpy_helper.from_array((rng.standard_normal(8) / 5).astype(np.float32), "b"),
        numpy_helper.from_array((rng.standard_normal((8, 1, 3, 3)) / 3).astype(np.float32), "dw"),
        numpy_helper.from_array((rng.standard_normal((8 * 6 * 6, 10)) / 10).astype(np.float32), "w2"),
        numpy_helper.from_array(np.array([1, -1], np.int64), "shape"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2], name="conv"),
        helper.make_node("Conv", ["c", "dw"], ["d"], pads=[1, 1, 1, 1], group=8, name="depthwise"),
        helper.make_node("Reshape", ["d", "shape"], ["f"], name="flatten"),
        helper.make_node("MatMul", ["f", "w2"], ["y"], name="fc"),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 12])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("activation", ["QUInt8", "QInt8"])
def test_qoperator_model_matches_onnxruntime_exactly(activation, tmp_path, lowbit_run):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(0)
    float_path, quant_path = tmp_path / "f.onnx", tmp_path / "q.onnx"
    onnx.save(_float_model(rng), float_path)
    samples = [{"x": rng.standard_normal((1, 3, 12, 12)).astype(np.float32)} for _ in range(8)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(samples)

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(float_path), str(quant_path), Reader(), quant_format=QuantFormat.QOperator,
                    activation_type=getattr(QuantType, activation), weight_type=QuantType.QInt8,
                    per_channel=True)
    quantized = onnx.load(quant_path)
    ops = [n.op_type for n in quantized.graph.node]
    assert ops.count("QLinearConv") == 2 and "QLinearMatMul" in ops, ops
    session = ort.InferenceSession(str(quant_path), providers=["CPUExecutionProvider"])
    for seed in range(3):
        x = np.random.default_rng(100 + seed).standard_normal((1, 3, 12, 12)).astype(np.float32) * 2
        expected = session.run(None, {"x": x})[0]
        got = run_single_io(lowbit_run, tmp_path, quantized, x)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("group", [1, 2])
def test_conv_integer_matches_the_onnx_reference(group, tmp_path, lowbit_run):
    rng = np.random.default_rng(3)
    w = rng.integers(-128, 128, (4, 4 // group, 3, 3), dtype=np.int8)
    nodes = [helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], pads=[1, 0, 1, 2],
                              strides=[1, 2], group=group)]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array(7, np.uint8), "xz"),
             numpy_helper.from_array(np.array([-3, 0, 5, 1], np.int8), "wz")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 4, 7, 9])],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    x = rng.integers(0, 256, (1, 4, 7, 9), dtype=np.uint8)
    # onnxruntime refuses a per-channel w_zero_point ("not supported now"):
    # ONNX's reference evaluator gives the expected values.
    from onnx.reference import ReferenceEvaluator

    expected = ReferenceEvaluator(model).run(None, {"x": x})[0]
    np.testing.assert_array_equal(run_single_io(lowbit_run, tmp_path, model, x), expected)


def test_qlinear_matmul_runtime_scale_and_bad_zero_point(tmp_path, lowbit_run):
    # Scales given at run time work; a y_zero_point of another type than
    # int8/uint8 is one clear error naming the node.
    a = helper.make_tensor_value_info("a", TensorProto.UINT8, [2, 4])
    y = helper.make_tensor_value_info("y", TensorProto.UINT8, [2, 3])
    b = numpy_helper.from_array(np.arange(12, dtype=np.uint8).reshape(4, 3), "b")
    consts = [numpy_helper.from_array(np.array(v, dt), n) for n, v, dt in
              [("az", 3, np.uint8), ("bs", 0.02, np.float32), ("bz", 1, np.uint8), ("ys", 0.3, np.float32),
               ("yz", 10, np.uint8)]]
    scale = helper.make_tensor_value_info("as", TensorProto.FLOAT, [])
    node = helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"], name="qmm")
    model = helper.make_model(helper.make_graph([node], "g", [a, scale], [y], [b, *consts]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    feeds = {"a": np.array([[1, 50, 200, 7], [255, 0, 3, 90]], np.uint8), "as": np.array(0.5, np.float32)}
    expected = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    path, inputs, out = tmp_path / "m.onnx", tmp_path / "in.npz", tmp_path / "out.npz"
    onnx.save(model, path)
    np.savez(inputs, **feeds)
    proc = lowbit_run(path, f"--inputs={inputs}", f"--outputs={out}")
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(np.load(out)["y"], expected)
    model.graph.initializer[-1].CopyFrom(numpy_helper.from_array(np.array(10, np.int32), "yz"))
    onnx.save(model, path)
    proc = lowbit_run(path, f"--inputs={inputs}")
    assert proc.returncode in (1, 3) and "node 'qmm'" in proc.stderr and "y_zero_point" in proc.stderr, proc.stderr
