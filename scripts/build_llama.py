#!/usr/bin/env python3
"""Builds a small Llama-architecture decoder with a KV cache as an ONNX graph,
with deterministic seeded random weights (no trained weights, no torch, no
download), in the decomposed form that torch.onnx exports Hugging Face
LlamaForCausalLM in (eager attention). It exists so that the decoder path
(import, CPU execution, the graph fusions) is covered before trained weights.

    python3 scripts/build_llama.py --out DIR [--check]

Writes DIR/llama.onnx (opset 17, IR 8, float32, every weight an initializer),
DIR/llama_prefill.npz and DIR/llama_decode.npz (the inputs of a prefill and of
the following decode step). The same arguments give the same bytes.

Architecture (CONFIG): 2 layers, hidden 64, 4 query heads and 2 key/value
heads (grouped-query attention), head_dim 16, SiLU-gated MLP with
intermediate size 172, vocabulary 256, RoPE theta 10000, RMSNorm eps 1e-6,
untied lm_head. Graph inputs (symbolic dims, made static by the runtime):

    input_ids                     int64   [batch, seq]
    attention_mask                int64   [batch, past + seq]  1 = token, 0 = padding
    position_ids                  int64   [batch, seq]
    past_key_values.{i}.key       float32 [batch, 2, past, 16]  (i = 0, 1)
    past_key_values.{i}.value     float32 [batch, 2, past, 16]

Outputs: logits float32 [batch, seq, 256] and present.{i}.key / .value
float32 [batch, 2, past + seq, 16] (the cache to feed to the next step).

The ops are those the exporter emits: Gather for the embedding; RMSNorm as
Pow / ReduceMean / Add / Sqrt / Reciprocal / Mul / Mul (the final norm as
Pow / ReduceMean / Add / Sqrt / Div / Mul, the other form exporters write);
RoPE from position_ids computed in the graph (Cast, MatMul with inv_freq,
Transpose, Concat, Cos, Sin) and rotate_half as Slice / Neg / Concat; GQA
as Unsqueeze / Expand / Reshape of K and V; the causal mask built as in
transformers' _prepare_4d_causal_attention_mask_with_cache_position
(Shape, Range, ConstantOfShape, Trilu, Greater, Cast, Mul, Expand, Add,
Equal, Where); eager attention (MatMul, Mul by 1/sqrt(head_dim), Add mask,
Softmax, MatMul); SiLU as x * Sigmoid(x); the cache as Concat of past and
new keys/values along the sequence axis.

An empty cache (past = 0, a zero-sized dimension) is valid ONNX: lowbit
imports it (the Concat of an empty past with the new keys drops the empty
operand) and runs it, so `--past 0` gives a plain prefill graph input set.
The saved inputs are a prefill after a non-empty cache (past = PREFILL_PAST,
the second row left-padded) and one decode step (seq = 1) that feeds the
prefill's present tensors back as the past.

--check runs onnxruntime on both steps and compares logits and present
tensors with the float64 numpy reference in this file (reference(), a plain
per-head loop written independently of the graph), at max|ort - ref| /
max|ref| <= 1e-4.

As a module: build(out_dir) -> Paths; make_weights(); build_model(weights);
prefill_inputs(); decode_inputs(prefill_feeds, present, next_ids);
reference(weights, feeds); run_onnxruntime(model, feeds); relative_error().
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

OPSET = 17
IR_VERSION = 8
MODEL_FILE = "llama.onnx"
PREFILL_FILE = "llama_prefill.npz"
DECODE_FILE = "llama_decode.npz"
MAX_RELATIVE_ERROR = 1e-4

CONFIG = dict(layers=2, hidden=64, heads=4, kv_heads=2, head_dim=16,
              intermediate=172, vocab=256, rope_theta=10000.0, rms_eps=1e-6)
# One decoder layer with TinyLlama-1.1B's shapes (random weights, same
# graph): a decode step reads 0.9 GB of f32 weights, more than any cache, as
# a real LLM's does. bench/int8_speed.py sets a module instance's CONFIG to it.
TINYLLAMA_LAYER = dict(layers=1, hidden=2048, heads=32, kv_heads=4, head_dim=64,
                       intermediate=5632, vocab=32000, rope_theta=10000.0, rms_eps=1e-5)
BATCH = 2
PREFILL_SEQ = 6
PREFILL_PAST = 3
SEED = 0
FLOAT_MIN = float(np.finfo(np.float32).min)


class Paths(NamedTuple):
    model: Path
    prefill: Path
    decode: Path


def make_weights(seed: int = SEED) -> dict[str, np.ndarray]:
    """Weights named as in transformers' LlamaForCausalLM; linear weights are
    stored [in, out] (the transposed layout MatMul reads)."""
    c = CONFIG
    r = np.random.default_rng(seed)
    h, d, i = c["hidden"], c["head_dim"], c["intermediate"]

    def lin(n_in, n_out):
        return (r.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32)

    def norm():
        return (1.0 + 0.1 * r.standard_normal(h)).astype(np.float32)

    w = {"model.embed_tokens.weight": r.standard_normal((c["vocab"], h)).astype(np.float32)}
    for l in range(c["layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = norm()
        w[p + "self_attn.q_proj.weight"] = lin(h, c["heads"] * d)
        w[p + "self_attn.k_proj.weight"] = lin(h, c["kv_heads"] * d)
        w[p + "self_attn.v_proj.weight"] = lin(h, c["kv_heads"] * d)
        w[p + "self_attn.o_proj.weight"] = lin(c["heads"] * d, h)
        w[p + "post_attention_layernorm.weight"] = norm()
        w[p + "mlp.gate_proj.weight"] = lin(h, i)
        w[p + "mlp.up_proj.weight"] = lin(h, i)
        w[p + "mlp.down_proj.weight"] = lin(i, h)
    w["model.norm.weight"] = norm()
    w["lm_head.weight"] = lin(h, c["vocab"])
    return w


def inv_freq() -> np.ndarray:
    d = CONFIG["head_dim"]
    return 1.0 / (CONFIG["rope_theta"] ** (np.arange(0, d, 2, dtype=np.float64) / d))


def build_model(weights: dict[str, np.ndarray]):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    c = CONFIG
    d, heads, kv = c["head_dim"], c["heads"], c["kv_heads"]
    nodes, inits = [], []
    counter = [0]

    seen = set()

    def init(name, array):
        if name not in seen:
            seen.add(name)
            inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def i64(name, vals):
        return init(name, np.asarray(vals, dtype=np.int64))

    def f32(name, val):
        return init(name, np.asarray(val, dtype=np.float32))

    def node(op, inputs, name, outputs=None, **attrs):
        counter[0] += 1
        outs = outputs or [name]
        nodes.append(helper.make_node(op, list(inputs), outs, name=f"/{name}/{op}", **attrs))
        return outs[0]

    # Shared constants (the exporter emits them once per use; once is enough).
    zero, one, two = i64("c0", 0), i64("c1", 1), i64("c2", 2)
    ax0, ax1, ax2, ax12, ax01 = i64("ax0", [0]), i64("ax1", [1]), i64("ax2", [2]), \
        i64("ax12", [1, 2]), i64("ax01", [0, 1])
    one1, minus1, headdim1 = i64("one1", [1]), i64("minus1", [-1]), i64("headdim1", [d])

    # Dynamic sizes: B, S from input_ids; T = past + seq from attention_mask.
    ids_shape = node("Shape", ["input_ids"], "model/Shape")
    b = node("Gather", [ids_shape, zero], "model/batch", axis=0)
    s = node("Gather", [ids_shape, one], "model/seq", axis=0)
    t = node("Gather", [node("Shape", ["attention_mask"], "model/Shape_1"), one],
             "model/total", axis=0)
    past = node("Sub", [t, s], "model/past")
    b1 = node("Unsqueeze", [b, ax0], "model/batch1")
    s1 = node("Unsqueeze", [s, ax0], "model/seq1")
    t1 = node("Unsqueeze", [t, ax0], "model/total1")

    # Causal mask [B, 1, S, T] (transformers' sdpa/eager mask preparation).
    cache_position = node("Range", [past, t, one], "model/cache_position")
    full = node("ConstantOfShape", [node("Concat", [s1, t1], "model/mask_shape", axis=0)],
                "model/mask_full",
                value=helper.make_tensor("v", TensorProto.FLOAT, [1], [FLOAT_MIN]))
    causal = node("Trilu", [full, one], "model/mask_triu", upper=1)
    cols = node("Range", [zero, t, one], "model/arange")
    rows = node("Reshape", [cache_position, i64("rows_shape", [-1, 1])], "model/cache_rows")
    later = node("Cast", [node("Greater", [cols, rows], "model/mask_greater")],
                 "model/mask_cast", to=TensorProto.FLOAT)
    causal = node("Mul", [causal, later], "model/mask_mul")
    causal = node("Unsqueeze", [causal, ax01], "model/mask_unsq")
    causal = node("Expand", [causal, node("Concat", [b1, one1, s1, t1], "model/mask_eshape", axis=0)],
                  "model/mask_expand")
    am = node("Cast", [node("Unsqueeze", ["attention_mask", ax12], "model/am_unsq")],
              "model/am_cast", to=TensorProto.FLOAT)
    padding = node("Equal", [node("Add", [causal, am], "model/mask_add"), f32("zero_f", 0.0)],
                   "model/mask_eq")
    mask = node("Where", [padding, f32("min_f", FLOAT_MIN), causal], "model/mask")

    # Rotary embedding cos/sin [B, S, D] from position_ids.
    invf = f32("model.rotary_emb.inv_freq", inv_freq().astype(np.float32).reshape(1, d // 2, 1))
    invf = node("Expand", [invf, node("Concat", [b1, i64("half_one", [d // 2, 1])],
                                      "model/rope_eshape", axis=0)], "model/rope_expand")
    pos = node("Cast", [node("Unsqueeze", ["position_ids", ax1], "model/pos_unsq")],
               "model/pos_cast", to=TensorProto.FLOAT)
    freqs = node("Transpose", [node("MatMul", [invf, pos], "model/rope_matmul")],
                 "model/rope_transpose", perm=[0, 2, 1])
    emb = node("Concat", [freqs, freqs], "model/rope_concat", axis=-1)
    cos = node("Unsqueeze", [node("Cos", [emb], "model/rope_cos"), ax1], "model/cos")
    sin = node("Unsqueeze", [node("Sin", [emb], "model/rope_sin"), ax1], "model/sin")

    half_lo, half_hi = i64("half_lo", [d // 2]), i64("int_max", [np.iinfo(np.int64).max])
    last_axis = minus1

    def rms_norm(x, weight, name, form="reciprocal"):
        sq = node("Pow", [x, f32("two_f", 2.0)], name + "/Pow")
        var = node("ReduceMean", [sq], name + "/ReduceMean", axes=[-1], keepdims=1)
        std = node("Sqrt", [node("Add", [var, f32("rms_eps", c["rms_eps"])], name + "/Add")],
                   name + "/Sqrt")
        if form == "reciprocal":
            y = node("Mul", [x, node("Reciprocal", [std], name + "/Reciprocal")], name + "/Mul")
        else:
            y = node("Div", [x, std], name + "/Div")
        return node("Mul", [init(weight, weights[weight]), y], name + "/Mul_1")

    def linear(x, weight, name):
        return node("MatMul", [x, init(weight, weights[weight])], name + "/MatMul")

    def rotate_half(x, name):
        x1 = node("Slice", [x, zero1, half_lo, last_axis], name + "/Slice")
        x2 = node("Slice", [x, half_lo, half_hi, last_axis], name + "/Slice_1")
        return node("Concat", [node("Neg", [x2], name + "/Neg"), x1], name + "/Concat", axis=-1)

    def rope(x, name):
        return node("Add", [node("Mul", [x, cos], name + "/Mul"),
                            node("Mul", [rotate_half(x, name), sin], name + "/Mul_1")], name + "/Add")

    zero1 = i64("zero1", [0])
    rep = heads // kv
    h = node("Gather", [init("model.embed_tokens.weight", weights["model.embed_tokens.weight"]),
                        "input_ids"], "model/embed_tokens", axis=0)
    outputs = []
    for l in range(c["layers"]):
        p, n = f"model.layers.{l}.", f"model/layers.{l}"
        x = rms_norm(h, p + "input_layernorm.weight", n + "/input_layernorm")

        def heads_of(y, name):
            shape = node("Concat", [b1, s1, minus1, headdim1], name + "/shape", axis=0)
            return node("Transpose", [node("Reshape", [y, shape], name + "/Reshape")],
                        name + "/Transpose", perm=[0, 2, 1, 3])

        a = n + "/self_attn"
        q = heads_of(linear(x, p + "self_attn.q_proj.weight", a + "/q_proj"), a + "/q")
        k = heads_of(linear(x, p + "self_attn.k_proj.weight", a + "/k_proj"), a + "/k")
        v = heads_of(linear(x, p + "self_attn.v_proj.weight", a + "/v_proj"), a + "/v")
        q, k = rope(q, a + "/rope_q"), rope(k, a + "/rope_k")
        k = node("Concat", [f"past_key_values.{l}.key", k], a + "/cache_k", axis=2,
                 outputs=[f"present.{l}.key"])
        v = node("Concat", [f"past_key_values.{l}.value", v], a + "/cache_v", axis=2,
                 outputs=[f"present.{l}.value"])
        outputs += [f"present.{l}.key", f"present.{l}.value"]

        def repeat_kv(y, name):
            kv_len = node("Unsqueeze", [node("Gather", [node("Shape", [y], name + "/Shape"), two],
                                             name + "/Gather", axis=0), ax0], name + "/len")
            shape5 = node("Concat", [b1, i64(f"{name}/kvrep", [kv, rep]), kv_len, headdim1],
                          name + "/shape5", axis=0)
            shape4 = node("Concat", [b1, i64(f"{name}/heads", [heads]), kv_len, headdim1],
                          name + "/shape4", axis=0)
            y = node("Expand", [node("Unsqueeze", [y, ax2], name + "/Unsqueeze"), shape5], name + "/Expand")
            return node("Reshape", [y, shape4], name + "/Reshape")

        kr, vr = repeat_kv(k, a + "/repeat_k"), repeat_kv(v, a + "/repeat_v")
        scores = node("MatMul", [q, node("Transpose", [kr], a + "/Transpose_k", perm=[0, 1, 3, 2])],
                      a + "/MatMul")
        scores = node("Mul", [scores, f32("scaling", 1.0 / np.sqrt(d))], a + "/Mul")
        kv_len = node("Unsqueeze", [node("Gather", [node("Shape", [kr], a + "/Shape"), two],
                                         a + "/Gather", axis=0), ax0], a + "/kv_len")
        m = node("Slice", [mask, zero1, kv_len, i64("ax3", [3])], a + "/mask_slice")
        probs = node("Softmax", [node("Add", [scores, m], a + "/Add")], a + "/Softmax", axis=-1)
        probs = node("Cast", [probs], a + "/Cast", to=TensorProto.FLOAT)
        o = node("Transpose", [node("MatMul", [probs, vr], a + "/MatMul_1")], a + "/Transpose_o",
                 perm=[0, 2, 1, 3])
        o = node("Reshape", [o, node("Concat", [b1, s1, minus1], a + "/o_shape", axis=0)],
                 a + "/Reshape_o")
        h = node("Add", [h, linear(o, p + "self_attn.o_proj.weight", a + "/o_proj")], n + "/Add")

        x = rms_norm(h, p + "post_attention_layernorm.weight", n + "/post_attention_layernorm")
        mp = n + "/mlp"
        gate = linear(x, p + "mlp.gate_proj.weight", mp + "/gate_proj")
        act = node("Mul", [gate, node("Sigmoid", [gate], mp + "/act_fn/Sigmoid")], mp + "/act_fn/Mul")
        up = linear(x, p + "mlp.up_proj.weight", mp + "/up_proj")
        y = linear(node("Mul", [act, up], mp + "/Mul"), p + "mlp.down_proj.weight", mp + "/down_proj")
        h = node("Add", [h, y], n + "/Add_1")

    h = rms_norm(h, "model.norm.weight", "model/norm", form="div")
    nodes.append(helper.make_node("MatMul", [h, init("lm_head.weight", weights["lm_head.weight"])],
                                  ["logits"], name="/lm_head/MatMul"))

    F, I64 = TensorProto.FLOAT, TensorProto.INT64
    inputs = [helper.make_tensor_value_info("input_ids", I64, ["batch", "seq"]),
              helper.make_tensor_value_info("attention_mask", I64, ["batch", "total"]),
              helper.make_tensor_value_info("position_ids", I64, ["batch", "seq"])]
    for l in range(c["layers"]):
        for kind in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_key_values.{l}.{kind}", F,
                                                        ["batch", kv, "past", d]))
    outs = [helper.make_tensor_value_info("logits", F, ["batch", "seq", c["vocab"]])]
    outs += [helper.make_tensor_value_info(o, F, ["batch", kv, "total", d]) for o in outputs]
    graph = helper.make_graph(nodes, "llama_decoder", inputs, outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="lowbit scripts/build_llama.py")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def output_names() -> list[str]:
    names = ["logits"]
    for l in range(CONFIG["layers"]):
        names += [f"present.{l}.key", f"present.{l}.value"]
    return names


def prefill_inputs(batch: int = BATCH, seq: int = PREFILL_SEQ, past: int = PREFILL_PAST,
                   seed: int = SEED + 1) -> dict[str, np.ndarray]:
    """A prefill of `seq` tokens after a cache of `past` random keys/values;
    the second row is left-padded (its first cache slot is masked) and its
    position ids count only unmasked tokens, as generate() makes them."""
    c = CONFIG
    r = np.random.default_rng(seed)
    mask = np.ones((batch, past + seq), dtype=np.int64)
    if batch > 1 and past > 0:
        mask[1, 0] = 0
    feeds = {"input_ids": r.integers(0, c["vocab"], (batch, seq), dtype=np.int64),
             "attention_mask": mask,
             "position_ids": _positions(mask, seq)}
    for l in range(c["layers"]):
        for kind in ("key", "value"):
            feeds[f"past_key_values.{l}.{kind}"] = r.standard_normal(
                (batch, c["kv_heads"], past, c["head_dim"])).astype(np.float32)
    return feeds


def _positions(mask: np.ndarray, seq: int) -> np.ndarray:
    return np.maximum(np.cumsum(mask, axis=1) - 1, 0)[:, -seq:].astype(np.int64)


def decode_inputs(prefill: dict[str, np.ndarray], present: dict[str, np.ndarray],
                  next_ids: np.ndarray) -> dict[str, np.ndarray]:
    """One decode step: the token `next_ids` [B] after the prefill, with the
    prefill's present tensors as the cache."""
    mask = np.concatenate([prefill["attention_mask"],
                           np.ones((len(next_ids), 1), dtype=np.int64)], axis=1)
    feeds = {"input_ids": np.asarray(next_ids, dtype=np.int64).reshape(-1, 1),
             "attention_mask": mask, "position_ids": _positions(mask, 1)}
    for l in range(CONFIG["layers"]):
        for kind in ("key", "value"):
            feeds[f"past_key_values.{l}.{kind}"] = np.ascontiguousarray(
                present[f"present.{l}.{kind}"], dtype=np.float32)
    return feeds


