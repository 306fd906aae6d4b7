"""PP-OCRv4 rec (the text recogniser shipped in the rapidocr-onnxruntime
wheel: a PP-LCNet backbone with an SVTR neck of attention blocks and a CTC
head) through lowbit-run against onnxruntime, on one 48x320 text-line crop.
The input is a synthetic line image in the model's normalised range
((v - 0.5) / 0.5 of values in [0, 1]); the output is the per-step softmax
over the 6625 characters."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

MAX_RELATIVE_ERROR = 1e-4  # max|a - b| / max|b|, as in scripts/main.py
REC_MODEL_FILE = "ch_PP-OCRv4_rec_infer.onnx"
SHAPE = (1, 3, 48, 320)


def find_rec_model() -> Path:
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    assert spec is not None and spec.submodule_search_locations, \
        "rapidocr_onnxruntime is not installed (scripts/setup.sh installs it)"
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "models" / REC_MODEL_FILE
        if candidate.is_file():
            return candidate
    pytest.fail(f"rapidocr_onnxruntime has no models/{REC_MODEL_FILE}")


def text_line(seed: int) -> np.ndarray:
    """Dark strokes on a light background, normalised like PP-OCR does."""
    rng = np.random.default_rng(seed)
    img = np.full(SHAPE[2:], 0.9, np.float32)
    for x0 in range(8, SHAPE[3] - 16, 14):  # one "glyph" every 14 pixels
        w, h = rng.integers(3, 10), rng.integers(12, 30)
        y0 = rng.integers(6, SHAPE[2] - h - 4)
        img[y0:y0 + h, x0:x0 + w] = 0.1
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)
    x = np.repeat(img[None, None], 3, axis=1)
    return ((np.clip(x, 0, 1) - 0.5) / 0.5).astype(np.float32)


def test_rec_matches_onnxruntime(lowbit_run, tmp_path):
    model = find_rec_model()
    x = text_line(0)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_outputs()[0].name
    ref = session.run([name], {"x": x})[0]
    inputs = tmp_path / "in.npz"
    np.savez(inputs, x=x)
    outputs = tmp_path / "out.npz"
    proc = lowbit_run(model, "--input-shape=x=" + "x".join(map(str, SHAPE)),
                      f"--inputs={inputs}", f"--outputs={outputs}", timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    with np.load(outputs) as got:
        out = got[name]
    assert out.shape == ref.shape == (1, 40, 6625)
    err = float(np.abs(out.astype(np.float64) - ref).max() / np.abs(ref).max())
    assert err <= MAX_RELATIVE_ERROR, err
    # Same decoded characters (greedy CTC: argmax per step).
    np.testing.assert_array_equal(out.argmax(-1), ref.argmax(-1))
