"""Minimal ONNX models that crashed or hung lowbit (issue 18), one function
per cause. Each writes its model (and any side files) under a folder and
returns the model's path. test_hardening.py runs the tools on them; the
fuzzer's regression corpus (fuzz/) is generated from the same functions.

The models are built with onnx's helpers but never checked: most are invalid
on purpose.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def _save(folder: Path, name: str, graph, opset: int = 17) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = Path(folder) / f"{name}.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def _x(shape=(2, 3), name="x", dtype=F):
    return helper.make_tensor_value_info(name, dtype, list(shape))


def _y(shape=None, name="y", dtype=F):
    return helper.make_tensor_value_info(name, dtype, None if shape is None else list(shape))


def duplicate_output(folder: Path) -> Path:
    """The same graph output listed twice."""
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [_x()], [_y((2, 3)), _y((2, 3))])
    return _save(folder, "duplicate_output", g)


def duplicate_input(folder: Path) -> Path:
    """The same graph input listed twice."""
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [_x(), _x()], [_y((2, 3))])
    return _save(folder, "duplicate_input", g)


def constant_without_output(folder: Path) -> Path:
    """A Constant node with no outputs."""
    const = helper.make_node("Constant", [], [], value=numpy_helper.from_array(np.ones(3, np.float32)))
    g = helper.make_graph([const, helper.make_node("Relu", ["x"], ["y"])], "g", [_x()], [_y((2, 3))])
    return _save(folder, "constant_without_output", g)


def initializer_rank_1m(folder: Path) -> Path:
    """An initializer of rank 1,000,000 (one element)."""
    t = TensorProto(name="w", data_type=F)
    t.dims.extend([1] * 1_000_000)
    t.raw_data = np.ones(1, np.float32).tobytes()
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [_x()], [_y((2, 3))], [t])
    return _save(folder, "initializer_rank_1m", g)


def input_rank_100k(folder: Path) -> Path:
    """A graph input of rank 100,000."""
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [_x([1] * 100_000)], [_y()])
    return _save(folder, "input_rank_100k", g)


def reshape_2_62(folder: Path) -> Path:
    """A Reshape whose shape tensor claims 2^62 elements."""
    s = numpy_helper.from_array(np.array([2**31, 2**31], np.int64), "s")
    g = helper.make_graph([helper.make_node("Reshape", ["x", "s"], ["y"])], "g", [_x()], [_y()], [s])
    return _save(folder, "reshape_2_62", g)


def matmul_weight_wraps(folder: Path) -> Path:
    """A MatMul weight [8, 2^61] with no data: its byte size wraps to 0."""
    w = TensorProto(name="w", data_type=F)
    w.dims.extend([8, 2**61])
    w.raw_data = b""
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [_x((2, 8))], [_y()], [w])
    return _save(folder, "matmul_weight_wraps", g)


def _conv_graph(name: str, folder: Path, **attrs) -> Path:
    w = numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "w")
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], **attrs), helper.make_node("GlobalAveragePool", ["c"], ["y"])],
        "g", [_x((1, 1, 8, 8))], [_y()], [w])
    return _save(folder, name, g)


def conv_zero_stride(folder: Path) -> Path:
    """Conv with a zero stride (SIGFPE in the importer)."""
    return _conv_graph("conv_zero_stride", folder, strides=[0, 0])


def conv_pad_2_32(folder: Path) -> Path:
    """Conv with pads of 2^32 before a GlobalAveragePool: a huge
    intermediate behind a small output."""
    return _conv_graph("conv_pad_2_32", folder, pads=[2**32] * 4)


def conv_pad_2_62(folder: Path) -> Path:
    """Conv with pads of 2^62 (the padded size overflows int64)."""
    return _conv_graph("conv_pad_2_62", folder, pads=[2**62] * 4)


def relu_on_int8(folder: Path) -> Path:
    """A float-only op (Relu) on the int8 output of QuantizeLinear."""
    sc = numpy_helper.from_array(np.array(0.1, np.float32), "sc")
    zp = numpy_helper.from_array(np.array(0, np.int8), "zp")
    g = helper.make_graph(
        [helper.make_node("QuantizeLinear", ["x", "sc", "zp"], ["q"]), helper.make_node("Relu", ["q"], ["y"])],
        "g", [_x()], [_y(dtype=TensorProto.INT8)], [sc, zp])
    return _save(folder, "relu_on_int8", g)


def _external_weight(location: str, offset: int | None = None, length: int | None = None,
                     dtype=F, dims=(2, 3)) -> TensorProto:
    w = TensorProto(name="w", data_type=dtype)
    w.dims.extend(dims)
    w.data_location = TensorProto.EXTERNAL
    entries = [("location", location)]
    if offset is not None:
        entries.append(("offset", str(offset)))
    if length is not None:
        entries.append(("length", str(length)))
    for key, value in entries:
        e = w.external_data.add()
        e.key, e.value = key, value
    return w


def external_offset_overflow(folder: Path) -> Path:
    """external_data with offset 2^63-1: offset + length overflows."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.bin").write_bytes(np.ones(6, np.float32).tobytes())
    w = _external_weight("data.bin", offset=2**63 - 1, length=24)
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [_x()], [_y((2, 3))], [w])
    return _save(folder, "external_offset_overflow", g)


