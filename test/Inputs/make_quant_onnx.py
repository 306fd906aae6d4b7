"""Builds small ONNX models with ONNX's own quantized ops for the lit tests
(test/Import/quantize-linear.test, matmul-nbits.test) and the pytest
test/python/test_onnx_quantized_ops.py.

    make_quant_onnx.py NAME -o OUT.onnx
    make_quant_onnx.py --list

Every model is deterministic (fixed seeds), opset 21, IR version 10. Names
starting with `bad_` are deliberately malformed or unsupported.
"""

from __future__ import annotations

import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import model_cli

OPSET = 21
IR_VERSION = 10


def value(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def model(nodes, inputs, outputs, inits, ms_domain=False):
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    opsets = [helper.make_opsetid("", OPSET)]
    if ms_domain:
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    m = helper.make_model(graph, opset_imports=opsets)
    m.ir_version = IR_VERSION
    return m


def qdq_per_tensor():
    """x -> QuantizeLinear(uint8, zp 128) -> DequantizeLinear -> y."""
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="q"),
        helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"], name="dq"),
    ]
    inits = [const("s", np.float32(0.05)), const("zp", np.uint8(128))]
    return model(nodes, [value("x", [2, 8])], [value("y", [2, 8])], inits)


def qdq_per_axis():
    """int8 per-axis (axis 1) quantize, then dequantize."""
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="q",
                         axis=1),
        helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"],
                         name="dq", axis=1),
    ]
    inits = [const("s", np.array([0.01, 0.02, 0.04], np.float32)),
             const("zp", np.array([-3, 0, 5], np.int8))]
    return model(nodes, [value("x", [2, 3, 4])], [value("y", [2, 3, 4])],
                 inits)


def qdq_linear():
    """QDQ linear layer: uint8 activation, int8 per-channel constant weight
    (DequantizeLinear axis 1 of a [K, N] initializer) into MatMul."""
    r = np.random.default_rng(3)
    w = r.integers(-127, 128, size=(16, 4), dtype=np.int8)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="qx"),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"],
                         name="dqx"),
        helper.make_node("DequantizeLinear", ["w", "ws"], ["wd"], name="dqw",
                         axis=1),
        helper.make_node("MatMul", ["xd", "wd"], ["y"], name="mm"),
    ]
    inits = [const("xs", np.float32(0.02)), const("xz", np.uint8(120)),
             const("w", w),
             const("ws", np.array([0.01, 0.02, 0.03, 0.04], np.float32))]
    return model(nodes, [value("x", [3, 16])], [value("y", [3, 4])], inits)


def dq_uint8_const():
    """DequantizeLinear of a uint8 initializer (per-tensor) plus an input."""
    data = np.arange(0, 240, 10, dtype=np.uint8).reshape(2, 12)
    nodes = [
        helper.make_node("DequantizeLinear", ["c", "s", "zp"], ["d"], name="dq"),
        helper.make_node("Add", ["x", "d"], ["y"], name="add"),
    ]
    inits = [const("c", data), const("s", np.float32(0.5)),
             const("zp", np.uint8(100))]
    return model(nodes, [value("x", [2, 12])], [value("y", [2, 12])], inits)


def q_int8_output():
    """QuantizeLinear to int8 as a graph output (saturates at -128/127)."""
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["y"],
                              name="q")]
    inits = [const("s", np.float32(0.1)), const("zp", np.int8(1))]
    return model(nodes, [value("x", [8])], [value("y", [8], TensorProto.INT8)],
                 inits)


def dynamic_zero_point():
    """The zero point is a graph input."""
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"],
                              name="q_dyn"),
             helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"],
                              name="dq")]
    return model(nodes, [value("x", [4]), value("zp", [], TensorProto.INT8)],
                 [value("y", [4])], [const("s", np.float32(0.1))])


