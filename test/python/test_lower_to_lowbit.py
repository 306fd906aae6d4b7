"""lower-to-lowbit must not change what a quantized model computes: the QDQ
graph (quantize-weights + quantize-activations, run in float with exactly
quantized activations and dequantized weights) and the integer graph
(lowbit.qlinear with packed weights, int32 accumulation; convolutions through
int8 im2col) agree up to float summation order."""

from __future__ import annotations

import numpy as np
import pytest

from test_cli import conv_model, describe, mlp_model, save, save_npz

QDQ = "func.func(quantize-weights{{bits={w} group-size={g}}}, quantize-activations{{bits={a}}})"
INTEGER = "func.func(quantize-weights{{bits={w} group-size={g}}}, quantize-activations{{bits={a}}}, lower-to-lowbit)"


def run(lowbit_run, tmp_path, model_path, feeds, pipeline, name):
    inputs = save_npz(tmp_path / f"{name}.in.npz", feeds)
    outputs = tmp_path / f"{name}.out.npz"
    proc = lowbit_run(model_path, f"--inputs={inputs}", f"--outputs={outputs}", f"--pipeline={pipeline}")
    assert proc.returncode == 0, describe(proc)
    with np.load(outputs) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("w,g,a", [(8, 0, 8), (4, 8, 8), (6, 16, 6), (2, 16, 8)])
def test_linear_integer_path_matches_qdq(lowbit_run, tmp_path, w, g, a):
    rng = np.random.default_rng(11)
    path = save(mlp_model(rng), tmp_path / "mlp.onnx")
    feeds = {"x": rng.standard_normal((2, 5, 16)).astype(np.float32)}
    qdq = run(lowbit_run, tmp_path, path, feeds, QDQ.format(w=w, g=g, a=a), "qdq")["probs"]
    integer = run(lowbit_run, tmp_path, path, feeds, INTEGER.format(w=w, g=g, a=a), "int")["probs"]
    assert np.max(np.abs(integer - qdq)) <= 1e-5, np.max(np.abs(integer - qdq))


@pytest.mark.parametrize("w,a", [(8, 8), (4, 8)])
def test_conv_integer_path_matches_qdq(lowbit_run, lowbit_opt, tmp_path, w, a):
    rng = np.random.default_rng(12)
    path = save(conv_model(rng, pads=[1, 0, 2, 1], strides=[2, 1]), tmp_path / "conv.onnx")
    # The conv really becomes im2col + qlinear (K = 3*3*3 = 27 is odd, so
    # 4-bit weights stay in i8 containers; 8-bit ones pack as bytes).
    lowered = lowbit_opt(path, f"--pass-pipeline=builtin.module({INTEGER.format(w=w, g=0, a=a)})")
    assert lowered.returncode == 0, describe(lowered)
    assert "lowbit.qlinear" in lowered.stdout and "nn.conv2d" not in lowered.stdout
    feeds = {"x": rng.standard_normal((1, 3, 17, 17)).astype(np.float32)}
    qdq = run(lowbit_run, tmp_path, path, feeds, QDQ.format(w=w, g=0, a=a), "qdq")["y"]
    integer = run(lowbit_run, tmp_path, path, feeds, INTEGER.format(w=w, g=0, a=a), "int")["y"]
    assert np.abs(qdq).max() > 0.1, "the test needs non-trivial outputs"
    assert np.max(np.abs(integer - qdq)) <= 1e-4 * np.abs(qdq).max()
