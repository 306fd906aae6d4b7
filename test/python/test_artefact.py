"""Ahead-of-time artefacts: `lowbit compile` writes NAME.so/.h/.json, which
`lowbit run`, lowbit.load (ctypes) and a C program linked against the .so
alone run bit-identically to the JIT (lowbit-run) without compiling again;
bad artefacts and bad inputs give one clear error."""

from __future__ import annotations

import ctypes
import json
import re
import shutil
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import REPO_ROOT, Tool, error_line

RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def lowbit_tool() -> Tool:
    return Tool("lowbit")


def small_model(path):
    """ids int64 [2] -> Gather(table [10, 64]) + x [2, 64] -> MatMul (W
    [64, 48], 12 KiB: an externalized weight) + b -> Relu."""
    table = RNG.standard_normal((10, 64)).astype(np.float32)
    w = (RNG.standard_normal((64, 48)) * 0.2).astype(np.float32)
    b = RNG.standard_normal(48).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["emb"], axis=0, name="embed"),
        helper.make_node("Add", ["emb", "x"], ["h"], name="add"),
        helper.make_node("MatMul", ["h", "w"], ["mm"], name="proj"),
        helper.make_node("Add", ["mm", "b"], ["pre"], name="bias"),
        helper.make_node("Relu", ["pre"], ["y"], name="relu"),
    ]
    graph = helper.make_graph(
        nodes, "small",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [2]),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 48])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(w, "w"),
         numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return table, w, b


def pattern(info) -> np.ndarray:
    """The inputs examples/artefact/run_artefact.c feeds (fill_input)."""
    n = int(np.prod(info["shape"], dtype=np.int64))
    v = (np.arange(n, dtype=np.int64) * 37) % 11 - 5
    dtype = info["dtype"]
    if dtype in ("f4", "f8"):
        a = (v / 4.0).astype(np.float32 if dtype == "f4" else np.float64)
    elif dtype in ("i8", "i4"):
        a = np.abs(v).astype(np.int64 if dtype == "i8" else np.int32)
    else:
        a = (np.abs(v) % 2).astype(np.uint8)
    return a.reshape(info["shape"])


@pytest.fixture(scope="module")
def compiled(tmp_path_factory, lowbit_tool):
    """The small model compiled float and rtn-w8a8, with its JIT outputs."""
    d = tmp_path_factory.mktemp("artefact")
    weights = small_model(d / "small.onnx")
    feeds = {"ids": np.array([3, 7], np.int64),
             "x": RNG.standard_normal((2, 64)).astype(np.float32)}
    np.savez(d / "in.npz", **feeds)
    out = {}
    for recipe in ("", "rtn-w8a8"):
        name = d / (recipe or "float")
        args = ["compile", d / "small.onnx", "-o", name]
        if recipe:
            args += ["--recipe", recipe]
        r = lowbit_tool(*args)
        assert r.returncode == 0, r.stderr
        jit = d / f"jit-{recipe or 'float'}.npz"
        run_args = [d / "small.onnx", "--inputs", d / "in.npz", "--outputs", jit]
        if recipe:
            run_args += ["--recipe", recipe]
        r = Tool("lowbit-run")(*run_args)
        assert r.returncode == 0, r.stderr
        out[recipe or "float"] = (name, np.load(jit)["y"])
    return d, feeds, weights, out