def q_int16_output():
    """QuantizeLinear to int16 (output_dtype 5) as a graph output."""
    nodes = [helper.make_node("QuantizeLinear", ["x", "s"], ["y"],
                              name="q_int16", output_dtype=5)]
    return model(nodes, [value("x", [4])], [value("y", [4], TensorProto.INT16)],
                 [const("s", np.float32(0.1))])


def bad_scale_shape():
    """A per-axis scale whose length does not match the axis."""
    nodes = [helper.make_node("QuantizeLinear", ["x", "s"], ["q"],
                              name="q_axis", axis=0),
             helper.make_node("DequantizeLinear", ["q", "s"], ["y"],
                              name="dq", axis=0)]
    return model(nodes, [value("x", [4, 2])], [value("y", [4, 2])],
                 [const("s", np.array([0.1, 0.2, 0.3], np.float32))])


def _nbits(k=64, n=8, bits=4, block=32, zero_points=True, bias=True,
           b_shape=None, seed=5, m=3):
    r = np.random.default_rng(seed)
    n_blocks = (k + block - 1) // block
    blob = block * bits // 8
    b = r.integers(0, 256, size=b_shape or (n, n_blocks, blob), dtype=np.uint8)
    scales = r.uniform(0.01, 0.1, size=n * n_blocks).astype(np.float32)
    inputs = ["a", "b", "scales"]
    inits = [const("b", b), const("scales", scales)]
    if zero_points:
        zp_row = (n_blocks * bits + 7) // 8
        inits.append(const("zp", r.integers(0, 256, size=n * zp_row,
                                            dtype=np.uint8)))
        inputs.append("zp")
    if bias:
        inputs += ["", "bias"] if zero_points else ["", "", "bias"]
        inits.append(const("bias", r.normal(size=n).astype(np.float32)))
    node = helper.make_node("MatMulNBits", inputs, ["y"], name="mmnb",
                            domain="com.microsoft", K=k, N=n, bits=bits,
                            block_size=block)
    return model([node], [value("a", [m, k])], [value("y", [m, n])], inits,
                 ms_domain=True)


def matmul_nbits():
    """4-bit, block 32, packed zero points and a bias."""
    return _nbits()


def matmul_nbits_nozp():
    """4-bit, block 16, no zero points (default 8), no bias."""
    return _nbits(block=16, zero_points=False, bias=False)


def matmul_nbits_8bit():
    """8-bit, block 32, zero points."""
    return _nbits(bits=8, bias=False)


def matmul_nbits_2bit():
    """2-bit, block 16, zero points, three blocks per row."""
    return _nbits(k=48, bits=2, block=16, bias=False)


def bad_nbits_bits():
    """bits=3 is not a MatMulNBits width."""
    return _with_attr(_nbits(zero_points=False, bias=False), "bits", 3)


def bad_nbits_block():
    """B is packed for block 32 but block_size says 16."""
    return _with_attr(_nbits(zero_points=False, bias=False), "block_size", 16)


def _with_attr(m, name, val):
    node = m.graph.node[0]
    for a in node.attribute:
        if a.name == name:
            a.i = val
    return m


def _resize(ctm, scales=None, sizes=None, shape=(1, 2, 3, 4), out=None,
            **attrs):
    inputs = ["x", "", "scales" if scales is not None else ""]
    inits = []
    if scales is not None:
        inits.append(const("scales", np.array(scales, np.float32)))
    if sizes is not None:
        inputs.append("sizes")
        inits.append(const("sizes", np.array(sizes, np.int64)))
    node = helper.make_node("Resize", inputs, ["y"], name="rs", mode="linear",
                            coordinate_transformation_mode=ctm, **attrs)
    return model([node], [value("x", list(shape))], [value("y", out)], inits)


def resize_linear_half_pixel():
    """Upsample x2 on H and W, half_pixel (the default)."""
    return _resize("half_pixel", scales=[1, 1, 2, 2], out=[1, 2, 6, 8])


