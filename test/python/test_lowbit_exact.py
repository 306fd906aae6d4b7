"""Bit-exact end-to-end tests of convert-lowbit-to-linalg through lowbit-run.

Small .mlir modules using lowbit ops are compiled and run on the CPU by
lowbit-run; every integer output, and every float output of the integer
kernels, must equal a numpy reference BIT FOR BIT:

* pack / unpack round trips in every layout at every width it holds, the
  packed bytes against a numpy packer written from the dialect's bit-order
  spec, and unpacking of packed constants made by that packer;
* quantize_dynamic (and dequantize_dynamic) at 2..8 bits, with exact .5
  ties, all-zero rows and a rank-3 input;
* dequantize_weight with no zero, integer zero points (unsigned grids, up to
  8 bits) and float offsets, from i8 containers and from packed storage;
* qlinear for every (a_bits, w_bits) in {8,6,4} x {8,6,4,3,2}, per-channel
  and grouped, with and without zero points and bias, packed or not, against
  an int64 accumulation dequantized in float32 in the documented order;
* quantize / dequantize with per-tensor, per-axis and sub-channel
  !quant.uniform types.

The random seed is fresh per run and printed; set LOWBIT_TEST_SEED to replay.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import numpy as np
import pytest

SEED = int(os.environ.get("LOWBIT_TEST_SEED", secrets.randbits(32)))


@pytest.fixture
def rng() -> np.random.Generator:
    print(f"LOWBIT_TEST_SEED={SEED}")
    return np.random.default_rng(SEED)


# ---------------------------------------------------------------------------
# Running modules


def ttype(shape, elem: str) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + elem + ">"


def mlir_type(a: np.ndarray) -> str:
    elem = {np.dtype(np.float32): "f32", np.dtype(np.int8): "i8", np.dtype(np.int32): "i32"}[a.dtype]
    return ttype(a.shape, elem)


class Module:
    """Collects the arguments, body lines and results of `func.func @main`."""

    def __init__(self) -> None:
        self.inputs: list[np.ndarray] = []
        self.lines: list[str] = []
        self.results: list[tuple[str, str]] = []
        self._n = 0

    def arg(self, value: np.ndarray) -> str:
        self.inputs.append(value)
        return f"%arg{len(self.inputs) - 1}"

    def name(self) -> str:
        self._n += 1
        return f"%v{self._n}"

    def op(self, text: str) -> str:
        """Appends `NAME = text` and returns NAME."""
        name = self.name()
        self.lines.append(f"{name} = {text}")
        return name

    def result(self, value: str, type_: str) -> int:
        self.results.append((value, type_))
        return len(self.results) - 1

    def widen_to_i8(self, value: str, shape, elem: str) -> str:
        """Sign-extends a 2-D tensor of `elem` (iB, B <= 8) to i8."""
        if elem == "i8":
            return value
        empty = self.op(f"tensor.empty() : {ttype(shape, 'i8')}")
        ident = "affine_map<(d0, d1) -> (d0, d1)>"
        name = self.name()
        self.lines.append(
            f"{name} = linalg.generic {{indexing_maps = [{ident}, {ident}], "
            f'iterator_types = ["parallel", "parallel"]}} '
            f"ins({value} : {ttype(shape, elem)}) outs({empty} : {ttype(shape, 'i8')}) {{\n"
            f"^bb0(%a: {elem}, %b: i8):\n"
            f"  %c = arith.extsi %a : {elem} to i8\n"
            f"  linalg.yield %c : i8\n"
            f"}} -> {ttype(shape, 'i8')}"
        )
        return name

    def text(self) -> str:
        args = ", ".join(f"%arg{i}: {mlir_type(a)}" for i, a in enumerate(self.inputs))
        rtypes = ", ".join(t for _, t in self.results)
        body = "\n".join("  " + line.replace("\n", "\n  ") for line in self.lines)
        values = ", ".join(v for v, _ in self.results)
        return (
            f"func.func @main({args}) -> ({rtypes}) {{\n{body}\n"
            f"  return {values} : {rtypes}\n}}\n"
        )

    def run(self, lowbit_run, tmp_path: Path, tag: str) -> list[np.ndarray]:
        model = tmp_path / f"{tag}.mlir"
        model.write_text(self.text())
        inputs = tmp_path / f"{tag}_inputs.npz"
        np.savez(inputs, **{f"arg{i}": a for i, a in enumerate(self.inputs)})
        outputs = tmp_path / f"{tag}_outputs.npz"
        proc = lowbit_run(model, f"--inputs={inputs}", f"--outputs={outputs}")
        assert proc.returncode == 0, f"lowbit-run failed on {model} (seed {SEED}):\n{proc.stderr}"
        with np.load(outputs) as data:
            return [data[f"result{i}"] for i in range(len(self.results))]


def run_cases(lowbit_run, tmp_path: Path, tag: str, cases, per_module: int) -> None:
    """Runs `cases` (callables adding ops to a Module and returning
    [(what, result index, expected)]) in modules of `per_module` cases: LLVM
    compile time grows faster than linearly with the size of @main, so small
    modules are faster than one big one."""
    for start in range(0, len(cases), per_module):
        m = Module()
        checks = [check for case in cases[start:start + per_module] for check in case(m)]
        outputs = m.run(lowbit_run, tmp_path, f"{tag}{start}")
        for what, index, expected in checks:
            assert_bits_equal(outputs[index], expected, what)


def assert_bits_equal(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, (
        f"{what}: got {actual.dtype}{actual.shape}, expected {expected.dtype}{expected.shape}"
    )
    a = actual.view(np.uint32) if actual.dtype == np.float32 else actual
    e = expected.view(np.uint32) if expected.dtype == np.float32 else expected
    if not np.array_equal(a, e):
        bad = np.argwhere(a != e)
        i = tuple(bad[0])
        pytest.fail(
            f"{what} (seed {SEED}): {len(bad)} of {a.size} elements differ, first at {i}: "
            f"got {actual[i]!r}, expected {expected[i]!r}",
            pytrace=False,
        )


# ---------------------------------------------------------------------------
# Packed layouts, written from LowBitDialect.td's "Packed layouts and bit
# order": element k of a row goes to byte k / per_byte at bit offset
# (k % per_byte) * slot_bits, holding the low slot bits of its two's
# complement; int6 = 4-bit plane then 2-bit plane; bit_planes = one plane per
# bit, plane-major within a row.

DEFAULT_LAYOUT = {2: "int2_crumbs", 3: "int4_nibbles", 4: "int4_nibbles", 5: "int6_planes",
                  6: "int6_planes", 7: "int8_bytes", 8: "int8_bytes"}


def row_bytes(layout: str, bits: int, k: int) -> int:
    return {"int2_crumbs": k // 4, "int4_nibbles": k // 2, "int6_planes": k // 2 + k // 4,
            "int8_bytes": k, "bit_planes": bits * k // 8}[layout]


def np_pack(q: np.ndarray, layout: str, bits: int) -> np.ndarray:
    """Packs [R, K] integer values (signed or unsigned storage values)."""
    rows, k = q.shape
    u = q.astype(np.int64) & 0xFF  # two's complement bit pattern

    def fields(values: np.ndarray, width: int) -> np.ndarray:
        per = 8 // width
        v = values.reshape(rows, k // per, per)
        return np.bitwise_or.reduce(v << (np.arange(per) * width), axis=2).astype(np.uint8)

    if layout == "int2_crumbs":
        out = fields(u & 0x3, 2)
    elif layout == "int4_nibbles":
        out = fields(u & 0xF, 4)
    elif layout == "int6_planes":
        out = np.concatenate([fields(u & 0xF, 4), fields((u >> 4) & 0x3, 2)], axis=1)
    elif layout == "int8_bytes":
        out = u.astype(np.uint8)
    else:
        out = np.concatenate([fields((u >> i) & 1, 1) for i in range(bits)], axis=1)
    assert out.shape == (rows, row_bytes(layout, bits, k))
    return out


def dense(a: np.ndarray) -> str:
    return "dense<" + np.array2string(a, separator=", ", threshold=1 << 30, max_line_width=1 << 30) + ">"


def signed_values(rng, shape, bits: int) -> np.ndarray:
    return rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=shape).astype(np.int8)


def unsigned_values(rng, shape, bits: int) -> np.ndarray:
    return rng.integers(0, 1 << bits, size=shape).astype(np.uint8).view(np.int8)


LAYOUT_CASES = [("int2_crumbs", 1), ("int2_crumbs", 2), ("int4_nibbles", 3), ("int4_nibbles", 4),
                ("int6_planes", 5), ("int6_planes", 6), ("int8_bytes", 7), ("int8_bytes", 8)] + [
                   ("bit_planes", b) for b in range(1, 9)]


def layout_case(rng, layout: str, bits: int):
    rows, k = 3, 32

    def build(m: Module):
        elem = f"i{bits}"
        packed = f"!lowbit.packed<{rows}x{k}x{elem}, {layout}>"
        rb = row_bytes(layout, bits, k)
        # Round trip of runtime values, and the bytes pack writes.
        x = signed_values(rng, (rows, k), bits)
        p = m.op(f"lowbit.pack {m.arg(x)} : {ttype((rows, k), 'i8')} -> {packed}")
        u = m.op(f"lowbit.unpack {p} : {packed} -> {ttype((rows, k), elem)}")
        checks = [(f"{layout} i{bits} round trip",
                   m.result(m.widen_to_i8(u, (rows, k), elem), ttype((rows, k), "i8")), x)]
        b = m.op(f"builtin.unrealized_conversion_cast {p} : {packed} to {ttype((rows, rb), 'i8')}")
        checks.append((f"{layout} i{bits} packed bytes", m.result(b, ttype((rows, rb), "i8")),
                       np_pack(x, layout, bits).view(np.int8)))
        # Unpacking bytes packed here, as a constant.
        y = signed_values(rng, (rows, k), bits)
        c = m.op(f"lowbit.packed_constant {dense(np_pack(y, layout, bits).view(np.int8))} : "
                 f"{ttype((rows, rb), 'i8')} -> {packed}")
        uc = m.op(f"lowbit.unpack {c} : {packed} -> {ttype((rows, k), elem)}")
        checks.append((f"{layout} i{bits} constant unpack",
                       m.result(m.widen_to_i8(uc, (rows, k), elem), ttype((rows, k), "i8")), y))
        return checks

    return build


def test_pack_unpack_every_layout(lowbit_run, tmp_path, rng):
    cases = [layout_case(rng, layout, bits) for layout, bits in LAYOUT_CASES]
    run_cases(lowbit_run, tmp_path, "layouts", cases, per_module=4)


# ---------------------------------------------------------------------------
# quantize_dynamic / dequantize_dynamic


def np_quantize_dynamic(x: np.ndarray, bits: int):
    qmax = np.float32((1 << (bits - 1)) - 1)
    absmax = np.max(np.abs(x), axis=-1, keepdims=True)
    scale = absmax / qmax
    scale = np.where(scale > 0, scale, np.float32(1)).astype(np.float32)
    q = np.clip(np.rint(x / scale), -qmax, qmax).astype(np.int8)
    return q, scale


def near_ties(rng, scale: np.float32, lo: int, hi: int, count: int) -> np.ndarray:
    """Values within 2 ulp of (j + 0.5) * scale for integers j in [lo, hi):
    some are exact ties of x / scale, and some round differently when the
    division is replaced by a multiplication with 1 / scale."""
    j = (rng.integers(lo, hi, size=count) + 0.5).astype(np.float32)
    base = (j * np.float32(scale)).astype(np.float32)
    ulps = rng.integers(-2, 3, size=count).astype(np.int32)
    return (base.view(np.int32) + ulps).view(np.float32)


def dynamic_input(rng, bits: int, k: int) -> np.ndarray:
    qmax = (1 << (bits - 1)) - 1
    halves = lambda: rng.integers(-qmax, qmax, size=k) + 0.5  # noqa: E731  exact .5 ties
    rows = [
        rng.standard_normal(k) * 3,
        np.zeros(k),
        np.concatenate([[qmax], halves()[1:]]),  # scale 1: x / scale = j + 0.5
        np.concatenate([[-qmax * 0.5], halves()[1:] * 0.5]),  # scale 0.5, negative absmax
        np.concatenate([[qmax * 4.0], halves()[1:] * 4.0]),  # scale 4
        rng.standard_normal(k) * 1e-20,
        rng.uniform(-1000, 1000, size=k),
    ]
    # Near-ties at a scale that is not a power of two.
    absmax = np.float32(rng.uniform(0.3, 3.0))
    ties = near_ties(rng, absmax / np.float32(qmax), -qmax, qmax, k - 1)
    rows.append(np.concatenate([[absmax], np.clip(ties, -absmax, absmax)]))
    x = np.stack(rows).astype(np.float32)
    # The tie rows really hit .5 exactly.
    _, scale = np_quantize_dynamic(x, bits)
    ties = x[2:5] / scale[2:5]
    assert np.all(ties[:, 1:] - np.floor(ties[:, 1:]) == 0.5)
    return x


def test_quantize_dynamic(lowbit_run, tmp_path, rng):
    k = 64
    m = Module()
    checks = []
    for bits in range(2, 9):
        x = dynamic_input(rng, bits, k)
        shape = x.shape
        q, s = m.name(), m.name()
        m.lines.append(f"{q}, {s} = lowbit.quantize_dynamic {m.arg(x)} {{bits = {bits} : i64}} : "
                       f"{ttype(shape, 'f32')} -> {ttype(shape, 'i8')}, {ttype((shape[0], 1), 'f32')}")
        d = m.op(f"lowbit.dequantize_dynamic {q}, {s} {{bits = {bits} : i64}} : "
                 f"{ttype(shape, 'i8')}, {ttype((shape[0], 1), 'f32')} -> {ttype(shape, 'f32')}")
        eq, es = np_quantize_dynamic(x, bits)
        checks.append((f"q bits={bits}", m.result(q, ttype(shape, "i8")), eq))
        checks.append((f"scale bits={bits}", m.result(s, ttype((shape[0], 1), "f32")), es))
        checks.append((f"dequantize_dynamic bits={bits}", m.result(d, ttype(shape, "f32")),
                       eq.astype(np.float32) * es))
    # Rank 3: rows are all dimensions but the last.
    x3 = (rng.standard_normal((2, 3, 16)) * 5).astype(np.float32)
    x3[1, 2] = 0
    q, s = m.name(), m.name()
    m.lines.append(f"{q}, {s} = lowbit.quantize_dynamic {m.arg(x3)} {{bits = 8 : i64}} : "
                   f"{ttype(x3.shape, 'f32')} -> {ttype(x3.shape, 'i8')}, {ttype((2, 3, 1), 'f32')}")
    eq, es = np_quantize_dynamic(x3, 8)
    checks.append(("q rank 3", m.result(q, ttype(x3.shape, "i8")), eq))
    checks.append(("scale rank 3", m.result(s, ttype((2, 3, 1), "f32")), es))
    outputs = m.run(lowbit_run, tmp_path, "dynamic")
    for what, index, expected in checks:
        assert_bits_equal(outputs[index], expected, what)


# ---------------------------------------------------------------------------
# dequantize_weight


def weight_operand(m: Module, q: np.ndarray, bits: int, unsigned: bool, packed: bool):
    """The integer part as i8 containers, or packed at runtime with the
    default layout of `bits`. Returns (SSA value, its type)."""
    shape = q.shape
    arg = m.arg(q)
    if not packed:
        return arg, ttype(shape, "i8")
    elem = f"ui{bits}" if unsigned else f"i{bits}"
    ptype = f"!lowbit.packed<{shape[0]}x{shape[1]}x{elem}, {DEFAULT_LAYOUT[bits]}>"
    return m.op(f"lowbit.pack {arg} : {ttype(shape, 'i8')} -> {ptype}"), ptype


def dequantize_weight_case(rng, bits: int, group: int, form: str, packed: bool):
    n, k = 4, 16

    def build(m: Module):
        unsigned = form == "integer"
        q = unsigned_values(rng, (n, k), bits) if unsigned else signed_values(rng, (n, k), bits)
        scale = rng.uniform(0.01, 2.0, size=(n, k // group)).astype(np.float32)
        operands = [weight_operand(m, q, bits, unsigned, packed), (m.arg(scale), mlir_type(scale))]
        qf = (q.view(np.uint8) if unsigned else q).astype(np.int64).astype(np.float32)
        s = np.repeat(scale, group, axis=1)
        attrs = ""
        if form == "none":
            expected = qf * s
        elif form == "integer":
            zero = rng.integers(0, 1 << bits, size=scale.shape).astype(np.float32)
            operands.append((m.arg(zero), mlir_type(zero)))
            expected = (qf - np.repeat(zero, group, axis=1)) * s
        else:
            zero = rng.uniform(-1, 1, size=scale.shape).astype(np.float32)
            operands.append((m.arg(zero), mlir_type(zero)))
            expected = qf * s + np.repeat(zero, group, axis=1)
            attrs = ', zero_kind = "float_offset"'
        values = ", ".join(v for v, _ in operands)
        types = ", ".join(t for _, t in operands)
        w = m.op(f"lowbit.dequantize_weight {values} {{bits = {bits} : i64, group_size = {group} : i64"
                 f"{attrs}}} : ({types}) -> {ttype((n, k), 'f32')}")
        what = f"dequantize_weight bits={bits} G={group} zero={form} packed={packed}"
        return [(what, m.result(w, ttype((n, k), "f32")), expected.astype(np.float32))]

    return build


def test_dequantize_weight(lowbit_run, tmp_path, rng):
    k = 16
    cases = [dequantize_weight_case(rng, bits, group, form, packed)
             for bits in (2, 3, 4, 6, 8) for group in (k, k // 4)
             for form in ("none", "integer", "float_offset") for packed in (False, True)]
    run_cases(lowbit_run, tmp_path, "dequantize_weight", cases, per_module=10)


# ---------------------------------------------------------------------------
# qlinear


def np_qlinear(xq, xs, wq, ws, zero, bias, group):
    """int64 accumulation per group, then float32 in the documented order."""
    m_, k = xq.shape
    n = wq.shape[0]
    groups = k // group
    w = wq.astype(np.int64)
    if zero is not None:
        w = w - np.repeat(zero.astype(np.int64), group, axis=1)
    x = xq.astype(np.int64)
    acc = np.einsum("mgk,ngk->mng", x.reshape(m_, groups, group), w.reshape(n, groups, group))
    assert np.abs(acc).max() < 2**31
    y = np.zeros((m_, n), np.float32)
    for g in range(groups):
        y = y + (acc[:, :, g].astype(np.float32) * xs) * ws[None, :, g]
    if bias is not None:
        y = y + bias[None, :]
    return y.astype(np.float32)


QLINEAR_K = 32


def qlinear_case(rng, a_bits: int, w_bits: int, group: int, with_zero: bool, with_bias: bool,
                 packed: bool):
    m_, n, k = 4, 5, QLINEAR_K
    qa = (1 << (a_bits - 1)) - 1

    def build(m: Module):
        xq = rng.integers(-qa, qa + 1, size=(m_, k)).astype(np.int8)
        xs = rng.uniform(1e-3, 0.1, size=(m_, 1)).astype(np.float32)
        if with_zero:
            wq = unsigned_values(rng, (n, k), w_bits)
            wint = wq.view(np.uint8)
            zero = rng.integers(0, 1 << w_bits, size=(n, k // group)).astype(np.float32)
        else:
            wq = signed_values(rng, (n, k), w_bits)
            wint = wq
            zero = None
        ws = rng.uniform(1e-3, 0.1, size=(n, k // group)).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32) if with_bias else None
        x_arg, xs_arg = m.arg(xq), m.arg(xs)
        w_val, w_type = weight_operand(m, wq, w_bits, with_zero, packed)
        types = [mlir_type(xq), mlir_type(xs), w_type, mlir_type(ws)]
        text = f"{x_arg}, {xs_arg}, {w_val}, {m.arg(ws)}"
        if zero is not None:
            text += f" zero {m.arg(zero)}"
            types.append(mlir_type(zero))
        if bias is not None:
            text += f" bias {m.arg(bias)}"
            types.append(mlir_type(bias))
        y = m.op(f"lowbit.qlinear {text} {{a_bits = {a_bits} : i64, w_bits = {w_bits} : i64, "
                 f"group_size = {group} : i64}} : ({', '.join(types)}) -> {ttype((m_, n), 'f32')}")
        what = f"qlinear a{a_bits} w{w_bits} G={group} zero={with_zero} bias={with_bias} packed={packed}"
        return [(what, m.result(y, ttype((m_, n), "f32")), np_qlinear(xq, xs, wint, ws, zero, bias, group))]

    return build


@pytest.mark.parametrize("a_bits", [8, 6, 4])
def test_qlinear(lowbit_run, tmp_path, rng, a_bits):
    k = QLINEAR_K
    cases = [qlinear_case(rng, a_bits, w_bits, group, with_zero, with_bias, packed)
             for w_bits in (8, 6, 4, 3, 2) for group in (k, k // 2) for with_zero in (False, True)
             for with_bias in (False, True) for packed in (False, True)]
    run_cases(lowbit_run, tmp_path, f"qlinear_a{a_bits}_", cases, per_module=10)


# ---------------------------------------------------------------------------
# quantize / dequantize with !quant.uniform types


def f32str(v: float) -> str:
    return repr(float(np.float32(v)))


def test_quantize_dequantize_uniform(lowbit_run, tmp_path, rng):
    rows, k = 4, 64
    x = (rng.standard_normal((rows, k)) * 4).astype(np.float32)
    x[0, :8] = np.arange(8) - 3.5  # ties at scale 1
    x[1, :4] = [np.inf, -np.inf, 1e30, -1e30]
    x[2:] = near_ties(rng, np.float32(0.3), -8, 8, 2 * k).reshape(2, k)
    m = Module()
    arg = m.arg(x)
    checks = []

    def case(qtype: str, scale: np.ndarray, zp: np.ndarray, qmin: int, qmax: int) -> None:
        t = ttype((rows, k), qtype)
        q = m.op(f"lowbit.quantize {arg} : {ttype((rows, k), 'f32')} -> {t}")
        d = m.op(f"lowbit.dequantize {q} : {t} -> {ttype((rows, k), 'f32')}")
        s = np.broadcast_to(scale, x.shape).astype(np.float32)
        z = np.broadcast_to(zp, x.shape).astype(np.int64)
        r = np.clip(np.rint(x / s), -1e9, 1e9).astype(np.int64)
        qi = np.clip(r + z, qmin, qmax)
        expected = (qi - z).astype(np.float32) * s
        checks.append((qtype, m.result(d, ttype((rows, k), "f32")), expected))

    case("!quant.uniform<i8<-127:127>:f32, 1.0>", np.float32(1.0), np.int64(0), -127, 127)
    case(f"!quant.uniform<i4:f32, {f32str(0.3)}>", np.float32(0.3), np.int64(0), -8, 7)
    case("!quant.uniform<u4:f32, 0.5:7>", np.float32(0.5), np.int64(7), 0, 15)
    axis_scales = rng.uniform(0.05, 1.0, size=rows).astype(np.float32)
    axis_zps = rng.integers(0, 16, size=rows)
    spec = ", ".join(f"{f32str(s)}:{z}" for s, z in zip(axis_scales, axis_zps))
    case(f"!quant.uniform<u4:f32:0, {{{spec}}}>", axis_scales[:, None], axis_zps[:, None], 0, 15)
    block = 8
    sub_scales = rng.uniform(0.05, 1.0, size=(rows, k // block)).astype(np.float32)
    sub_zps = rng.integers(-4, 5, size=(rows, k // block))
    spec = ", ".join("{" + ", ".join(f"{f32str(s)}:{z}" for s, z in zip(rs, rz)) + "}"
                     for rs, rz in zip(sub_scales, sub_zps))
    case(f"!quant.uniform<i6:f32:{{1:{block}}}, {{{spec}}}>", np.repeat(sub_scales, block, axis=1),
         np.repeat(sub_zps, block, axis=1), -32, 31)
    outputs = m.run(lowbit_run, tmp_path, "uniform")
    for what, index, expected in checks:
        assert_bits_equal(outputs[index], expected, what)