def external_symlink(folder: Path, target: str = "/etc/hostname") -> Path:
    """external_data through a symlink in the model's folder that points
    outside it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "data.bin"
    if not os.path.lexists(link):
        os.symlink(target, link)
    w = _external_weight("data.bin", dtype=TensorProto.UINT8, dims=(4,))
    x = _x((4,), dtype=TensorProto.UINT8)
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x],
                          [_y((4,), dtype=TensorProto.UINT8)], [w])
    return _save(folder, "external_symlink", g)


def external_symlinked_folder(folder: Path, target: str = "/etc") -> Path:
    """external_data in a symlinked folder that points outside the model's."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "weights"
    if not os.path.lexists(link):
        os.symlink(target, link)
    w = _external_weight("weights/hostname", dtype=TensorProto.UINT8, dims=(4,))
    x = _x((4,), dtype=TensorProto.UINT8)
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x],
                          [_y((4,), dtype=TensorProto.UINT8)], [w])
    return _save(folder, "external_symlinked_folder", g)


# Every reproducer that needs no inputs to fail, with the words its error
# must contain (the node, flag or file it names).
REPRODUCERS = {
    duplicate_output: "'y'",
    duplicate_input: "'x'",
    constant_without_output: "Constant",
    initializer_rank_1m: "'w'",
    input_rank_100k: "'x'",
    reshape_2_62: "Reshape",
    matmul_weight_wraps: "'w'",
    conv_zero_stride: "Conv",
    conv_pad_2_32: "Conv",
    conv_pad_2_62: "Conv",
    relu_on_int8: "Relu",
    external_offset_overflow: "'w'",
    external_symlink: "data.bin",
    external_symlinked_folder: "hostname",
}


def resize_huge_sizes(folder: Path) -> Path:
    """Resize whose `sizes` input asks for 2^59 rows (found by the fuzzer:
    the linear converter allocated its tables before any size check)."""
    sizes = numpy_helper.from_array(np.array([1, 1, 2**59, 4], np.int64), "sizes")
    g = helper.make_graph([helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear")],
                          "g", [_x((1, 1, 4, 4))], [_y()], [sizes])
    return _save(folder, "resize_huge_sizes", g)


def reshape_product_overflows(folder: Path) -> Path:
    """Reshape whose shape's product overflows int64 (found by the fuzzer:
    signed overflow in the element count)."""
    s = numpy_helper.from_array(np.array([2**31, 1097229926400], np.int64), "s")
    g = helper.make_graph([helper.make_node("Reshape", ["x", "s"], ["y"])], "g", [_x()], [_y()], [s])
    return _save(folder, "reshape_product_overflows", g)


REPRODUCERS[resize_huge_sizes] = "Resize"
REPRODUCERS[reshape_product_overflows] = "Reshape"


def split_scalar(folder: Path) -> Path:
    """Split of a rank-0 input (found by the fuzzer campaign: axis 0 was
    accepted for rank 0 and the converter read past the empty shape)."""
    split = numpy_helper.from_array(np.array([1, 1], np.int64), "split")
    g = helper.make_graph([helper.make_node("Split", ["x", "split"], ["a", "b"], name="split")],
                          "g", [_x(())], [_y(name="a"), _y(name="b")], [split])
    return _save(folder, "split_scalar", g)


REPRODUCERS[split_scalar] = "Split"
