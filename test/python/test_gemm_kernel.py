"""The f32 GEMM kernel of nn.linear (convert-linear-to-gemm-kernel: weights
packed into 32-column panels at compile time, register tiles of 8 rows)
through `lowbit-run`, against a float64 numpy product: odd shapes (M not a
multiple of the row tile, N not a multiple of the 32-column panel, K = 1,
one row, whose tiles span several panels), rank-1, rank-2 and rank-3
inputs, with and without a bias. The error of a
length-K f32 sum is bounded by gamma_K * sum_k |x||w| (plus one rounding of
the bias), so a wrong packing, a lost tail row or column or a skipped k
fails. With two threads the panels are split between them and the result
must not change by a bit."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import run_single_io


def gemm_model(x_shape: tuple[int, ...], n: int, bias: bool, seed: int):
    """y = x @ w (+ b) as ONNX MatMul (+ Add): the importer makes it nn.linear."""
    rng = np.random.default_rng(seed)
    k = x_shape[-1]
    w = rng.standard_normal((k, n)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    x = rng.standard_normal(x_shape).astype(np.float32)
    y_shape = list(x_shape[:-1]) + [n]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["xw" if bias else "y"], name="fc")]
    inits = [numpy_helper.from_array(w, "w")]
    if bias:
        nodes.append(helper.make_node("Add", ["xw", "b"], ["y"], name="fc_bias"))
        inits.append(numpy_helper.from_array(b, "b"))
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, x, w, (b if bias else None)


CASES = [
    # (name, x shape, N, bias)
    ("rank3-odd-bias", (1, 13, 37), 33, True),
    ("rank2-tile-multiple", (16, 64), 64, True),
    ("rank2-no-bias", (7, 5), 31, False),
    ("k1", (9, 1), 40, True),
    ("n1", (11, 20), 1, False),
    ("rank1-decode", (96,), 70, True),
    # One row: tiles of 4 panels (two blocks of 128 columns).
    ("decode-four-panels", (1, 1, 1200), 256, True),
    ("minilm-ffn-shape", (1, 128, 384), 1536, True),
]


run = run_single_io


@pytest.mark.parametrize("name,x_shape,n,bias", CASES, ids=[c[0] for c in CASES])
def test_gemm_kernel_matches_float64(lowbit_run, tmp_path, name, x_shape, n, bias):
    model, x, w, b = gemm_model(x_shape, n, bias, seed=len(name))
    y = run(lowbit_run, tmp_path, model, x)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    exact = x64 @ w64
    magnitude = np.abs(x64) @ np.abs(w64)
    if b is not None:
        exact = exact + b
        magnitude = magnitude + np.abs(b)
    k = x_shape[-1]
    u = np.finfo(np.float32).eps / 2
    bound = (k + 1) * u / (1 - (k + 1) * u) * magnitude + 1e-30
    assert y.shape == exact.shape
    excess = np.abs(y - exact) - bound
    assert excess.max() <= 0, f"{name}: error above the f32 bound at {np.unravel_index(excess.argmax(), y.shape)}"
    # Not merely within the bound by being zero: the product is there.
    assert np.abs(y).max() > 0.1


@pytest.mark.parametrize("name,x_shape,n,bias",
                         [c for c in CASES if c[0] in ("minilm-ffn-shape", "rank3-odd-bias",
                                                       "decode-four-panels")],
                         ids=["minilm-ffn-shape", "rank3-odd-bias", "decode-four-panels"])
def test_gemm_kernel_threads_do_not_change_bits(lowbit_run, tmp_path, name, x_shape, n, bias):
    model, x, _, _ = gemm_model(x_shape, n, bias, seed=7)
    one = run(lowbit_run, tmp_path, model, x, "--threads=1")
    two = run(lowbit_run, tmp_path, model, x, "--threads=2")
    np.testing.assert_array_equal(one, two)


WEIGHT_ONLY = [
    # (name, x shape, N, bias, lowbit-run flags)
    ("rtn-w4a16-g128", (1, 13, 256), 40, True, ["--recipe=rtn-w4a16-g128"]),
    ("rtn-w2a16-g64", (9, 128), 33, False, ["--recipe=rtn-w2a16-g64"]),
    ("rtn-w8a16", (1, 1, 96), 70, True, ["--recipe=rtn-w8a16"]),
    # One row (nibble panels), six panels: tiles of three panels.
    ("rtn-w4a16-decode", (1, 1, 256), 192, True, ["--recipe=rtn-w4a16-g128"]),
    ("rtn-w2a16-decode", (1, 128), 64, False, ["--recipe=rtn-w2a16-g64"]),
    ("w4-g32-asymmetric-decode", (1, 1, 64), 48, True,
     ["--pipeline=func.func(quantize-weights{bits=4 group-size=32 symmetric=false}, lower-to-lowbit)"]),
    ("w4-g32-asymmetric", (1, 17, 64), 48, True,
     ["--pipeline=func.func(quantize-weights{bits=4 group-size=32 symmetric=false}, lower-to-lowbit)"]),
    ("decoupleq-w2a16-g64-float-offset", (1, 8, 128), 32, True,
     ["--recipe=decoupleq-w2a16-g64", "--calibrate={inputs}"]),
]


@pytest.mark.parametrize("name,x_shape,n,bias,flags", WEIGHT_ONLY, ids=[c[0] for c in WEIGHT_ONLY])
def test_weight_only_kernel_matches_reference(lowbit_run, tmp_path, name, x_shape, n, bias, flags):
    """Weight-only layers (the weight from lowbit.dequantize_weight) run the
    same kernel on one-byte integer panels dequantized in registers: against
    the reference lowering (dequantized f32 weights, then the product) the
    result is the same sum in the same order up to f32 rounding (fused or not
    per step), bounded by gamma_K * sum |x||w|; a wrong group, zero or scale
    would be off by far more."""
    model, x, w, b = gemm_model(x_shape, n, bias, seed=len(name))
    inputs = tmp_path / "in.npz"
    np.savez(inputs, x=x)
    args = [f.replace("{inputs}", str(inputs)) for f in flags]
    kernel = run(lowbit_run, tmp_path, model, x, *args)
    reference = run(lowbit_run, tmp_path, model, x, *args, "--int8-kernel=reference")
    k = x_shape[-1]
    u = np.finfo(np.float32).eps / 2
    magnitude = np.abs(x.astype(np.float64)) @ np.abs(w.astype(np.float64)) * 1.5
    if b is not None:
        magnitude = magnitude + np.abs(b)
    bound = 2 * (k + 1) * u * magnitude + 1e-30
    assert np.all(np.abs(kernel - reference) <= bound), name
    # Quantized, not float: the weights were rounded.
    exact = x.astype(np.float64) @ w.astype(np.float64) + (0 if b is None else b)
    assert np.abs(reference - exact).max() > 1e-4 * np.abs(exact).max()
