"""The main job (scripts/main.py) on the default real model, PP-OCRv4 det from
the rapidocr-onnxruntime wheel: lowbit must match onnxruntime within 1e-4
max relative error. A smaller image than the README default keeps it quick;
the job and its parity rule are the same."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO_ROOT, Tool


def run_main(*args: str) -> subprocess.CompletedProcess:
    lowbit_run = Tool("lowbit-run")
    assert lowbit_run.path.is_file(), f"{lowbit_run.path} is missing: build lowbit first"
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "main.py"), "--lowbit-run", str(lowbit_run.path), *args],
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_default_model_matches_onnxruntime():
    proc = run_main("--input-shape", "x=1x3x128x128", "--repeat", "1")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    match = re.search(r"parity: PASS \(worst max relative error ([0-9.eE+-]+)", output)
    assert match, f"no parity verdict in the report:\n{output}"
    assert float(match.group(1)) <= 1e-4
    # The report names the ops it imported and lowbit's timings.
    assert "Conv: 62" in output
    assert re.search(r"run: [0-9.]+ ms", output)
    # Then the default recipe (8-bit weights and activations on integer
    # kernels) on the same input: its cost is reported against the float
    # output. Only what must hold is asserted: the numbers exist and are
    # finite, the text-mask agreement is a fraction, and the packed weights
    # are smaller (int8 + one f32 scale per output channel: 3.5x..4x).
    assert "quantized with recipe rtn-w8a8" in output, output
    err = re.search(r"sigmoid_0\.tmp_0: max abs error ([0-9.eE+-]+), mean abs error ([0-9.eE+-]+)", output)
    assert err, output
    assert 0.0 <= float(err.group(2)) <= float(err.group(1)) <= 1.0
    agree = re.search(r"pixel agreement ([0-9.]+)%, IoU ([0-9.]+)", output)
    assert agree, output
    assert 0.0 <= float(agree.group(1)) <= 100.0 and 0.0 <= float(agree.group(2)) <= 1.0
    mem = re.search(r"weights: ([0-9.]+) MB as f32 -> ([0-9.]+) MB stored", output)
    assert mem, output
    assert 3.5 <= float(mem.group(1)) / float(mem.group(2)) <= 4.0
    # Then the same quantized model as an ahead-of-time artefact, loaded in
    # a fresh process without JIT, equal to the JIT's outputs bit for bit.
    assert re.search(r"deployable artefact \(rtn-w8a8\): .*\.so, \.h, \.json", output), output
    assert re.search(r"fresh process \(lowbit run, no JIT\): load [0-9.]+ ms", output), output
    assert "outputs bit-identical to the JIT: yes" in output


def test_main_job_recipe_none_skips_quantization():
    proc = run_main("--input-shape", "x=1x3x64x64", "--repeat", "1", "--recipe", "none")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "parity: PASS" in output
    assert "quantized with recipe" not in output


def test_main_job_rejects_an_unknown_recipe():
    proc = run_main("--input-shape", "x=1x3x64x64", "--repeat", "1", "--recipe", "no-such-recipe")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "no-such-recipe" in output


def test_main_job_rejects_a_missing_model(tmp_path):
    proc = run_main("--model", str(tmp_path / "absent.onnx"))
    assert proc.returncode != 0
    assert "absent.onnx" in proc.stdout + proc.stderr