def test_files_and_manifest(compiled):
    d, _, _, out = compiled
    name, _ = out["rtn-w8a8"]
    for ext in (".so", ".h", ".json"):
        assert (name.parent / (name.name + ext)).is_file()
    manifest = json.loads((name.parent / (name.name + ".json")).read_text())
    assert manifest["format"] == "lowbit-artefact" and manifest["abi_version"] == 1
    assert [t["name"] for t in manifest["inputs"]] == ["ids", "x"]
    assert manifest["inputs"][0] == {"name": "ids", "dtype": "i8", "shape": [2]}
    assert manifest["outputs"] == [{"name": "y", "dtype": "f4", "shape": [2, 48]}]
    assert manifest["metadata"]["recipe"] == "rtn-w8a8"
    layers = [l for l in manifest["quantized_layers"] if l["op"] == "lowbit.qlinear"]
    assert layers and layers[0]["name"] == "proj" and layers[0]["w_bits"] == 8
    # Only the C ABI is exported, and the library needs only libc/libm.
    nm = subprocess.run(["nm", "-D", "--defined-only", str(name) + ".so"],
                        capture_output=True, text=True, check=True).stdout
    exported = sorted(line.split()[-1] for line in nm.splitlines() if line.strip())
    assert exported == sorted([
        "lowbit_abi_version", "lowbit_input_info", "lowbit_last_error", "lowbit_manifest",
        "lowbit_num_inputs", "lowbit_num_outputs", "lowbit_output_info",
        "lowbit_session_create", "lowbit_session_destroy", "lowbit_session_run"])
    needed = subprocess.run(["readelf", "-d", str(name) + ".so"], capture_output=True,
                            text=True, check=True).stdout
    libs = [line.split("[")[1].split("]")[0] for line in needed.splitlines() if "(NEEDED)" in line]
    # (ld-linux for the thread-local error message)
    assert set(libs) <= {"libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2"}, libs


@pytest.mark.parametrize("recipe", ["float", "rtn-w8a8"])
def test_lowbit_run_matches_jit(compiled, lowbit_tool, recipe):
    d, feeds, (table, w, b), out = compiled
    name, jit = out[recipe]
    r = lowbit_tool("run", str(name) + ".so", "--inputs", d / "in.npz", "--outputs",
                    d / f"aot-{recipe}.npz", "--report")
    assert r.returncode == 0, r.stderr
    assert "load:" in r.stdout
    got = np.load(d / f"aot-{recipe}.npz")["y"]
    assert np.array_equal(got, jit)
    # And against the model's definition, independently of lowbit.
    want = np.maximum((table[feeds["ids"]] + feeds["x"]) @ w + b, 0)
    tol = 1e-5 if recipe == "float" else 0.1
    np.testing.assert_allclose(got, want, atol=tol, rtol=tol)


def test_python_load_matches_jit(compiled, lowbit_module):
    d, feeds, _, out = compiled
    name, jit = out["rtn-w8a8"]
    session = lowbit_module.load(str(name) + ".so")
    assert session.inputs == [{"name": "ids", "dtype": "i8", "shape": [2]},
                              {"name": "x", "dtype": "f4", "shape": [2, 64]}]
    assert session.manifest["metadata"]["recipe"] == "rtn-w8a8"
    assert np.array_equal(session.run(feeds)["y"], jit)
    assert np.array_equal(session.run([feeds["ids"], feeds["x"]])["y"], jit)
    with pytest.raises(lowbit_module.ArtefactError, match=r"input 'x' expects float32 \[2, 64\]"):
        session.run({"ids": feeds["ids"], "x": feeds["x"][:1]})
    with pytest.raises(lowbit_module.ArtefactError, match="input 'x' is missing"):
        session.run({"ids": feeds["ids"]})


def test_module_compile_artefact(tmp_path, lowbit_module):
    small_model(tmp_path / "m.onnx")
    module = lowbit_module.import_onnx(tmp_path / "m.onnx")
    files = module.compile_artefact(str(tmp_path / "m"), metadata={"recipe": "none"})
    assert files["library"] == str(tmp_path / "m.so")
    feeds = {"ids": np.array([1, 9], np.int64), "x": np.ones((2, 64), np.float32)}
    got = lowbit_module.load(files["library"]).run(feeds)["y"]
    assert np.array_equal(got, module.run(feeds)["y"])


