"""Builds small ONNX models at the opsets above 25 (onnx 1.23 defines up to
28) for test/Import/opset-26-28.test.

    make_opset_onnx.py NAME -o OUT.onnx
    make_opset_onnx.py --list

Names starting with `bad_` use an opset or an op version lowbit rejects.
"""

from __future__ import annotations

import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import model_cli

IR_VERSION = 10


def value(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def model(nodes, inputs, outputs, inits, opset):
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = IR_VERSION
    return m


def _add(opset):
    nodes = [helper.make_node("Add", ["x", "one"], ["y"], name="add")]
    return model(nodes, [value("x", [4])], [value("y", [4])],
                 [const("one", np.float32(1))], opset)


def add_opset26():
    """y = x + 1 at opset 26."""
    return _add(26)


def qdq_uint8_opset28():
    """QuantizeLinear to uint8 (scale 0.5, zero point 10) as a graph output,
    and its DequantizeLinear, at opset 28."""
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="q"),
             helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"], name="dq")]
    return model(nodes, [value("x", [6])],
                 [value("q", [6], TensorProto.UINT8), value("y", [6])],
                 [const("s", np.float32(0.5)), const("zp", np.uint8(10))], 28)


def _range_f16(**attrs):
    nodes = [helper.make_node("Range", ["start", "limit", "delta"], ["r"],
                              name="range", **attrs),
             helper.make_node("Add", ["x", "r"], ["y"], name="add")]
    inits = [const("start", np.float16(1)), const("limit", np.float16(4)),
             const("delta", np.float16(0.5))]
    return model(nodes, [value("x", [6], TensorProto.FLOAT16)],
                 [value("y", [6], TensorProto.FLOAT16)], inits, 27)


def range_f16_opset27():
    """Range of float16 at opset 27 (stash_type defaults to FLOAT)."""
    return _range_f16()


def bad_range_f16_stash_f16():
    """Range of float16 at opset 27 accumulating in float16 (stash_type 10),
    which lowbit does not implement."""
    return _range_f16(stash_type=TensorProto.FLOAT16)


def bad_cast_float6():
    """Cast to FLOAT6E2M3, a type opset 28 added."""
    nodes = [helper.make_node("Cast", ["x"], ["y"], name="cast",
                              to=TensorProto.FLOAT6E2M3)]
    return model(nodes, [value("x", [4])],
                 [value("y", [4], TensorProto.FLOAT6E2M3)], [], 28)


def bad_opset99():
    """y = x + 1 at opset 99, which does not exist."""
    return _add(99)


MODELS = {f.__name__: f for f in [
    add_opset26, qdq_uint8_opset28, range_f16_opset27, bad_range_f16_stash_f16,
    bad_cast_float6, bad_opset99]}


def main(argv=None) -> int:
    return model_cli.run(MODELS, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
