"""The trained byte-level Llama decoder (scripts/train_llama.py, weights
committed in test/Inputs/llama_trained/) and its perplexity
(scripts/perplexity.py): the numpy backward pass against finite
differences, a short re-training that must learn, the committed weights'
recorded validation perplexity reproduced through onnxruntime and
lowbit-run, lowbit float equal to onnxruntime, and a quantized perplexity
(rtn-w8a8 through the Python package, smoothquant-w8a8 through lowbit-run
--calibrate) that is finite and sane. The Δppl
numbers are printed (pytest -s), not asserted tightly; bench/decoder_ppl.py
tabulates them for every recipe."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO_ROOT

WEIGHTS_DIR = REPO_ROOT / "test" / "Inputs" / "llama_trained"
CORPUS_DIR = Path("/usr/share/common-licenses")
TINY = dict(layers=2, hidden=8, heads=4, kv_heads=2, head_dim=4, intermediate=12, vocab=256,
            rope_theta=10000.0, rms_eps=1e-6)


def load_script(name):
    path = REPO_ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ppl_mod():
    return load_script("perplexity")


@pytest.fixture(scope="module")
def train(ppl_mod):
    return ppl_mod.train_llama


@pytest.fixture(scope="module")
def meta():
    return json.loads((WEIGHTS_DIR / "llama_trained.json").read_text())


@pytest.fixture(scope="module")
def trained_model(ppl_mod, tmp_path_factory):
    """The ONNX model built from the committed weights by build_llama."""
    with np.load(WEIGHTS_DIR / "llama_trained_weights.npz") as data:
        weights = {k: data[k] for k in data.files}
    path = tmp_path_factory.mktemp("trained") / "llama_trained.onnx"
    path.write_bytes(ppl_mod.build_llama.build_model(weights).SerializeToString())
    return path


@pytest.fixture(scope="module")
def corpus(train, meta):
    c = train.load_corpus()
    assert c["sha256"] == meta["corpus"]["sha256"], (
        "the license texts in /usr/share/common-licenses differ from the ones the committed "
        "weights were evaluated on (another base-files version): re-run scripts/train_llama.py")
    return c


@pytest.fixture(scope="module")
def ort_result(ppl_mod, trained_model, corpus):
    return ppl_mod.perplexity(trained_model, "ort", corpus=corpus)


@pytest.fixture(scope="module")
def lowbit_run_result(ppl_mod, trained_model, corpus, lowbit_run):
    assert lowbit_run.path.is_file(), f"{lowbit_run.path} missing: build lowbit first"
    return ppl_mod.perplexity(trained_model, "lowbit-run", corpus=corpus)


def perturbed_tiny(train, seed=1):
    w = train.init_weights(TINY, seed, np.float64)
    r = np.random.default_rng(seed)
    return {k: v + 0.3 * r.standard_normal(v.shape) for k, v in w.items()}


def test_forward_is_the_exported_graph(ppl_mod, train):
    """train_llama.forward equals build_llama's float64 reference for a
    prefill with an empty cache (what the ONNX graph computes)."""
    llama = ppl_mod.build_llama
    weights = {k: v.astype(np.float64) for k, v in llama.make_weights().items()}
    ids = np.random.default_rng(3).integers(0, 256, (2, 10))
    feeds = ppl_mod.feeds_for(ids)
    ref = llama.reference(weights, feeds)["logits"]
    got, _ = train.forward(weights, ids, dict(llama.CONFIG))
    assert llama.relative_error(got, ref) < 1e-12


def test_gradients_match_finite_differences(train):
    w = perturbed_tiny(train)
    tokens = np.random.default_rng(0).integers(0, 256, (2, 7))
    _, grads = train.loss_and_grads(w, tokens, TINY)
    assert sorted(grads) == sorted(w)
    r = np.random.default_rng(2)
    eps = 1e-6

    def loss_at(shift):
        return train.loss_and_grads({k: w[k] + shift.get(k, 0.0) for k in w}, tokens, TINY)[0]

    # Every weight tensor on its own, along a random direction.
    for name in w:
        d = r.standard_normal(w[name].shape)
        if name == "model.embed_tokens.weight":  # only the used rows get a gradient
            d = np.zeros_like(d)
            d[tokens[:, :-1].reshape(-1)] = r.standard_normal((tokens[:, :-1].size, TINY["hidden"]))
        fd = (loss_at({name: eps * d}) - loss_at({name: -eps * d})) / (2 * eps)
        an = float(np.sum(grads[name] * d))
        assert abs(fd - an) <= 1e-6 * max(1.0, abs(fd)), f"{name}: finite difference {fd} vs {an}"
        assert abs(an) > 1e-6, f"{name}: gradient is (near) zero, the check would be vacuous"
    # Single entries of the attention projections (GQA head sharing, RoPE).
    for name in ("model.layers.0.self_attn.k_proj.weight",
                 "model.layers.1.self_attn.q_proj.weight"):
        for _ in range(3):
            idx = tuple(int(r.integers(0, s)) for s in w[name].shape)
            e = np.zeros_like(w[name])
            e[idx] = eps
            fd = (loss_at({name: e}) - loss_at({name: -e})) / (2 * eps)
            assert abs(fd - grads[name][idx]) <= 1e-6 * max(1.0, abs(fd)), (name, idx)


def test_short_training_learns_and_is_deterministic(train):
    """A few Adam steps on a small config take the loss from ln(256) (the
    uniform guess, 5.55) to well below it, and the same seed repeats them."""
    config = dict(TINY, hidden=16, intermediate=32)
    corpus = train.load_corpus()
    w1, hist1 = train.train(config, corpus, steps=60, batch=8, seq=32, lr=1e-2, log=None)
    w2, hist2 = train.train(config, corpus, steps=60, batch=8, seq=32, lr=1e-2, log=None)
    first = hist1[0][1]
    last = float(np.mean([loss for _, loss in hist1[-10:]]))
    print(f"\nshort training: loss {first:.3f} -> {last:.3f} (mean of the last 10 steps)")
    assert abs(first - math.log(256)) < 0.1
    assert last < first - 1.0, f"loss {first:.3f} -> {last:.3f}: no learning"
    assert hist1 == hist2
    assert all(np.array_equal(w1[k], w2[k]) for k in w1)


def independent_unigram_ppl(meta) -> float:
    """Byte unigram perplexity of the validation text from the training
    text's add-one smoothed counts, from the raw files."""
    counts = np.ones(256)
    val = []
    for name in meta["corpus"]["files"]:
        data = np.frombuffer((CORPUS_DIR / name).read_bytes(), dtype=np.uint8)
        cut = int(round(len(data) * 0.9))
        counts += np.bincount(data[:cut], minlength=256)
        val.append(data[cut:])
    val = np.concatenate(val)
    p = counts / counts.sum()
    return float(np.exp(-np.mean(np.log(p[val]))))


