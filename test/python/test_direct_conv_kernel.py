"""The direct f32 convolution kernel (convert-conv-to-direct-kernel: stride-1
dense nn.conv2d with a constant filter, no im2col) through `lowbit-run`,
against a float64 numpy convolution: 1x1, 3x3 and 5x5 filters, 1x3
filters, asymmetric padding, output widths below, at and past the 32-column
tile (masked tails), filter counts not a multiple of the 8-filter tile, a
batch of 2, with and without a bias. The error of a length-K f32 sum is
bounded by gamma_K * sum |x||w| (plus the bias), so a wrong filter layout, a
lost tail filter or column, an off-by-one in the padding or a skipped
(c, kh, kw) fails. With two threads the output rows are split between them
and the result must not change by a bit."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import run_single_io


def conv_model(x_shape, f: int, kernel: tuple[int, int], pads: list[int], bias: bool, seed: int):
    rng = np.random.default_rng(seed)
    n, c, h, w = x_shape
    kh, kw = kernel
    wt = rng.standard_normal((f, c, kh, kw)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    x = rng.standard_normal(x_shape).astype(np.float32)
    oh = h + pads[0] + pads[2] - kh + 1
    ow = w + pads[1] + pads[3] - kw + 1
    inputs = ["x", "w"] + (["b"] if bias else [])
    node = helper.make_node("Conv", inputs, ["y"], name="conv", kernel_shape=[kh, kw], pads=pads)
    inits = [numpy_helper.from_array(wt, "w")] + ([numpy_helper.from_array(b, "b")] if bias else [])
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, f, oh, ow])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, x, wt, (b if bias else None)


def reference(x, wt, b, pads):
    """float64 convolution and sum |x||w| (+|b|), NCHW, stride 1."""
    x64 = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    w64 = wt.astype(np.float64)
    f, c, kh, kw = wt.shape
    n, _, hp, wp = x64.shape
    oh, ow = hp - kh + 1, wp - kw + 1
    y = np.zeros((n, f, oh, ow))
    mag = np.zeros((n, f, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = x64[:, :, i:i + oh, j:j + ow]
            y += np.einsum("nchw,fc->nfhw", patch, w64[:, :, i, j])
            mag += np.einsum("nchw,fc->nfhw", np.abs(patch), np.abs(w64[:, :, i, j]))
    if b is not None:
        y += b[None, :, None, None]
        mag += np.abs(b)[None, :, None, None]
    return y, mag


CASES = [
    # (name, x shape, filters, kernel, pads [top, left, bottom, right], bias)
    ("3x3-pad1-w64", (1, 5, 6, 64), 11, (3, 3), [1, 1, 1, 1], True),
    ("3x3-pad1-w20-masked", (1, 3, 4, 20), 8, (3, 3), [1, 1, 1, 1], False),
    ("1x1-w40-tail", (2, 7, 3, 40), 9, (1, 1), [0, 0, 0, 0], True),
    ("1x1-w16", (1, 16, 2, 16), 3, (1, 1), [0, 0, 0, 0], False),
    ("5x5-pad2-w37", (1, 4, 7, 37), 17, (5, 5), [2, 2, 2, 2], True),
    ("1x3-asym-pad", (1, 6, 5, 33), 4, (1, 3), [0, 2, 1, 0], True),
    ("3x3-nopad-w3", (1, 2, 5, 5), 1, (3, 3), [0, 0, 0, 0], True),
]


run = run_single_io


@pytest.mark.parametrize("name,x_shape,f,kernel,pads,bias", CASES, ids=[c[0] for c in CASES])
def test_direct_conv_matches_float64(lowbit_run, tmp_path, name, x_shape, f, kernel, pads, bias):
    model, x, wt, b = conv_model(x_shape, f, kernel, pads, bias, seed=len(name))
    y = run(lowbit_run, tmp_path, model, x)
    exact, magnitude = reference(x, wt, b, pads)
    k = x_shape[1] * kernel[0] * kernel[1]
    u = np.finfo(np.float32).eps / 2
    bound = (k + 1) * u / (1 - (k + 1) * u) * magnitude + 1e-30
    assert y.shape == exact.shape
    excess = np.abs(y - exact) - bound
    assert excess.max() <= 0, f"{name}: error above the f32 bound at {np.unravel_index(excess.argmax(), y.shape)}"
    assert np.abs(y).max() > 0.1


def test_direct_conv_threads_do_not_change_bits(lowbit_run, tmp_path):
    model, x, _, _ = conv_model((1, 24, 32, 64), 40, (3, 3), [1, 1, 1, 1], True, seed=3)
    one = run(lowbit_run, tmp_path, model, x, "--threads=1")
    two = run(lowbit_run, tmp_path, model, x, "--threads=2")
    np.testing.assert_array_equal(one, two)


WEIGHT_ONLY = [
    # (name, x shape, filters, kernel, pads, bias, lowbit-run flags)
    ("3x3-w4a16", (1, 16, 5, 40), 12, (3, 3), [1, 1, 1, 1], True, ["--recipe=rtn-w4a16-g128"]),
    ("1x1-w2a16-g64-2groups", (1, 128, 3, 20), 9, (1, 1), [0, 0, 0, 0], False, ["--recipe=rtn-w2a16-g64"]),
    ("3x3-w4-asymmetric-g24", (1, 8, 4, 33), 5, (3, 3), [1, 1, 1, 1], True,
     ["--pipeline=func.func(quantize-weights{bits=4 group-size=24 symmetric=false}, lower-to-lowbit)"]),
]


@pytest.mark.parametrize("name,x_shape,f,kernel,pads,bias,flags", WEIGHT_ONLY,
                         ids=[c[0] for c in WEIGHT_ONLY])
def test_weight_only_direct_conv_matches_reference(lowbit_run, tmp_path, name, x_shape, f, kernel, pads,
                                                   bias, flags):
    """A weight-only filter (lowbit.dequantize_weight) is dequantized once per
    call, by the reference's formula, into the kernel's layout: against the
    reference lowering (dequantized filter, im2col, product) the result is
    the same sum in the same (c, kh, kw) order up to f32 rounding, bounded
    by gamma_K * sum |x||w|; a wrong group, zero or scale is off by far more."""
    model, x, wt, b = conv_model(x_shape, f, kernel, pads, bias, seed=len(name))
    exact, magnitude = reference(x, wt, b, pads)
    got = run(lowbit_run, tmp_path, model, x, *flags)
    lowered = run(lowbit_run, tmp_path, model, x, *flags, "--int8-kernel=reference")
    k = x_shape[1] * kernel[0] * kernel[1]
    u = np.finfo(np.float32).eps / 2
    bound = 2 * (k + 1) * u * 1.5 * magnitude + 1e-30
    assert np.all(np.abs(got - lowered) <= bound), name
    assert np.abs(lowered - exact).max() > 1e-4 * np.abs(exact).max()  # quantized, not float
