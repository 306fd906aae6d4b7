"""The `winograd` pass must not change what a convolution computes.

Small ONNX Conv models (bias, padding, N = 2, output sizes that are not
multiples of m, so the last tiles are partial) run through lowbit-run with
`func.func(winograd{m=M points=P})`; the reference is the convolution in
float64 (numpy), and onnxruntime is checked too.

Tolerance (from the conditioning of the emitted transforms, not from
lowbit's own error): the same Winograd algorithm written independently in
numpy float32, with the matrices the pass emitted (read back from
lowbit-opt's output), has error e_np against the float64 convolution; f32
rounding costs any implementation about that much (lowbit's error was
0.5x..1.1x e_np when this was written). The test asserts
max|lowbit - ref| <= 4 e_np + 8 eps32 max|Y|, and that this tolerance stays
below 2e-3 of max|Y| (F(2,3) 1e-7 .. F(4,5) 2.5e-4), so a wrong matrix, tile
or pad index (an O(max|Y|) error) fails. F(8,3) on standard points
(0, ±1, .., ±4) is the documented exception: e_np is ~0.25 of max|Y|; it is
also run on NOVA's points, where e_np is ~1e-4.
"""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from test_cli import describe, onnxruntime_outputs, save, save_npz

EPS32 = 2.0**-23


def conv_model(batch, c, f, h, w, r, pads, bias=True) -> onnx.ModelProto:
    rng = np.random.default_rng(100 * r + c)
    weight = (rng.standard_normal((f, c, r, r)) / np.sqrt(c * r * r)).astype(np.float32)
    inits = [numpy_helper.from_array(weight, "weight")]
    inputs = ["x", "weight"]
    if bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(f).astype(np.float32), "bias"))
        inputs.append("bias")
    oh = h + pads[0] + pads[2] - r + 1
    ow = w + pads[1] + pads[3] - r + 1
    nodes = [helper.make_node("Conv", inputs, ["y"], name="conv", kernel_shape=[r, r], pads=list(pads))]
    graph = helper.make_graph(
        nodes,
        "conv",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [batch, c, h, w])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [batch, f, oh, ow])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def run(lowbit_run, tmp_path, model_path, feeds, pipeline, name):
    inputs = save_npz(tmp_path / f"{name}.in.npz", feeds)
    outputs = tmp_path / f"{name}.out.npz"
    args = [model_path, f"--inputs={inputs}", f"--outputs={outputs}"]
    if pipeline:
        args.append(f"--pipeline={pipeline}")
    proc = lowbit_run(*args)
    assert proc.returncode == 0, describe(proc)
    with np.load(outputs) as data:
        return data["y"]


def rel_err(got, ref):
    return float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))


def conv_f64(x, weight, bias, pads):
    """Direct convolution in float64 (stride 1, dilation 1, groups 1)."""
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    r = weight.shape[2]
    win = np.lib.stride_tricks.sliding_window_view(x, (r, r), axis=(2, 3))  # N C OH OW r r
    y = np.einsum("nchwij,fcij->nfhw", win, weight.astype(np.float64))
    return y + bias.astype(np.float64)[None, :, None, None]


def emitted_transforms(text, n, m, c, f):
    """BT, AT and the folded U as the pass emitted them (lowbit-opt output)."""
    def f64_array(name):
        return np.array([float(v) for v in re.search(rf"\b{name} = array<f64: ([^>]*)>", text).group(1).split(",")])

    blob = re.search(r'_winograd_filter: "0x([0-9A-Fa-f]*)"', text).group(1)
    u = np.frombuffer(bytes.fromhex(blob)[4:], dtype=np.float32).astype(np.float64)  # 4 bytes: alignment
    return f64_array("bt").reshape(n, n), f64_array("at").reshape(m, n), u.reshape(n, n, c, f)


