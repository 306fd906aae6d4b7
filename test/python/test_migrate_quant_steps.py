"""migrate-quant-steps (MergeQuant's quantization step migration) on a small
norm -> linears model calibrated inside lowbit:

(a) the folded model (steps in gamma/beta and the weight columns, unit-step
    quantizer) computes what the unfolded per-channel static quantize /
    dequantize reference computes, up to float rounding;
(b) after quantize-weights / quantize-activations / lower-to-lowbit every
    migrated layer is a lowbit.qlinear reading its integers straight from a
    norm with out_bits: no quantize or dequantize op next to it;
(c) the lowered model's outputs equal an independent numpy implementation of
    static per-channel A4 (clipping searched per channel) + RTN W4 per output
    channel, written here from the formulas in docs/mergequant.md.

Model: x [2, 6, 16] -> LayerNormalization "ln" -> MatMul "q", MatMul "k";
r = ln + q (a residual: the norm has another user, so the pass clones it);
RMSNormalization "rms"(r) -> MatMul "up" -> Relu -> MatMul "down" (not fed by
a norm: left to quantize-activations). Channels 3 and 11 of the LayerNorm
gamma are outliers (x8), the case per-channel steps are for.
"""

from __future__ import annotations

import re

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

K, HIDDEN = 16, 32
SHAPE = (2, 6, 16)
QMAX = 7  # 4 bits
EPS_LN, EPS_RMS = 1e-5, 1e-6


def weights(seed: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    g1 = (1 + rng.standard_normal(K) / 4).astype(np.float32)
    g1[[3, 11]] *= 8
    return {
        "g1": g1,
        "b1": (rng.standard_normal(K) / 4).astype(np.float32),
        "g2": (1 + rng.standard_normal(K) / 4).astype(np.float32),
        "wq": (rng.standard_normal((K, K)) / 4).astype(np.float32),
        "wk": (rng.standard_normal((K, K)) / 4).astype(np.float32),
        "wu": (rng.standard_normal((K, HIDDEN)) / 4).astype(np.float32),
        "wd": (rng.standard_normal((HIDDEN, K)) / 6).astype(np.float32),
    }


def norm_model(w: dict[str, np.ndarray]) -> onnx.ModelProto:
    nodes = [
        helper.make_node("LayerNormalization", ["x", "g1", "b1"], ["n1"], name="ln", axis=-1, epsilon=EPS_LN),
        helper.make_node("MatMul", ["n1", "wq"], ["q"], name="q"),
        helper.make_node("MatMul", ["n1", "wk"], ["k"], name="k"),
        helper.make_node("Add", ["n1", "q"], ["r"], name="res"),
        helper.make_node("RMSNormalization", ["r", "g2"], ["n2"], name="rms", axis=-1, epsilon=EPS_RMS),
        helper.make_node("MatMul", ["n2", "wu"], ["u"], name="up"),
        helper.make_node("Relu", ["u"], ["h"], name="act"),
        helper.make_node("MatMul", ["h", "wd"], ["d"], name="down"),
    ]
    out = lambda name, n: helper.make_tensor_value_info(name, TensorProto.FLOAT, [2, 6, n])  # noqa: E731
    graph = helper.make_graph(
        nodes, "norms", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(SHAPE))],
        [out("q", K), out("k", K), out("u", HIDDEN), out("d", K)],
        initializer=[numpy_helper.from_array(v, k) for k, v in w.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    model.ir_version = 10
    return model


def inputs(seed: int, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(SHAPE) * 2 + 0.5).astype(np.float32) for _ in range(count)]


def calibrated(lowbit_module, tmp_path):
    w = weights()
    model = norm_model(w)
    sidecar = tmp_path / "stats.npz"
    lowbit_module.calibrate(model, [{"x": x} for x in inputs(11, 4)], stats_path=sidecar)
    return w, model, sidecar


def run_pipeline(lowbit_module, model, pipeline: str, x: np.ndarray):
    module = lowbit_module.import_onnx(model)
    module.run_pipeline(pipeline)
    return module, module.compile(1).run({"x": x})


def lowered(sidecar) -> str:
    return (f"func.func(migrate-quant-steps{{bits=4 stats={sidecar}}}, "
            "quantize-weights{method=rtn bits=4 group-size=0}, quantize-activations{bits=4}, "
            "lower-to-lowbit), canonicalize")