def test_c_example_linked_against_the_artefact_alone(compiled, lowbit_module):
    """examples/artefact/run_artefact.c builds with the artefact's .h and .so
    only (no lowbit, LLVM or MLIR headers or libraries) and computes what
    lowbit.load computes on the same inputs."""
    d, _, _, out = compiled
    name, _ = out["rtn-w8a8"]
    exe = d / "run_small"
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "no C compiler"
    subprocess.run([cc, "-std=c11", "-Wall", "-Werror", "-I", str(d),
                    f"-DLOWBIT_HEADER=\"{name.name}.h\"",
                    str(REPO_ROOT / "examples" / "artefact" / "run_artefact.c"),
                    str(name) + ".so", f"-Wl,-rpath,{d}", "-o", str(exe)], check=True)
    r = subprocess.run([str(exe), str(d / "c-out.bin")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "input 0: ids i8" in r.stdout and r.stdout.strip().endswith("ok")
    session = lowbit_module.load(str(name) + ".so")
    want = session.run({s["name"]: pattern(s) for s in session.inputs})["y"]
    got = np.fromfile(d / "c-out.bin", dtype=np.float32).reshape(want.shape)
    assert np.array_equal(got, want)


def test_artefact_embeds_each_weight_once(compiled):
    """The float artefact holds the embedding table and the GEMM kernel's
    packed weight (48 columns padded to two 32-column panels) and nothing
    else: not the MatMul weight as stored ([K, N]) nor its [N, K] transpose,
    which nothing reads once the kernel has packed it. (The bias, 192 bytes,
    stays a constant in the code.)"""
    d, _, _, out = compiled
    manifest = json.loads((out["float"][0].parent / "float.json").read_text())
    table_bytes = 10 * 64 * 4
    packed_bytes = 2 * 64 * 32 * 4
    assert manifest["weights_bytes"] == table_bytes + packed_bytes


def test_portable_target_cpu(compiled, lowbit_tool, tmp_path):
    """An artefact for x86-64-v3 (AVX2, no AVX-512) takes the portable int8
    kernel and stays bit-identical to the JIT's reference results."""
    d, _, _, out = compiled
    name = tmp_path / "v3"
    r = lowbit_tool("compile", d / "small.onnx", "--recipe", "rtn-w8a8", "--target-cpu",
                    "x86-64-v3", "-o", name)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((tmp_path / "v3.json").read_text())
    assert manifest["int8_kernel"] == "portable"
    assert manifest["target"]["cpu"] == "x86-64-v3"
    assert "avx2" in manifest["target"]["required_features"]
    assert "avx512f" not in manifest["target"]["required_features"]
    r = lowbit_tool("run", tmp_path / "v3.so", "--inputs", d / "in.npz", "--outputs",
                    tmp_path / "o.npz")
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.load(tmp_path / "o.npz")["y"], out["rtn-w8a8"][1])


def test_bad_compile_flags_write_nothing(compiled, lowbit_tool, tmp_path):
    d = compiled[0]
    model = d / "small.onnx"
    assert "-o NAME" in error_line(lowbit_tool("compile", model))
    assert "--target-cpu: 'pentium9'" in error_line(
        lowbit_tool("compile", model, "--target-cpu", "pentium9", "-o", tmp_path / "a"))
    assert "no C compiler 'no-such-cc'" in error_line(
        lowbit_tool("compile", model, "--cc", "no-such-cc", "-o", tmp_path / "b"))
    assert "'" + str(tmp_path / "missing") + "' does not exist" in error_line(
        lowbit_tool("compile", model, "-o", tmp_path / "missing" / "c"))
    assert "has no AVX-512 VNNI" in error_line(
        lowbit_tool("compile", model, "--recipe", "rtn-w8a8", "--target-cpu", "x86-64-v3",
                    "--int8-kernel", "avx512-vnni", "-o", tmp_path / "d"))
    assert "--recipe" in error_line(
        lowbit_tool("compile", model, "--recipe", "nope", "-o", tmp_path / "e"))
    # A C compiler that fails: the error says so and nothing is left behind.
    fake = tmp_path / "failing-cc"
    fake.write_text("#!/bin/sh\necho 'ld: disk full' >&2\nexit 1\n")
    fake.chmod(0o755)
    assert "disk full" in error_line(
        lowbit_tool("compile", model, "--cc", fake, "-o", tmp_path / "f"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["failing-cc"]


def test_bad_artefacts(compiled, lowbit_tool, lowbit_module, tmp_path):
    d, _, _, out = compiled
    good = str(out["float"][0]) + ".so"
    truncated = tmp_path / "truncated.so"
    data = open(good, "rb").read()
    truncated.write_bytes(data[: len(data) // 3])
    foreign = tmp_path / "foreign.so"
    src = tmp_path / "foreign.c"
    src.write_text("int some_function(void) { return 1; }\n")
    subprocess.run(["cc", "-shared", "-fPIC", str(src), "-o", str(foreign)], check=True)
    future = tmp_path / "future.so"
    src.write_text("unsigned lowbit_abi_version(void) { return 99; }\n")
    subprocess.run(["cc", "-shared", "-fPIC", str(src), "-o", str(future)], check=True)
    text = tmp_path / "text.so"
    text.write_text("not an ELF file\n")
    cases = [(truncated, "the file is truncated"), (text, "not a shared library"),
             (foreign, "is not a lowbit artefact"), (future, "ABI version 99"),
             (tmp_path / "absent.so", "does not exist")]
    for cut in (10, 64, 300, len(data) - 4096, len(data) - 1):
        piece = tmp_path / f"cut{cut}.so"
        piece.write_bytes(data[:cut])
        cases.append((piece, "truncated|not a shared library"))
    for path, message in cases:
        assert re.search(message, error_line(lowbit_tool("run", path, "--inputs", d / "in.npz")))
        with pytest.raises(lowbit_module.ArtefactError, match=message):
            lowbit_module.load(str(path))
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{}")
    assert "not a lowbit artefact manifest" in error_line(lowbit_tool("inspect", bad_json))


def test_wrong_inputs(compiled, lowbit_tool, tmp_path):
    d, feeds, _, out = compiled
    so = str(out["float"][0]) + ".so"
    np.savez(tmp_path / "short.npz", ids=feeds["ids"], x=feeds["x"][:, :32])
    assert "input 'x' expects f4 [2x64]" in error_line(
        lowbit_tool("run", so, "--inputs", tmp_path / "short.npz"))
    np.savez(tmp_path / "noids.npz", x=feeds["x"])
    assert "input 'ids' is missing" in error_line(
        lowbit_tool("run", so, "--inputs", tmp_path / "noids.npz"))
    assert "--inputs" in error_line(lowbit_tool("run", so))


def test_c_abi_checks_rank_and_shape(compiled):
    """lowbit_session_run itself refuses a tensor of the wrong rank or shape
    (what a C caller meets) and leaves the outputs alone."""
    so = str(compiled[3]["float"][0]) + ".so"
    lib = ctypes.CDLL(so)

    class T(ctypes.Structure):
        _fields_ = [("data", ctypes.c_void_p), ("rank", ctypes.c_int32),
                    ("shape", ctypes.POINTER(ctypes.c_int64))]

    lib.lowbit_session_create.restype = ctypes.c_void_p
    lib.lowbit_session_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(T), ctypes.c_int32,
                                       ctypes.POINTER(T), ctypes.c_int32]
    lib.lowbit_last_error.restype = ctypes.c_char_p
    lib.lowbit_session_destroy.argtypes = [ctypes.c_void_p]
    s = lib.lowbit_session_create()
    ids = np.array([1, 2], np.int64)
    x = np.zeros((2, 64), np.float32)
    y = np.full((2, 48), 7.0, np.float32)
    ids_shape = (ctypes.c_int64 * 1)(2)
    x_bad = (ctypes.c_int64 * 3)(1, 2, 64)
    y_shape = (ctypes.c_int64 * 2)(2, 48)
    ins = (T * 2)(T(ids.ctypes.data, 1, ids_shape), T(x.ctypes.data, 3, x_bad))
    outs = (T * 1)(T(y.ctypes.data, 2, y_shape))
    assert lib.lowbit_session_run(s, ins, 2, outs, 1) != 0
    assert "input 1 ('x'): shape [1x2x64] (rank 3) does not match the artefact's f4 [2x64]" \
        in lib.lowbit_last_error().decode()
    assert lib.lowbit_session_run(s, ins, 1, outs, 1) != 0
    assert "takes 2 input(s) and 1 output(s), got 1 and 1" in lib.lowbit_last_error().decode()
    ins[1] = T(None, 2, (ctypes.c_int64 * 2)(2, 64))
    assert lib.lowbit_session_run(s, ins, 2, outs, 1) != 0
    assert "NULL" in lib.lowbit_last_error().decode()
    assert (y == 7.0).all()
    lib.lowbit_session_destroy(s)


def test_inspect(compiled, lowbit_tool):
    d, _, _, out = compiled
    r = lowbit_tool("inspect", str(out["rtn-w8a8"][0]) + ".so")
    assert r.returncode == 0, r.stderr
    assert "input 'ids' i8 [2]" in r.stdout and "output 'y' f4 [2x48]" in r.stdout
    assert "layer lowbit.qlinear 'proj' w_bits=8 a_bits=8" in r.stdout
    r = lowbit_tool("inspect", d / "small.onnx")
    assert r.returncode == 0, r.stderr
    assert "input 'x' f4 [2x64]" in r.stdout and "nn.linear=1" in r.stdout


def test_empty_input(lowbit_tool, tmp_path):
    """A tensor with no elements (a KV cache of length 0) may arrive without
    a data pointer: lowbit run feeds it from an empty .npz array."""
    graph = helper.make_graph(
        [helper.make_node("Concat", ["past", "x"], ["y"], axis=0, name="cat")], "cat",
        [helper.make_tensor_value_info("past", TensorProto.FLOAT, [0, 3]),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              str(tmp_path / "cat.onnx"))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.savez(tmp_path / "in.npz", past=np.zeros((0, 3), np.float32), x=x)
    r = lowbit_tool("compile", tmp_path / "cat.onnx", "-o", tmp_path / "cat")
    assert r.returncode == 0, r.stderr
    r = lowbit_tool("run", tmp_path / "cat.so", "--inputs", tmp_path / "in.npz", "--outputs",
                    tmp_path / "out.npz")
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.load(tmp_path / "out.npz")["y"], x)


def test_quantize_then_compile_bytecode(compiled, lowbit_tool, tmp_path):
    """lowbit quantize writes bytecode for .mlirbc; lowbit compile reads it
    whatever its name (by its magic number) and matches the one-step
    compile; a quantized module refuses a second recipe."""
    d, _, _, out = compiled
    r = lowbit_tool("quantize", d / "small.onnx", "--recipe", "rtn-w8a8", "-o", tmp_path / "q.mlirbc")
    assert r.returncode == 0, r.stderr
    (tmp_path / "q.model").write_bytes((tmp_path / "q.mlirbc").read_bytes())
    r = lowbit_tool("compile", tmp_path / "q.model", "-o", tmp_path / "q")
    assert r.returncode == 0, r.stderr
    r = lowbit_tool("run", tmp_path / "q.so", "--inputs", d / "in.npz", "--outputs", tmp_path / "o.npz")
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.load(tmp_path / "o.npz")["y"], out["rtn-w8a8"][1])
    assert "is already quantized (it holds lowbit." in error_line(
        lowbit_tool("quantize", tmp_path / "q.model", "--recipe", "rtn-w4a16-g128", "-o", tmp_path / "z.mlir"))
    assert not (tmp_path / "z.mlir").exists()


def test_progress_and_split_times(compiled, lowbit_tool, tmp_path):
    """--progress prints each step on stderr (plain lines, not a terminal
    here; off by default then), and --report splits the time into import,
    calibrate, quantize and compile (import no longer includes the rest)."""
    d = compiled[0]
    np.savez(tmp_path / "calib.npz", ids=np.array([[1, 2], [3, 4]], np.int64),
             x=RNG.standard_normal((2, 2, 64)).astype(np.float32))
    r = lowbit_tool("compile", d / "small.onnx", "--recipe", "rtn-w8a8-static", "--calibrate",
                    tmp_path / "calib.npz", "-o", tmp_path / "p", "--report", "--progress")
    assert r.returncode == 0, r.stderr
    steps = [line.split()[1] for line in r.stderr.splitlines() if line.startswith("lowbit: ")]
    assert steps == ["import", "calibrate", "quantize", "compile"], r.stderr
    assert "calibrate [##############################] 2/2" in r.stderr
    times = [line.split(":")[0] for line in r.stdout.splitlines() if line.endswith(" ms")]
    assert times == ["import", "calibrate", "quantize", "compile"], r.stdout
    r = lowbit_tool("compile", d / "small.onnx", "-o", tmp_path / "q")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = Tool("lowbit-run")(d / "small.onnx", "--recipe", "rtn-w8a8", "--inputs", d / "in.npz", "--report")
    assert r.returncode == 0, r.stderr
    assert [line.split(":")[0] for line in r.stdout.splitlines()] == ["import", "quantize", "compile", "run"]


def host_lacks(features: list[str], tmp_path) -> list[str]:
    """The features this CPU lacks, asked exactly as the artefact asks
    (__builtin_cpu_supports in a compiled C program)."""
    src = tmp_path / "probe.c"
    src.write_text("#include <stdio.h>\nint main(void) {\n  __builtin_cpu_init();\n" + "".join(
        f'  if (!__builtin_cpu_supports("{f}")) puts("{f}");\n' for f in features) + "  return 0;\n}\n")
    subprocess.run(["cc", str(src), "-o", str(tmp_path / "probe")], check=True)
    return subprocess.run([str(tmp_path / "probe")], capture_output=True, text=True,
                          check=True).stdout.split()


def test_cpu_without_a_required_feature(compiled, lowbit_tool, lowbit_module, tmp_path):
    """An artefact for Tiger Lake needs AVX512-VP2INTERSECT, which few CPUs
    have (not the Sapphire-Rapids-class machines this runs on): on a CPU
    without a required feature, loading fails with an error naming it and
    the target CPU, before any compiled code runs (no SIGILL). On a CPU
    that has them all, the artefact must run and match the host build."""
    d, _, _, out = compiled
    r = lowbit_tool("compile", d / "small.onnx", "--target-cpu", "tigerlake", "-o", tmp_path / "tl")
    assert r.returncode == 0, r.stderr
    required = json.loads((tmp_path / "tl.json").read_text())["target"]["required_features"]
    assert "avx512vp2intersect" in required
    missing = host_lacks(required, tmp_path)
    r = lowbit_tool("run", tmp_path / "tl.so", "--inputs", d / "in.npz", "--outputs", tmp_path / "o.npz")
    if missing:
        line = error_line(r)
        assert f"this CPU lacks '{missing[0]}'" in line and "target CPU 'tigerlake'" in line
        with pytest.raises(lowbit_module.ArtefactError, match=f"lacks '{missing[0]}'"):
            lowbit_module.load(str(tmp_path / "tl.so"))
    else:
        assert r.returncode == 0, r.stderr
        np.testing.assert_allclose(np.load(tmp_path / "o.npz")["y"], out["float"][1], rtol=1e-6, atol=1e-6)
