#!/usr/bin/env python3
"""Trains the small Llama-architecture decoder of scripts/build_llama.py
(exactly its CONFIG and weight names) as a byte-level language model, in
numpy only (manual forward and backward pass, no torch), and exports it to
ONNX with build_llama.build_model().

    python3 scripts/train_llama.py --out DIR [--steps N] [--seed S]

Writes DIR/llama_trained.onnx, DIR/llama_trained_weights.npz (float32,
build_llama's names, linear weights [in, out]) and DIR/llama_trained.json
(corpus files and sha256, split, steps, seed, hyperparameters, train/val
loss and perplexity, the unigram perplexity, wall time).

Corpus (provenance): the license texts that Debian's `base-files` package
installs in /usr/share/common-licenses/ (present on every Debian system),
the regular files in CORPUS_FILES (the GFDL, GPL and LGPL entries there are
symlinks to files in the list and are not read twice). Tokens are bytes
(vocabulary 256). Split: the first 90% of each file's bytes is training
text, the last 10% (VAL_FRACTION) is the held-out validation text; nothing
of a file's validation part is trained on. corpus_sha256 in the JSON hashes
the files in list order (name, NUL, bytes) so a different base-files
version is detected.

Training: random windows of SEQ + 1 bytes from the training split (a
seeded numpy Generator picks the window starts), batch BATCH, causal
next-byte cross entropy on SEQ positions; Adam (beta 0.9 / 0.95, no weight
decay), linear warm-up then cosine decay of the learning rate, global
gradient-norm clipping at CLIP. Float32 arithmetic (--float64 for checks).

Determinism: the same seed, steps and corpus give the same weight bytes on
the same machine with the same numpy/BLAS build and thread count. Across
machines the float32 results can differ in the last bits (BLAS kernels and
summation order differ by CPU and thread count), so the weights are not
bit-identical elsewhere, only statistically equivalent; the committed
weights (test/Inputs/llama_trained/) are what the tests use.

As a module: load_corpus(), init_weights(config, seed), forward(w, ids,
config) -> (logits, cache), backward(w, cache, dlogits, config) -> grads,
loss_and_grads(w, ids, config), train(...), unigram_perplexity().
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import sys
import time
from pathlib import Path

# One BLAS thread: the matrices are small (threads cost more than they gain
# on a loaded 2-core machine) and one thread fixes the summation order. Only
# effective when this file is what imports numpy first (the command line).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

CORPUS_DIR = Path("/usr/share/common-licenses")
CORPUS_FILES = ["Apache-2.0", "Artistic", "BSD", "CC0-1.0", "GFDL-1.2", "GFDL-1.3", "GPL-1",
                "GPL-2", "GPL-3", "LGPL-2", "LGPL-2.1", "LGPL-3", "MPL-1.1", "MPL-2.0"]
VAL_FRACTION = 0.1
SEED = 0
STEPS = 1500
BATCH = 32
SEQ = 64
LR = 3e-3
WARMUP = 50
MIN_LR_FRACTION = 0.1
CLIP = 1.0
BETAS = (0.9, 0.95)
ADAM_EPS = 1e-8
INIT_STD = 0.02
MODEL_FILE = "llama_trained.onnx"
WEIGHTS_FILE = "llama_trained_weights.npz"
META_FILE = "llama_trained.json"


def load_build_llama():
    path = Path(__file__).resolve().parent / "build_llama.py"
    spec = importlib.util.spec_from_file_location("build_llama", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- corpus

def load_corpus(directory: Path = CORPUS_DIR, files=CORPUS_FILES,
                val_fraction: float = VAL_FRACTION) -> dict:
    """{'train': [uint8 arrays], 'val': [uint8 arrays], 'sha256', 'files'}:
    per file, the first (1 - val_fraction) of the bytes and the rest."""
    digest = hashlib.sha256()
    train, val = [], []
    for name in files:
        data = (Path(directory) / name).read_bytes()
        digest.update(name.encode() + b"\0" + data)
        cut = int(round(len(data) * (1.0 - val_fraction)))
        train.append(np.frombuffer(data[:cut], dtype=np.uint8))
        val.append(np.frombuffer(data[cut:], dtype=np.uint8))
    return {"train": train, "val": val, "sha256": digest.hexdigest(), "files": list(files),
            "directory": str(directory)}


def unigram_perplexity(train_parts, eval_parts) -> float:
    """Perplexity of the byte unigram distribution of the training text
    (add-one smoothed) on the evaluation text."""
    counts = np.ones(256, dtype=np.float64)
    for part in train_parts:
        counts += np.bincount(part, minlength=256)
    logp = np.log(counts / counts.sum())
    evals = np.concatenate(list(eval_parts))
    return float(np.exp(-logp[evals].mean()))


# ---------------------------------------------------------------- model

def init_weights(config: dict, seed: int = SEED, dtype=np.float32) -> dict[str, np.ndarray]:
    """Normal(0, INIT_STD) matrices (output projections scaled by
    1/sqrt(2 * layers), as GPT-2 does), norms at 1."""
    c = config
    r = np.random.default_rng(seed)
    h, d, i = c["hidden"], c["head_dim"], c["intermediate"]
    out_std = INIT_STD / math.sqrt(2 * c["layers"])

    def mat(n_in, n_out, std=INIT_STD):
        return (std * r.standard_normal((n_in, n_out))).astype(dtype)

    w = {"model.embed_tokens.weight": mat(c["vocab"], h)}
    for l in range(c["layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = np.ones(h, dtype)
        w[p + "self_attn.q_proj.weight"] = mat(h, c["heads"] * d)
        w[p + "self_attn.k_proj.weight"] = mat(h, c["kv_heads"] * d)
        w[p + "self_attn.v_proj.weight"] = mat(h, c["kv_heads"] * d)
        w[p + "self_attn.o_proj.weight"] = mat(c["heads"] * d, h, out_std)
        w[p + "post_attention_layernorm.weight"] = np.ones(h, dtype)
        w[p + "mlp.gate_proj.weight"] = mat(h, i)
        w[p + "mlp.up_proj.weight"] = mat(h, i)
        w[p + "mlp.down_proj.weight"] = mat(i, h, out_std)
    w["model.norm.weight"] = np.ones(h, dtype)
    w["lm_head.weight"] = mat(h, c["vocab"])
    return w


def _rope_tables(config: dict, seq: int, dtype):
    d = config["head_dim"]
    inv = 1.0 / (config["rope_theta"] ** (np.arange(0, d, 2, dtype=np.float64) / d))
    ang = np.arange(seq, dtype=np.float64)[:, None] * inv[None, :]
    emb = np.concatenate([ang, ang], axis=-1)  # [S, D]
    return np.cos(emb).astype(dtype), np.sin(emb).astype(dtype)


def _rot(x):  # rotate_half: [-x2, x1]
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def _rot_t(z):  # adjoint of rotate_half: [z2, -z1]
    half = z.shape[-1] // 2
    return np.concatenate([z[..., half:], -z[..., :half]], axis=-1)


def _rms(x, g, eps):
    r = 1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)
    n = x * r
    return g * n, (n, r)


def _rms_back(dy, g, saved):
    n, r = saved
    red = tuple(range(dy.ndim - 1))
    dg = np.sum(dy * n, axis=red)
    dn = dy * g
    dx = r * (dn - n * np.mean(dn * n, axis=-1, keepdims=True))
    return dx, dg


def forward(w: dict, ids: np.ndarray, config: dict):
    """Logits [B, S, V] for token ids [B, S] at positions 0..S-1 with no
    cache and no padding (what build_llama's graph computes for past = 0 and
    an all-ones attention mask), and the cache backward() needs."""
    c = config
    dtype = w["lm_head.weight"].dtype
    B, S = ids.shape
    H, d, nh, nkv, eps = c["hidden"], c["head_dim"], c["heads"], c["kv_heads"], c["rms_eps"]
    rep = nh // nkv
    cos, sin = _rope_tables(c, S, dtype)
    causal = np.triu(np.ones((S, S), dtype=bool), k=1)
    scale = dtype.type(1.0 / math.sqrt(d))
    cache = {"ids": ids, "layers": [], "cos": cos, "sin": sin}
    h = w["model.embed_tokens.weight"][ids]
    for l in range(c["layers"]):
        p = f"model.layers.{l}."
        lc = {}
        x, lc["rms1"] = _rms(h, w[p + "input_layernorm.weight"], eps)
        lc["x1"] = x
        q = (x @ w[p + "self_attn.q_proj.weight"]).reshape(B, S, nh, d).transpose(0, 2, 1, 3)
        k = (x @ w[p + "self_attn.k_proj.weight"]).reshape(B, S, nkv, d).transpose(0, 2, 1, 3)
        v = (x @ w[p + "self_attn.v_proj.weight"]).reshape(B, S, nkv, d).transpose(0, 2, 1, 3)
        q = q * cos + _rot(q) * sin
        k = k * cos + _rot(k) * sin
        kr = np.repeat(k, rep, axis=1)  # head hi uses kv group hi // rep
        vr = np.repeat(v, rep, axis=1)
        scores = (q @ kr.transpose(0, 1, 3, 2)) * scale
        scores = np.where(causal, -np.inf, scores)
        scores = scores - scores.max(axis=-1, keepdims=True)
        e = np.exp(scores)
        probs = e / e.sum(axis=-1, keepdims=True)
        o = (probs @ vr).transpose(0, 2, 1, 3).reshape(B, S, nh * d)
        lc.update(q=q, kr=kr, vr=vr, probs=probs, o=o)
        h = h + o @ w[p + "self_attn.o_proj.weight"]
        x, lc["rms2"] = _rms(h, w[p + "post_attention_layernorm.weight"], eps)
        lc["x2"] = x
        gate = x @ w[p + "mlp.gate_proj.weight"]
        up = x @ w[p + "mlp.up_proj.weight"]
        sig = 1.0 / (1.0 + np.exp(-gate))
        act = gate * sig
        m = act * up
        lc.update(gate=gate, up=up, sig=sig, act=act, m=m)
        h = h + m @ w[p + "mlp.down_proj.weight"]
        cache["layers"].append(lc)
    x, cache["rmsf"] = _rms(h, w["model.norm.weight"], eps)
    cache["xf"] = x
    return x @ w["lm_head.weight"], cache


def backward(w: dict, cache: dict, dlogits: np.ndarray, config: dict) -> dict[str, np.ndarray]:
    """Gradients of sum(dlogits * logits) with respect to every weight."""
    c = config
    B, S, _ = dlogits.shape
    H, d, nh, nkv = c["hidden"], c["head_dim"], c["heads"], c["kv_heads"]
    rep = nh // nkv
    cos, sin = cache["cos"], cache["sin"]
    scale = 1.0 / math.sqrt(d)
    g = {}

    def lin_grad(name, x, dy):
        g[name] = x.reshape(-1, x.shape[-1]).T @ dy.reshape(-1, dy.shape[-1])
        return dy @ w[name].T

    dh = lin_grad("lm_head.weight", cache["xf"], dlogits)
    dh, g["model.norm.weight"] = _rms_back(dh, w["model.norm.weight"], cache["rmsf"])
    for l in reversed(range(c["layers"])):
        p = f"model.layers.{l}."
        lc = cache["layers"][l]
        # MLP
        dm = lin_grad(p + "mlp.down_proj.weight", lc["m"], dh)
        dact, dup = dm * lc["up"], dm * lc["act"]
        sig = lc["sig"]
        dgate = dact * sig * (1.0 + lc["gate"] * (1.0 - sig))
        dx = lin_grad(p + "mlp.gate_proj.weight", lc["x2"], dgate)
        dx = dx + lin_grad(p + "mlp.up_proj.weight", lc["x2"], dup)
        dres, g[p + "post_attention_layernorm.weight"] = _rms_back(
            dx, w[p + "post_attention_layernorm.weight"], lc["rms2"])
        dh = dh + dres
        # attention
        do = lin_grad(p + "self_attn.o_proj.weight", lc["o"], dh)
        do = do.reshape(B, S, nh, d).transpose(0, 2, 1, 3)
        probs = lc["probs"]
        dprobs = do @ lc["vr"].transpose(0, 1, 3, 2)
        dvr = probs.transpose(0, 1, 3, 2) @ do
        dscores = probs * (dprobs - np.sum(dprobs * probs, axis=-1, keepdims=True)) * scale
        dq = dscores @ lc["kr"]
        dkr = dscores.transpose(0, 1, 3, 2) @ lc["q"]
        dk = dkr.reshape(B, nkv, rep, S, d).sum(axis=2)
        dv = dvr.reshape(B, nkv, rep, S, d).sum(axis=2)
        dq = dq * cos + _rot_t(dq * sin)
        dk = dk * cos + _rot_t(dk * sin)
        dq = dq.transpose(0, 2, 1, 3).reshape(B, S, nh * d)
        dk = dk.transpose(0, 2, 1, 3).reshape(B, S, nkv * d)
        dv = dv.transpose(0, 2, 1, 3).reshape(B, S, nkv * d)
        dx = lin_grad(p + "self_attn.q_proj.weight", lc["x1"], dq)
        dx = dx + lin_grad(p + "self_attn.k_proj.weight", lc["x1"], dk)
        dx = dx + lin_grad(p + "self_attn.v_proj.weight", lc["x1"], dv)
        dres, g[p + "input_layernorm.weight"] = _rms_back(
            dx, w[p + "input_layernorm.weight"], lc["rms1"])
        dh = dh + dres
    demb = np.zeros_like(w["model.embed_tokens.weight"])
    np.add.at(demb, cache["ids"].reshape(-1), dh.reshape(-1, H))
    g["model.embed_tokens.weight"] = demb
    return g


def cross_entropy(logits: np.ndarray, targets: np.ndarray):
    """Mean next-token NLL (nats) and its gradient with respect to logits."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=-1, keepdims=True)
    logp = z - np.log(s)
    n = targets.size
    loss = -np.take_along_axis(logp, targets[..., None], axis=-1).mean()
    dlogits = e / s
    np.put_along_axis(dlogits, targets[..., None],
                      np.take_along_axis(dlogits, targets[..., None], axis=-1) - 1.0, axis=-1)
    return float(loss), (dlogits / n).astype(logits.dtype)


