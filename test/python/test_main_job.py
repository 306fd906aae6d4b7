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


def test_main_job_rejects_a_missing_model(tmp_path):
    proc = run_main("--model", str(tmp_path / "absent.onnx"))
    assert proc.returncode != 0
    assert "absent.onnx" in proc.stdout + proc.stderr
