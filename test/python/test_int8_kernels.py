"""The int8 kernels of lowbit.qlinear (convert-qlinear-to-x86) against the
generic integer reference (convert-lowbit-to-linalg): for every weight width
(2, 4, 6, 8 bits), symmetric and asymmetric weights, per-channel and
grouped, 6- and 8-bit activations, odd shapes (M, N not multiples of the
register tile, K not a multiple of 4), the outputs of
`lowbit-run --int8-kernel=portable` and (on a CPU with AVX-512 VNNI)
`--int8-kernel=avx512-vnni` are bit for bit those of `--int8-kernel=reference`.
The reference itself is checked against numpy elsewhere
(test_lowbit_exact.py); here a numpy model of the quantized layer bounds the
error so that a kernel and reference that agree on garbage would still fail."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

KERNELS = ("portable", "avx512-vnni")


def has_avx512_vnni() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return all(f" {flag}" in flags for flag in ("avx512f", "avx512bw", "avx512_vnni"))


def linear_model(m: int, k: int, n: int, seed: int) -> tuple[onnx.ModelProto, np.ndarray, np.ndarray, np.ndarray]:
    """y = x @ w + b, x [1, m, k] (a rank-3 input, as in a transformer)."""
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((k, n)) * 0.2).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    x = rng.standard_normal((1, m, k)).astype(np.float32)
    x[0, 0, :] *= 8  # one large row, so per-token scales differ
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["xw"], name="fc"),
         helper.make_node("Add", ["xw", "b"], ["y"], name="fc_bias")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, m, n])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, x, w, b


def run(lowbit_run, model_path: Path, inputs: Path, out: Path, pipeline: str, kernel: str) -> np.ndarray:
    proc = lowbit_run(model_path, "--inputs", inputs, "--outputs", out, "--pipeline", pipeline,
                      f"--int8-kernel={kernel}")
    assert proc.returncode == 0, proc.stderr
    with np.load(out) as data:
        return data["y"]


CASES = [
    # (name, m, k, n, weight options, activation bits)
    ("w8a8-per-channel-odd", 7, 52, 37, "bits=8 group-size=0", 8),
    ("w8a8-asym", 9, 64, 33, "bits=8 group-size=0 symmetric=false", 8),
    ("w6a8-g32", 5, 96, 40, "bits=6 group-size=32", 8),
    ("w6a6-g32-asym", 13, 96, 17, "bits=6 group-size=32 symmetric=false", 6),
    ("w4a8-g16", 4, 48, 64, "bits=4 group-size=16", 8),
    ("w4a8-g16-asym", 3, 48, 31, "bits=4 group-size=16 symmetric=false", 8),
    ("w2a8-g16", 6, 32, 35, "bits=2 group-size=16", 8),
    ("w8a8-m1-decode", 1, 128, 96, "bits=8 group-size=0", 8),
]


@pytest.mark.parametrize("name,m,k,n,weights,abits", CASES, ids=[c[0] for c in CASES])
def test_kernels_bit_exact_with_reference(lowbit_run, tmp_path, name, m, k, n, weights, abits):
    model, x, w, b = linear_model(m, k, n, seed=len(name))
    model_path = tmp_path / "m.onnx"
    onnx.save(model, model_path)
    np.savez(tmp_path / "in.npz", x=x)
    pipeline = (f"func.func(quantize-weights{{{weights}}}, quantize-activations{{bits={abits}}}, "
                "lower-to-lowbit)")
    reference = run(lowbit_run, model_path, tmp_path / "in.npz", tmp_path / "ref.npz", pipeline, "reference")
    # The reference is a quantized version of x @ w + b, not garbage.
    exact = x @ w + b
    err = np.abs(reference - exact).max() / np.abs(exact).max()
    assert err < (0.05 if abits == 8 and "bits=8" in weights else 0.6), err
    kernels = [kernel for kernel in KERNELS if kernel != "avx512-vnni" or has_avx512_vnni()]
    for kernel in kernels:
        got = run(lowbit_run, model_path, tmp_path / "in.npz", tmp_path / f"{kernel}.npz", pipeline, kernel)
        assert got.dtype == reference.dtype and got.shape == reference.shape
        np.testing.assert_array_equal(got.view(np.uint32), reference.view(np.uint32), err_msg=f"{name} {kernel}")


def test_vnni_kernel_is_refused_without_vnni(lowbit_run, tmp_path):
    """On a CPU without AVX-512 VNNI, asking for the kernel is one clear
    error; with it, the run works (the other branch is the one tested)."""
    model, x, _, _ = linear_model(2, 8, 4, seed=1)
    onnx.save(model, tmp_path / "m.onnx")
    np.savez(tmp_path / "in.npz", x=x)
    proc = lowbit_run(tmp_path / "m.onnx", "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz",
                      "--recipe", "rtn-w8a8", "--int8-kernel=avx512-vnni")
    if has_avx512_vnni():
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 1
        assert "no AVX-512 VNNI" in proc.stderr
        assert not (tmp_path / "o.npz").exists()


def test_bad_int8_kernel_flag(lowbit_run, tmp_path):
    model, _, _, _ = linear_model(2, 8, 4, seed=1)
    onnx.save(model, tmp_path / "m.onnx")
    proc = lowbit_run(tmp_path / "m.onnx", "--int8-kernel=avx9000")
    assert proc.returncode != 0
    assert "int8-kernel" in proc.stderr


def test_python_int8_kernel_option(lowbit_module):
    """Module.compile(int8_kernel=...) reaches the same kernels: the portable
    kernel equals the reference bit for bit; an unknown name is a ValueError."""
    model, x, _, _ = linear_model(5, 40, 19, seed=3)
    module, _ = lowbit_module.quantize(model, "rtn-w8a8")
    reference = module.compile(int8_kernel="reference").run({"x": x})["y"]
    portable = lowbit_module.run(module, {"x": x}, int8_kernel="portable")["y"]
    np.testing.assert_array_equal(portable.view(np.uint32), reference.view(np.uint32))
    with pytest.raises(ValueError, match="int8_kernel must be"):
        module.compile(int8_kernel="sse9")
