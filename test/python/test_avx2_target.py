"""The CPU kernels with the AVX2 path forced: a model with a stride-1 conv
(the direct int8 convolution), a stride-2 conv (im2col + the int8 dot
kernel) and a linear layer (the int8 dot kernel; the f32 GEMM with nibble
weights for rtn-w4a16) compiled by `lowbit compile --target-cpu x86-64-v3`
(AVX2 + FMA, no AVX-512, so the portable int8 kernel and 256-bit vectors),
checked to contain no AVX-512 register, and run on this machine:

- rtn-w8a8: bit-identical to the JIT's generic integer reference
  (--int8-kernel=reference), as the host (AVX-512 VNNI) artefact is;
- float and rtn-w4a16-g128: bit-identical to the host artefact (the same
  vector operations in the same order, on narrower registers), and the
  float result within the f32 error bound of a float64 numpy reference so
  that both agreeing on garbage fails."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import Tool

RNG = np.random.default_rng(11)
C, H = 8, 12


def model_and_input(path):
    w1 = (RNG.standard_normal((16, C, 3, 3)) * 0.3).astype(np.float32)
    b1 = RNG.standard_normal(16).astype(np.float32) * 0.1
    w2 = (RNG.standard_normal((16, 16, 3, 3)) * 0.2).astype(np.float32)
    fc = (RNG.standard_normal((16 * 6 * 6, 256)) * 0.05).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv_s1", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv_s2", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Flatten", ["c2"], ["f"], name="flatten"),
        helper.make_node("MatMul", ["f", "fc"], ["y"], name="fc"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C, H, H])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 256])],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (fc, "fc"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    x = RNG.standard_normal((1, C, H, H)).astype(np.float32)
    return (w1, b1, w2, fc), x


def float64_reference(weights, x):
    w1, b1, w2, fc = (a.astype(np.float64) for a in weights)

    def conv(inp, w, stride):
        f, c, kh, kw = w.shape
        p = np.pad(inp, ((0, 0), (0, 0), (1, 1), (1, 1)))
        oh = (p.shape[2] - kh) // stride + 1
        out = np.zeros((1, f, oh, oh))
        mag = np.zeros_like(out)
        for i in range(oh):
            for j in range(oh):
                patch = p[0, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                out[0, :, i, j] = np.tensordot(w, patch, 3)
                mag[0, :, i, j] = np.tensordot(np.abs(w), np.abs(patch), 3)
        return out, mag

    c1, m1 = conv(x.astype(np.float64), w1, 1)
    r1 = np.maximum(c1 + b1[None, :, None, None], 0)
    c2, m2 = conv(r1, w2, 2)
    y = c2.reshape(1, -1) @ fc
    # A loose magnitude bound for the three sums and their inputs' errors.
    mag = (np.abs(c2.reshape(1, -1)) + m2.reshape(1, -1)) @ np.abs(fc) + 1e-30
    return y, mag


@pytest.fixture(scope="module")
def lowbit_tool() -> Tool:
    return Tool("lowbit")


@pytest.fixture(scope="module")
def built(tmp_path_factory, lowbit_tool):
    d = tmp_path_factory.mktemp("avx2")
    weights, x = model_and_input(d / "m.onnx")
    np.savez(d / "in.npz", x=x)
    return d, weights, x


def compile_and_run(lowbit_tool, d, recipe, target):
    name = d / f"{recipe or 'float'}-{target}"
    args = ["compile", d / "m.onnx", "-o", name, "--target-cpu", target]
    if recipe:
        args += ["--recipe", recipe]
    r = lowbit_tool(*args)
    assert r.returncode == 0, r.stderr
    out = d / f"{name.name}.npz"
    r = lowbit_tool("run", f"{name}.so", "--inputs", d / "in.npz", "--outputs", out)
    assert r.returncode == 0, r.stderr
    return name, np.load(out)["y"]


def uses_zmm(so) -> bool:
    objdump = shutil.which("objdump")
    assert objdump, "objdump (binutils, installed with the C compiler artefacts are linked by) is missing"
    text = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(so)], capture_output=True,
                          text=True, check=True).stdout
    return re.search(r"%zmm\d", text) is not None


@pytest.mark.parametrize("recipe", ["", "rtn-w8a8", "rtn-w4a16-g128"], ids=["float", "rtn-w8a8", "rtn-w4a16"])
def test_avx2_artefact_matches(lowbit_tool, built, recipe):
    d, weights, x = built
    v3, y_v3 = compile_and_run(lowbit_tool, d, recipe, "x86-64-v3")
    host, y_host = compile_and_run(lowbit_tool, d, recipe, "host")
    assert not uses_zmm(f"{v3}.so"), "the x86-64-v3 artefact uses AVX-512 registers"
    assert np.abs(y_v3).max() > 0.1
    if recipe == "rtn-w8a8":
        ref = d / "reference.npz"
        r = Tool("lowbit-run")(d / "m.onnx", "--inputs", d / "in.npz", "--outputs", ref,
                               "--recipe", recipe, "--int8-kernel=reference")
        assert r.returncode == 0, r.stderr
        reference = np.load(ref)["y"]
        np.testing.assert_array_equal(y_v3, reference)
        np.testing.assert_array_equal(y_host, reference)
        return
    np.testing.assert_array_equal(y_v3, y_host)
    if not recipe:
        exact, magnitude = float64_reference(weights, x)
        u = np.finfo(np.float32).eps / 2
        bound = 3 * (16 * 9 + 576) * u * magnitude
        assert np.all(np.abs(y_v3 - exact) <= bound)
