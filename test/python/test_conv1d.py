"""1-D Conv, MaxPool and AveragePool (rank-3 inputs, as voice and signal
models use them) are imported as their 2-D forms with H = 1 and match
onnxruntime: padding, stride, dilation, groups, bias; the quantized model
runs its int8 kernels bit-identically to the integer reference; an f16 1-D
conv sums in f32 and rounds once."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from conftest import run_single_io

RNG = np.random.default_rng(17)


def conv1d_model(dtype=TensorProto.FLOAT):
    w1 = (RNG.standard_normal((8, 4, 5)) * 0.3).astype(np.float32)
    b1 = RNG.standard_normal(8).astype(np.float32)
    w2 = (RNG.standard_normal((6, 4, 3)) * 0.3).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", kernel_shape=[5], pads=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", kernel_shape=[3], strides=[2],
                         dilations=[2], group=2, pads=[1, 0]),
        helper.make_node("MaxPool", ["c2"], ["p1"], name="maxpool", kernel_shape=[3], strides=[2], pads=[1, 1]),
        helper.make_node("AveragePool", ["p1"], ["y"], name="avgpool", kernel_shape=[2], strides=[1]),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", dtype, [2, 4, 50])],
        [helper.make_tensor_value_info("y", dtype, None)],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
         numpy_helper.from_array(w2, "w2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def onnxruntime_output(model, x):
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {"x": x})[0]


def test_conv1d_matches_onnxruntime(lowbit_run, tmp_path):
    model = conv1d_model()
    x = RNG.standard_normal((2, 4, 50)).astype(np.float32)
    got = run_single_io(lowbit_run, tmp_path, model, x)
    want = onnxruntime_output(model, x)
    assert got.shape == want.shape == (2, 6, 11)
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
    assert np.abs(want).max() > 0.1


def test_quantized_conv1d_kernels_match_reference(lowbit_run, tmp_path):
    model = conv1d_model()
    x = RNG.standard_normal((2, 4, 50)).astype(np.float32)
    kernel = run_single_io(lowbit_run, tmp_path, model, x, "--recipe=rtn-w8a8")
    reference = run_single_io(lowbit_run, tmp_path, model, x, "--recipe=rtn-w8a8",
                              "--int8-kernel=reference")
    np.testing.assert_array_equal(kernel, reference)
    want = onnxruntime_output(model, x)
    cosine = (kernel * want).sum() / np.linalg.norm(kernel) / np.linalg.norm(want)
    assert cosine > 0.99


def test_f16_conv1d_sums_in_f32(lowbit_run, tmp_path):
    """An f16 1-D conv sums in f32 and rounds once: within half an f16 ulp
    (plus the f32 sum's own error) of a float64 reference on the same f16
    values; summed in f16 it was 0.5% off the ONNX reference."""
    r = np.random.default_rng(23)
    w = (r.standard_normal((6, 8, 7)) * 0.3).astype(np.float16)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[7], pads=[3, 3])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [1, 8, 40])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [1, 6, 40])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    x = r.standard_normal((1, 8, 40)).astype(np.float16)
    got = run_single_io(lowbit_run, tmp_path, model, x).astype(np.float64)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (3, 3)))
    ref = np.stack([np.tensordot(w.astype(np.float64), xp[0, :, i:i + 7], 2) for i in range(40)], -1)[None]
    ulp = np.spacing(np.abs(ref).astype(np.float16)).astype(np.float64)
    assert np.all(np.abs(got - ref) <= 0.5 * ulp + 1e-4 * np.abs(ref) + 1e-6)
    assert np.abs(ref).max() > 0.5