def reference(weights: dict[str, np.ndarray], feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same Llama forward pass in float64 numpy, one head at a time."""
    c = CONFIG
    d, heads, kv, eps = c["head_dim"], c["heads"], c["kv_heads"], c["rms_eps"]
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    ids, mask, pos = feeds["input_ids"], feeds["attention_mask"], feeds["position_ids"]
    batch, seq = ids.shape
    total = mask.shape[1]
    past = total - seq

    def rms(x, g):
        return g * x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)

    angle = pos[..., None].astype(np.float64) * inv_freq()  # [B, S, D/2]
    cos, sin = np.cos(angle), np.sin(angle)

    def rotate(x):  # x [B, S, D]: pairs (i, i + D/2) rotate by angle i
        assert x.shape[:2] == cos.shape[:2]
        lo, hi = x[..., : d // 2], x[..., d // 2:]
        return np.concatenate([lo * cos - hi * sin, hi * cos + lo * sin], axis=-1)

    h = w["model.embed_tokens.weight"][ids]
    out = {}
    for l in range(c["layers"]):
        p = f"model.layers.{l}."
        x = rms(h, w[p + "input_layernorm.weight"])
        q = (x @ w[p + "self_attn.q_proj.weight"]).reshape(batch, seq, heads, d)
        k = (x @ w[p + "self_attn.k_proj.weight"]).reshape(batch, seq, kv, d)
        v = (x @ w[p + "self_attn.v_proj.weight"]).reshape(batch, seq, kv, d)
        keys = np.empty((batch, kv, total, d))
        values = np.empty((batch, kv, total, d))
        keys[:, :, :past] = feeds[f"past_key_values.{l}.key"]
        values[:, :, :past] = feeds[f"past_key_values.{l}.value"]
        for g in range(kv):
            keys[:, g, past:] = rotate(k[:, :, g])
            values[:, g, past:] = v[:, :, g]
        out[f"present.{l}.key"], out[f"present.{l}.value"] = keys, values
        attn = np.empty((batch, seq, heads, d))
        for hi in range(heads):
            qh_all = rotate(q[:, :, hi])
            for bi in range(batch):
                g = hi // (heads // kv)
                qh = qh_all[bi]
                scores = qh @ keys[bi, g].T / np.sqrt(d)
                for si in range(seq):
                    visible = (np.arange(total) <= past + si) & (mask[bi] != 0)
                    row = np.where(visible, scores[si], -np.inf)
                    e = np.exp(row - row.max())
                    attn[bi, si, hi] = (e / e.sum()) @ values[bi, g]
        h = h + attn.reshape(batch, seq, heads * d) @ w[p + "self_attn.o_proj.weight"]
        x = rms(h, w[p + "post_attention_layernorm.weight"])
        gate = x @ w[p + "mlp.gate_proj.weight"]
        up = x @ w[p + "mlp.up_proj.weight"]
        h = h + (gate / (1.0 + np.exp(-gate)) * up) @ w[p + "mlp.down_proj.weight"]
    out["logits"] = rms(h, w["model.norm.weight"]) @ w["lm_head.weight"]
    return out


def run_onnxruntime(model_path, feeds) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def relative_error(got, ref) -> float:
    ref = np.asarray(ref, dtype=np.float64)
    return float(np.max(np.abs(np.asarray(got, dtype=np.float64) - ref)) / np.max(np.abs(ref)))


def input_shapes(feeds: dict[str, np.ndarray]) -> list[str]:
    """--input-shape arguments for lowbit-run / lowbit-opt."""
    return [f"--input-shape={k}=" + "x".join(map(str, v.shape)) for k, v in feeds.items()]


def build(out_dir, batch: int = BATCH, seq: int = PREFILL_SEQ, past: int = PREFILL_PAST) -> Paths:
    """Writes the model, the prefill inputs and the decode-step inputs (the
    prefill's present tensors as computed by the numpy reference, rounded to
    float32, and the greedy next token) to out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = make_weights()
    paths = Paths(out_dir / MODEL_FILE, out_dir / PREFILL_FILE, out_dir / DECODE_FILE)
    paths.model.write_bytes(build_model(weights).SerializeToString())
    prefill = prefill_inputs(batch, seq, past)
    ref = reference(weights, prefill)
    decode = decode_inputs(prefill, ref, np.argmax(ref["logits"][:, -1], axis=-1))
    for path, feeds in ((paths.prefill, prefill), (paths.decode, decode)):
        np.savez(path, **feeds)
    return paths


def check(paths: Paths) -> float:
    weights = make_weights()
    worst = 0.0
    for label, path in (("prefill", paths.prefill), ("decode", paths.decode)):
        with np.load(path) as data:
            feeds = {k: data[k] for k in data.files}
        got, ref = run_onnxruntime(paths.model, feeds), reference(weights, feeds)
        for name in output_names():
            err = relative_error(got[name], ref[name])
            worst = max(worst, err)
            print(f"{label:8s} {name:18s} {str(got[name].shape):16s} ort vs numpy {err:.2e}")
    return worst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--seq-len", type=int, default=PREFILL_SEQ)
    parser.add_argument("--past", type=int, default=PREFILL_PAST)
    parser.add_argument("--check", action="store_true",
                        help="compare onnxruntime with the numpy reference on both steps")
    args = parser.parse_args(argv)
    paths = build(args.out, args.batch, args.seq_len, args.past)
    print(f"wrote {paths.model}, {paths.prefill}, {paths.decode}")
    if args.check:
        worst = check(paths)
        if worst > MAX_RELATIVE_ERROR:
            print(f"FAIL: max relative error {worst:.2e} > {MAX_RELATIVE_ERROR}", file=sys.stderr)
            return 1
        print(f"ok: max relative error {worst:.2e} <= {MAX_RELATIVE_ERROR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
