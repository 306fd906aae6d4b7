#!/usr/bin/env python3
"""Writes the fuzzer's checked-in inputs (issue 18):

  fuzz/corpus/       small valid models, one per op family the importer
                     handles, that the fuzzer mutates (the seed corpus);
  fuzz/regressions/  the malformed models of test/python/hardening_models.py
                     that are a single self-contained file of at most
                     256 KB; scripts/fuzz.sh runs each of them once before
                     fuzzing, and none may crash.

Deterministic: fixed seeds, fixed names, no producer version, so running it
again rewrites the same bytes (git shows no change). Needs onnx and numpy.

    python3 fuzz/make_corpus.py            # rewrite both folders
    python3 fuzz/make_corpus.py --check    # exit 1 if a file would change
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np
from onnx import ModelProto, TensorProto, helper, numpy_helper

FUZZ_DIR = Path(__file__).resolve().parent
REPO_ROOT = FUZZ_DIR.parent
CORPUS_DIR = FUZZ_DIR / "corpus"
REGRESSIONS_DIR = FUZZ_DIR / "regressions"
HARDENING_MODELS = REPO_ROOT / "test" / "python" / "hardening_models.py"

OPSET = 17
IR_VERSION = 8
F = TensorProto.FLOAT
# A regression larger than this stays out of fuzz/regressions/: it would be
# most of the checked-in bytes, and a libFuzzer -max_len that admits it would
# let every mutation grow that large. This skips initializer_rank_1m (~2 MB)
# and input_rank_100k (~400 KB); test_hardening.py still runs them. The
# external-data reproducers (external_offset_overflow, external_symlink,
# external_symlinked_folder) are skipped too: they are more than one file
# (two create symlinks into /etc), and importOnnxBytes reads no external data.
MAX_REGRESSION_BYTES = 256 * 1024


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _value(name: str, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def _const(name: str, array) -> TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def _randn(seed: int, *shape) -> np.ndarray:
    return _rng(seed).standard_normal(shape).astype(np.float32)


def _model(name: str, nodes, inputs, outputs, initializers=(), opset: int = OPSET) -> ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="lowbit-fuzz-corpus")
    model.ir_version = IR_VERSION
    return model


def matmul_add() -> ModelProto:
    return _model("matmul_add",
                  [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "b"], ["y"])],
                  [_value("x", [2, 8])], [_value("y", [2, 4])],
                  [_const("w", _randn(1, 8, 4)), _const("b", _randn(2, 4))])


def matmul_batched() -> ModelProto:
    return _model("matmul_batched", [helper.make_node("MatMul", ["a", "b"], ["y"])],
                  [_value("a", [2, 3, 4]), _value("b", [2, 4, 5])], [_value("y", [2, 3, 5])])


def gemm() -> ModelProto:
    node = helper.make_node("Gemm", ["x", "w", "c"], ["y"], alpha=0.5, beta=2.0, transB=1)
    return _model("gemm", [node], [_value("x", [3, 6])], [_value("y", [3, 4])],
                  [_const("w", _randn(3, 4, 6)), _const("c", _randn(4, 4))])


def conv() -> ModelProto:
    node = helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2])
    return _model("conv", [node, helper.make_node("Relu", ["c"], ["y"])],
                  [_value("x", [1, 3, 8, 8])], [_value("y", [1, 4, 4, 4])],
                  [_const("w", _randn(5, 4, 3, 3, 3)), _const("b", _randn(6, 4))])


def conv_depthwise_dilated() -> ModelProto:
    node = helper.make_node("Conv", ["x", "w"], ["y"], group=4, dilations=[2, 2], pads=[2, 2, 2, 2])
    return _model("conv_depthwise_dilated", [node], [_value("x", [1, 4, 6, 6])], [_value("y", [1, 4, 6, 6])],
                  [_const("w", _randn(7, 4, 1, 3, 3))])


def conv1d() -> ModelProto:
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3], auto_pad="SAME_UPPER")
    return _model("conv1d", [node], [_value("x", [1, 2, 10])], [_value("y", [1, 3, 10])],
                  [_const("w", _randn(8, 3, 2, 3))])


def max_pool() -> ModelProto:
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
    return _model("max_pool", [node], [_value("x", [1, 2, 6, 6])], [_value("y", [1, 2, 3, 3])])


def average_pool_global() -> ModelProto:
    nodes = [
        helper.make_node("AveragePool", ["x"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         count_include_pad=0),
        helper.make_node("GlobalAveragePool", ["a"], ["y"]),
    ]
    return _model("average_pool_global", nodes, [_value("x", [1, 2, 5, 5])], [_value("y", [1, 2, 1, 1])])


def resize_nearest_scales() -> ModelProto:
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest",
                            coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    return _model("resize_nearest_scales", [node], [_value("x", [1, 2, 3, 3])], [_value("y", [1, 2, 6, 6])],
                  [_const("scales", np.array([1, 1, 2, 2], np.float32))])


def resize_linear_sizes() -> ModelProto:
    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear",
                            coordinate_transformation_mode="half_pixel")
    return _model("resize_linear_sizes", [node], [_value("x", [1, 1, 4, 4])], [_value("y", [1, 1, 7, 5])],
                  [_const("sizes", np.array([1, 1, 7, 5], np.int64))])


def reshape_transpose() -> ModelProto:
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"]),
        helper.make_node("Transpose", ["r"], ["y"], perm=[0, 2, 1]),
    ]
    return _model("reshape_transpose", nodes, [_value("x", [2, 12])], [_value("y", [2, 4, 3])],
                  [_const("shape", np.array([2, 3, -1], np.int64))])


def concat_slice() -> ModelProto:
    nodes = [
        helper.make_node("Concat", ["a", "b"], ["c"], axis=1),
        helper.make_node("Slice", ["c", "starts", "ends", "axes", "steps"], ["y"]),
    ]
    return _model("concat_slice", nodes, [_value("a", [2, 3]), _value("b", [2, 5])], [_value("y", [2, 3])],
                  [_const("starts", np.array([1], np.int64)), _const("ends", np.array([-1], np.int64)),
                   _const("axes", np.array([1], np.int64)), _const("steps", np.array([2], np.int64))])


def gather_embedding() -> ModelProto:
    node = helper.make_node("Gather", ["table", "ids"], ["y"], axis=0)
    return _model("gather_embedding", [node], [_value("ids", [2, 3], TensorProto.INT64)], [_value("y", [2, 3, 4])],
                  [_const("table", _randn(9, 10, 4))])


def split_squeeze_unsqueeze() -> ModelProto:
    nodes = [
        helper.make_node("Split", ["x", "split"], ["a", "b"], axis=1),
        helper.make_node("Unsqueeze", ["a", "axes0"], ["u"]),
        helper.make_node("Squeeze", ["u", "axes0"], ["s"]),
        helper.make_node("Mul", ["s", "b"], ["y"]),
    ]
    return _model("split_squeeze_unsqueeze", nodes, [_value("x", [2, 6])], [_value("y", [2, 3])],
                  [_const("split", np.array([3, 3], np.int64)), _const("axes0", np.array([0], np.int64))])


def elementwise_mix() -> ModelProto:
    nodes = [
        helper.make_node("Sigmoid", ["x"], ["s"]),
        helper.make_node("Tanh", ["x"], ["t"]),
        helper.make_node("Greater", ["s", "half"], ["g"]),
        helper.make_node("Where", ["g", "s", "t"], ["w"]),
        helper.make_node("Cast", ["w"], ["c"], to=TensorProto.FLOAT16),
        helper.make_node("Cast", ["c"], ["y"], to=F),
    ]
    return _model("elementwise_mix", nodes, [_value("x", [3, 4])], [_value("y", [3, 4])],
                  [_const("half", np.array(0.5, np.float32))])


def qdq_matmul() -> ModelProto:
    """QDQ: activations through Quantize/DequantizeLinear, per-channel int8
    weights through DequantizeLinear."""
    w = np.clip(np.round(_randn(11, 8, 4) * 40), -127, 127).astype(np.int8)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
        helper.make_node("DequantizeLinear", ["wq", "ws"], ["wd"], axis=1),
        helper.make_node("MatMul", ["xd", "wd"], ["y"]),
    ]
    return _model("qdq_matmul", nodes, [_value("x", [2, 8])], [_value("y", [2, 4])],
                  [_const("xs", np.array(0.05, np.float32)), _const("xz", np.array(128, np.uint8)),
                   _const("wq", w), _const("ws", np.array([0.01, 0.02, 0.015, 0.03], np.float32))])


def qdq_conv() -> ModelProto:
    w = np.clip(np.round(_randn(12, 2, 2, 3, 3) * 40), -127, 127).astype(np.int8)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], axis=0),
        helper.make_node("Conv", ["xd", "wd"], ["y"], pads=[1, 1, 1, 1]),
    ]
    return _model("qdq_conv", nodes, [_value("x", [1, 2, 4, 4])], [_value("y", [1, 2, 4, 4])],
                  [_const("xs", np.array(0.05, np.float32)), _const("xz", np.array(0, np.int8)),
                   _const("wq", w), _const("ws", np.array([0.01, 0.02], np.float32)),
                   _const("wz", np.zeros(2, np.int8))])


def matmul_integer() -> ModelProto:
    w = (_rng(13).integers(-100, 100, (6, 3))).astype(np.int8)
    nodes = [
        helper.make_node("MatMulInteger", ["a", "w", "az", "wz"], ["i"]),
        helper.make_node("Cast", ["i"], ["y"], to=F),
    ]
    return _model("matmul_integer", nodes, [_value("a", [2, 6], TensorProto.UINT8)], [_value("y", [2, 3])],
                  [_const("w", w), _const("az", np.array(128, np.uint8)), _const("wz", np.array(0, np.int8))])


def dynamic_quantize_matmul_integer() -> ModelProto:
    """The shape of onnxruntime's quantize_dynamic output."""
    w = (_rng(14).integers(-100, 100, (4, 3))).astype(np.int8)
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("MatMulInteger", ["xq", "w", "xz"], ["i"]),
        helper.make_node("Cast", ["i"], ["c"], to=F),
        helper.make_node("Mul", ["xs", "ws"], ["s"]),
        helper.make_node("Mul", ["c", "s"], ["y"]),
    ]
    return _model("dynamic_quantize_matmul_integer", nodes, [_value("x", [2, 4])], [_value("y", [2, 3])],
                  [_const("w", w), _const("ws", np.array(0.02, np.float32))])


