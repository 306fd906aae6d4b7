"""The direct int8 convolution kernel (convert-qconv-to-direct-kernel:
quantized stride-1 convolutions without im2col) against the generic integer
reference (`--int8-kernel=reference`), bit for bit: 1x1, 3x3 and 5x5
filters, padding, channel counts not a multiple of 4 (the interleave's
partial group), output widths below, at and past the 16/32-column tiles,
filter counts not a multiple of the 8-filter tile, a batch of 2, with and
without a bias, W8A8, W6A8 and W4A4, and the portable kernel (plain vector
arithmetic) as well as the one this CPU gets. Each model is first checked to
be one the pass takes (no lowbit.qlinear left after it), so that a pass
that stopped matching could not pass as bit-exact; the reference is checked
against the float convolution so that both agreeing on garbage fails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper


def conv_model(x_shape, f: int, k: int, pad: int, bias: bool, seed: int):
    rng = np.random.default_rng(seed)
    n, c, h, w = x_shape
    wt = (rng.standard_normal((f, c, k, k)) * 0.3).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    x = rng.standard_normal(x_shape).astype(np.float32)
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    inputs = ["x", "w"] + (["b"] if bias else [])
    node = helper.make_node("Conv", inputs, ["y"], name="conv", kernel_shape=[k, k], pads=[pad] * 4)
    inits = [numpy_helper.from_array(wt, "w")] + ([numpy_helper.from_array(b, "b")] if bias else [])
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, f, oh, ow])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, x


CASES = [
    # (name, x shape, filters, kernel, pad, bias, recipe)
    ("1x1-c5-w20-bias", (1, 5, 3, 20), 11, 1, 0, True, "rtn-w8a8"),
    ("3x3-c8-w64", (1, 8, 4, 64), 16, 3, 1, True, "rtn-w8a8"),
    ("3x3-c3-w37-nobias", (2, 3, 5, 37), 9, 3, 1, False, "rtn-w8a8"),
    ("5x5-c6-w16", (1, 6, 6, 16), 4, 5, 2, True, "rtn-w8a8"),
    ("1x1-c12-w40-w6a8", (1, 12, 2, 40), 20, 1, 0, True, "rtn-w6a8"),
    ("3x3-c4-w33-w4a4", (1, 4, 3, 33), 7, 3, 1, True, "rtn-w4a4-g128"),
]


def run(lowbit_run, tmp_path: Path, model_path: Path, inputs: Path, recipe: str, kernel: str) -> np.ndarray:
    out = tmp_path / f"{kernel}.npz"
    proc = lowbit_run(model_path, "--inputs", inputs, "--outputs", out, f"--recipe={recipe}",
                      f"--int8-kernel={kernel}")
    assert proc.returncode == 0, proc.stderr
    with np.load(out) as data:
        return data["y"]


@pytest.mark.parametrize("name,x_shape,f,k,pad,bias,recipe", CASES, ids=[c[0] for c in CASES])
def test_qconv_kernel_bit_exact_with_reference(lowbit_run, lowbit_opt, lowbit_cli, tmp_path, name, x_shape, f, k,
                                               pad, bias, recipe):
    model, x = conv_model(x_shape, f, k, pad, bias, seed=len(name))
    model_path, inputs = tmp_path / "m.onnx", tmp_path / "in.npz"
    onnx.save(model, model_path)
    np.savez(inputs, x=x)

    # The pass takes this convolution.
    quantized = tmp_path / "q.mlir"
    proc = lowbit_cli("quantize", model_path, f"--recipe={recipe}", "-o", quantized)
    assert proc.returncode == 0, proc.stderr
    proc = lowbit_opt(quantized, "--pass-pipeline=builtin.module(func.func(convert-qconv-to-direct-kernel))")
    assert proc.returncode == 0, proc.stderr
    assert "lowbit.qlinear" not in proc.stdout and "vector.interleave" in proc.stdout

    reference = run(lowbit_run, tmp_path, model_path, inputs, recipe, "reference")
    for kernel in ("portable", "auto"):
        got = run(lowbit_run, tmp_path, model_path, inputs, recipe, kernel)
        np.testing.assert_array_equal(got, reference, err_msg=f"{name}: {kernel} kernel")

    # The reference is a quantized convolution, not garbage.
    proc = lowbit_run(model_path, "--inputs", inputs, "--outputs", tmp_path / "float.npz")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "float.npz") as data:
        exact = data["y"]
    tolerance = 0.35 if "a4" in recipe else 0.06
    assert np.abs(reference - exact).max() <= tolerance * np.abs(exact).max()


def test_qconv_kernel_threads_do_not_change_bits(lowbit_run, tmp_path):
    model, x = conv_model((1, 16, 24, 48), 24, 3, 1, True, seed=5)
    model_path, inputs = tmp_path / "m.onnx", tmp_path / "in.npz"
    onnx.save(model, model_path)
    np.savez(inputs, x=x)
    outs = []
    for threads in (1, 2):
        out = tmp_path / f"t{threads}.npz"
        proc = lowbit_run(model_path, "--inputs", inputs, "--outputs", out, "--recipe=rtn-w8a8",
                          f"--threads={threads}")
        assert proc.returncode == 0, proc.stderr
        with np.load(out) as data:
            outs.append(data["y"])
    np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("filters", [1, 3])
def test_qconv_kernel_conv_transpose(lowbit_run, lowbit_opt, lowbit_cli, tmp_path, filters):
    """ConvTranspose (2x2, stride 2, as in PP-OCRv4 det's head) is imported as
    a stride-1 convolution on the zero-stuffed input; with one filter its
    transpose folds away and the kernel must still take it."""
    rng = np.random.default_rng(filters)
    wt = (rng.standard_normal((6, filters, 2, 2)) * 0.3).astype(np.float32)
    x = rng.standard_normal((1, 6, 5, 9)).astype(np.float32)
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", kernel_shape=[2, 2],
                            strides=[2, 2])
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 5, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, filters, 10, 18])],
        [numpy_helper.from_array(wt, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model_path, inputs = tmp_path / "m.onnx", tmp_path / "in.npz"
    onnx.save(model, model_path)
    np.savez(inputs, x=x)
    quantized = tmp_path / "q.mlir"
    proc = lowbit_cli("quantize", model_path, "--recipe=rtn-w8a8", "-o", quantized)
    assert proc.returncode == 0, proc.stderr
    proc = lowbit_opt(quantized, "--pass-pipeline=builtin.module(func.func(convert-qconv-to-direct-kernel))")
    assert proc.returncode == 0, proc.stderr
    assert "lowbit.qlinear" not in proc.stdout
    reference = run(lowbit_run, tmp_path, model_path, inputs, "rtn-w8a8", "reference")
    got = run(lowbit_run, tmp_path, model_path, inputs, "rtn-w8a8", "auto")
    np.testing.assert_array_equal(got, reference)
    assert np.abs(reference).max() > 0.1