def loss_and_grads(w: dict, tokens: np.ndarray, config: dict):
    """tokens [B, S + 1]: inputs tokens[:, :-1], targets tokens[:, 1:]."""
    logits, cache = forward(w, tokens[:, :-1], config)
    loss, dlogits = cross_entropy(logits, tokens[:, 1:])
    return loss, backward(w, cache, dlogits, config)


def windows(parts, seq: int = SEQ) -> np.ndarray:
    """[N, seq + 1] int64: windows of seq + 1 bytes starting every seq bytes
    of each part (consecutive windows share one byte; a tail shorter than a
    window is dropped). Inputs are [:, :-1], targets [:, 1:], so every byte
    after a part's first is predicted once."""
    rows = [part[i:i + seq + 1] for part in parts for i in range(0, len(part) - seq, seq)]
    return np.stack(rows).astype(np.int64)


def evaluate(w: dict, parts, config: dict, seq: int = SEQ, batch: int = 64) -> float:
    """Mean NLL (nats) over windows(parts, seq)."""
    tokens = windows(parts, seq)
    total, count = 0.0, 0
    for i in range(0, len(tokens), batch):
        t = tokens[i:i + batch]
        logits, _ = forward(w, t[:, :-1], config)
        loss, _ = cross_entropy(logits.astype(np.float64), t[:, 1:])
        total += loss * t[:, 1:].size
        count += t[:, 1:].size
    return total / count


