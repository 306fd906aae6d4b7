"""The depthwise f32 convolution kernel (convert-depthwise-conv-to-kernel)
through `lowbit-run`, against a float64 numpy depthwise convolution: 3x3 and
5x5 taps, padding, vertical strides of 1 and 2 (PP-OCRv4 rec has (2, 1)),
output widths below, at and past the 64-column tile (masked tails), a batch
of 2, with and without a bias, and a weight-only quantized filter (a run-time
value: the reference's dequantized tensor). The error of a K-tap f32 sum is
bounded by gamma_K * sum |x||w|, so a wrong tap, row, channel or tail fails.
With two threads the channels are split and the result must not change by a
bit."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import run_single_io


def depthwise_model(x_shape, k: int, stride_h: int, pad: int, bias: bool, seed: int):
    rng = np.random.default_rng(seed)
    n, c, h, w = x_shape
    wt = rng.standard_normal((c, 1, k, k)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    x = rng.standard_normal(x_shape).astype(np.float32)
    oh = (h + 2 * pad - k) // stride_h + 1
    ow = w + 2 * pad - k + 1
    inputs = ["x", "w"] + (["b"] if bias else [])
    node = helper.make_node("Conv", inputs, ["y"], name="dw", kernel_shape=[k, k], pads=[pad] * 4,
                            strides=[stride_h, 1], group=c)
    inits = [numpy_helper.from_array(wt, "w")] + ([numpy_helper.from_array(b, "b")] if bias else [])
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, c, oh, ow])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, x, wt, (b if bias else None)


def reference(x, wt, b, stride_h, pad):
    x64 = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    w64 = wt.astype(np.float64)[:, 0]
    c, k, _ = w64.shape
    oh = (x64.shape[2] - k) // stride_h + 1
    ow = x64.shape[3] - k + 1
    y = np.zeros((x.shape[0], c, oh, ow))
    mag = np.zeros_like(y)
    for i in range(k):
        for j in range(k):
            patch = x64[:, :, i:i + (oh - 1) * stride_h + 1:stride_h, j:j + ow]
            y += patch * w64[None, :, i, j, None, None]
            mag += np.abs(patch * w64[None, :, i, j, None, None])
    if b is not None:
        y += b[None, :, None, None]
        mag += np.abs(b)[None, :, None, None]
    return y, mag


CASES = [
    # (name, x shape, k, vertical stride, pad, bias)
    ("3x3-w70-bias", (1, 6, 5, 70), 3, 1, 1, True),
    ("5x5-stride2-w40", (2, 4, 9, 40), 5, 2, 2, True),
    ("3x3-w64-nobias", (1, 3, 4, 64), 3, 1, 1, False),
    ("5x5-w9-masked", (1, 5, 6, 9), 5, 1, 2, True),
]


run = run_single_io


@pytest.mark.parametrize("name,x_shape,k,stride_h,pad,bias", CASES, ids=[c[0] for c in CASES])
def test_depthwise_kernel_matches_float64(lowbit_run, tmp_path, name, x_shape, k, stride_h, pad, bias):
    model, x, wt, b = depthwise_model(x_shape, k, stride_h, pad, bias, seed=len(name))
    y = run(lowbit_run, tmp_path, model, x)
    exact, magnitude = reference(x, wt, b, stride_h, pad)
    u = np.finfo(np.float32).eps / 2
    bound = (k * k + 1) * u / (1 - (k * k + 1) * u) * magnitude + 1e-30
    assert y.shape == exact.shape
    assert np.all(np.abs(y - exact) <= bound), name
    assert np.abs(y).max() > 0.1


def test_depthwise_kernel_weight_only_filter(lowbit_run, tmp_path):
    """rtn-w8a16 quantizes the filter (weight-only): the kernel reads the
    dequantized filter at run time; against numpy on the same rounded filter
    (W8 per channel, symmetric) the f32 bound holds."""
    model, x, wt, b = depthwise_model((1, 4, 6, 33), 3, 1, 1, True, seed=11)
    y = run(lowbit_run, tmp_path, model, x, "--recipe=rtn-w8a16")
    flat = wt.reshape(wt.shape[0], -1).astype(np.float32)
    scale = (np.abs(flat).max(axis=1, keepdims=True) / np.float32(127)).astype(np.float32)
    q = np.clip(np.round(flat / scale), -127, 127)
    rounded = (q.astype(np.float32) * scale).reshape(wt.shape)
    exact, magnitude = reference(x, rounded, b, 1, 1)
    u = np.finfo(np.float32).eps / 2
    assert np.all(np.abs(y - exact) <= 12 * u * magnitude + 1e-6)


def test_depthwise_kernel_threads_do_not_change_bits(lowbit_run, tmp_path):
    model, x, _, _ = depthwise_model((1, 32, 40, 80), 5, 1, 2, True, seed=3)
    one = run(lowbit_run, tmp_path, model, x, "--threads=1")
    two = run(lowbit_run, tmp_path, model, x, "--threads=2")
    np.testing.assert_array_equal(one, two)