def layer_norm() -> ModelProto:
    node = helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1, epsilon=1e-5)
    return _model("layer_norm", [node], [_value("x", [2, 3, 8])], [_value("y", [2, 3, 8])],
                  [_const("g", _randn(15, 8)), _const("b", _randn(16, 8))])


def softmax() -> ModelProto:
    return _model("softmax", [helper.make_node("Softmax", ["x"], ["y"], axis=-1)],
                  [_value("x", [2, 5])], [_value("y", [2, 5])])


def gelu_mlp() -> ModelProto:
    """x @ W1, the erf form of GELU, @ W2: a transformer feed-forward block."""
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"]),
        helper.make_node("Div", ["h", "sqrt2"], ["hd"]),
        helper.make_node("Erf", ["hd"], ["e"]),
        helper.make_node("Add", ["e", "one"], ["e1"]),
        helper.make_node("Mul", ["h", "e1"], ["he"]),
        helper.make_node("Mul", ["he", "half"], ["g"]),
        helper.make_node("MatMul", ["g", "w2"], ["y"]),
    ]
    return _model("gelu_mlp", nodes, [_value("x", [1, 3, 4])], [_value("y", [1, 3, 4])],
                  [_const("w1", _randn(17, 4, 8)), _const("w2", _randn(18, 8, 4)),
                   _const("sqrt2", np.array(np.sqrt(2), np.float32)), _const("one", np.array(1, np.float32)),
                   _const("half", np.array(0.5, np.float32))])


