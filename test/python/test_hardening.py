"""Issue 18: malformed and hostile models give one clear error and exit code
1-3, never a crash, a hang or a read outside the model's folder.

Each reproducer in hardening_models.py crashed (SIGSEGV, SIGFPE, stack
overflow) or read /etc files as weights before; here every tool that imports
a model (lowbit-run, lowbit-opt, `lowbit compile`) and the Python package
must refuse it with one line that names the value, node or file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import hardening_models as hm

REPRODUCERS = list(hm.REPRODUCERS.items())
IDS = [fn.__name__ for fn, _ in REPRODUCERS]
# A hang is a failure: every refusal here is immediate.
QUICK_S = 60


def _assert_one_clear_error(proc: subprocess.CompletedProcess, words: str) -> None:
    stderr = proc.stderr
    assert proc.returncode in (1, 2, 3), (
        f"exit {proc.returncode} (negative: killed by a signal)\nstderr:\n{stderr[-3000:]}")
    assert "Stack dump" not in stderr and "PLEASE submit" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-3000:]
    assert words in lines[0], f"{words!r} not in {lines[0]!r}"


@pytest.mark.parametrize("make,words", REPRODUCERS, ids=IDS)
def test_lowbit_run_refuses_reproducer(make, words, tmp_path, lowbit_run):
    model = make(tmp_path)
    _assert_one_clear_error(lowbit_run(model, timeout=QUICK_S), words)


@pytest.mark.parametrize("make,words", REPRODUCERS, ids=IDS)
def test_lowbit_opt_refuses_reproducer(make, words, tmp_path, lowbit_opt):
    model = make(tmp_path)
    _assert_one_clear_error(lowbit_opt(model, timeout=QUICK_S), words)


@pytest.mark.parametrize("make,words", REPRODUCERS[:6], ids=IDS[:6])
def test_lowbit_compile_refuses_reproducer(make, words, tmp_path, lowbit_cli):
    model = make(tmp_path)
    proc = lowbit_cli("compile", model, "-o", tmp_path / "out" / "m", timeout=QUICK_S)
    assert proc.returncode in (1, 2, 3), proc.stderr[-3000:]
    assert "Stack dump" not in proc.stderr
    assert words in proc.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir()), \
        "a refused compile left files behind"


def test_python_import_raises_instead_of_killing_the_interpreter(tmp_path):
    # In a child process: before the fix, cases 3, 6 and 8 of the issue
    # killed the interpreter. Each must raise an exception, and the child
    # must go on to print its summary.
    models = [str(make(tmp_path / make.__name__)) for make, _ in REPRODUCERS]
    script = (
        "import sys, lowbit\n"
        "raised = 0\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        lowbit.import_onnx(path)\n"
        "    except Exception as e:\n"
        "        raised += 1\n"
        "print('raised', raised)\n")
    from conftest import python_package_dir
    env = dict(os.environ, PYTHONPATH=str(python_package_dir()))
    proc = subprocess.run([sys.executable, "-c", script, *models], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == f"raised {len(models)}", proc.stdout + proc.stderr[-2000:]


def _save(tmp_path: Path, name: str, nodes, inputs, outputs, inits=()) -> Path:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return hm._save(tmp_path, name, graph)


def _i64(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def test_padded_conv_input_beyond_the_limit_is_refused(tmp_path, lowbit_run):
    # A large stride hides a 2^62-element padded input behind a small output:
    # it crashed in the compiled code's memset before.
    model = hm._conv_graph("conv_pad_stride", tmp_path, pads=[2**30] * 4, strides=[2**30] * 2)
    _assert_one_clear_error(lowbit_run(model, timeout=QUICK_S), "padded input")


def test_max_memory_refuses_a_large_intermediate_and_names_the_node(tmp_path, lowbit_run):
    # Expand to [1000, 1000, 3] float32: 11.4 MiB.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1000, 1000, 3])
    model = _save(tmp_path, "expand", [helper.make_node("Expand", ["x", "s"], ["y"], name="big")],
                  [x], [y], [_i64("s", [1000, 1000, 3])])
    inputs = tmp_path / "x.npz"
    np.savez(inputs, x=np.arange(3, dtype=np.float32).reshape(1, 3))
    refused = lowbit_run(model, f"--inputs={inputs}", "--max-memory=1M", timeout=QUICK_S)
    _assert_one_clear_error(refused, "node 'big' (Expand")
    assert "GiB" in refused.stderr and "--max-memory" in refused.stderr
    out = tmp_path / "y.npz"
    ok = lowbit_run(model, f"--inputs={inputs}", "--max-memory=64M", f"--outputs={out}",
                    timeout=QUICK_S)
    assert ok.returncode == 0, ok.stderr
    np.testing.assert_array_equal(np.load(out)["y"], np.broadcast_to([0, 1, 2], (1000, 1000, 3)))


@pytest.mark.parametrize("flag", ["--max-memory=abc", "--max-memory=0", "--max-memory=-5G",
                                  "--max-memory=99999999999T"])
def test_bad_max_memory_flag(flag, tmp_path, lowbit_run):
    model = hm.duplicate_output(tmp_path)
    _assert_one_clear_error(lowbit_run(model, flag, timeout=QUICK_S), "--max-memory")


def test_range_of_2_62_elements_is_refused_not_hung(tmp_path, lowbit_run):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = _save(tmp_path, "range", [
        helper.make_node("Range", ["a", "b", "c"], ["r"], name="r"),
        helper.make_node("Cast", ["r"], ["y"], to=TensorProto.FLOAT)],
        [x], [y], [_i64("a", 0), _i64("b", 2**62), _i64("c", 1)])
    _assert_one_clear_error(lowbit_run(model, timeout=QUICK_S), "node 'r' (Range")


def test_gather_constant_index_out_of_range_is_refused(tmp_path, lowbit_run):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = _save(tmp_path, "gather", [helper.make_node("Gather", ["x", "i"], ["y"], name="g")],
                  [x], [y], [_i64("i", [2**62])])
    _assert_one_clear_error(lowbit_run(model, timeout=QUICK_S), "out of range")


def test_gather_runtime_index_out_of_range_stays_inside_the_table(tmp_path, lowbit_run):
    # Indices known only at run time cannot be refused at import; they are
    # clamped into the table (documented), never read past it.
    table = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3), "t")
    i = helper.make_tensor_value_info("i", TensorProto.INT64, [3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 3])
    model = _save(tmp_path, "gather_rt", [helper.make_node("Gather", ["t", "i"], ["y"])],
                  [i], [y], [table])
    inputs, out = tmp_path / "i.npz", tmp_path / "y.npz"
    np.savez(inputs, i=np.array([1, 10**12, -10**12], np.int64))
    proc = lowbit_run(model, f"--inputs={inputs}", f"--outputs={out}", timeout=QUICK_S)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(np.load(out)["y"], [[3, 4, 5], [9, 10, 11], [0, 1, 2]])


def test_external_data_inside_the_folder_still_loads(tmp_path, lowbit_run):
    # The confinement must not refuse the ordinary case: a weight file next
    # to the model, reached through a relative path and a symlink that stays
    # inside the folder.
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "data.bin").write_bytes(np.arange(6, dtype=np.float32).tobytes())
    os.symlink("w/data.bin", tmp_path / "inside.bin")
    for location in ("w/data.bin", "inside.bin"):
        w = hm._external_weight(location, offset=0, length=24)
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
        model = _save(tmp_path, "ext_ok", [helper.make_node("Add", ["x", "w"], ["y"])], [x], [y], [w])
        inputs, out = tmp_path / "x.npz", tmp_path / "y.npz"
        np.savez(inputs, x=np.ones((2, 3), np.float32))
        proc = lowbit_run(model, f"--inputs={inputs}", f"--outputs={out}", timeout=QUICK_S)
        assert proc.returncode == 0, proc.stderr
        np.testing.assert_array_equal(np.load(out)["y"], np.arange(6).reshape(2, 3) + 1)


def test_external_data_length_past_the_end(tmp_path, lowbit_run):
    (tmp_path / "data.bin").write_bytes(np.ones(6, np.float32).tobytes())
    w = hm._external_weight("data.bin", offset=8, length=24)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    model = _save(tmp_path, "ext_past", [helper.make_node("Add", ["x", "w"], ["y"])], [x], [y], [w])
    _assert_one_clear_error(lowbit_run(model, timeout=QUICK_S), "'w' reads 24 bytes from offset 8")


@pytest.mark.parametrize("value", ["-1", "12abc", "99999999999999999999999"])
def test_external_data_offset_not_a_count(value, tmp_path, lowbit_run):
    (tmp_path / "data.bin").write_bytes(np.ones(6, np.float32).tobytes())
    w = hm._external_weight("data.bin", length=24)
    e = w.external_data.add()
    e.key, e.value = "offset", value
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    model = _save(tmp_path, "ext_bad", [helper.make_node("Add", ["x", "w"], ["y"])], [x], [y], [w])
    _assert_one_clear_error(lowbit_run(model, timeout=QUICK_S), "not a byte count")


def test_fifo_as_model_or_external_data_does_not_block(tmp_path, lowbit_run):
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    _assert_one_clear_error(lowbit_run(fifo, timeout=QUICK_S), "not a regular file")
    os.mkfifo(tmp_path / "data.bin")
    w = hm._external_weight("data.bin", length=24)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    model = _save(tmp_path, "ext_fifo", [helper.make_node("Add", ["x", "w"], ["y"])], [x], [y], [w])
    _assert_one_clear_error(lowbit_run(model, timeout=QUICK_S), "not a regular file")


def test_directory_as_model(tmp_path, lowbit_run):
    folder = tmp_path / "model.onnx"
    folder.mkdir()
    _assert_one_clear_error(lowbit_run(folder, timeout=QUICK_S), "not a regular file")


def test_input_shape_given_twice_with_different_dims(tmp_path, lowbit_run):
    model = hm.duplicate_output(tmp_path)
    proc = lowbit_run(model, "--input-shape=x=2x3", "--input-shape=x=4x3", timeout=QUICK_S)
    _assert_one_clear_error(proc, "two different shapes")


def test_input_shape_scalar(tmp_path, lowbit_run):
    # "scalar" was documented but rejected as a dimension.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, None)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = _save(tmp_path, "scalar", [helper.make_node("Relu", ["x"], ["y"])], [x], [y])
    inputs, out = tmp_path / "x.npz", tmp_path / "y.npz"
    np.savez(inputs, x=np.array(-2.5, np.float32))
    proc = lowbit_run(model, "--input-shape=x=scalar", f"--inputs={inputs}", f"--outputs={out}",
                      timeout=QUICK_S)
    assert proc.returncode == 0, proc.stderr
    assert np.load(out)["y"].shape == () and float(np.load(out)["y"]) == 0.0


def _relu_module(lowbit):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    return lowbit.import_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


def test_python_compile_checks_opt_level_and_input_shapes(lowbit_module):
    lowbit = lowbit_module
    module = _relu_module(lowbit)
    with pytest.raises(ValueError, match="opt_level must be 0..3, got 9"):
        module.compile(opt_level=9)
    with pytest.raises(ValueError, match="opt_level must be 0..3"):
        module.compile_artefact("/nonexistent/never-written", opt_level=4)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(Exception, match="'nope', which is not an input"):
        lowbit.import_onnx(model, input_shapes={"nope": [1]})


def test_python_run_reads_read_only_arrays(lowbit_module):
    lowbit = lowbit_module
    exe = _relu_module(lowbit).compile()
    x = np.array([[-1, 2, -3], [4, -5, 6]], np.float32)
    x.setflags(write=False)
    np.testing.assert_array_equal(exe.run({"x": x})["y"], np.maximum(x, 0))
    # Strided views are converted once (numpy.asarray(order="C")), not refused.
    wide = np.arange(12, dtype=np.float32).reshape(2, 6) - 6
    np.testing.assert_array_equal(exe.run({"x": wide[:, ::2]})["y"], np.maximum(wide[:, ::2], 0))


def _relu_files(tmp_path: Path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    model = _save(tmp_path, "relu", [helper.make_node("Relu", ["x"], ["y"])], [x], [y])
    inputs = tmp_path / "x.npz"
    np.savez(inputs, x=np.array([[-1, 2, -3], [4, -5, 6]], np.float32))
    return model, inputs


def test_outputs_to_a_device_is_written_in_place(tmp_path, lowbit_run):
    model, inputs = _relu_files(tmp_path)
    proc = lowbit_run(model, f"--inputs={inputs}", "--outputs=/dev/null", timeout=QUICK_S)
    assert proc.returncode == 0, proc.stderr
    assert Path("/dev/null").is_char_device(), "/dev/null was replaced by a regular file"


def test_outputs_through_a_symlink_replaces_its_target(tmp_path, lowbit_run):
    model, inputs = _relu_files(tmp_path)
    (tmp_path / "real.npz").write_bytes(b"old")
    link = tmp_path / "link.npz"
    os.symlink("real.npz", link)
    proc = lowbit_run(model, f"--inputs={inputs}", f"--outputs={link}", timeout=QUICK_S)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink()
    np.testing.assert_array_equal(np.load(tmp_path / "real.npz")["y"], [[0, 2, 0], [4, 0, 6]])


def test_outputs_read_only_file_is_left_alone(tmp_path, lowbit_run):
    model, inputs = _relu_files(tmp_path)
    target = tmp_path / "ro.npz"
    target.write_bytes(b"keep")
    target.chmod(0o444)
    _assert_one_clear_error(lowbit_run(model, f"--inputs={inputs}", f"--outputs={target}",
                                       timeout=QUICK_S), "read-only")
    assert target.read_bytes() == b"keep"


@pytest.mark.parametrize("where", ["missing/out.npz", "folder"])
def test_outputs_into_a_missing_folder_or_onto_a_folder(where, tmp_path, lowbit_run):
    model, inputs = _relu_files(tmp_path)
    (tmp_path / "folder").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    proc = lowbit_run(model, f"--inputs={inputs}", f"--outputs={tmp_path / where}", timeout=QUICK_S)
    _assert_one_clear_error(proc, where.split("/")[0])
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "a partial file was left"


@pytest.mark.parametrize("flag", ["--recipe=", "--inputs=", "--outputs=", "--pipeline="])
def test_empty_flag_is_an_error(flag, tmp_path, lowbit_run):
    model, _ = _relu_files(tmp_path)
    _assert_one_clear_error(lowbit_run(model, flag, timeout=QUICK_S), f"{flag[:-1]} is empty")


def test_lowbit_driver_empty_flag_is_an_error(tmp_path, lowbit_cli):
    model, _ = _relu_files(tmp_path)
    proc = lowbit_cli("compile", model, "--recipe=", "-o", tmp_path / "m", timeout=QUICK_S)
    assert proc.returncode == 1 and "--recipe is empty" in proc.stderr, proc.stderr


@pytest.mark.parametrize("recipe", [None, "rtn-w8a8"])
@pytest.mark.parametrize("threads", [1, 2])
def test_concurrent_runs_of_one_executable_match_serial_runs(recipe, threads, lowbit_module):
    # One compiled model run from 4 Python threads at once (run releases the
    # GIL): every result bit-identical to the serial run of the same feed.
    import threading

    from test_cli import conv_model, mlp_model

    lowbit = lowbit_module
    rng = np.random.default_rng(7)
    for model in (mlp_model(rng), conv_model(rng, [1, 1, 1, 1], [1, 1])):
        module = lowbit.import_onnx(model)
        if recipe:
            module = lowbit.quantize(module, recipe)[0]
        exe = module.compile(threads=threads)
        feeds = [{s["name"]: rng.standard_normal(s["shape"]).astype(s["dtype"]) for s in exe.inputs}
                 for _ in range(6)]
        expected = [exe.run(f) for f in feeds]
        mismatches, errors = [], []

        def work(t):
            try:
                for k in range(25):
                    i = (t + k) % len(feeds)
                    out = exe.run(feeds[i])
                    mismatches.extend(name for name in out if not np.array_equal(out[name], expected[i][name]))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert not errors and not mismatches, (errors, mismatches[:5])


def test_allocation_failure_in_compiled_code_is_an_error_not_a_signal(tmp_path, lowbit_run):
    # --max-memory raised far past the machine: the import lets a 16 TiB
    # padded conv through, the compiled code's allocation fails, and the
    # process ends with one error line and exit status 1 (it faulted before).
    model = hm._conv_graph("conv_pad_2_20", tmp_path, pads=[2**20] * 4)
    inputs = tmp_path / "x.npz"
    np.savez(inputs, x=np.ones((1, 1, 8, 8), np.float32))
    proc = lowbit_run(model, f"--inputs={inputs}", "--max-memory=100T", timeout=QUICK_S)
    _assert_one_clear_error(proc, "out of memory")


def test_python_import_max_memory(lowbit_module):
    lowbit = lowbit_module
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1000, 1000, 3])
    graph = helper.make_graph([helper.make_node("Expand", ["x", "s"], ["y"], name="big")], "g", [x], [y],
                              [_i64("s", [1000, 1000, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(Exception, match=r"node 'big' \(Expand.*--max-memory"):
        lowbit.import_onnx(model, max_memory="1M")
    assert lowbit.import_onnx(model, max_memory=64 << 20) is not None
    with pytest.raises(ValueError, match="--max-memory expects"):
        lowbit.import_onnx(model, max_memory="lots")
