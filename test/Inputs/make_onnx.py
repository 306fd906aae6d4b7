"""Builds small ONNX files for the lit import tests.

    make_onnx.py NAME -o OUT.onnx
    make_onnx.py --list

NAME picks a builder from MODELS below. Every model is deterministic (fixed
seeds), uses opset 17 and IR version 8 unless it says otherwise. A few names
write deliberately bad files: `truncated` (valid bytes cut in half),
`garbage` (random bytes), `unknown_op` (an op FooBar named 'mystery'),
`dynamic_input` (an input with a symbolic dim) and `external_data` (weights
in `weights.bin` next to OUT.onnx).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def value(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def randn(r, *shape):
    return r.standard_normal(shape).astype(np.float32)


def model(nodes, inputs, outputs, inits=(), name="test", opset=OPSET):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = IR_VERSION
    return m


def node(op, ins, outs, **attrs):
    # Nodes are named after their first output so diagnostics are predictable.
    return helper.make_node(op, ins, outs, name=outs[0], **attrs)


# ---------------------------------------------------------------------------
# Models (each returns an onnx.ModelProto)


def matmul_const():
    """x[2,16] @ W[16,8] (constant) -> nn.linear with a transposed weight."""
    w = randn(rng(1), 16, 8)
    return model([node("MatMul", ["x", "w"], ["y"])],
                 [value("x", [2, 16])], [value("y", [2, 8])], [const("w", w)])


def matmul_inputs():
    """Two graph inputs: a[2,3,4] @ b[4,5] (batch broadcast) and a vector."""
    return model([node("MatMul", ["a", "b"], ["y"]),
                  node("MatMul", ["v", "b"], ["z"])],
                 [value("a", [2, 3, 4]), value("b", [4, 5]), value("v", [4])],
                 [value("y", [2, 3, 5]), value("z", [5])])


def gemm():
    """Gemm with transA/transB/alpha/beta and a bias, and a plain Gemm."""
    r = rng(2)
    return model(
        [node("Gemm", ["a", "b", "c"], ["y"], transA=1, transB=1, alpha=0.5, beta=2.0),
         node("Gemm", ["p", "q"], ["z"])],
        [value("a", [4, 3]), value("p", [3, 4])],
        [value("y", [3, 5]), value("z", [3, 6])],
        [const("b", randn(r, 5, 4)), const("c", randn(r, 5)), const("q", randn(r, 4, 6))])


def conv():
    """Conv: pads+strides+bias, grouped+dilated, and auto_pad SAME_UPPER."""
    r = rng(3)
    return model(
        [node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3],
              pads=[1, 1, 1, 1], strides=[2, 2]),
         node("Conv", ["c1", "w2"], ["c2"], group=2, dilations=[2, 2]),
         node("Conv", ["x", "w3"], ["c3"], auto_pad="SAME_UPPER", strides=[2, 2])],
        [value("x", [1, 4, 9, 9])],
        [value("c2", [1, 8, 3, 3]), value("c3", [1, 2, 5, 5])],
        [const("w1", randn(r, 6, 4, 3, 3)), const("b1", randn(r, 6)),
         const("w2", randn(r, 8, 3, 2, 2)), const("w3", randn(r, 2, 4, 2, 2))])


def conv_transpose():
    """ConvTranspose [1,4,5,5] -> [1,3,10,10] (stride 2, 3x3 kernel, pads 1,
    output_padding 1): zero insertion by insert_slice, then a conv."""
    r = rng(4)
    return model(
        [node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2],
              pads=[1, 1, 1, 1], output_padding=[1, 1])],
        [value("x", [1, 4, 5, 5])], [value("y", [1, 3, 10, 10])],
        [const("w", randn(r, 4, 3, 3, 3)), const("b", randn(r, 3))])


def elementwise():
    """Add/Sub/Mul/Div with numpy broadcasting of lower-rank operands."""
    return model(
        [node("Add", ["x", "row"], ["s"]),
         node("Sub", ["s", "col"], ["d"]),
         node("Mul", ["d", "x"], ["m"]),
         node("Div", ["m", "col"], ["y"])],
        [value("x", [2, 3, 4]), value("row", [4]), value("col", [3, 1])],
        [value("y", [2, 3, 4])])


def activations():
    """A chain of the unary activations the importer knows."""
    lo = const("lo", np.array(-1.0, np.float32))
    hi = const("hi", np.array(6.0, np.float32))
    return model(
        [node("Relu", ["x"], ["a"]),
         node("Sigmoid", ["a"], ["b"]),
         node("Tanh", ["b"], ["c"]),
         node("Clip", ["c", "lo", "hi"], ["d"]),
         node("HardSigmoid", ["d"], ["e"], alpha=0.25, beta=0.5),
         node("HardSwish", ["e"], ["f"]),
         node("LeakyRelu", ["f"], ["y"], alpha=0.125)],
        [value("x", [2, 8])], [value("y", [2, 8])], [lo, hi])


def _softmax(opset):
    return model([node("Softmax", ["x"], ["y"], axis=1)],
                 [value("x", [2, 3, 4])], [value("y", [2, 3, 4])], opset=opset)


def softmax_opset11():
    """Softmax(axis=1) at opset 11: flatten to [2, 12], softmax, reshape back."""
    return _softmax(11)


def softmax_opset13():
    """Softmax(axis=1) at opset 13: a plain softmax along axis 1."""
    return _softmax(13)


def layer_norm():
    """LayerNormalization over the last axis with scale and bias, and one
    over the last two axes with a broadcast [8] scale and no bias."""
    r = rng(5)
    return model(
        [node("LayerNormalization", ["x", "s", "b"], ["y"], axis=-1, epsilon=1e-3),
         node("LayerNormalization", ["x", "s"], ["z"], axis=1)],
        [value("x", [2, 4, 8])], [value("y", [2, 4, 8]), value("z", [2, 4, 8])],
        [const("s", randn(r, 8)), const("b", randn(r, 8))])


def shape_ops():
    """Reshape -> Transpose -> Flatten -> Unsqueeze -> Squeeze -> Concat."""
    return model(
        [node("Reshape", ["x", "shape"], ["r"]),
         node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
         node("Flatten", ["t"], ["f"], axis=1),
         node("Unsqueeze", ["f", "axes0"], ["u"]),
         node("Squeeze", ["u", "axes0"], ["s"]),
         node("Concat", ["s", "f"], ["y"], axis=0)],
        [value("x", [2, 12])], [value("y", [4, 12])],
        [const("shape", np.array([2, -1, 3], np.int64)),
         const("axes0", np.array([0], np.int64))])


def batch_norm():
    """Inference BatchNormalization, folded into per-channel mul and add."""
    r = rng(6)
    c = 3
    return model(
        [node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"],
              epsilon=1e-5)],
        [value("x", [1, c, 4, 4])], [value("y", [1, c, 4, 4])],
        [const("scale", randn(r, c)), const("bias", randn(r, c)),
         const("mean", randn(r, c)),
         const("var", np.abs(randn(r, c)) + np.float32(0.5))])


def global_avg_pool():
    """GlobalAveragePool [1,3,4,5] -> [1,3,1,1]."""
    return model([node("GlobalAveragePool", ["x"], ["y"])],
                 [value("x", [1, 3, 4, 5])], [value("y", [1, 3, 1, 1])])


def global_max_pool():
    """GlobalMaxPool [1,3,4,5] -> [1,3,1,1]."""
    return model([node("GlobalMaxPool", ["x"], ["y"])],
                 [value("x", [1, 3, 4, 5])], [value("y", [1, 3, 1, 1])])


def global_max_pool_rank2():
    """GlobalMaxPool on a rank-2 input: invalid (no spatial dimension)."""
    return model([node("GlobalMaxPool", ["x"], ["y"])],
                 [value("x", [3, 4])], [value("y", [3, 4])])


def conv1d():
    """Conv 1-D [1,2,10] * [3,2,3] (pads 1, stride 2) -> [1,3,5]."""
    r = np.random.default_rng(0)
    return model([node("Conv", ["x", "w"], ["y"], kernel_shape=[3], pads=[1, 1], strides=[2])],
                 [value("x", [1, 2, 10])], [value("y", [1, 3, 5])],
                 [const("w", randn(r, 3, 2, 3))])


def resize_nearest():
    """Resize nearest x2 on H and W (asymmetric, floor), given by scales."""
    return model(
        [node("Resize", ["x", "", "scales"], ["y"], mode="nearest",
              coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
        [value("x", [1, 2, 3, 4])], [value("y", [1, 2, 6, 8])],
        [const("scales", np.array([1, 1, 2, 2], np.float32))])


def constant_identity():
    """Constant nodes (a small inline one and a large one) and Identity."""
    small = numpy_helper.from_array(np.array([1, 2, 3, 4], np.float32), "k")
    big = numpy_helper.from_array(np.arange(16, dtype=np.float32).reshape(4, 4), "big")
    return model(
        [helper.make_node("Constant", [], ["k"], name="small_const", value=small),
         helper.make_node("Constant", [], ["big"], name="big_const", value=big),
         node("Identity", ["x"], ["xi"]),
         node("Add", ["xi", "k"], ["s"]),
         node("MatMul", ["s", "big"], ["y"])],
        [value("x", [2, 4])], [value("y", [2, 4])])


def initializers():
    """Weights and a bias given as initializers: dense_resource, not dense."""
    r = rng(7)
    return model(
        [node("MatMul", ["x", "w"], ["h"]), node("Add", ["h", "bias"], ["y"])],
        [value("x", [3, 32])], [value("y", [3, 16])],
        [const("w", randn(r, 32, 16)), const("bias", randn(r, 16))])


def dynamic_input():
    """x has a symbolic batch dimension 'batch': needs --input-shape."""
    return model([node("Relu", ["x"], ["y"])],
                 [value("x", ["batch", 3, 8])], [value("y", ["batch", 3, 8])])


def unknown_op():
    """One node of op type FooBar (not an ONNX op), named 'mystery'."""
    n = helper.make_node("FooBar", ["x"], ["y"], name="mystery")
    return model([n], [value("x", [2])], [value("y", [2])])


def external_data():
    """matmul_const with its weight stored in weights.bin next to the model."""
    return matmul_const()


def gather():
    """Embedding lookup: table[10, 4] (initializer) gathered by ids[2, 3]
    (int64 input) along axis 0, and a gather along axis 1 of an input."""
    r = rng(7)
    table = randn(r, 10, 4)
    return model(
        [node("Gather", ["table", "ids"], ["emb"], axis=0),
         node("Gather", ["x", "cols"], ["picked"], axis=1)],
        [value("ids", [2, 3], TensorProto.INT64), value("x", [3, 5])],
        [value("emb", [2, 3, 4]), value("picked", [3, 2])],
        [const("table", table), const("cols", np.array([4, -1], np.int64))])


# ---------------------------------------------------------------------------
# Shape computation, comparison, reduction and CNN ops


def shape_fold():
    """Exporter-style shape arithmetic folded at import: Shape -> Gather ->
    Unsqueeze -> Concat -> Reshape, Shape(start=1) feeding Expand, and
    ConstantOfShape/Range on the folded values."""
    i64 = lambda *v: np.array(v, np.int64)
    return model(
        [node("Shape", ["x"], ["s"]),
         node("Gather", ["s", "zero"], ["batch"], axis=0),
         node("Unsqueeze", ["batch", "axes0"], ["batch1"]),
         node("Concat", ["batch1", "minus1"], ["newshape"], axis=0),
         node("Reshape", ["x", "newshape"], ["y"]),
         node("Shape", ["x"], ["tail"], start=1),
         node("Expand", ["bias", "tail"], ["b"]),
         node("Add", ["x", "b"], ["z"]),
         node("Gather", ["s", "two"], ["n"], axis=0),
         node("Range", ["zero", "n", "one"], ["pos"]),
         node("ConstantOfShape", ["tail"], ["ones"],
              value=numpy_helper.from_array(np.array([1], np.int64))),
         node("Mul", ["ones", "pos"], ["w"])],
        [value("x", [2, 3, 8])],
        [value("y", [2, 24]), value("z", [2, 3, 8]),
         value("w", [3, 8], TensorProto.INT64)],
        [const("zero", np.array(0, np.int64)), const("one", np.array(1, np.int64)),
         const("two", np.array(2, np.int64)), const("axes0", i64(0)),
         const("minus1", i64(-1)), const("bias", randn(rng(8), 8))])


def cast_compare():
    """Cast f32 -> i64 -> f16, Less/Equal, Not, And, Where, Sign, Round."""
    return model(
        [node("Cast", ["x"], ["xi"], to=TensorProto.INT64),
         node("Cast", ["xi"], ["xh"], to=TensorProto.FLOAT16),
         node("Less", ["x", "y"], ["lt"]),
         node("Equal", ["xi", "k"], ["eq"]),
         node("Not", ["eq"], ["ne"]),
         node("And", ["lt", "ne"], ["c"]),
         node("Where", ["c", "x", "y"], ["w"]),
         node("Round", ["w"], ["r"]),
         node("Sign", ["r"], ["sg"])],
        [value("x", [2, 3]), value("y", [3])],
        [value("xh", [2, 3], TensorProto.FLOAT16), value("sg", [2, 3])],
        [const("k", np.array(1, np.int64))])


def slice_split():
    """Slice with a positive step (tensor.extract_slice), a negative step
    (linalg.generic) and Split by a split input."""
    i64 = lambda *v: np.array(v, np.int64)
    return model(
        [node("Slice", ["x", "st", "en", "ax", "sp"], ["a"]),
         node("Slice", ["x", "st2", "en2", "ax2", "sp2"], ["b"]),
         node("Split", ["x", "parts"], ["p", "q"], axis=1)],
        [value("x", [4, 6])],
        [value("a", [2, 3]), value("b", [4, 6]), value("p", [4, 2]),
         value("q", [4, 4])],
        [const("st", i64(1, 0)), const("en", i64(1000, 6)), const("ax", i64(0, 1)),
         const("sp", i64(2, 2)), const("st2", i64(-1)), const("en2", i64(-1000)),
         const("ax2", i64(1)), const("sp2", i64(-1)), const("parts", i64(2, 4))])


def slice_dynamic():
    """Slice whose starts are a graph input: not constant, so unsupported."""
    i64 = lambda *v: np.array(v, np.int64)
    return model(
        [node("Slice", ["x", "starts", "ends"], ["y"])],
        [value("x", [4, 6]), value("starts", [1], TensorProto.INT64)],
        [value("y", [None, 6])], [const("ends", i64(3))])


def reductions():
    """ReduceMean (axes attribute at opset 17), ReduceSum (axes input),
    ReduceMax without keepdims, ReduceMin over everything, ArgMax."""
    return model(
        [node("ReduceMean", ["x"], ["mean"], axes=[-1]),
         node("ReduceSum", ["x", "axes1"], ["sum"], keepdims=0),
         node("ReduceMax", ["x"], ["max"], axes=[0, 2], keepdims=0),
         node("ReduceMin", ["x"], ["min"]),
         node("ArgMax", ["x"], ["arg"], axis=1, keepdims=0)],
        [value("x", [2, 3, 4])],
        [value("mean", [2, 3, 1]), value("sum", [2, 4]), value("max", [3]),
         value("min", [1, 1, 1]), value("arg", [2, 4], TensorProto.INT64)],
        [const("axes1", np.array([1], np.int64))])


def cumsum_trilu():
    """CumSum (exclusive, reversed) along a constant axis and Trilu (lower,
    k = -1)."""
    return model(
        [node("CumSum", ["x", "axis"], ["c"], exclusive=1, reverse=1),
         node("Trilu", ["c", "k"], ["y"], upper=0)],
        [value("x", [3, 4])], [value("y", [3, 4])],
        [const("axis", np.array(1, np.int64)), const("k", np.array(-1, np.int64))])


def gelu_softplus():
    """Gelu (opset 20, tanh approximation), Softplus, Sin."""
    return model(
        [node("Gelu", ["x"], ["g"], approximate="tanh"),
         node("Softplus", ["g"], ["s"]),
         node("Sin", ["s"], ["y"])],
        [value("x", [2, 5])], [value("y", [2, 5])], opset=20)


def pool_pad():
    """MaxPool (pads, strides, ceil_mode), AveragePool without the padding in
    the count, reflect Pad, PRelu and Tile."""
    return model(
        [node("MaxPool", ["x"], ["m"], kernel_shape=[3, 3], strides=[2, 2],
              pads=[1, 1, 1, 1], ceil_mode=1),
         node("AveragePool", ["x"], ["a"], kernel_shape=[2, 2], pads=[1, 1, 0, 0],
              count_include_pad=0),
         node("Pad", ["x", "pads"], ["p"], mode="reflect"),
         node("PRelu", ["p", "slope"], ["r"]),
         node("Tile", ["r", "reps"], ["t"])],
        [value("x", [1, 2, 5, 5])],
        [value("m", [1, 2, 3, 3]), value("a", [1, 2, 5, 5]),
         value("t", [1, 2, 14, 7])],
        [const("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
         const("slope", np.full((2, 1, 1), 0.25, np.float32)),
         const("reps", np.array([1, 1, 2, 1], np.int64))])


MODELS = {f.__name__: f for f in [
    matmul_const, matmul_inputs, gemm, conv, conv_transpose, elementwise,
    activations, softmax_opset11, softmax_opset13, layer_norm, shape_ops,
    batch_norm, global_avg_pool, global_max_pool, global_max_pool_rank2, conv1d, resize_nearest, constant_identity,
    initializers, dynamic_input, unknown_op, external_data, gather,
    shape_fold, cast_compare, slice_split, slice_dynamic, reductions,
    cumsum_trilu, gelu_softplus, pool_pad,
]}
BAD_FILES = ["truncated", "garbage"]


def write(name: str, out: str) -> None:
    if name == "truncated":
        data = matmul_const().SerializeToString()
        with open(out, "wb") as f:
            f.write(data[: len(data) // 2])
        return
    if name == "garbage":
        with open(out, "wb") as f:
            f.write(rng(42).integers(0, 256, 512, dtype=np.uint8).tobytes())
        return
    m = MODELS[name]()
    if name == "external_data":
        location = "weights.bin"
        directory = os.path.dirname(os.path.abspath(out))
        if os.path.exists(os.path.join(directory, location)):
            os.remove(os.path.join(directory, location))  # onnx would append
        # onnx checks `location` relative to the working directory: save from
        # the output directory.
        cwd = os.getcwd()
        os.chdir(directory)
        try:
            onnx.save(m, os.path.basename(out), save_as_external_data=True,
                      all_tensors_to_one_file=True, location=location,
                      size_threshold=0)
        finally:
            os.chdir(cwd)
        return
    if name not in ("unknown_op", "slice_dynamic"):
        onnx.checker.check_model(m, full_check=True)  # also checks shapes
    onnx.save(m, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", choices=sorted(MODELS) + BAD_FILES)
    parser.add_argument("-o", "--output", help="the .onnx file to write")
    parser.add_argument("--list", action="store_true", help="list the model names")
    args = parser.parse_args(argv)
    if args.list:
        for name in sorted(MODELS) + BAD_FILES:
            doc = (MODELS[name].__doc__ or "").strip().splitlines() if name in MODELS else []
            print(f"{name:20} {doc[0] if doc else 'a deliberately unreadable file'}")
        return 0
    if not args.name or not args.output:
        parser.error("give NAME and -o OUT.onnx (or --list)")
    write(args.name, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