def test_committed_model_is_documented(meta):
    assert meta["config"] == load_script("build_llama").CONFIG
    assert meta["corpus"]["files"] and meta["training"]["steps"] > 0
    assert meta["eval"]["val_ppl"] < meta["eval"]["unigram_val_ppl"]


def test_onnxruntime_reproduces_recorded_val_ppl(ort_result, meta, corpus):
    recorded = meta["eval"]["val_ppl"]
    unigram = independent_unigram_ppl(meta)
    print(f"\nval ppl: onnxruntime {ort_result['ppl']:.4f}, recorded {recorded:.4f}, "
          f"unigram {unigram:.3f}")
    assert abs(unigram - meta["eval"]["unigram_val_ppl"]) <= 1e-9 * unigram
    assert abs(ort_result["ppl"] - recorded) <= 1e-3 * recorded
    assert ort_result["ppl"] < unigram / 3, "the committed model has not clearly learned"


def test_lowbit_run_float_matches_onnxruntime(lowbit_run_result, ort_result, meta):
    got, ref = lowbit_run_result["ppl"], ort_result["ppl"]
    print(f"\nval ppl: lowbit-run {got:.6f}, onnxruntime {ref:.6f}")
    assert abs(got - ref) <= 1e-4 * ref
    assert abs(got - meta["eval"]["val_ppl"]) <= 1e-3 * meta["eval"]["val_ppl"]


def test_rtn_w8a8_perplexity_is_sane(ppl_mod, trained_model, corpus, lowbit_run_result,
                                     lowbit_module):
    """rtn-w8a8 through the Python package (import_onnx, quantize, run)."""
    q = ppl_mod.perplexity(trained_model, "lowbit", "rtn-w8a8", corpus=corpus)
    delta = q["ppl"] - lowbit_run_result["ppl"]
    print(f"\nrtn-w8a8 val ppl {q['ppl']:.4f}, delta vs float {delta:+.4f}")
    assert math.isfinite(q["ppl"])
    assert q["predictions"] == lowbit_run_result["predictions"]
    assert delta < 1.0


def test_calibrated_w8a8_perplexity_is_sane(ppl_mod, trained_model, corpus, lowbit_run_result):
    """smoothquant-w8a8 through lowbit-run --calibrate (64 training-split
    windows; the validation text is never calibrated on)."""
    q = ppl_mod.perplexity(trained_model, "lowbit-run", "smoothquant-w8a8", corpus=corpus)
    delta = q["ppl"] - lowbit_run_result["ppl"]
    print(f"\nsmoothquant-w8a8 val ppl {q['ppl']:.4f}, delta vs float {delta:+.4f}")
    assert q["calibration_windows"] == ppl_mod.CALIB_WINDOWS
    assert math.isfinite(q["ppl"])
    assert delta < 1.0


def test_perplexity_cli_rejects_bad_input(tmp_path, trained_model):
    import subprocess
    import sys

    script = REPO_ROOT / "scripts" / "perplexity.py"

    def run(*args):
        return subprocess.run([sys.executable, str(script), *map(str, args)],
                              capture_output=True, text=True, timeout=120)

    missing = run(tmp_path / "missing.onnx")
    assert missing.returncode == 1 and "missing.onnx' does not exist" in missing.stderr
    unknown = run(trained_model, "--recipe", "no-such-recipe")
    assert unknown.returncode == 1 and "unknown recipe 'no-such-recipe'" in unknown.stderr
    assert "Traceback" not in missing.stderr + unknown.stderr
