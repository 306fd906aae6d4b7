"""The graph fusions (lowbit-fuse: fold-batch-norm, fuse-layer-norm,
fuse-rms-norm, fuse-gelu, fuse-silu, fuse-hard-swish, fuse-attention)
keep the numbers:
lowbit-run with --pipeline lowbit-fuse against onnxruntime at
max|a - b| / max|b| <= 1e-4
on the small pattern models of test/Inputs/make_fusion_onnx.py, the Llama
decoder (prefill) and PP-OCRv4 det. all-MiniLM-L6-v2's fused ops (Erf
GELU, masked multi-head attention) are counted in
test/Integration/fusions-minilm.test; their numerics are those of gelu_forms
and attention_forms here. A fused MiniLM run (about 40 s to compile on 2
cores, over this suite's time budget) is not part of it (measured by hand:
5.9e-7, docs/fusions.md). Each test also
checks, with lowbit-opt, that the fused ops are really formed, so a pass
that silently stops matching fails here too."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import numpy as np
import onnx
import pytest

from conftest import REPO_ROOT

MAX_RELATIVE_ERROR = 1e-4
MAKE = REPO_ROOT / "test" / "Inputs" / "make_fusion_onnx.py"

# model -> the ops lowbit-fuse must form, with their counts
PATTERN_MODELS = {
    "rms_norm_forms": {"nn.rms_norm": 2},
    "layer_norm_decomposed": {"nn.layer_norm": 2},
    "gelu_forms": {"nn.gelu": 4},
    "silu_forms": {"nn.silu": 2},
    "conv_bn": {"_folded_filter> :": 2},
    "attention_forms": {"nn.attention": 2},
    "rms_normalization": {"nn.rms_norm": 2},
    "hard_swish_forms": {"nn.hard_swish": 2},
}


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def describe(proc) -> str:
    return f"exit code {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"


def run_onnxruntime(model, feeds):
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def check_fused(lowbit_opt, model, expected, *shape_args):
    proc = lowbit_opt(model, *shape_args, "--lowbit-fuse")
    assert proc.returncode == 0, describe(proc)
    for op, count in expected.items():
        found = len(re.findall(re.escape(op), proc.stdout))
        assert found == count, f"{model.name}: {found} x {op} after lowbit-fuse, expected {count}"


def check_parity(lowbit_run, model, feeds, tmp_path, *shape_args):
    inputs, outputs = tmp_path / "in.npz", tmp_path / "out.npz"
    np.savez(inputs, **feeds)
    proc = lowbit_run(model, *shape_args, "--inputs", inputs, "--outputs", outputs,
                      "--pipeline", "lowbit-fuse")
    assert proc.returncode == 0, describe(proc)
    expected = run_onnxruntime(model, feeds)
    with np.load(outputs) as got:
        assert sorted(got.files) == sorted(expected), describe(proc)
        for name, ref in expected.items():
            ref = ref.astype(np.float64)
            err = float(np.max(np.abs(got[name] - ref)) / np.max(np.abs(ref)))
            assert err <= MAX_RELATIVE_ERROR, f"{model.name} {name}: fused lowbit vs onnxruntime {err:.3e}"


@pytest.mark.parametrize("name", sorted(PATTERN_MODELS))
def test_pattern_model(name, lowbit_opt, lowbit_run, tmp_path):
    model = tmp_path / f"{name}.onnx"
    subprocess.run([sys.executable, str(MAKE), name, "-o", str(model)], check=True)
    check_fused(lowbit_opt, model, PATTERN_MODELS[name])
    r = np.random.default_rng(7)
    feeds = {}
    for i in onnx.load(str(model)).graph.input:
        shape = [d.dim_value for d in i.type.tensor_type.shape.dim]
        feeds[i.name] = r.standard_normal(shape).astype(np.float32)
    check_parity(lowbit_run, model, feeds, tmp_path)


def test_llama_decoder_fused(lowbit_opt, lowbit_run, tmp_path):
    """The prefill (the decode step runs the same fused ops on S = 1; it is
    compared unfused in test_llama_decoder.py)."""
    llama = load_script("build_llama")
    paths = llama.build(tmp_path)
    with np.load(paths.prefill) as data:
        feeds = {k: data[k] for k in data.files}
    shapes = llama.input_shapes(feeds)
    check_fused(lowbit_opt, paths.model, {"nn.rms_norm": 5, "nn.silu": 2, "nn.attention": 2}, *shapes)
    check_parity(lowbit_run, paths.model, feeds, tmp_path, *shapes)


def test_ppocr_det_folded(lowbit_opt, lowbit_run, tmp_path):
    """PP-OCRv4 det with its BatchNorms and MobileOne scales folded into the
    convolutions (30 of them)."""
    model = tmp_path / "det.onnx"
    subprocess.run([sys.executable, str(REPO_ROOT / "test" / "Inputs" / "find_model.py"),
                    str(model)], check=True)
    shape = "--input-shape=x=1x3x64x64"
    check_fused(lowbit_opt, model, {"_folded_filter> :": 30, "nn.hard_swish": 24}, shape)
    # The main job's synthetic document image (random noise gives an
    # all-zero probability map, which would compare nothing).
    main_job = load_script("main")
    image = main_job.synthetic_document_image((1, 3, 64, 64), np.random.default_rng(0))
    x = ((image - 0.5) / 0.5).astype(np.float32)
    check_parity(lowbit_run, model, {"x": x}, tmp_path, shape)