def test_folded_equals_unfolded(lowbit_module, tmp_path):
    """(a) Folding moves the steps exactly: per element the folded norm gives
    y_j * gamma_j / s_j where the reference gives (y_j * gamma_j) / s_j, a few
    ulps apart, so both round to the same integers unless a value sits within
    a few ulps of a .5 tie (probability ~1e-6 per element for this random
    data; none here). The outputs then differ only by the float rounding of
    the products and sums: tolerance 1e-5 of each output's max |value|."""
    _, model, sidecar = calibrated(lowbit_module, tmp_path)
    x = inputs(23, 1)[0]
    outs = {}
    for fold in ("true", "false"):
        pipeline = f"func.func(migrate-quant-steps{{bits=4 fold={fold} stats={sidecar}}})"
        module, outs[fold] = run_pipeline(lowbit_module, model, pipeline, x)
        text = module.to_mlir(elide_blobs=True)
        assert text.count("lowbit.qsm") == 3, text  # q, k, up
    float_out = lowbit_module.import_onnx(model).compile(1).run({"x": x})
    for name in ("q", "k", "u", "d"):
        ref = outs["false"][name]
        scale = float(np.abs(ref).max())
        np.testing.assert_allclose(outs["true"][name], ref, rtol=0, atol=1e-5 * scale, err_msg=name)
        # ... and both really are quantized: they differ from the float model.
        assert np.abs(float_out[name] - ref).max() > 1e-3 * scale, name


def qlinear_inputs(text: str) -> list[str]:
    """The op producing the x_q operand of every lowbit.qlinear, as its line."""
    defs = {}
    for line in text.splitlines():
        m = re.match(r"\s*(%[\w.]+(?:, %[\w.]+)*) = (.*)", line)
        if m:
            for name in m.group(1).split(", "):
                defs[name] = m.group(2)
    found = []
    for line in text.splitlines():
        m = re.search(r"lowbit\.qlinear (%[\w.]+)", line)
        if m:
            producer = defs[m.group(1)]
            # reshapes to [m, k] are allowed in between
            while producer.startswith("tosa.reshape"):
                producer = defs[re.match(r"tosa\.reshape (%[\w.]+)", producer).group(1)]
            found.append(producer)
    return found


def test_lowered_has_no_quantize_next_to_migrated_layers(lowbit_module, tmp_path):
    """(b) q, k and up read i8 straight from a norm with out_bits; down (not
    fed by a norm) keeps quantize-activations' dynamic A4."""
    _, model, sidecar = calibrated(lowbit_module, tmp_path)
    module = lowbit_module.import_onnx(model)
    module.run_pipeline(lowered(sidecar))
    text = module.to_mlir(elide_blobs=True)
    producers = qlinear_inputs(text)
    assert len(producers) == 4, text
    norms = [p for p in producers if re.match(r"nn\.(layer_norm|rms_norm) .*out_bits = 4 : i64", p)]
    assert len(norms) == 3, producers
    assert sum(p.startswith("nn.layer_norm") for p in norms) == 2, producers  # q, k share one
    assert len([p for p in producers if p.startswith("lowbit.quantize_dynamic")]) == 1, producers
    assert "lowbit.quantize " not in text and "lowbit.dequantize " not in text, text


# --- (c): an independent numpy reference -------------------------------------

def round_half_even(v: np.ndarray) -> np.ndarray:
    return np.round(v)  # numpy rounds halves to even


