#!/usr/bin/env python3
"""ONNX backend node-test conformance for lowbit-run.

Runs the node tests of the installed onnx package (test_*/model.onnx with
test_data_set_*/input_N.pb and output_N.pb) through `lowbit-run MODEL
--test-data=DIR`, for every test whose ops are all in `lowbit-run --list-ops`.
Exit 0 of lowbit-run is a pass, exit 3 an unsupported feature (listed, not a
failure), anything else a failure. Newer onnx wheels ship the test cases as
Python code without the generated data; then the data is generated once from
that code into build/onnx-node-tests/onnx-VERSION/.

lowbit compiles for static shapes, so a graph input that only feeds operands
lowbit needs at compile time (Resize's roi, scales and sizes) is folded into
the model as an initializer holding the test's own input_N.pb value; the
report counts those tests.

The ONNX spec leaves a float -> integer Cast undefined when the value is out
of the target's range (and onnx's generated expected outputs follow whatever
the installed ml_dtypes does there). Such elements of Cast / CastLike tests
are not compared: they are set to 0 in the input and the expected output of a
copy of the data set, the rest is compared as usual, and the report lists the
tests and how many elements were left out (docs/onnx-cast.md).

    python3 scripts/conformance.py --lowbit-run build/bin/lowbit-run
    python3 scripts/conformance.py --filter 'test_(add|relu)' --jobs 2 --json out.json
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

REPO_ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_S = 60
EXIT_OK, EXIT_MISMATCH, EXIT_UNSUPPORTED = 0, 2, 3
# Operands (op type -> input indices) that lowbit needs as constants because it
# compiles for static shapes.
COMPILE_TIME_OPERANDS = {"Resize": {1, 2, 3}}


@dataclasses.dataclass
class TestResult:
    name: str
    ops: list[str]
    # "pass", "fail", "unsupported-feature", or "skipped" (uses ops lowbit lacks)
    status: str = "skipped"
    missing_ops: list[str] = dataclasses.field(default_factory=list)
    exit_code: int | None = None
    message: str = ""
    seconds: float = 0.0
    # Graph inputs folded into the model from the test data (compile-time operands).
    folded_inputs: list[str] = dataclasses.field(default_factory=list)
    # Elements whose expected value the spec leaves undefined (not compared).
    undefined_elements: int = 0


# ---------------------------------------------------------------------------
# Finding (or generating) the node tests


def shipped_node_test_dir() -> Path | None:
    node_dir = Path(onnx.__file__).parent / "backend" / "test" / "data" / "node"
    if node_dir.is_dir() and any(node_dir.glob("test_*/model.onnx")):
        return node_dir
    return None


def _serialize_value(value, value_info: onnx.ValueInfoProto) -> bytes:
    """One input or output as a .pb file, the way onnx's own generator
    (onnx/backend/test/cmd_tools.py) writes it."""
    type_proto = value_info.type
    if type_proto.HasField("map_type"):
        return numpy_helper.from_dict(value, value_info.name).SerializeToString()
    if type_proto.HasField("sequence_type"):
        return numpy_helper.from_list(value, value_info.name).SerializeToString()
    if type_proto.HasField("optional_type"):
        return numpy_helper.from_optional(value, value_info.name).SerializeToString()
    if isinstance(value, onnx.TensorProto):
        return value.SerializeToString()
    return numpy_helper.from_array(np.asarray(value), value_info.name).SerializeToString()


def write_node_tests(out_dir: Path) -> tuple[int, list[str]]:
    """Writes every node test case that onnx defines in Python into out_dir;
    returns (written, names that could not be written)."""
    import onnx.backend.test.case.node as node_cases

    # The case generators divide by zero etc. on purpose; their warnings are noise.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = node_cases.collect_testcases()
    written, failed = 0, []
    for case in cases:
        test_dir = out_dir / case.name
        try:
            test_dir.mkdir(parents=True)
            (test_dir / "model.onnx").write_bytes(case.model.SerializeToString())
            graph = case.model.graph
            for set_index, (inputs, outputs) in enumerate(case.data_sets):
                set_dir = test_dir / f"test_data_set_{set_index}"
                set_dir.mkdir()
                for j, value in enumerate(inputs):
                    (set_dir / f"input_{j}.pb").write_bytes(_serialize_value(value, graph.input[j]))
                for j, value in enumerate(outputs):
                    (set_dir / f"output_{j}.pb").write_bytes(_serialize_value(value, graph.output[j]))
            written += 1
        except Exception:  # noqa: BLE001 - a case onnx itself cannot serialise is left out, and said so
            shutil.rmtree(test_dir, ignore_errors=True)
            failed.append(case.name)
    return written, failed


def generated_node_test_dir(cache_root: Path) -> Path:
    """The node tests generated for this onnx version, made on first use.
    Written to a temporary folder and renamed, so an interrupted run never
    leaves a half-filled cache behind."""
    target = cache_root / f"onnx-{onnx.__version__}"
    marker = target / ".complete"
    if marker.is_file():
        return target
    print(
        f"conformance: onnx {onnx.__version__} ships no node test data; "
        f"generating it from onnx.backend.test.case.node into {target}",
        flush=True,
    )
    cache_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=cache_root))
    try:
        start = time.monotonic()
        written, failed = write_node_tests(staging)
        if written == 0:
            raise RuntimeError("onnx defined no node test cases")
        (staging / ".complete").write_text(
            json.dumps({"onnx": onnx.__version__, "written": written, "not_written": failed}, indent=1)
        )
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(
        f"conformance: generated {written} node tests in {time.monotonic() - start:.1f} s"
        + (f" ({len(failed)} cases onnx could not serialise: {', '.join(failed)})" if failed else ""),
        flush=True,
    )
    return target


# ---------------------------------------------------------------------------
# Elements the spec leaves undefined

CAST_OPS = {"Cast", "CastLike"}
FLOAT_TYPES = {
    onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16,
}
# Integer element type -> (bits, signed).
INTEGER_TYPES = {
    onnx.TensorProto.INT8: (8, True), onnx.TensorProto.UINT8: (8, False),
    onnx.TensorProto.INT16: (16, True), onnx.TensorProto.UINT16: (16, False),
    onnx.TensorProto.INT32: (32, True), onnx.TensorProto.UINT32: (32, False),
    onnx.TensorProto.INT64: (64, True), onnx.TensorProto.UINT64: (64, False),
    onnx.TensorProto.INT4: (4, True), onnx.TensorProto.UINT4: (4, False),
}
for _name, _bits, _signed in (("INT2", 2, True), ("UINT2", 2, False)):
    if hasattr(onnx.TensorProto, _name):  # onnx >= 1.20
        INTEGER_TYPES[getattr(onnx.TensorProto, _name)] = (_bits, _signed)


def _elem_type(value_info: onnx.ValueInfoProto) -> int:
    return value_info.type.tensor_type.elem_type


def float_to_int_cast(model: onnx.ModelProto) -> tuple[int, int] | None:
    """(bits, signed) of the target when the model is one Cast / CastLike of a
    float graph input to an integer graph output, else None."""
    graph = model.graph
    if len(graph.node) != 1 or graph.node[0].op_type not in CAST_OPS or graph.node[0].domain not in ("", "ai.onnx"):
        return None
    if not graph.input or not graph.output or graph.node[0].input[0] != graph.input[0].name:
        return None
    if _elem_type(graph.input[0]) not in FLOAT_TYPES:
        return None
    return INTEGER_TYPES.get(_elem_type(graph.output[0]))


def undefined_cast_mask(x: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """True where Cast(x) to the integer type is undefined by the spec: x not
    finite, or x truncated toward zero outside [min, max] of the type."""
    low = -(2 ** (bits - 1)) if signed else 0
    high = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    with np.errstate(invalid="ignore"):
        wide = np.asarray(x).astype(np.float64)
        truncated = np.trunc(wide)
        return ~np.isfinite(wide) | (truncated < low) | (truncated > high)


def mask_undefined(target: tuple[int, bool], data_dir: Path, out_dir: Path) -> tuple[Path, int]:
    """For a float -> integer Cast test (target: float_to_int_cast of its
    model): a copy of data_dir whose undefined elements (undefined_cast_mask)
    are 0 in the input and in the expected output; returns (folder to test
    with, number of elements masked). A data set with none is returned as it
    is."""
    x_proto = onnx.load_tensor(str(data_dir / "input_0.pb"))
    x = numpy_helper.to_array(x_proto)
    mask = undefined_cast_mask(x, *target)
    masked = int(mask.sum())
    if masked == 0:
        return data_dir, 0
    copy = out_dir / f"masked_{data_dir.name}"
    shutil.copytree(data_dir, copy)
    y_proto = onnx.load_tensor(str(data_dir / "output_0.pb"))
    y = numpy_helper.to_array(y_proto).copy()
    if y.shape != x.shape:
        raise RuntimeError(f"{data_dir}: Cast output shape {y.shape} differs from input shape {x.shape}")
    x = x.copy()
    x[mask] = 0
    y[mask] = 0
    (copy / "input_0.pb").write_bytes(numpy_helper.from_array(x, x_proto.name).SerializeToString())
    y_new = numpy_helper.from_array(y, y_proto.name)
    y_new.data_type = y_proto.data_type  # sub-byte types come back through their numpy container
    (copy / "output_0.pb").write_bytes(y_new.SerializeToString())
    return copy, masked


# ---------------------------------------------------------------------------
# Running lowbit-run


def op_key(node: onnx.NodeProto) -> str:
    # --list-ops names default-domain ops; other domains are qualified so that
    # they never match by accident.
    return node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"


def model_op_types(model: onnx.ModelProto) -> set[str]:
    """Op types of every node, including those inside If/Loop/Scan bodies."""
    ops: set[str] = set()

    def walk(graph: onnx.GraphProto) -> None:
        for node in graph.node:
            ops.add(op_key(node))
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)
                elif attr.type == onnx.AttributeProto.GRAPHS:
                    for subgraph in attr.graphs:
                        walk(subgraph)

    walk(model.graph)
    return ops


def compile_time_inputs(model: onnx.ModelProto) -> list[int]:
    """Indices of the graph inputs whose every use is a compile-time operand
    (COMPILE_TIME_OPERANDS) of a top-level node; uses inside subgraphs keep an
    input as it is."""
    initializers = {t.name for t in model.graph.initializer}
    uses: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)

    def walk(graph: onnx.GraphProto, top: bool) -> None:
        for node in graph.node:
            for index, name in enumerate(node.input):
                uses[name].append((op_key(node) if top else "", index))
            for attr in node.attribute:
                for sub in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs):
                    walk(sub, False)

    walk(model.graph, True)
    folded = []
    for index, value in enumerate(model.graph.input):
        if value.name in initializers or not uses[value.name]:
            continue
        if all(i in COMPILE_TIME_OPERANDS.get(op, ()) for op, i in uses[value.name]):
            folded.append(index)
    return folded


def fold_inputs(test_dir: Path, data_set: Path, folded: list[int], out_dir: Path) -> tuple[Path, Path]:
    """model.onnx with graph inputs `folded` turned into initializers holding
    data_set's input_N.pb, and a test-data folder with the other inputs
    renumbered; returns (model, data folder) under out_dir."""
    model = onnx.load(str(test_dir / "model.onnx"))
    data_dir = out_dir / data_set.name
    data_dir.mkdir()
    kept = []
    for index, value in enumerate(list(model.graph.input)):
        source = data_set / f"input_{index}.pb"
        if index in folded:
            tensor = onnx.load_tensor(str(source))
            tensor.name = value.name
            model.graph.initializer.append(tensor)
        else:
            kept.append(value)
            if source.exists():
                shutil.copyfile(source, data_dir / f"input_{len(kept) - 1}.pb")
    del model.graph.input[:]
    model.graph.input.extend(kept)
    for output in data_set.glob("output_*.pb"):
        shutil.copyfile(output, data_dir / output.name)
    model_path = out_dir / f"model_{data_set.name}.onnx"
    onnx.save(model, str(model_path))
    return model_path, data_dir


def supported_ops(lowbit_run: Path) -> set[str]:
    proc = subprocess.run(
        [str(lowbit_run), "--list-ops"], capture_output=True, text=True, errors="replace", timeout=RUN_TIMEOUT_S
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{lowbit_run} --list-ops exited {proc.returncode}: {last_line(proc.stderr) or last_line(proc.stdout)}"
        )
    return {line.strip() for line in proc.stdout.splitlines() if line.strip()}


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def error_line(text: str) -> str:
    """The contract's one "error: ..." line if there is one, else the last line."""
    for line in text.splitlines():
        if line.strip().startswith("error:"):
            return line.strip()
    return last_line(text)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def run_test(
    test_dir: Path, result: TestResult, lowbit_run: Path, extra_args: list[str], folded: list[int],
    cast_target: tuple[int, bool] | None,
) -> TestResult:
    """Runs every data set of one test; the first one that does not pass decides."""
    with tempfile.TemporaryDirectory(prefix="lowbit-conformance-") as tmp:
        return _run_test(test_dir, result, lowbit_run, extra_args, folded, cast_target, Path(tmp))