def resize_linear_align_corners():
    """sizes [1, 2, 5, 7], align_corners."""
    return _resize("align_corners", sizes=[1, 2, 5, 7], out=[1, 2, 5, 7])


def resize_linear_asymmetric():
    """Scales 1.5 / 0.5 (down on W), asymmetric."""
    return _resize("asymmetric", scales=[1, 1, 1.5, 0.5], out=[1, 2, 4, 2])


def resize_linear_pytorch_half_pixel():
    """sizes [1, 2, 1, 3]: an output dim of 1 reads coordinate 0."""
    return _resize("pytorch_half_pixel", sizes=[1, 2, 1, 3], out=[1, 2, 1, 3])


def bad_resize_linear_tf_crop():
    """tf_crop_and_resize is not supported for linear."""
    return _resize("tf_crop_and_resize", scales=[1, 1, 2, 2],
                   out=[1, 2, 6, 8])


def _mmi(a_shape, a_type, b, azp=None, bzp=None, name="mmi",
         zp_input=False):
    inputs = ["a", "b"]
    inits = [const("b", b)]
    graph_inputs = [value("a", list(a_shape), a_type)]
    if azp is not None or bzp is not None or zp_input:
        inputs.append("azp" if azp is not None or zp_input else "")
        if zp_input:
            graph_inputs.append(value("azp", [], a_type))
        elif azp is not None:
            inits.append(const("azp", azp))
    if bzp is not None:
        inputs.append("bzp")
        inits.append(const("bzp", bzp))
    out = list(a_shape[:-1]) + [b.shape[1]]
    node = helper.make_node("MatMulInteger", inputs, ["y"], name=name)
    return model([node], graph_inputs, [value("y", out, TensorProto.INT32)],
                 inits)


def matmul_integer():
    """int8 A [3, 16] (zero point -2) x uint8 B [16, 4] (zero point per
    column)."""
    r = np.random.default_rng(11)
    b = r.integers(0, 256, size=(16, 4), dtype=np.uint8)
    return _mmi([3, 16], TensorProto.INT8, b, azp=np.int8(-2),
                bzp=np.array([0, 128, 255, 7], np.uint8))


def matmul_integer_s8s8():
    """int8 A [2, 3, 16] x int8 B [16, 5], no zero points."""
    r = np.random.default_rng(12)
    b = r.integers(-128, 128, size=(16, 5), dtype=np.int8)
    return _mmi([2, 3, 16], TensorProto.INT8, b)


def matmul_integer_dynamic_zp():
    """a_zero_point is a graph input."""
    b = np.ones((16, 4), np.int8)
    return _mmi([3, 16], TensorProto.INT8, b, zp_input=True, name="mmi_dyn")


def bad_matmul_integer_zp_type():
    """B is int8 but its zero point is uint8."""
    b = np.ones((16, 4), np.int8)
    return _mmi([3, 16], TensorProto.INT8, b, bzp=np.uint8(3),
                name="mmi_zp")


def dq_blocked():
    """Blocked DequantizeLinear of a uint8 [4, 6] initializer, axis 1,
    block_size 4 (two blocks, the last one short), into an Add."""
    r = np.random.default_rng(21)
    data = r.integers(0, 256, size=(4, 6), dtype=np.uint8)
    scale = r.uniform(0.01, 0.1, size=(4, 2)).astype(np.float32)
    zp = r.integers(0, 256, size=(4, 2), dtype=np.uint8)
    nodes = [helper.make_node("DequantizeLinear", ["c", "s", "zp"], ["d"],
                              name="dq_blocked", axis=1, block_size=4),
             helper.make_node("Add", ["x", "d"], ["y"], name="add")]
    return model(nodes, [value("x", [4, 6])], [value("y", [4, 6])],
                 [const("c", data), const("s", scale), const("zp", zp)])


