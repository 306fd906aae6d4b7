"""Calibration inside the compiler: lowbit.observe taps on the layer inputs,
the instrumented model run through the CPU JIT, statistics accumulated in C++
(lib/Calibration) and stored in the .npz sidecar.

Every statistic is checked against numpy computed here, independently, from
the same inputs: per-channel max |x| and mean |x|, sample counts, the layer
Hessians sum x xᵀ, |x| percentiles (to one histogram bin). Then the sidecar's
two consumers: quantize-weights{hessians=} (GPTQ from the sidecar equals GPTQ
from a plain 2/n X Xᵀ file, bit for bit) and quantize-activations
{mode=static}, whose lowered integer kernel must equal a numpy reference bit
for bit; the C++ tool (lowbit-run --calibrate / --stats-out) and the Python
API must agree; and calibrated recipes must demand their data."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper, numpy_helper

from test_cli import conv_model, float_input, make_model, mlp_model


def relu_hidden(model, x: np.ndarray) -> np.ndarray:
    """The input of mlp_model's fc2 (Relu(x W1 + b1)), in float64."""
    w = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    return np.maximum(x.astype(np.float64) @ w["w1"].astype(np.float64) + w["b1"], 0)


def check_layer(stats: dict, x: np.ndarray, axis: int, hessian: bool, rtol: float) -> None:
    """Compares one layer's statistics with numpy on `x` (all samples stacked,
    float64); channels along `axis`."""
    c = x.shape[axis]
    per_channel = np.moveaxis(np.abs(x), axis, -1).reshape(-1, c)
    np.testing.assert_allclose(stats["absmax"], per_channel.max(axis=0), rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(stats["mean_abs"], per_channel.mean(axis=0), rtol=max(rtol, 1e-6), atol=1e-6)
    assert int(stats["count"]) == per_channel.shape[0]
    assert stats["histogram"].shape == (2048,) and stats["histogram"].sum() == x.size
    width = float(stats["histogram_max"]) / 2048
    assert float(stats["histogram_max"]) >= per_channel.max() * (1 - rtol)
    for level, value in zip(stats["percentile_levels"], stats["percentiles"]):
        truth = np.percentile(np.abs(x), level, method="inverted_cdf")
        # The upper edge of the bin holding the percentile: >= it, < one bin above.
        assert truth * (1 - rtol) - 1e-6 <= value <= truth + width * (1 + rtol) + 1e-6, (level, value, truth, width)
    if hessian:
        flat = x.reshape(-1, c)
        np.testing.assert_allclose(stats["hessian"], flat.T @ flat, rtol=rtol, atol=1e-6 * np.abs(flat).max() ** 2)
    else:
        assert "hessian" not in stats


def test_statistics_match_numpy(lowbit_module, tmp_path):
    rng = np.random.default_rng(3)
    model = mlp_model(rng)
    samples = [{"x": (rng.standard_normal((2, 5, 16)) * (1 + np.arange(16)) / 4).astype(np.float32)} for _ in range(3)]
    sidecar = tmp_path / "stats.npz"
    stats = lowbit_module.calibrate(model, samples, stats_path=sidecar)
    assert sorted(stats) == ["fc1", "fc2"]
    x = np.stack([s["x"] for s in samples]).astype(np.float64)
    # fc1 reads the model input itself: the same float32 values, so only the
    # order of summation differs (double accumulation both ways).
    check_layer(stats["fc1"], x, axis=-1, hessian=True, rtol=1e-9)
    # fc2 reads lowbit's Relu(x W1 + b1): float32 rounding of the JIT.
    check_layer(stats["fc2"], relu_hidden(model, x), axis=-1, hessian=True, rtol=2e-5)
    # The sidecar holds the same arrays under "<layer>/<statistic>".
    with np.load(sidecar) as data:
        assert sorted(data.files) == sorted(f"{layer}/{key}" for layer in stats for key in stats[layer])
        for layer in stats:
            for key, value in stats[layer].items():
                np.testing.assert_array_equal(data[f"{layer}/{key}"], value)
    # One dict of arrays with a leading sample dimension is the same data.
    again = lowbit_module.calibrate(model, {"x": np.stack([s["x"] for s in samples])})
    for key, value in stats["fc1"].items():
        np.testing.assert_array_equal(again["fc1"][key], value)


def test_conv_statistics_per_input_channel(lowbit_module):
    rng = np.random.default_rng(4)
    model = conv_model(rng, pads=[1, 1, 1, 1], strides=[1, 1])
    scales = np.array([1.0, 5.0, 0.25], np.float32)[None, :, None, None]
    samples = [{"x": (rng.standard_normal((1, 3, 17, 17)) * scales).astype(np.float32)} for _ in range(2)]
    # Per-channel statistics only (conv patch Hessians: test_conv_hessian.py).
    stats = lowbit_module.calibrate(model, samples, hessians=False)
    x = np.concatenate([s["x"] for s in samples]).astype(np.float64)
    check_layer(stats["conv"], x, axis=1, hessian=False, rtol=1e-9)


def test_matmul_taps_only_when_asked(lowbit_module):
    rng = np.random.default_rng(5)
    a = float_input("a", [2, 3, 4])
    b = float_input("b", [2, 4, 6])
    model = make_model([helper.make_node("MatMul", ["a", "b"], ["y"], name="attn")], [a, b],
                       [float_input("y", [2, 3, 6])], name="mm")
    feeds = [{"a": rng.standard_normal((2, 3, 4)).astype(np.float32),
              "b": rng.standard_normal((2, 4, 6)).astype(np.float32)}]
    with pytest.raises(lowbit_module.LowbitError, match="no layer to observe"):
        lowbit_module.calibrate(model, feeds)
    stats = lowbit_module.calibrate(model, feeds, ops="matmul")
    assert sorted(stats) == ["attn", "attn.rhs"]
    check_layer(stats["attn"], feeds[0]["a"].astype(np.float64), axis=-1, hessian=False, rtol=1e-9)
    check_layer(stats["attn.rhs"], feeds[0]["b"].astype(np.float64), axis=1, hessian=False, rtol=1e-9)


def test_cli_calibrate_matches_python(lowbit_module, lowbit_run, tmp_path):
    rng = np.random.default_rng(6)
    model = mlp_model(rng)
    path = tmp_path / "mlp.onnx"
    path.write_bytes(model.SerializeToString())
    x = rng.standard_normal((4, 2, 5, 16)).astype(np.float32)
    expected = lowbit_module.calibrate(model, {"x": x})
    # [S, *input shape] and S batches concatenated along the first dimension.
    for name, array in [("stacked", x), ("concatenated", x.reshape(8, 5, 16))]:
        np.savez(tmp_path / f"{name}.npz", x=array)
        out = tmp_path / f"{name}_stats.npz"
        proc = lowbit_run(path, f"--calibrate={tmp_path / f'{name}.npz'}", f"--stats-out={out}")
        assert proc.returncode == 0, proc.stderr
        assert "calibrate [" in proc.stderr and "4/4" in proc.stderr
        with np.load(out) as data:
            # fc1 reads the input: identical; fc2 reads the JIT's float32 Relu
            # (the tool and the Python module may be built at different times).
            for key, value in expected["fc1"].items():
                np.testing.assert_array_equal(data[f"fc1/{key}"], value, err_msg=f"{name} fc1/{key}")
            for key in ("absmax", "mean_abs", "hessian"):
                np.testing.assert_allclose(data[f"fc2/{key}"], expected["fc2"][key], rtol=1e-5, atol=1e-5)
            assert int(data["fc2/count"]) == int(expected["fc2"]["count"]) == 40
    # Two files add up.
    np.savez(tmp_path / "half1.npz", x=x[:2])
    np.savez(tmp_path / "half2.npz", x=x[2:])
    out = tmp_path / "halves.npz"
    proc = lowbit_run(path, f"--calibrate={tmp_path / 'half1.npz'},{tmp_path / 'half2.npz'}", f"--stats-out={out}")
    assert proc.returncode == 0, proc.stderr
    with np.load(out) as data:
        np.testing.assert_array_equal(data["fc1/hessian"], expected["fc1"]["hessian"])


def test_cli_errors(lowbit_run, tmp_path):
    model = mlp_model(np.random.default_rng(0))
    path = tmp_path / "mlp.onnx"
    path.write_bytes(model.SerializeToString())
    np.savez(tmp_path / "bad.npz", x=np.zeros((3, 7), np.float32))
    np.savez(tmp_path / "good.npz", x=np.zeros((2, 5, 16), np.float32))
    cases = [
        ([f"--calibrate={tmp_path / 'bad.npz'}"], "input 'x' expects f4 [2x5x16] (or a leading sample dimension)"),
        ([f"--calibrate={tmp_path / 'none.npz'}"], "none.npz"),
        (["--recipe=gptq-w4a16-g128"], "recipe 'gptq-w4a16-g128' needs calibration data"),
        ([f"--stats-out={tmp_path / 's.npz'}"], "--stats-out needs --calibrate"),
        (["--recipe=rtn-w8a8", f"--stats-in={tmp_path / 'good.npz'}"], "takes no calibration data"),
        ([f"--calibrate={tmp_path / 'good.npz'}", "--calibrate-ops=softmax"], "unknown layer kind 'softmax'"),
    ]
    for args, message in cases:
        proc = lowbit_run(path, *args)
        assert proc.returncode == 1, (args, proc.stderr)
        lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and message in lines[0], (args, proc.stderr)
        assert "Stack dump" not in proc.stderr


def test_sidecar_hessians_feed_gptq(lowbit_module, tmp_path):
    """quantize-weights{method=gptq hessians=SIDECAR} reads "<layer>/hessian"
    and scales it to 2/n sum x xᵀ: the same weights as a plain Hessian file
    written here from the inputs."""
    rng = np.random.default_rng(8)
    model = mlp_model(rng)
    x = rng.standard_normal((3, 2, 5, 16)).astype(np.float32)
    sidecar = tmp_path / "stats.npz"
    lowbit_module.calibrate(model, {"x": x}, stats_path=sidecar)
    xs = x.reshape(-1, 16).astype(np.float64)
    hidden = relu_hidden(model, x).reshape(-1, 32)
    # fc2's Hessian comes from lowbit's float32 Relu; take the sidecar's, but
    # scale it here.
    with np.load(sidecar) as data:
        h2 = data["fc2/hessian"] * 2 / int(data["fc2/count"])
        np.testing.assert_allclose(data["fc2/hessian"], hidden.T @ hidden, rtol=2e-5, atol=1e-4)
    plain = tmp_path / "plain.npz"
    np.savez(plain, fc1=2 * xs.T @ xs / xs.shape[0], fc2=h2)
    texts = []
    for hessians in (sidecar, plain):
        module = lowbit_module.import_onnx(model)
        module.run_pipeline(f"func.func(quantize-weights{{method=gptq bits=3 group-size=0 hessians={hessians}}})")
        texts.append(module.to_mlir())
    assert "lowbit.dequantize_weight" in texts[0]
    # Same integer parts and scales: identical blobs.
    assert texts[0] == texts[1]


def np_static_quantize(x: np.ndarray, scale: np.float32, bits: int) -> np.ndarray:
    qmax = np.float32((1 << (bits - 1)) - 1)
    return np.clip(np.rint(x / scale), -qmax, qmax).astype(np.int64)


@pytest.mark.parametrize("bits", [8, 6])
def test_static_activations_lower_exactly(lowbit_module, tmp_path, bits):
    """Static per-tensor A`bits` (scale = calibrated max |x| / qmax, values
    beyond it saturate) x W8 per channel through lowbit.qlinear equals int64
    numpy arithmetic dequantized in float32, bit for bit. The weights are on
    their grid already (row max = 127 * a power of two), so RTN returns
    them unchanged and the reference knows the integer weights."""
    rng = np.random.default_rng(100 + bits)
    n, k = 12, 24
    wq = rng.integers(-127, 128, size=(n, k))
    wq[:, 0] = 127
    ws = (2.0 ** rng.integers(-8, -3, size=n)).astype(np.float32)
    w = (wq * ws[:, None]).astype(np.float32)  # [N, K]
    model = make_model([helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")],
                       [float_input("x", [3, 7, k])], [float_input("y", [3, 7, n])],
                       [numpy_helper.from_array(np.ascontiguousarray(w.T), "w")], "static")
    calib = (rng.standard_normal((4, 3, 7, k)) * 2).astype(np.float32)
    sidecar = tmp_path / "stats.npz"
    stats = lowbit_module.calibrate(model, {"x": calib}, stats_path=sidecar)
    absmax = np.float32(np.abs(calib).max())
    assert stats["fc"]["absmax"].max() == absmax
    qmax = (1 << (bits - 1)) - 1
    scale = np.float32(np.float64(absmax) / qmax)

    module = lowbit_module.import_onnx(model)
    module.run_pipeline(f"func.func(quantize-weights{{bits=8 group-size=0}}, quantize-activations{{bits={bits} "
                        f"mode=static stats={sidecar}}}, lower-to-lowbit), canonicalize")
    text = module.to_mlir(elide_blobs=True)
    assert "lowbit.qlinear" in text and "quant.scast" in text and "nn.linear" not in text
    # Test inputs: some beyond the calibrated range (saturate), exact ties.
    x = (rng.standard_normal((3, 7, k)) * 3).astype(np.float32)
    x[0, 0, :4] = (np.array([0.5, 1.5, -2.5, 3.5], np.float32) * scale).astype(np.float32)
    got = module.run({"x": x})["y"]
    xq = np_static_quantize(x.reshape(-1, k), scale, bits)
    assert np.abs(xq).max() == qmax  # some values saturated
    acc = xq @ wq.T
    expected = ((acc.astype(np.float32) * scale) * ws[None, :]).astype(np.float32).reshape(3, 7, n)
    np.testing.assert_array_equal(got.view(np.int32), expected.view(np.int32))


def test_calibrated_recipes_need_data(lowbit_module, tmp_path):
    rng = np.random.default_rng(9)
    model = mlp_model(rng)
    table = lowbit_module.recipes()
    assert {"gptq-w4a16-g128", "decoupleq-w2a16-g64", "rtn-w8a8-static"} <= set(table)
    assert table["gptq-w4a16-g128"]["needs_calibration"] and not table["rtn-w8a8"]["needs_calibration"]
    with pytest.raises(ValueError, match="recipe 'gptq-w4a16-g128' needs calibration data"):
        lowbit_module.quantize(model, recipe="gptq-w4a16-g128")
    x = rng.standard_normal((4, 2, 5, 16)).astype(np.float32)
    feeds = [{"x": s} for s in x]
    module, report = lowbit_module.quantize(model, recipe="rtn-w8a8-static", calibration=feeds)
    assert report["calibration"] == {"samples": 4, "layers": ["fc1", "fc2"]}
    assert module.to_mlir(elide_blobs=True).count("lowbit.qlinear") == 2
    probs = module.run({"x": x[0]})["probs"]
    assert np.isfinite(probs).all() and np.allclose(probs.sum(-1), 1, atol=1e-5)
    # A sidecar written once can be reused.
    sidecar = tmp_path / "stats.npz"
    lowbit_module.calibrate(model, feeds, stats_path=sidecar)
    module, report = lowbit_module.quantize(model, recipe="gptq-w4a16-g128", stats_path=sidecar)
    assert "lowbit.dequantize_weight" in module.to_mlir(elide_blobs=True)
    assert report["calibration"]["stats_path"] == str(sidecar)


def layer_norm_model(rng) -> "onnx.ModelProto":
    """x[2,6,8] -> LayerNormalization -> MatMul (its only user): the smoothing
    scale folds into the layer norm."""
    gamma = (1 + rng.standard_normal(8) / 4).astype(np.float32)
    beta = (rng.standard_normal(8) / 4).astype(np.float32)
    w = (rng.standard_normal((8, 5)) / 3).astype(np.float32)
    nodes = [helper.make_node("LayerNormalization", ["x", "gamma", "beta"], ["n"], name="ln", axis=-1),
             helper.make_node("MatMul", ["n", "w"], ["y"], name="fc")]
    inits = [numpy_helper.from_array(gamma, "gamma"), numpy_helper.from_array(beta, "beta"),
             numpy_helper.from_array(w, "w")]
    return make_model(nodes, [float_input("x", [2, 6, 8])], [float_input("y", [2, 6, 5])], inits, "ln")


@pytest.mark.parametrize("kind", ["mlp", "layer_norm"])
def test_smooth_keeps_the_float_function(lowbit_module, tmp_path, kind):
    """smooth only moves scale between activations and weights: the float
    model computes the same function (to float rounding), with the scale in
    the layer norm or in a multiply in front of the layer."""
    rng = np.random.default_rng(11)
    model = mlp_model(rng) if kind == "mlp" else layer_norm_model(rng)
    shape = (2, 5, 16) if kind == "mlp" else (2, 6, 8)
    # An outlier channel, as in transformer activations.
    feeds = [{"x": (rng.standard_normal(shape) * np.where(np.arange(shape[-1]) == 3, 20, 1)).astype(np.float32)}
             for _ in range(3)]
    sidecar = tmp_path / "stats.npz"
    lowbit_module.calibrate(model, feeds, stats_path=sidecar)
    plain = lowbit_module.import_onnx(model)
    smoothed = lowbit_module.import_onnx(model)
    smoothed.run_pipeline(f"func.func(smooth{{alpha=0.5 stats={sidecar}}})")
    text = smoothed.to_mlir(elide_blobs=True)
    assert text.count("lowbit.smooth_alpha = 5.000000e-01") == (2 if kind == "mlp" else 1)
    assert ("tosa.mul" in text) == (kind == "mlp")
    assert (".smoothed_scale" in text) == (kind == "layer_norm")
    name = "probs" if kind == "mlp" else "y"
    for f in feeds:
        want, got = plain.run(f)[name], smoothed.run(f)[name]
        assert np.max(np.abs(got - want)) <= 2e-5 * max(1.0, np.max(np.abs(want))), kind


def test_cli_calibrated_recipe_matches_python(lowbit_module, lowbit_run, tmp_path):
    """lowbit-run --calibrate FILE --recipe R runs what lowbit.quantize(model,
    R, calibration=...) builds."""
    rng = np.random.default_rng(12)
    model = mlp_model(rng)
    path = tmp_path / "mlp.onnx"
    path.write_bytes(model.SerializeToString())
    calib = rng.standard_normal((4, 2, 5, 16)).astype(np.float32)
    x = rng.standard_normal((2, 5, 16)).astype(np.float32)
    np.savez(tmp_path / "calib.npz", x=calib)
    np.savez(tmp_path / "in.npz", x=x)
    module, _ = lowbit_module.quantize(model, recipe="rtn-w8a8-static", calibration={"x": calib})
    want = module.run({"x": x})["probs"]
    proc = lowbit_run(path, f"--calibrate={tmp_path / 'calib.npz'}", "--recipe=rtn-w8a8-static",
                      f"--inputs={tmp_path / 'in.npz'}", f"--outputs={tmp_path / 'out.npz'}")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "out.npz") as data:
        np.testing.assert_allclose(data["probs"], want, rtol=0, atol=1e-6)
