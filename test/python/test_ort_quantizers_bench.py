"""Smoke test of bench/ort_quantizers.py (lowbit recipes side by side with
onnxruntime's quantizers): the --quick run on MiniLM must write a JSON with
every quick configuration, finite metrics for what ran, and a recorded
reason for what could not run. The verdict (who is closer to float) is
measured, never asserted."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys

from conftest import REPO_ROOT, python_package_dir

BENCH = REPO_ROOT / "bench" / "ort_quantizers.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("ort_quantizers", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_minilm_run_writes_every_row(lowbit_module, tmp_path):
    bench = load_bench()
    out = tmp_path / "ort_quantizers.json"
    proc = subprocess.run([sys.executable, str(BENCH), "--models", "minilm", "--quick", "--out", str(out)],
                          capture_output=True, text=True, errors="replace", timeout=600,
                          env={**os.environ, "LOWBIT_BUILD_DIR": str(python_package_dir().parent)})
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    print(proc.stdout)
    result = json.loads(out.read_text())
    assert result["quick"] is True
    assert {"cpu", "cores", "memory_bytes", "onnxruntime"} <= set(result["machine"])
    assert list(result["models"]) == ["minilm"]
    minilm = result["models"]["minilm"]
    assert minilm["inputs"]["metric"] == "min_cosine" and minilm["inputs"]["higher_is_better"]

    rows = {(r["tool"], r["config"]): r for r in minilm["rows"]}
    expected = {("onnxruntime", c) for c in bench.QUICK_ORT} | {("lowbit", c) for c in bench.QUICK_LOWBIT}
    assert set(rows) == expected, sorted(rows)

    def assert_measured(row):
        assert row["status"] == "ok", row
        cosines = row["metrics"]
        assert all(math.isfinite(v) for v in cosines.values()), row
        assert -1.0 <= cosines["min_cosine"] <= cosines["mean_cosine"] <= 1.0 + 1e-9, row
        assert 0 < row["weight_bytes"] < minilm["float_weight_bytes"], row
        assert row["quant_time_s"] >= 0, row

    for config in bench.QUICK_LOWBIT:
        assert_measured(rows[("lowbit", config)])
    # A calibrated recipe's time includes its calibration.
    gptq = rows[("lowbit", "gptq-w4a16-g128")]
    assert gptq["calibration_time_s"] > 0 and gptq["quant_time_s"] >= gptq["calibration_time_s"]
    # 4-bit weights take fewer bytes than 8-bit ones.
    assert rows[("lowbit", "rtn-w4a16-g128")]["weight_bytes"] < rows[("lowbit", "rtn-w8a8")]["weight_bytes"]

    # onnxruntime's static quantizer needs nothing beyond onnxruntime: it must run.
    assert_measured(rows[("onnxruntime", "static-minmax")])
    # The others may lack an optional package here; then the row says which.
    for config in bench.QUICK_ORT - {"static-minmax"}:
        row = rows[("onnxruntime", config)]
        if row["status"] != "ok":
            assert row["status"].startswith("unavailable: ") and len(row["status"]) > 20, row
            assert "metrics" not in row, row
        else:
            assert_measured(row)
    if importlib.util.find_spec("onnx_ir") is not None:
        assert_measured(rows[("onnxruntime", "matmulnbits-default-rtn")])

    verdicts = {v["group"]: v for v in minilm["verdicts"]}
    assert set(verdicts) == {bench.W8A8, bench.W4}
    for v in verdicts.values():
        assert v["lowbit_ge_ort_best"] in (True, False, None)
    # The printed table carries the verdict lines.
    assert "lowbit >= ORT best" in proc.stdout
