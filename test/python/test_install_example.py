"""The C++ library as an embedder sees it: `cmake --install` the lowbit
component, build examples/embed against it with find_package(lowbit), run it
on a small model and compare its printed output sums with onnxruntime."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import onnx
import onnxruntime as ort

from conftest import REPO_ROOT, build_dir
from test_cli import conv_model


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, **kwargs)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_installed_library_embeds(tmp_path):
    assert shutil.which("cmake") and shutil.which("ninja"), "cmake and ninja are needed"
    prefix = tmp_path / "prefix"
    run(["cmake", "--install", build_dir(), "--prefix", prefix, "--component", "lowbit"])
    assert (prefix / "include" / "lowbit" / "Compiler.h").is_file()
    assert (prefix / "lib" / "cmake" / "lowbit" / "lowbitConfig.cmake").is_file()

    example = tmp_path / "embed-build"
    run(["cmake", "-G", "Ninja", "-S", REPO_ROOT / "examples" / "embed", "-B", example,
         f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release"])
    run(["ninja", "-C", example])

    model = conv_model(np.random.default_rng(5), pads=[1, 0, 1, 2], strides=[2, 1])
    path = tmp_path / "conv.onnx"
    onnx.save(model, path)
    out = run([example / "embed", path]).stdout
    match = re.search(r"y: \[1x8x9x17\] sum=([-0-9.]+)", out)
    assert match, out

    # The example's input pattern, computed here independently.
    x = (((np.arange(3 * 17 * 17) * 7) % 17) / 8.0 - 1.0).astype(np.float32).reshape(1, 3, 17, 17)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = float(session.run(None, {"x": x})[0].sum())
    assert abs(float(match.group(1)) - expected) <= 1e-4 * max(1.0, abs(expected))