def winograd_f32(x, pads, m, r, bt, at, u, bias):
    """The same Winograd algorithm in numpy float32 with the matrices the pass
    emitted (an independent implementation: what f32 rounding costs with
    these transforms, whatever the summation order)."""
    batch, c, h, w = x.shape
    n = m + r - 1
    oh, ow = h + pads[0] + pads[2] - r + 1, w + pads[1] + pads[3] - r + 1
    th, tw = -(-oh // m), -(-ow // m)
    xp = np.zeros((batch, c, th * m + r - 1, tw * m + r - 1), np.float32)
    xp[:, :, pads[0]:pads[0] + h, pads[1]:pads[1] + w] = x
    tiles = np.lib.stride_tricks.sliding_window_view(xp, (n, n), axis=(2, 3))[:, :, ::m, ::m]  # N C th tw n n
    bt32, at32, u32 = bt.astype(np.float32), at.astype(np.float32), u.astype(np.float32)
    v = np.einsum("bj,ncyxij->ncyxib", bt32, tiles)
    v = np.einsum("ai,ncyxib->abncyx", bt32, v)
    mm = np.einsum("abncyx,abcf->abnfyx", v, u32)
    y = np.einsum("qb,abnfyx->anfyxq", at32, mm)
    y = np.einsum("pa,anfyxq->nfypxq", at32, y).reshape(batch, -1, th * m, tw * m)
    return y[:, :, :oh, :ow] + bias[None, :, None, None]


# (m, r, points, pads): odd output sizes leave partial tiles; asymmetric pads.
CASES = [
    (2, 3, "standard", [1, 1, 1, 1]),
    (4, 3, "standard", [1, 0, 2, 1]),
    (6, 3, "standard", [1, 1, 1, 1]),
    (8, 3, "standard", [0, 1, 1, 0]),
    (2, 5, "standard", [2, 2, 2, 2]),
    (4, 5, "standard", [1, 2, 2, 0]),
    (4, 3, "nova", [1, 1, 1, 1]),
    (6, 3, "nova", [1, 1, 1, 1]),
    (8, 3, "nova", [1, 1, 1, 1]),
]
# F(8,3) on the integers 0, ±1, .., ±4 loses about 1e-1 of max|Y| in f32 in
# any implementation (numpy's too); its tolerance is allowed to be that large.
ILL_CONDITIONED = {(8, 3, "standard")}


@pytest.mark.parametrize("m,r,points,pads", CASES, ids=[f"F({m},{r})-{p}" for m, r, p, _ in CASES])
def test_winograd_matches_direct_conv(lowbit_run, lowbit_opt, tmp_path, m, r, points, pads):
    batch, c, f, h, w = 2, 5, 6, 13, 11
    n = m + r - 1
    model = conv_model(batch, c, f, h, w, r, pads)
    path = save(model, tmp_path / "conv.onnx")
    pipeline = f"func.func(winograd{{m={m} points={points}}})"
    # The conv really is rewritten: both transforms, the batched products,
    # and no nn.conv2d left.
    lowered = lowbit_opt(path, f"--pass-pipeline=builtin.module({pipeline})")
    assert lowered.returncode == 0, describe(lowered)
    text = lowered.stdout
    assert "nn.conv2d" not in text
    assert "lowbit.winograd_input_transform" in text and "linalg.batch_matmul" in text
    assert f"m = {m} : i64, r = {r} : i64" in text
    bt, at, u = emitted_transforms(text, n, m, c, f)

    rng = np.random.default_rng(7)
    feeds = {"x": rng.standard_normal((batch, c, h, w)).astype(np.float32)}
    weight, bias = (numpy_helper.to_array(t) for t in model.graph.initializer)
    ref = conv_f64(feeds["x"], weight, bias, pads)
    wino = run(lowbit_run, tmp_path, path, feeds, pipeline, "wino")
    ort = onnxruntime_outputs(path, feeds)["y"]
    assert wino.shape == ref.shape == ort.shape
    assert rel_err(ort, ref) <= 1e-6

    scale = float(np.max(np.abs(ref)))
    err = float(np.max(np.abs(wino - ref)))
    err_numpy = float(np.max(np.abs(winograd_f32(feeds["x"], pads, m, r, bt, at, u, bias) - ref)))
    tol = 4 * err_numpy + 8 * EPS32 * scale
    print(f"F({m},{r}) {points}: error {err / scale:.3g} of max|Y|, numpy f32 Winograd {err_numpy / scale:.3g}")
    limit = 2.0 if (m, r, points) in ILL_CONDITIONED else 2e-3
    assert tol / scale < limit, "the emitted transforms are worse conditioned than expected"
    assert err <= tol, (err / scale, tol / scale)
    assert float(np.max(np.abs(wino - ort))) <= tol + 1e-6 * scale


def test_f16_precision_rounds_and_stays_close(lowbit_run, tmp_path):
    """precision=f16 must change the result by about fp16 rounding: more
    than f32 Winograd (the rounding really happens), far less than O(1)."""
    batch, c, f, h, w = 1, 8, 4, 10, 10
    path = save(conv_model(batch, c, f, h, w, 3, [1, 1, 1, 1]), tmp_path / "conv.onnx")
    rng = np.random.default_rng(3)
    feeds = {"x": rng.standard_normal((batch, c, h, w)).astype(np.float32)}
    direct = run(lowbit_run, tmp_path, path, feeds, "", "direct")
    f32 = run(lowbit_run, tmp_path, path, feeds, "func.func(winograd{m=4})", "f32")
    f16 = run(lowbit_run, tmp_path, path, feeds, "func.func(winograd{m=4 precision=f16})", "f16")
    assert rel_err(f32, direct) < 1e-5
    # fp16 has a 2^-11 unit roundoff; several roundings per output.
    assert 1e-5 < rel_err(f16, direct) < 2e-2, rel_err(f16, direct)


def test_explicit_points_match_standard(lowbit_run, tmp_path):
    """An explicit list equal to the standard F(4,3) points gives the same
    numbers as points=standard, and another valid list stays exact too."""
    path = save(conv_model(1, 3, 4, 9, 9, 3, [1, 1, 1, 1]), tmp_path / "conv.onnx")
    rng = np.random.default_rng(5)
    feeds = {"x": rng.standard_normal((1, 3, 9, 9)).astype(np.float32)}
    direct = run(lowbit_run, tmp_path, path, feeds, "", "direct")
    std = run(lowbit_run, tmp_path, path, feeds, "func.func(winograd{m=4 points=standard})", "std")
    listed = run(lowbit_run, tmp_path, path, feeds, "func.func(winograd{m=4 points=0,1,-1,2,-2})", "list")
    half = run(lowbit_run, tmp_path, path, feeds, "func.func(winograd{m=4 points=0,1,-1,1/2,-1/2})", "half")
    assert np.array_equal(std, listed)
    assert rel_err(half, direct) <= 200 * EPS32
