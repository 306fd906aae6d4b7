"""scripts/conformance.py's handling of node tests whose expected output the
ONNX spec leaves undefined (float -> integer Cast out of range): those
elements are not compared, every other element still is, and the report says
how many were left out. The expected outputs of these tests are written by
hand, so the result cannot depend on the ml_dtypes version installed."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from conftest import REPO_ROOT

_spec = importlib.util.spec_from_file_location("conformance", REPO_ROOT / "scripts" / "conformance.py")
conformance = importlib.util.module_from_spec(_spec)
sys.modules["conformance"] = conformance  # dataclasses look their module up
_spec.loader.exec_module(conformance)


def test_undefined_cast_mask_by_hand():
    x = np.array([-9, -8.9, 7.99, 8, np.nan, np.inf, -0.5, 15.9, 16], np.float32)
    int4 = conformance.undefined_cast_mask(x, 4, True)
    uint4 = conformance.undefined_cast_mask(x, 4, False)
    assert int4.tolist() == [True, False, False, True, True, True, False, True, True]
    assert uint4.tolist() == [True, True, False, False, True, True, False, False, True]


def cast_test(root: Path, name: str, x: np.ndarray, y: np.ndarray, to: int) -> Path:
    """One node test folder: Cast(x) to `to`, expecting y (an int8/uint8
    container of the sub-byte values)."""
    test_dir = root / name
    data = test_dir / "test_data_set_0"
    data.mkdir(parents=True)
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=to)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", to, list(y.shape))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    (test_dir / "model.onnx").write_bytes(model.SerializeToString())
    (data / "input_0.pb").write_bytes(numpy_helper.from_array(x, "x").SerializeToString())
    # Sub-byte tensors written directly (one value per int32 entry), so the
    # expected values are exactly the ones given here.
    y_proto = helper.make_tensor("y", to, list(y.shape), y.astype(np.int32).tolist())
    (data / "output_0.pb").write_bytes(y_proto.SerializeToString())
    return test_dir


def run_conformance(lowbit_run, node_dir: Path, tmp_path: Path) -> tuple[int, dict]:
    report = tmp_path / "report.json"
    rc = conformance.main(["--lowbit-run", str(lowbit_run.path), "--node-tests", str(node_dir),
                           "--jobs", "1", "--json", str(report)])
    return rc, {t["name"]: t for t in json.loads(report.read_text())["tests"]}


def test_out_of_range_elements_are_left_out_and_counted(lowbit_run, tmp_path):
    x = np.array([-9, -1.5, 3.7, 8, 200, np.nan, 7], np.float32)
    # In-range elements: trunc(-1.5) = -1, trunc(3.7) = 3, 7. The rest (-9, 8,
    # 200, NaN) are undefined; the expected file holds what ml_dtypes 0.7
    # writes there (0), which lowbit's wrap-around rule does not give.
    y = np.array([0, -1, 3, 0, 0, 0, 7], np.int8)
    node_dir = tmp_path / "node"
    cast_test(node_dir, "test_cast_float_to_int4_oor", x, y, TensorProto.INT4)
    rc, tests = run_conformance(lowbit_run, node_dir, tmp_path)
    result = tests["test_cast_float_to_int4_oor"]
    assert (rc, result["status"], result["undefined_elements"]) == (0, "pass", 4), result


def test_a_wrong_in_range_element_still_fails(lowbit_run, tmp_path):
    x = np.array([-9, -1.5, 3.7, 8], np.float32)
    y = np.array([0, -1, 2, 0], np.int8)  # trunc(3.7) is 3, not 2
    node_dir = tmp_path / "node"
    cast_test(node_dir, "test_cast_float_to_int4_wrong", x, y, TensorProto.INT4)
    rc, tests = run_conformance(lowbit_run, node_dir, tmp_path)
    result = tests["test_cast_float_to_int4_wrong"]
    assert (rc, result["status"], result["undefined_elements"]) == (1, "fail", 2), result
