"""smooth{stats-out=}: the statistics it writes for the smoothed layers
equal the statistics measured by calibrating the smoothed model itself
(max |x|, samples and the Hessian of X diag(1/s)), so GPTQ after smoothing
sees the inputs it will really get."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

K = 16


def norm_then_two_linears(path):
    rng = np.random.default_rng(11)
    gamma = np.ones(K, np.float32)
    gamma[3] = 20.0  # an outlier channel for smoothing to move
    nodes = [
        helper.make_node("LayerNormalization", ["x", "gamma", "beta"], ["h"], name="ln", axis=-1),
        helper.make_node("MatMul", ["h", "w1"], ["y1"], name="fc1"),
        helper.make_node("MatMul", ["h", "w2"], ["y2"], name="fc2"),
    ]
    inits = [numpy_helper.from_array(gamma, "gamma"),
             numpy_helper.from_array(rng.standard_normal(K).astype(np.float32) * 0.1, "beta"),
             numpy_helper.from_array(rng.standard_normal((K, 12)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.standard_normal((K, 8)).astype(np.float32), "w2")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8, K])],
        [helper.make_tensor_value_info("y1", TensorProto.FLOAT, [2, 8, 12]),
         helper.make_tensor_value_info("y2", TensorProto.FLOAT, [2, 8, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_stats_out_equals_calibrating_the_smoothed_model(lowbit_module, tmp_path):
    model = norm_then_two_linears(tmp_path / "m.onnx")
    rng = np.random.default_rng(0)
    samples = [{"x": rng.standard_normal((2, 8, K)).astype(np.float32)} for _ in range(3)]
    before = tmp_path / "before.npz"
    after = tmp_path / "after.npz"
    original = lowbit_module.calibrate(model, samples, stats_path=before)

    module = lowbit_module.import_onnx(model)
    module.run_pipeline(f"func.func(smooth{{alpha=0.5 stats={before} stats-out={after}}})")
    measured = lowbit_module.calibrate(module, samples)

    with np.load(after) as data:
        written = {key: data[key] for key in data.files}
    for layer in ("fc1", "fc2"):
        absmax = written[f"{layer}/absmax"].astype(np.float64)
        # Smoothing changed the inputs (the outlier channel moved into the
        # weights), and the file says so.
        assert not np.allclose(absmax, original[layer]["absmax"], rtol=1e-3), layer
        np.testing.assert_allclose(absmax, measured[layer]["absmax"], rtol=1e-5, err_msg=layer)
        h_written = written[f"{layer}/hessian"].astype(np.float64)
        h_measured = measured[layer]["hessian"].astype(np.float64)
        assert np.linalg.norm(h_written - h_measured) <= 1e-5 * np.linalg.norm(h_measured), layer
        if f"{layer}/samples" in written and "samples" in measured[layer]:
            np.testing.assert_allclose(written[f"{layer}/samples"], measured[layer]["samples"],
                                       rtol=1e-5, atol=1e-6, err_msg=layer)