def channel_steps(absmax: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """s_j = c_j absmax_j / 7, c_j from 1, 0.975, .., 0.5 minimizing the
    squared quantization error of column j of `samples` (first minimum on
    ties); steps and quotients in float32 as the formula prescribes."""
    f = np.float32
    ratios = [f(1) - f(i) * f(0.5) / f(20) for i in range(21)]
    steps = np.ones(absmax.shape, np.float32)
    for j, a in enumerate(absmax.astype(np.float32)):
        if a <= 0:
            continue
        errors = []
        for r in ratios:
            s = f(r * a) / f(QMAX)
            q = np.clip(round_half_even((samples[:, j] / s).astype(np.float32)), -QMAX, QMAX)
            back = (q * s).astype(np.float32)
            errors.append(np.sum((samples[:, j].astype(np.float64) - back) ** 2))
        steps[j] = f(ratios[int(np.argmin(errors))] * a) / f(QMAX)
    return steps


def rtn_w4(w: np.ndarray):
    """[N, K] -> integers and per-row scales max|row| / 7 (double, then f32)."""
    scale = (np.abs(w).max(axis=1).astype(np.float64) / QMAX).astype(np.float32)
    q = np.clip(round_half_even((w / scale[:, None]).astype(np.float32)), -QMAX, QMAX)
    return q.astype(np.int64), scale


def margin_to_tie(v: np.ndarray) -> float:
    """Smallest distance of the unclipped values to a rounding tie k + 1/2."""
    inside = np.abs(v) < QMAX + 0.5
    return float(np.min(np.abs(v[inside] - np.floor(v[inside]) - 0.5)))


def migrated_linear(y: np.ndarray, weight_kn: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, float]:
    """MergeQuant layer: X_int = clamp(round(y / s)), W' = W diag(s) quantized
    per output channel, int32-exact accumulation, one scale per output."""
    v = y / s
    x_int = np.clip(round_half_even(v), -QMAX, QMAX).astype(np.int64)
    w_scaled = (weight_kn.T * s[None, :]).astype(np.float32)  # [N, K] times s_j
    w_int, w_scale = rtn_w4(w_scaled)
    acc = x_int.reshape(-1, K) @ w_int.T
    out = (acc.astype(np.float32) * w_scale[None, :]).astype(np.float32)
    return out.reshape(*y.shape[:-1], -1), margin_to_tie(v)


def test_matches_numpy_reference(lowbit_module, tmp_path):
    """(c) Tolerance: the integer products are exact on both sides; the norms
    are computed in float64 here and float32 in lowbit, which can move a value
    across a rounding tie only if it lies within ~1e-5 of one; the test checks
    its data has none (margin asserted), so the outputs must agree to the
    float32 rounding of the last multiply: 1e-5 of each output's max."""
    w, model, sidecar = calibrated(lowbit_module, tmp_path)
    x = inputs(23, 1)[0]
    _, got = run_pipeline(lowbit_module, model, lowered(sidecar), x)

    with np.load(sidecar) as data:
        stats = {k: data[k] for k in data.files}
    # The statistics describe the norm outputs (checked against numpy on the
    # calibration inputs: n1 = LayerNorm(x)).
    calib = np.stack(inputs(11, 4)).astype(np.float64)
    mu = calib.mean(-1, keepdims=True)
    n1_calib = (calib - mu) / np.sqrt(((calib - mu) ** 2).mean(-1, keepdims=True) + EPS_LN) * w["g1"] + w["b1"]
    np.testing.assert_allclose(stats["q/absmax"], np.abs(n1_calib).reshape(-1, K).max(0), rtol=1e-5)
    s1 = channel_steps(stats["q/absmax"], stats["q/samples"])
    s2 = channel_steps(stats["up/absmax"], stats["up/samples"])
    assert not np.allclose(s1, np.abs(n1_calib).reshape(-1, K).max(0) / QMAX), "no clipping chosen: weak test"

    x64 = x.astype(np.float64)
    mu = x64.mean(-1, keepdims=True)
    n1 = (x64 - mu) / np.sqrt(((x64 - mu) ** 2).mean(-1, keepdims=True) + EPS_LN) * w["g1"] + w["b1"]
    q, m_q = migrated_linear(n1, w["wq"], s1)
    k, _ = migrated_linear(n1, w["wk"], s1)
    r = n1 + q.astype(np.float64)
    n2 = r / np.sqrt((r * r).mean(-1, keepdims=True) + EPS_RMS) * w["g2"]
    u, m_u = migrated_linear(n2, w["wu"], s2)
    assert min(m_q, m_u) > 1e-4, (m_q, m_u)
    for name, ref in (("q", q), ("k", k), ("u", u)):
        np.testing.assert_allclose(got[name], ref, rtol=0, atol=1e-5 * float(np.abs(ref).max()), err_msg=name)


def test_recipe_from_python_and_lowbit_run(lowbit_module, lowbit_run, tmp_path):
    """mergequant-w4a4 from one command (lowbit-run --calibrate --recipe) and
    from lowbit.quantize(calibration=...): the same calibrated pipeline, so
    the same outputs; the norms feed the integer kernels directly."""
    model = norm_model(weights())
    model_path = tmp_path / "norms.onnx"
    model_path.write_bytes(model.SerializeToString())
    calib = np.stack(inputs(11, 4))
    x = inputs(23, 1)[0]
    assert lowbit_module.recipes()["mergequant-w4a4"]["needs_calibration"]
    module, report = lowbit_module.quantize(model, "mergequant-w4a4", calibration={"x": calib})
    text = module.to_mlir(elide_blobs=True)
    assert text.count("out_bits = 4") == 2 and text.count("lowbit.qlinear") == 4, text
    expected = module.compile(1).run({"x": x})
    np.savez(tmp_path / "calib.npz", x=calib)
    np.savez(tmp_path / "in.npz", x=x)
    proc = lowbit_run(model_path, f"--calibrate={tmp_path / 'calib.npz'}", "--recipe=mergequant-w4a4",
                      f"--inputs={tmp_path / 'in.npz'}", f"--outputs={tmp_path / 'out.npz'}")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "out.npz") as got:
        for name in ("q", "k", "u", "d"):
            np.testing.assert_allclose(got[name], expected[name], rtol=0,
                                       atol=1e-6 * float(np.abs(expected[name]).max()), err_msg=name)