def attention() -> ModelProto:
    """One tiny self-attention block: sequence 3, hidden 4, 2 heads of 2."""
    seq, hidden, heads = 3, 4, 2
    head = hidden // heads
    nodes = []
    inits = [
        _const("heads_shape", np.array([1, seq, heads, head], np.int64)),
        _const("merge_shape", np.array([1, seq, hidden], np.int64)),
        _const("scale", np.array(1 / np.sqrt(head), np.float32)),
    ]
    for i, proj in enumerate("qkv"):
        inits.append(_const(f"w{proj}", _randn(20 + i, hidden, hidden)))
        nodes += [
            helper.make_node("MatMul", ["x", f"w{proj}"], [f"{proj}0"]),
            helper.make_node("Reshape", [f"{proj}0", "heads_shape"], [f"{proj}1"]),
            helper.make_node("Transpose", [f"{proj}1"], [proj], perm=[0, 2, 3, 1] if proj == "k" else [0, 2, 1, 3]),
        ]
    inits.append(_const("wo", _randn(23, hidden, hidden)))
    nodes += [
        helper.make_node("MatMul", ["q", "k"], ["scores"]),
        helper.make_node("Mul", ["scores", "scale"], ["scaled"]),
        helper.make_node("Softmax", ["scaled"], ["probs"], axis=-1),
        helper.make_node("MatMul", ["probs", "v"], ["ctx"]),
        helper.make_node("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["ctx_t", "merge_shape"], ["merged"]),
        helper.make_node("MatMul", ["merged", "wo"], ["o"]),
        helper.make_node("Add", ["o", "x"], ["y"]),
    ]
    return _model("attention", nodes, [_value("x", [1, seq, hidden])], [_value("y", [1, seq, hidden])], inits)


def shape_computed_reshape() -> ModelProto:
    """A Reshape target computed from the input's Shape (Gather, Unsqueeze,
    Concat), as exporters write for a batch dimension."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
    ]
    return _model("shape_computed_reshape", nodes, [_value("x", [2, 2, 3])], [_value("y", [2, 6])],
                  [_const("zero", np.array(0, np.int64)), _const("axes0", np.array([0], np.int64)),
                   _const("minus1", np.array([-1], np.int64))])


SEEDS = [
    matmul_add, matmul_batched, gemm, conv, conv_depthwise_dilated, conv1d, max_pool, average_pool_global,
    resize_nearest_scales, resize_linear_sizes, reshape_transpose, concat_slice, gather_embedding,
    split_squeeze_unsqueeze, elementwise_mix, qdq_matmul, qdq_conv, matmul_integer,
    dynamic_quantize_matmul_integer, layer_norm, softmax, gelu_mlp, attention, shape_computed_reshape,
]


def corpus_files() -> dict[str, bytes]:
    return {f"{build.__name__}.onnx": build().SerializeToString() for build in SEEDS}


def _load_hardening_models():
    # test/python is not a package; load the module from its path.
    spec = importlib.util.spec_from_file_location("lowbit_hardening_models", HARDENING_MODELS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _has_external_data(data: bytes) -> bool:
    model = ModelProto()
    model.ParseFromString(data)
    return any(t.data_location == TensorProto.EXTERNAL for t in model.graph.initializer)


def regression_files() -> tuple[dict[str, bytes], list[str]]:
    """(file name -> bytes, skip messages). Each reproducer writes into its
    own scratch folder; only a lone regular model file without external data
    is kept (never the symlinks or data files some of them create)."""
    module = _load_hardening_models()
    files: dict[str, bytes] = {}
    skipped: list[str] = []
    for build in module.REPRODUCERS:
        name = build.__name__
        with tempfile.TemporaryDirectory(prefix="lowbit-fuzz-regression-") as scratch:
            path = Path(build(Path(scratch)))
            others = [p.name for p in Path(scratch).iterdir() if p.name != path.name]
            if path.is_symlink() or not path.is_file() or others:
                skipped.append(f"{name}: not a single self-contained file (also writes {', '.join(others)})")
                continue
            data = path.read_bytes()
        if _has_external_data(data):
            skipped.append(f"{name}: uses external data, which importOnnxBytes does not read")
        elif len(data) > MAX_REGRESSION_BYTES:
            skipped.append(f"{name}: {len(data)} bytes, over the {MAX_REGRESSION_BYTES} byte limit")
        else:
            files[f"{name}.onnx"] = data
    return files, skipped


def sync(folder: Path, files: dict[str, bytes], check: bool) -> list[str]:
    """Writes `files` into `folder` and removes other .onnx files there;
    returns what differed."""
    changes = []
    folder.mkdir(parents=True, exist_ok=True)
    for stale in sorted(p for p in folder.glob("*.onnx") if p.name not in files):
        changes.append(f"remove {stale.relative_to(REPO_ROOT)}")
        if not check:
            stale.unlink()
    for name, data in sorted(files.items()):
        path = folder / name
        if not path.is_file() or path.read_bytes() != data:
            changes.append(f"write {path.relative_to(REPO_ROOT)} ({len(data)} bytes)")
            if not check:
                path.write_bytes(data)
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")
    args = parser.parse_args(argv)

    corpus = corpus_files()
    regressions, skipped = regression_files()
    changes = sync(CORPUS_DIR, corpus, args.check) + sync(REGRESSIONS_DIR, regressions, args.check)
    for line in changes:
        print(f"make_corpus.py: {'would ' if args.check else ''}{line}")
    for line in skipped:
        print(f"make_corpus.py: regression skipped: {line}")
    total = sum(map(len, corpus.values())) + sum(map(len, regressions.values()))
    print(f"make_corpus.py: {len(corpus)} seed models, {len(regressions)} regressions, {total} bytes in all")
    return 1 if args.check and changes else 0


if __name__ == "__main__":
    sys.exit(main())
