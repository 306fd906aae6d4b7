"""The small Llama-architecture decoder of scripts/build_llama.py (GQA, RoPE,
RMSNorm, SiLU-gated MLP, KV cache; seeded random weights): onnxruntime
against the script's float64 numpy reference, then lowbit-run against
onnxruntime for a prefill after a cached past, a prefill with an empty cache
(past = 0) and one decode step, on the logits and every present tensor."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from conftest import REPO_ROOT

MAX_RELATIVE_ERROR = 1e-4  # max|a - b| / max|b|, as in scripts/main.py


def load_script():
    path = REPO_ROOT / "scripts" / "build_llama.py"
    spec = importlib.util.spec_from_file_location("build_llama", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def llama():
    return load_script()


@pytest.fixture(scope="module")
def built(llama, tmp_path_factory):
    return llama.build(tmp_path_factory.mktemp("llama"))


def load(path):
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def describe(proc) -> str:
    return f"exit code {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"


def test_inputs_have_the_exported_names_and_shapes(llama, built):
    prefill, decode = load(built.prefill), load(built.decode)
    b, s, p = llama.BATCH, llama.PREFILL_SEQ, llama.PREFILL_PAST
    assert prefill["input_ids"].shape == (b, s) and prefill["input_ids"].dtype == np.int64
    assert prefill["attention_mask"].shape == (b, p + s)
    assert prefill["past_key_values.1.value"].shape == (b, 2, p, 16)
    assert decode["input_ids"].shape == (b, 1)
    assert decode["past_key_values.0.key"].shape == (b, 2, p + s, 16)
    # Decode positions continue the prefill's (row 1 is left-padded by one).
    assert decode["position_ids"][:, 0].tolist() == [p + s, p + s - 1]


def test_onnxruntime_matches_numpy_reference(llama, built):
    weights = llama.make_weights()
    for path in (built.prefill, built.decode):
        feeds = load(path)
        got, ref = llama.run_onnxruntime(built.model, feeds), llama.reference(weights, feeds)
        assert sorted(got) == sorted(llama.output_names())
        for name in llama.output_names():
            assert got[name].shape == ref[name].shape, name
            err = llama.relative_error(got[name], ref[name])
            assert err <= MAX_RELATIVE_ERROR, f"{path.name} {name}: onnxruntime vs numpy {err:.3e}"


def run_and_compare(llama, lowbit_run, model, feeds, tmp_path, *extra):
    inputs, outputs = tmp_path / "in.npz", tmp_path / "out.npz"
    np.savez(inputs, **feeds)
    proc = lowbit_run(model, *llama.input_shapes(feeds), "--inputs", inputs, "--outputs", outputs,
                      *extra)
    assert proc.returncode == 0, describe(proc)
    expected = llama.run_onnxruntime(model, feeds)
    got = load(outputs)
    assert sorted(got) == sorted(expected), describe(proc)
    for name, ref in expected.items():
        assert got[name].shape == ref.shape, f"{name}: {got[name].shape} vs {ref.shape}"
        err = llama.relative_error(got[name], ref)
        assert err <= MAX_RELATIVE_ERROR, f"{name}: lowbit-run vs onnxruntime {err:.3e}"
    return got


@pytest.mark.parametrize("step", ["prefill", "decode"])
def test_lowbit_run_matches_onnxruntime(llama, built, lowbit_run, tmp_path, step):
    feeds = load(built.prefill if step == "prefill" else built.decode)
    run_and_compare(llama, lowbit_run, built.model, feeds, tmp_path)


def test_lowbit_run_empty_cache_prefill(llama, built, lowbit_run, tmp_path):
    feeds = llama.prefill_inputs(past=0)
    assert feeds["past_key_values.0.key"].shape[2] == 0
    got = run_and_compare(llama, lowbit_run, built.model, feeds, tmp_path)
    # With nothing cached the present cache is exactly this step's keys.
    assert got["present.0.key"].shape == (llama.BATCH, 2, llama.PREFILL_SEQ, 16)
