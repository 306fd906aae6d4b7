"""FlexQ on all-MiniLM-L6-v2: calibration keeps the first rows of every
nn.linear input (`<layer>/samples`), the `sensitivity` pass measures each
layer's A6 / A8 output error with W6 g128 weights on them and promotes the
top quarter to A8, and the flexq recipes run end to end.

What is asserted holds by construction: the samples are the calibration rows
(all 128 rows are kept, so samplesᵀ samples is the calibrated Hessian), the
pass's errors equal an independent numpy computation of the same formula, the
report ranks every layer once and promotes exactly round(0.25 * 36) = 9 of
them (the top-ranked), and the quantized models give finite outputs. The
sentence-embedding cosines are measured and printed, not asserted
(docs/flexq.md records them)."""
from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import numpy_helper

from test_minilm import BATCH, SEQ_LEN, load_script
from test_quantized_minilm import CALIBRATION_SENTENCES


def rtn_dequant(w: np.ndarray, bits: int, group: int) -> np.ndarray:
    """Symmetric RTN of w [N, K] in groups of `group` along K (per channel
    where it does not divide K), f32 scale = max|w| / qmax, half to even."""
    n, k = w.shape
    g = k if group == 0 or k % group else group
    qmax = 2 ** (bits - 1) - 1
    wg = w.reshape(n, k // g, g).astype(np.float32)
    scale = (np.abs(wg).max(axis=2, keepdims=True).astype(np.float64) / qmax).astype(np.float32)
    scale[scale == 0] = 1
    q = np.clip(np.round(wg / scale), -qmax, qmax)
    return (q * scale).reshape(n, k)


def per_token(x: np.ndarray, bits: int) -> np.ndarray:
    qmax = np.float32(2 ** (bits - 1) - 1)
    scale = np.abs(x).max(axis=1, keepdims=True) / qmax
    scale[scale <= 0] = 1
    return np.clip(np.round(x / scale), -qmax, qmax) * scale


def output_error(x: np.ndarray, w: np.ndarray, act_bits: int) -> float:
    ref = x.astype(np.float64) @ w.T.astype(np.float64)
    got = per_token(x, act_bits).astype(np.float64) @ rtn_dequant(w, 6, 128).T.astype(np.float64)
    return float(np.linalg.norm(got - ref) / np.linalg.norm(ref))


def test_sensitivity_and_flexq_recipes_on_minilm(lowbit_module, tmp_path):
    minilm = load_script()
    ev = minilm.evaluation(tmp_path, seq_len=SEQ_LEN, batch=BATCH)
    paths, feeds = ev.paths, ev.feeds
    calibration = minilm.sentence_batches(CALIBRATION_SENTENCES, SEQ_LEN, BATCH)
    sidecar = tmp_path / "stats.npz"
    stats = lowbit_module.calibrate(paths.model, calibration, stats_path=sidecar)
    rows = len(CALIBRATION_SENTENCES) * SEQ_LEN
    for name, s in stats.items():
        assert s["samples"].shape == (rows, s["hessian"].shape[0]), name
        x = s["samples"].astype(np.float64)
        np.testing.assert_allclose(x.T @ x, s["hessian"], rtol=1e-6, atol=1e-6 * np.abs(x).max() ** 2)

    # The ranking report of the mixed recipe's sensitivity step.
    report = tmp_path / "sensitivity.json"
    module = lowbit_module.import_onnx(paths.model)
    module.run_pipeline(f"func.func(sensitivity{{weight-bits=6 group-size=128 budget=0.25 stats={sidecar} report={report}}})")
    data = json.loads(report.read_text())
    layers = data["layers"]
    assert len(layers) == 36 and sorted(l["rank"] for l in layers) == list(range(1, 37))
    assert [l["rank"] for l in layers] == list(range(1, 37))  # listed in rank order
    assert [l["act_bits"] for l in layers] == [8] * 9 + [6] * 27
    gains = [l["err_a6"] - l["err_a8"] for l in layers]
    assert gains == sorted(gains, reverse=True)
    model = onnx.load(paths.model)
    inits = {i.name: i for i in model.graph.initializer}
    weight_of = {n.name: numpy_helper.to_array(inits[n.input[1]]).T
                 for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in inits}
    for layer in (layers[0], layers[17], layers[-1]):
        x = stats[layer["layer"]]["samples"]
        w = weight_of[layer["layer"]]
        assert abs(layer["err_a6"] - output_error(x, w, 6)) <= 1e-5 * layer["err_a6"], layer
        assert abs(layer["err_a8"] - output_error(x, w, 8)) <= 1e-5 * layer["err_a8"], layer

    cosines = {}
    for recipe in ["flexq-w6a6", "flexq-w6a8-mixed"]:
        kwargs = {"stats_path": sidecar} if lowbit_module.recipes()[recipe]["needs_calibration"] else {}
        module, _ = lowbit_module.quantize(paths.model, recipe=recipe, **kwargs)
        hidden = module.compile(0).run(feeds)["last_hidden_state"]
        assert np.isfinite(hidden).all(), recipe
        cosines[recipe] = float(np.min(ev.cosines(hidden)))
    print("\nmost sensitive layers (err_a6 - err_a8):")
    for layer in layers[:9]:
        print(f"  {layer['rank']:2d} {layer['layer']:50s} {layer['err_a6']:.5f} {layer['err_a8']:.5f}")
    print("sentence-embedding cosine vs float (min over sentences):")
    for name, c in cosines.items():
        print(f"  {name:20s} {c:.5f}")
