"""Builds the small ONNX files of the fusion-pass tests (test/Passes/fuse-*,
fold-batch-norm, test/python/test_fusions.py): each graph holds the exported
decomposed form of a pattern in several variants, and near misses the pass
must leave alone, as separate outputs. rms_normalization is the ONNX op
itself (test/Import/rms-norm.test).

    make_fusion_onnx.py NAME -o OUT.onnx
    make_fusion_onnx.py --list

Deterministic (fixed seeds), opset 17, IR version 8.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_onnx import const, model, node, randn, rng, value  # noqa: E402

EPS = 1e-5


def f32(name, v):
    return const(name, np.asarray(v, dtype=np.float32))


def i64(name, v):
    return const(name, np.asarray(v, dtype=np.int64))


def rms_norm_forms():
    """RMSNorm: y1 = g * (x * 1/sqrt(mean(x^2) + eps)) (Pow, Reciprocal),
    y2 = (x / sqrt(mean(x*x) + eps)) * g2 (Mul square, Div). Left alone:
    y3 (mean over axis 1), y4 (the norm of w scales x), y5 (no gamma)."""
    r = rng(11)
    nodes = []

    def inv_rms(src, tag, axes=(-1,), square="pow"):
        if square == "pow":
            nodes.append(node("Pow", [src, "two"], [f"{tag}_sq"]))
        else:
            nodes.append(node("Mul", [src, src], [f"{tag}_sq"]))
        nodes.append(node("ReduceMean", [f"{tag}_sq"], [f"{tag}_mean"], axes=list(axes), keepdims=1))
        nodes.append(node("Add", [f"{tag}_mean", "eps"], [f"{tag}_var"]))
        nodes.append(node("Sqrt", [f"{tag}_var"], [f"{tag}_std"]))
        return f"{tag}_std"

    std = inv_rms("x", "a")
    nodes += [node("Reciprocal", [std], ["a_inv"]), node("Mul", ["x", "a_inv"], ["a_n"]),
              node("Mul", ["g", "a_n"], ["y1"])]
    std = inv_rms("x", "b", square="mul")
    nodes += [node("Div", ["x", std], ["b_n"]), node("Mul", ["b_n", "g2"], ["y2"])]
    std = inv_rms("x", "c", axes=(1,))
    nodes += [node("Reciprocal", [std], ["c_inv"]), node("Mul", ["x", "c_inv"], ["c_n"]),
              node("Mul", ["g", "c_n"], ["y3"])]
    std = inv_rms("w", "d")
    nodes += [node("Reciprocal", [std], ["d_inv"]), node("Mul", ["x", "d_inv"], ["d_n"]),
              node("Mul", ["g", "d_n"], ["y4"])]
    std = inv_rms("x", "e")
    nodes += [node("Reciprocal", [std], ["e_inv"]), node("Mul", ["x", "e_inv"], ["y5"])]
    return model(nodes, [value("x", [2, 4, 8]), value("w", [2, 4, 8])],
                 [value(n, [2, 4, 8]) for n in ("y1", "y2", "y3", "y4", "y5")],
                 [f32("two", 2.0), f32("eps", EPS), const("g", 1 + 0.1 * randn(r, 8)),
                  const("g2", 1 + 0.1 * randn(r, 8))])


def layer_norm_decomposed():
    """LayerNorm as opset < 17 exports it: y1 = (x - mean) / sqrt(var + eps)
    * g + b, y2 = g * ((x - mean) * 1/sqrt(var + eps)) (no bias). Left
    alone: y3, centred by the mean over axis 1."""
    r = rng(12)
    nodes = []

    def core(tag, mean_axes=(-1,)):
        nodes.extend([
            node("ReduceMean", ["x"], [f"{tag}_mu"], axes=list(mean_axes), keepdims=1),
            node("Sub", ["x", f"{tag}_mu"], [f"{tag}_d"]),
            node("Pow", [f"{tag}_d", "two"], [f"{tag}_sq"]),
            node("ReduceMean", [f"{tag}_sq"], [f"{tag}_var"], axes=[-1], keepdims=1),
            node("Add", [f"{tag}_var", "eps"], [f"{tag}_ve"]),
            node("Sqrt", [f"{tag}_ve"], [f"{tag}_std"])])
        return f"{tag}_d", f"{tag}_std"

    d, std = core("a")
    nodes += [node("Div", [d, std], ["a_n"]), node("Mul", ["a_n", "g"], ["a_s"]),
              node("Add", ["a_s", "b"], ["y1"])]
    d, std = core("b")
    nodes += [node("Reciprocal", [std], ["b_inv"]), node("Mul", [d, "b_inv"], ["b_n"]),
              node("Mul", ["g", "b_n"], ["y2"])]
    d, std = core("c", mean_axes=(1,))
    nodes += [node("Div", [d, std], ["c_n"]), node("Mul", ["c_n", "g"], ["c_s"]),
              node("Add", ["c_s", "b"], ["y3"])]
    return model(nodes, [value("x", [2, 4, 8])], [value(n, [2, 4, 8]) for n in ("y1", "y2", "y3")],
                 [f32("two", 2.0), f32("eps", EPS), const("g", 1 + 0.1 * randn(r, 8)),
                  const("b", 0.1 * randn(r, 8))])


def gelu_forms():
    """GELU: y1 = x * (erf(x / 1.4142135) + 1) * 0.5 (torch, MiniLM),
    y2 = (0.5 * w) * (1 + erf(w * 0.70710678)), y3 = tanh form with
    Pow(x, 3), y4 = tanh form of w with w * w * w. Left alone: y5 (erf(x / 2)),
    y6 (no 0.5), y7 (0.5 * w * (1 + erf(x / sqrt 2)), w != x)."""
    nodes = [
        node("Div", ["x", "sqrt2"], ["a_s"]), node("Erf", ["a_s"], ["a_e"]),
        node("Add", ["a_e", "one"], ["a_p"]), node("Mul", ["x", "a_p"], ["a_m"]),
        node("Mul", ["a_m", "half"], ["y1"]),
        node("Mul", ["w", "inv_sqrt2"], ["b_s"]), node("Erf", ["b_s"], ["b_e"]),
        node("Add", ["one", "b_e"], ["b_p"]), node("Mul", ["half", "w"], ["b_h"]),
        node("Mul", ["b_h", "b_p"], ["y2"]),
        node("Pow", ["x", "three"], ["c_x3"]), node("Mul", ["c_x3", "k"], ["c_k"]),
        node("Add", ["x", "c_k"], ["c_in"]), node("Mul", ["c_in", "sqrt2pi"], ["c_t"]),
        node("Tanh", ["c_t"], ["c_th"]), node("Add", ["c_th", "one"], ["c_p"]),
        node("Mul", ["x", "half"], ["c_h"]), node("Mul", ["c_h", "c_p"], ["y3"]),
        node("Mul", ["w", "w"], ["d_x2"]), node("Mul", ["d_x2", "w"], ["d_x3"]),
        node("Mul", ["k", "d_x3"], ["d_k"]), node("Add", ["d_k", "w"], ["d_in"]),
        node("Mul", ["sqrt2pi", "d_in"], ["d_t"]), node("Tanh", ["d_t"], ["d_th"]),
        node("Add", ["one", "d_th"], ["d_p"]), node("Mul", ["w", "d_p"], ["d_m"]),
        node("Mul", ["half", "d_m"], ["y4"]),
        node("Div", ["x", "two"], ["e_s"]), node("Erf", ["e_s"], ["e_e"]),
        node("Add", ["e_e", "one"], ["e_p"]), node("Mul", ["x", "e_p"], ["e_m"]),
        node("Mul", ["e_m", "half"], ["y5"]),
        node("Div", ["x", "sqrt2"], ["f_s"]), node("Erf", ["f_s"], ["f_e"]),
        node("Add", ["f_e", "one"], ["f_p"]), node("Mul", ["x", "f_p"], ["y6"]),
        node("Div", ["x", "sqrt2"], ["g_s"]), node("Erf", ["g_s"], ["g_e"]),
        node("Add", ["g_e", "one"], ["g_p"]), node("Mul", ["w", "g_p"], ["g_m"]),
        node("Mul", ["g_m", "half"], ["y7"]),
    ]
    return model(nodes, [value("x", [2, 16]), value("w", [2, 16])],
                 [value(f"y{i}", [2, 16]) for i in range(1, 8)],
                 [f32("sqrt2", 1.4142135), f32("inv_sqrt2", 0.70710678), f32("one", 1.0),
                  f32("half", 0.5), f32("two", 2.0), f32("three", 3.0), f32("k", 0.044715),
                  f32("sqrt2pi", 0.7978845608)])


def silu_forms():
    """SiLU: y1 = x * Sigmoid(x), y2 = Sigmoid(w) * w. Left alone: y3 =
    w * Sigmoid(x) (the gated MLP product), y4 = x * Sigmoid(1.702 * x)
    (QuickGELU)."""
    nodes = [node("Sigmoid", ["x"], ["s"]), node("Mul", ["x", "s"], ["y1"]),
             node("Sigmoid", ["w"], ["sw"]), node("Mul", ["sw", "w"], ["y2"]),
             node("Mul", ["w", "s"], ["y3"]),
             node("Mul", ["x", "c"], ["xc"]), node("Sigmoid", ["xc"], ["sc"]),
             node("Mul", ["x", "sc"], ["y4"])]
    return model(nodes, [value("x", [2, 16]), value("w", [2, 16])],
                 [value(f"y{i}", [2, 16]) for i in range(1, 5)], [f32("c", 1.702)])


def conv_bn():
    """Conv -> BatchNormalization (constant statistics) three times: y1 (conv
    with bias), y2 (conv without bias, grouped); left alone: y3, whose conv
    result is also an output itself (z)."""
    r = rng(13)

    def bn_params(tag, c):
        return [const(f"{tag}_scale", 1 + 0.2 * randn(r, c)), const(f"{tag}_bias", randn(r, c)),
                const(f"{tag}_mean", randn(r, c)),
                const(f"{tag}_var", (0.5 + r.random(c)).astype(np.float32))]

    def bn(src, tag, out):
        return node("BatchNormalization", [src, f"{tag}_scale", f"{tag}_bias", f"{tag}_mean",
                                           f"{tag}_var"], [out], epsilon=1e-3)

    nodes = [node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]), bn("c1", "bn1", "y1"),
             node("Conv", ["x", "w2"], ["c2"], group=3, strides=[2, 2]), bn("c2", "bn2", "y2"),
             node("Conv", ["x", "w3"], ["z"]), bn("z", "bn3", "y3")]
    inits = [const("w1", randn(r, 4, 3, 3, 3)), const("b1", randn(r, 4)),
             const("w2", randn(r, 6, 1, 3, 3)), const("w3", randn(r, 4, 3, 1, 1))]
    inits += bn_params("bn1", 4) + bn_params("bn2", 6) + bn_params("bn3", 4)
    return model(nodes, [value("x", [1, 3, 8, 8])],
                 [value("y1", [1, 4, 8, 8]), value("y2", [1, 6, 3, 3]), value("y3", [1, 4, 8, 8]),
                  value("z", [1, 4, 8, 8])], inits)

def attention_forms():
    """Eager attention: y1 = grouped-query (4 query heads over 2 key/value
    heads repeated by Unsqueeze/Expand/Reshape), K transposed, * 0.35, + mask,
    Softmax, * V; y2 = multi-head with kᵀ given (no transpose), / 2.0, no
    mask. Left alone: y3 (Softmax over axis 2), y4 (its scores are also the
    output s4)."""
    nodes = []

    def repeat(src, tag):
        nodes.extend([node("Unsqueeze", [src, "ax2"], [f"{tag}_u"]),
                      node("Expand", [f"{tag}_u", "shape5"], [f"{tag}_e"]),
                      node("Reshape", [f"{tag}_e", "shape4"], [f"{tag}_r"])])
        return f"{tag}_r"

    kr, vr = repeat("k", "k"), repeat("v", "v")
    nodes += [node("Transpose", [kr], ["kt1"], perm=[0, 1, 3, 2]),
              node("MatMul", ["q", "kt1"], ["s1"]), node("Mul", ["s1", "scale"], ["m1"]),
              node("Add", ["m1", "mask"], ["a1"]), node("Softmax", ["a1"], ["p1"], axis=-1),
              node("MatMul", ["p1", vr], ["y1"])]
    nodes += [node("MatMul", ["q", "kt"], ["s2"]), node("Div", ["s2", "two"], ["m2"]),
              node("Softmax", ["m2"], ["p2"], axis=-1), node("MatMul", ["p2", "vh"], ["y2"])]
    nodes += [node("MatMul", ["q", "kt"], ["s3"]), node("Softmax", ["s3"], ["p3"], axis=2),
              node("MatMul", ["p3", "vh"], ["y3"])]
    nodes += [node("MatMul", ["q", "kt"], ["s4"]), node("Softmax", ["s4"], ["p4"], axis=-1),
              node("MatMul", ["p4", "vh"], ["y4"])]
    return model(nodes,
                 [value("q", [1, 4, 3, 8]), value("k", [1, 2, 5, 8]), value("v", [1, 2, 5, 8]),
                  value("mask", [1, 1, 3, 5]), value("kt", [1, 4, 8, 5]), value("vh", [1, 4, 5, 8])],
                 [value("y1", [1, 4, 3, 8]), value("y2", [1, 4, 3, 8]), value("y3", [1, 4, 3, 8]),
                  value("y4", [1, 4, 3, 8]), value("s4", [1, 4, 3, 5])],
                 [i64("ax2", [2]), i64("shape5", [1, 2, 2, 5, 8]), i64("shape4", [1, 4, 5, 8]),
                  f32("scale", 0.35), f32("two", 2.0)])


def rms_normalization():
    """ONNX RMSNormalization (opset 23, IR 10): y over the last axis with
    epsilon 1e-6; z over axes 1.. with an [8] scale broadcast to [4, 8]."""
    r = rng(14)
    m = model([node("RMSNormalization", ["x", "s"], ["y"], axis=-1, epsilon=1e-6),
               node("RMSNormalization", ["x", "s"], ["z"], axis=1)],
              [value("x", [2, 4, 8])], [value("y", [2, 4, 8]), value("z", [2, 4, 8])],
              [const("s", 1 + 0.1 * randn(r, 8))], opset=23)
    m.ir_version = 10
    return m


def hard_swish_forms():
    """HardSwish as MobileNetV3 / PP-OCR export it: y1 = x * Clip(x + 3, 0,
    6) / 6, y2 = (Clip(3 + w, 0, 6) * w) * (1/6). Left alone: y3 (Clip to
    4), y4 (w * Clip(x + 3, 0, 6) / 6), y5 (x * HardSigmoid(w), SE
    gating)."""
    nodes = [node("Add", ["x", "three"], ["a"]), node("Clip", ["a", "zero", "six"], ["c"]),
             node("Mul", ["x", "c"], ["m"]), node("Div", ["m", "six"], ["y1"]),
             node("Add", ["three", "w"], ["a2"]), node("Clip", ["a2", "zero", "six"], ["c2"]),
             node("Mul", ["c2", "w"], ["m2"]), node("Mul", ["m2", "sixth"], ["y2"]),
             node("Add", ["x", "three"], ["a3"]), node("Clip", ["a3", "zero", "four"], ["c3"]),
             node("Mul", ["x", "c3"], ["m3"]), node("Div", ["m3", "six"], ["y3"]),
             node("Add", ["x", "three"], ["a4"]), node("Clip", ["a4", "zero", "six"], ["c4"]),
             node("Mul", ["w", "c4"], ["m4"]), node("Div", ["m4", "six"], ["y4"]),
             node("HardSigmoid", ["w"], ["h5"]), node("Mul", ["x", "h5"], ["y5"])]
    return model(nodes, [value("x", [2, 16]), value("w", [2, 16])],
                 [value(f"y{i}", [2, 16]) for i in range(1, 6)],
                 [f32("three", 3.0), f32("zero", 0.0), f32("six", 6.0), f32("four", 4.0),
                  f32("sixth", 1.0 / 6.0)])


MODELS = {f.__name__: f for f in [rms_norm_forms, layer_norm_decomposed, gelu_forms,
                                   silu_forms, conv_bn, attention_forms,
                                   rms_normalization, hard_swish_forms]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", choices=sorted(MODELS))
    parser.add_argument("-o", "--output")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if args.list:
        for name in sorted(MODELS):
            print(f"{name:24} {MODELS[name].__doc__.strip().splitlines()[0]}")
        return 0
    if not args.name or not args.output:
        parser.error("give NAME and -o OUT.onnx (or --list)")
    m = MODELS[args.name]()
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