def learning_rate(step: int, steps: int, lr: float = LR, warmup: int = WARMUP) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return lr * (MIN_LR_FRACTION + (1 - MIN_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * t)))


def train(config: dict, corpus: dict, steps: int = STEPS, seed: int = SEED, batch: int = BATCH,
          seq: int = SEQ, lr: float = LR, dtype=np.float32, log_every: int = 100, log=print):
    """Returns (weights, history [(step, loss)])."""
    w = init_weights(config, seed, dtype)
    m = {k: np.zeros_like(v) for k, v in w.items()}
    v2 = {k: np.zeros_like(v) for k, v in w.items()}
    text = corpus["train"]
    lengths = np.array([len(t) - seq - 1 for t in text], dtype=np.int64)
    weights_p = lengths / lengths.sum()
    rng = np.random.default_rng(seed + 1)
    b1, b2 = BETAS
    history = []
    for step in range(steps):
        files = rng.choice(len(text), size=batch, p=weights_p)
        starts = rng.integers(0, lengths[files] + 1)
        tokens = np.stack([text[f][s:s + seq + 1] for f, s in zip(files, starts)]).astype(np.int64)
        loss, grads = loss_and_grads(w, tokens, config)
        norm = math.sqrt(sum(float(np.sum(gv.astype(np.float64) ** 2)) for gv in grads.values()))
        clip = min(1.0, CLIP / (norm + 1e-12))
        rate = learning_rate(step, steps, lr)
        c1, c2 = 1 - b1 ** (step + 1), 1 - b2 ** (step + 1)
        for k in w:
            gk = grads[k] * dtype(clip)
            m[k] = b1 * m[k] + (1 - b1) * gk
            v2[k] = b2 * v2[k] + (1 - b2) * gk * gk
            w[k] = (w[k] - rate * (m[k] / c1) / (np.sqrt(v2[k] / c2) + ADAM_EPS)).astype(dtype)
        history.append((step, loss))
        if log and (step % log_every == 0 or step == steps - 1):
            log(f"step {step:5d}  loss {loss:.4f}  lr {rate:.2e}  |g| {norm:.3f}", flush=True)
    return w, history


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--seq-len", type=int, default=SEQ)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--corpus-dir", type=Path, default=CORPUS_DIR)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.batch < 1 or args.seq_len < 2:
        parser.error("--steps and --batch must be >= 1 and --seq-len >= 2")
    llama = load_build_llama()
    config = dict(llama.CONFIG)
    try:
        corpus = load_corpus(args.corpus_dir)
    except OSError as e:
        print(f"error: cannot read the corpus: {e}", file=sys.stderr)
        return 1
    start, cpu_start = time.perf_counter(), time.process_time()
    w, history = train(config, corpus, args.steps, args.seed, args.batch, args.seq_len, args.lr)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    train_loss = evaluate(w, corpus["train"], config)
    val_loss = evaluate(w, corpus["val"], config)
    unigram = unigram_perplexity(corpus["train"], corpus["val"])
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / WEIGHTS_FILE, **{k: v.astype(np.float32) for k, v in w.items()})
    (args.out / MODEL_FILE).write_bytes(llama.build_model(w).SerializeToString())
    meta = {
        "producer": "lowbit scripts/train_llama.py",
        "corpus": {"source": "Debian base-files: /usr/share/common-licenses",
                   "directory": corpus["directory"], "files": corpus["files"],
                   "sha256": corpus["sha256"],
                   "split": f"per file: first {1 - VAL_FRACTION:.0%} train, "
                            f"last {VAL_FRACTION:.0%} validation",
                   "train_bytes": int(sum(len(t) for t in corpus["train"])),
                   "val_bytes": int(sum(len(t) for t in corpus["val"]))},
        "config": config,
        "training": {"steps": args.steps, "seed": args.seed, "batch": args.batch,
                     "seq_len": args.seq_len, "lr": args.lr, "warmup": WARMUP,
                     "schedule": f"linear warm-up, cosine to {MIN_LR_FRACTION} x lr",
                     "optimizer": f"Adam betas {BETAS} eps {ADAM_EPS}", "clip_norm": CLIP,
                     "init_std": INIT_STD, "dtype": "float32",
                     "first_loss": history[0][1], "last_loss": history[-1][1],
                     "seconds": round(seconds, 1), "cpu_seconds": round(cpu_seconds, 1),
                     "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                     "numpy": np.__version__},
        "eval": {"seq_len": SEQ,
                 "windows": "seq_len + 1 bytes every seq_len bytes of each file, tail dropped",
                 "train_loss": train_loss, "train_ppl": math.exp(train_loss),
                 "val_loss": val_loss, "val_ppl": math.exp(val_loss),
                 "unigram_val_ppl": unigram},
    }
    (args.out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    print(f"trained {args.steps} steps in {seconds:.1f} s ({cpu_seconds:.1f} s CPU): "
          f"train ppl {math.exp(train_loss):.3f}, val ppl {math.exp(val_loss):.3f}, "
          f"unigram val ppl {unigram:.3f}")
    print(f"wrote {args.out / MODEL_FILE}, {args.out / WEIGHTS_FILE}, {args.out / META_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