def _dq4(elem, vals, zps):
    c = helper.make_tensor("c", elem, [3, 5], vals)
    z = helper.make_tensor("zp", elem, [3], zps)
    nodes = [helper.make_node("DequantizeLinear", ["c", "s", "zp"], ["d"],
                              name="dq4", axis=0),
             helper.make_node("Add", ["x", "d"], ["y"], name="add")]
    return model(nodes, [value("x", [3, 5])], [value("y", [3, 5])],
                 [c, const("s", np.array([0.5, 0.25, 2.0], np.float32)), z])


def dq_int4():
    """int4 [3, 5] initializer (odd count: the last byte is half used),
    per-axis int4 zero points."""
    vals = [-8, -7, -1, 0, 1, 7, 3, -2, 5, -5, 6, -6, 2, -3, 4]
    return _dq4(TensorProto.INT4, vals, [-1, 0, 7])


def dq_uint4():
    """uint4 [3, 5] initializer, per-axis uint4 zero points."""
    vals = [0, 1, 2, 7, 8, 9, 15, 14, 3, 4, 5, 6, 10, 11, 12]
    return _dq4(TensorProto.UINT4, vals, [8, 0, 15])


def dq_dynamic_scale():
    """int8 data and the scale are graph inputs (zero point constant)."""
    nodes = [helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"],
                              name="dq_dyn", axis=1)]
    return model(nodes, [value("q", [2, 3], TensorProto.INT8),
                         value("s", [3])], [value("y", [2, 3])],
                 [const("zp", np.array([1, -2, 3], np.int8))])


def bad_dq_blocked_shape():
    """A blocked scale whose block count does not fit block_size."""
    data = np.zeros((4, 6), np.int8)
    nodes = [helper.make_node("DequantizeLinear", ["c", "s"], ["y"],
                              name="dq_bad_block", axis=1, block_size=2)]
    return model(nodes, [], [value("y", [4, 6])],
                 [const("c", data), const("s", np.ones((4, 2), np.float32))])


def qdq_blocked():
    """uint8 blocked QuantizeLinear and DequantizeLinear, axis 1, block 4,
    x [2, 6] (the last block is short)."""
    r = np.random.default_rng(31)
    scale = r.uniform(0.01, 0.05, size=(2, 2)).astype(np.float32)
    zp = r.integers(100, 156, size=(2, 2), dtype=np.uint8)
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"],
                              name="q_blocked", axis=1, block_size=4),
             helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"],
                              name="dq_blocked", axis=1, block_size=4)]
    return model(nodes, [value("x", [2, 6])], [value("y", [2, 6])],
                 [const("s", scale), const("zp", zp)])


def q_dynamic_scale():
    """int8 QuantizeLinear with the scale a graph input, as an output."""
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["y"],
                              name="q_dyn_scale")]
    return model(nodes, [value("x", [8]), value("s", [])],
                 [value("y", [8], TensorProto.INT8)],
                 [const("zp", np.int8(-3))])


MODELS = {f.__name__: f for f in [
    qdq_per_tensor, qdq_per_axis, qdq_linear, dq_uint8_const, q_int8_output,
    dynamic_zero_point, bad_scale_shape, q_int16_output, matmul_nbits,
    matmul_nbits_nozp,
    matmul_nbits_8bit, matmul_nbits_2bit, bad_nbits_bits, bad_nbits_block,
    resize_linear_half_pixel, resize_linear_align_corners,
    resize_linear_asymmetric, resize_linear_pytorch_half_pixel,
    bad_resize_linear_tf_crop, matmul_integer, matmul_integer_s8s8,
    matmul_integer_dynamic_zp, bad_matmul_integer_zp_type, dq_blocked,
    dq_int4, dq_uint4, dq_dynamic_scale, bad_dq_blocked_shape, qdq_blocked,
    q_dynamic_scale]}


def main(argv=None) -> int:
    return model_cli.run(MODELS, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
