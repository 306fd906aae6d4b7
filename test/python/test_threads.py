"""Multi-threaded CPU execution (lowbit-run --threads, compile(threads=N))
gives the same outputs as one thread, bit for bit: the threads split the
output tiles and rows of the large ops, never a sum (docs/design-notes.md,
"CPU speed"). Tolerance: exact equality (np.array_equal), for the float
models and the integer (rtn-w8a8) path alike.

Models: PP-OCRv4 det on a 1x3x64x64 image (lowbit-run), all-MiniLM-L6-v2
(embeddings + the first two encoder layers) at 16 tokens x 2 sentences (the
Python package), and an MLP quantized with the
rtn-w8a8 recipe (int8 x int8 -> int32 kernels) whose lowered code is checked
to contain parallel regions, so that the comparison is not vacuous.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnx
import onnx.utils
import pytest
from onnx import TensorProto, helper, numpy_helper

from test_cli import assert_one_error_line, describe, save, save_npz

REPO_ROOT = Path(__file__).resolve().parents[2]


def outputs(lowbit_run, model: Path, inputs: Path, out: Path, *args) -> dict[str, np.ndarray]:
    proc = lowbit_run(model, f"--inputs={inputs}", f"--outputs={out}", *args)
    assert proc.returncode == 0, describe(proc)
    with np.load(out) as data:
        return {k: data[k] for k in data.files}


def assert_identical(one: dict, two: dict) -> None:
    assert one.keys() == two.keys() and one
    for name in one:
        assert one[name].dtype == two[name].dtype and one[name].shape == two[name].shape
        diff = np.max(np.abs(one[name].astype(np.float64) - two[name].astype(np.float64)))
        assert np.array_equal(one[name], two[name]), f"{name}: max |1 thread - 2 threads| = {diff}"


def test_ppocr_det_two_threads_identical(lowbit_run, tmp_path):
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    assert spec is not None, "rapidocr-onnxruntime is not installed (scripts/setup.sh installs it)"
    det = Path(spec.origin).parent / "models" / "ch_PP-OCRv4_det_infer.onnx"
    main_spec = importlib.util.spec_from_file_location("lowbit_main", REPO_ROOT / "scripts" / "main.py")
    main = importlib.util.module_from_spec(main_spec)
    main_spec.loader.exec_module(main)
    x = np.asarray(main.synthetic_document_image((1, 3, 64, 64), np.random.default_rng(0)), np.float32)
    inputs = save_npz(tmp_path / "x.npz", {"x": x})
    shape = "--input-shape=x=1x3x64x64"
    one = outputs(lowbit_run, det, inputs, tmp_path / "t1.npz", shape, "--threads=1")
    two = outputs(lowbit_run, det, inputs, tmp_path / "t2.npz", shape, "--threads=2")
    assert_identical(one, two)
    # Not a trivially constant map: the detector responds to the image.
    assert np.std(one["sigmoid_0.tmp_0"]) > 1e-3


def test_minilm_two_threads_identical(lowbit_module, tmp_path):
    path = REPO_ROOT / "scripts" / "build_minilm.py"
    spec = importlib.util.spec_from_file_location("build_minilm", path)
    minilm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(minilm)
    paths = minilm.build(tmp_path, seq_len=16, batch=2)
    with np.load(paths.inputs) as data:
        feeds = {k: data[k] for k in data.files}
    # The embeddings and the first two of the six encoder layers: every op of
    # the model (attention, softmax, GELU, layer norms, the linears) at a
    # third of the compile time.
    prefix = tmp_path / "minilm_2_layers.onnx"
    onnx.utils.extract_model(str(paths.model), str(prefix), ["input_ids", "attention_mask"],
                             ["layer.1.output.LayerNorm.output"])
    module = lowbit_module.import_onnx(prefix)
    one = module.compile(threads=1).run(feeds)
    two = module.compile(threads=2).run(feeds)
    assert_identical(one, two)
    assert np.std(one["layer.1.output.LayerNorm.output"]) > 0.1


def quantizable_mlp(rng: np.random.Generator) -> onnx.ModelProto:
    """x[1,128,256] -> MatMul 256x512 + b -> Relu -> MatMul 512x256: two
    linears large enough (16M multiply-adds each) to be split."""
    w1 = (rng.standard_normal((256, 512)) / 16).astype(np.float32)
    b1 = (rng.standard_normal(512) / 4).astype(np.float32)
    w2 = (rng.standard_normal((512, 256)) / 22).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
        helper.make_node("Add", ["h0", "b1"], ["h1"], name="fc1_bias"),
        helper.make_node("Relu", ["h1"], ["h2"], name="act"),
        helper.make_node("MatMul", ["h2", "w2"], ["y"], name="fc2"),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 128, 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 128, 256])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"), numpy_helper.from_array(w2, "w2")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_quantized_w8a8_two_threads_identical(lowbit_run, lowbit_opt, lowbit_module, tmp_path):
    rng = np.random.default_rng(3)
    model = save(quantizable_mlp(rng), tmp_path / "mlp.onnx")
    inputs = save_npz(tmp_path / "x.npz", {"x": rng.standard_normal((1, 128, 256)).astype(np.float32)})
    one = outputs(lowbit_run, model, inputs, tmp_path / "t1.npz", "--recipe=rtn-w8a8", "--threads=1")
    two = outputs(lowbit_run, model, inputs, tmp_path / "t2.npz", "--recipe=rtn-w8a8", "--threads=2")
    assert_identical(one, two)

    # The integer kernels really ran on two threads: the recipe's lowered
    # code has lowbit.qlinear ops and calls the async runtime.
    recipe = lowbit_module.recipes()["rtn-w8a8"]["pipeline"]
    quantized = lowbit_opt(model, f"--pass-pipeline=builtin.module({recipe})")
    assert quantized.returncode == 0, describe(quantized)
    assert quantized.stdout.count("lowbit.qlinear") >= 2
    lowered = lowbit_opt(model, f"--pass-pipeline=builtin.module({recipe}, lowbit-cpu-lowering{{threads=2}})")
    assert lowered.returncode == 0, describe(lowered)
    assert lowered.stdout.count("llvm.call @mlirAsyncRuntimeAwaitAllInGroup") >= 2


@pytest.mark.parametrize("value", ["-1", "1025"])
def test_bad_thread_count_is_one_error_line(lowbit_run, tmp_path, value):
    model = save(quantizable_mlp(np.random.default_rng(0)), tmp_path / "mlp.onnx")
    proc = lowbit_run(model, f"--threads={value}")
    assert proc.returncode == 1, describe(proc)
    assert "--threads must be 0 (one per hardware thread) or 1..1024" in assert_one_error_line(proc)


def test_python_bad_thread_count_raises(lowbit_module, tmp_path):
    model = save(quantizable_mlp(np.random.default_rng(0)), tmp_path / "mlp.onnx")
    module = lowbit_module.import_onnx(model)
    with pytest.raises(ValueError, match="threads must be 0"):
        module.compile(threads=-1)
    # The one-shot helpers pass the thread count on.
    with pytest.raises(ValueError, match="threads must be 0"):
        lowbit_module.run(module, {}, threads=-1)
    with pytest.raises(ValueError, match="threads must be 0"):
        module.run({}, threads=1025)


def test_python_run_helpers_take_threads(lowbit_module, tmp_path):
    rng = np.random.default_rng(5)
    model = save(quantizable_mlp(rng), tmp_path / "mlp.onnx")
    feeds = {"x": rng.standard_normal((1, 128, 256)).astype(np.float32)}
    module = lowbit_module.import_onnx(model)
    one = lowbit_module.run(module, feeds, threads=1)
    two = module.run(feeds, threads=2)
    assert one.keys() == two.keys()
    for name in one:
        np.testing.assert_array_equal(one[name], two[name], err_msg=name)