def _run_test(
    test_dir: Path, result: TestResult, lowbit_run: Path, extra_args: list[str], folded: list[int],
    cast_target: tuple[int, bool] | None, tmp: Path
) -> TestResult:
    start = time.monotonic()
    data_sets = sorted(p for p in test_dir.glob("test_data_set_*") if p.is_dir())
    if not data_sets:
        result.status, result.message = "fail", "no test_data_set_* folder"
    for data_set in data_sets:
        model_path, data_dir = test_dir / "model.onnx", data_set
        if folded:
            model_path, data_dir = fold_inputs(test_dir, data_set, folded, tmp)
        if cast_target is not None:
            try:
                data_dir, masked = mask_undefined(cast_target, data_dir, tmp)
            except Exception as err:  # noqa: BLE001 - a test data set we cannot read is a failed test
                result.status, result.message = "fail", f"{data_set.name}: cannot mask undefined elements: {err}"
                break
            result.undefined_elements += masked
        command = [str(lowbit_run), str(model_path), f"--test-data={data_dir}", *extra_args]
        try:
            proc = subprocess.run(
                command, capture_output=True, text=True, errors="replace", timeout=RUN_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            result.status, result.exit_code = "fail", None
            result.message = f"{data_set.name}: timed out after {RUN_TIMEOUT_S} s"
            break
        result.exit_code = proc.returncode
        if proc.returncode == EXIT_OK:
            result.status = "pass"
            continue
        if proc.returncode == EXIT_UNSUPPORTED:
            result.status = "unsupported-feature"
            result.message = error_line(proc.stderr) or "(no message)"
        else:
            result.status = "fail"
            detail = last_line(proc.stderr) or last_line(proc.stdout) or "(no output)"
            result.message = f"{data_set.name}: {describe_exit(proc.returncode)}: {detail}"
        break
    result.seconds = time.monotonic() - start
    return result


# ---------------------------------------------------------------------------
# Report


def print_per_op_table(results: list[TestResult]) -> None:
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for result in results:
        if result.status == "skipped":
            continue
        for op in result.ops:
            counts[op][result.status] += 1
    if not counts:
        print("per-op results: no test was run")
        return
    width = max(len("op"), *(len(op) for op in counts))
    print("per-op results (a test counts under every op type its model uses):")
    print(f"  {'op':<{width}}  {'passed':>6}  {'failed':>6}  {'unsupported-feature':>19}")
    for op in sorted(counts):
        c = counts[op]
        print(f"  {op:<{width}}  {c['pass']:>6}  {c['fail']:>6}  {c['unsupported-feature']:>19}")


def print_skipped(results: list[TestResult]) -> None:
    skipped = [r for r in results if r.status == "skipped"]
    if not skipped:
        return
    per_missing_op = collections.Counter(op for r in skipped for op in r.missing_ops)
    print(
        f"skipped {len(skipped)} tests that use ops lowbit-run does not list "
        f"({len(per_missing_op)} ops; tests per missing op, a test counts under each op it lacks):"
    )
    text = ", ".join(f"{op} {n}" for op, n in sorted(per_missing_op.items()))
    print(textwrap.fill(text, width=100, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lowbit-run", type=Path, default=REPO_ROOT / "build" / "bin" / "lowbit-run")
    parser.add_argument("--filter", metavar="REGEX", help="run only tests whose name matches (re.search)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel runs (default: CPU count)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every test's result here")
    parser.add_argument("--node-tests", type=Path, metavar="DIR", help="use this folder of test_* node tests")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=REPO_ROOT / "build" / "onnx-node-tests",
        help="where node tests are generated when onnx ships none (default: build/onnx-node-tests)",
    )
    parser.add_argument("--rtol", type=float, help="passed to lowbit-run (default: its own)")
    parser.add_argument("--atol", type=float, help="passed to lowbit-run (default: its own)")
    args = parser.parse_args(argv)

    lowbit_run = args.lowbit_run.resolve()
    if not lowbit_run.is_file():
        print(f"conformance: error: {args.lowbit_run} does not exist; build it first (bash scripts/build.sh)",
              file=sys.stderr)
        return 1
    if args.jobs < 1:
        print("conformance: error: --jobs must be at least 1", file=sys.stderr)
        return 1
    name_filter = re.compile(args.filter) if args.filter else None
    extra_args = []
    if args.rtol is not None:
        extra_args.append(f"--rtol={args.rtol}")
    if args.atol is not None:
        extra_args.append(f"--atol={args.atol}")

    try:
        supported = supported_ops(lowbit_run)
        if args.node_tests is not None:
            node_dir = args.node_tests
        else:
            node_dir = shipped_node_test_dir() or generated_node_test_dir(args.cache_dir)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as err:
        print(f"conformance: error: {err}", file=sys.stderr)
        return 1

    test_dirs = sorted(p.parent for p in node_dir.glob("test_*/model.onnx"))
    if name_filter:
        test_dirs = [d for d in test_dirs if name_filter.search(d.name)]
    print(f"conformance: {len(test_dirs)} node tests from {node_dir} (onnx {onnx.__version__})")
    print(f"conformance: lowbit-run lists {len(supported)} op types: {lowbit_run}")

    results: list[TestResult] = []
    to_run: list[tuple[Path, TestResult, list[int], tuple[int, bool] | None]] = []
    for test_dir in test_dirs:
        try:
            model = onnx.load(str(test_dir / "model.onnx"), load_external_data=False)
        except Exception as err:  # noqa: BLE001 - a broken test file is a failed test, not a crash
            results.append(TestResult(test_dir.name, [], "fail", message=f"onnx cannot load model.onnx: {err}"))
            continue
        ops = sorted(model_op_types(model))
        result = TestResult(test_dir.name, ops)
        result.missing_ops = [op for op in ops if op not in supported]
        results.append(result)
        if not result.missing_ops:
            folded = compile_time_inputs(model)
            result.folded_inputs = [model.graph.input[i].name for i in folded]
            to_run.append((test_dir, result, folded, float_to_int_cast(model)))

    print(f"conformance: running {len(to_run)} tests with {args.jobs} jobs, {RUN_TIMEOUT_S} s limit each", flush=True)
    start = time.monotonic()
    progress_step = max(1, len(to_run) // 10)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_test, d, r, lowbit_run, extra_args, f, c) for d, r, f, c in to_run]
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            future.result()
            if done % progress_step == 0 and done != len(to_run):
                print(f"conformance: {done}/{len(to_run)} done, {time.monotonic() - start:.0f} s", flush=True)
    elapsed = time.monotonic() - start

    counts = collections.Counter(r.status for r in results)
    print()
    print_per_op_table(results)
    failed = sorted((r for r in results if r.status == "fail"), key=lambda r: r.name)
    unsupported = sorted((r for r in results if r.status == "unsupported-feature"), key=lambda r: r.name)
    if unsupported:
        print(f"unsupported features ({len(unsupported)} tests; lowbit-run exit 3, not counted as failures):")
        for r in unsupported:
            print(f"  {r.name}: {r.message}")
    print_skipped(results)
    folded_runs = [r for r in results if r.folded_inputs and r.status != "skipped"]
    if folded_runs:
        print(
            f"{len(folded_runs)} tests ran with compile-time operands (Resize roi/scales/sizes) given as graph "
            f"inputs folded into the model from their test data ({sum(r.status == 'pass' for r in folded_runs)} "
            "of them passed)"
        )
    undefined = [r for r in results if r.undefined_elements]
    if undefined:
        print(
            f"{len(undefined)} tests have elements whose result the ONNX spec leaves undefined (float -> integer "
            "Cast out of range); those elements were not compared, the rest were:"
        )
        text = ", ".join(f"{r.name} ({r.undefined_elements}, {r.status})" for r in sorted(undefined, key=lambda r: r.name))
        print(textwrap.fill(text, width=100, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False))
    if failed:
        print(f"FAILED ({len(failed)} tests):")
        for r in failed:
            print(f"  {r.name}: {r.message}")

    if args.json:
        report = {
            "onnx_version": onnx.__version__,
            "node_test_dir": str(node_dir),
            "lowbit_run": str(lowbit_run),
            "supported_ops": sorted(supported),
            "seconds": round(elapsed, 2),
            "counts": {s: counts[s] for s in ("pass", "fail", "unsupported-feature", "skipped")},
            "tests": [dataclasses.asdict(r) for r in results],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
        print(f"conformance: results written to {args.json}")

    print(
        f"conformance: {counts['unsupported-feature']} unsupported-feature, "
        f"{counts['skipped']} skipped (unsupported ops), {elapsed:.1f} s"
    )
    print(f"conformance: {counts['pass']} passed, {counts['fail']} failed")
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
