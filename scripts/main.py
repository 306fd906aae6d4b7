#!/usr/bin/env python3
"""The main job: run a real ONNX model through lowbit-run and check it against
onnxruntime on the same deterministic input, then quantize it with a recipe
and report what the quantization cost.

With no arguments it runs PP-OCRv4 det, which the rapidocr-onnxruntime package
ships, at 1x3x256x256. Prints the model's op histogram, lowbit-run's --report
lines, onnxruntime's time and the parity verdict; exits non-zero when parity
fails or lowbit-run reports an error. Then (default model: recipe rtn-w8a8,
8-bit per-channel weights and 8-bit activations on integer kernels) runs the
quantized model on the same input (through the lowbit Python package,
calibrating on --calibration-samples generated inputs when the recipe needs
data) and prints its error against the float onnxruntime output, the
text-mask agreement of the probability map at the detector's threshold (0.3),
and the weight bytes before and after; the per-layer report of
scripts/report.py (bits, bytes, input error per layer, PNG) goes to
build/report/<model>-<recipe>/. The quantized numbers are reported, not
thresholded. Last, for recipes that need no calibration data, the quantized
model is compiled ahead of time (`lowbit compile`) into
build/artefacts/<model>-<recipe>.so/.h/.json, loaded in a fresh process
(`lowbit run`, no JIT), and its outputs must equal the JIT's bit for bit.

    python3 scripts/main.py
    python3 scripts/main.py --recipe rtn-w4a16-g128
    python3 scripts/main.py --recipe gptq-w4a16-g128 --calibration-samples 8
    python3 scripts/main.py --model M.onnx --input-shape x=1x3x64x64 --seed 1
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

REPO_ROOT = Path(__file__).resolve().parent.parent
DET_MODEL_FILE = "ch_PP-OCRv4_det_infer.onnx"
DET_DEFAULT_SHAPE = "x=1x3x256x256"
DET_DEFAULT_RECIPE = "rtn-w8a8"
# Parity threshold on max|lowbit - ref| / max|ref|.
MAX_RELATIVE_ERROR = 1e-4
RELATIVE_ERROR_DEFINITION = "max|lowbit - onnxruntime| / max|onnxruntime|"


class JobError(Exception):
    """A problem that ends the job with a one-line message."""


def find_det_model() -> Path:
    # find_spec locates the package without importing it (its import pulls in
    # OpenCV, which this job does not need).
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise JobError(
            "package rapidocr_onnxruntime is not installed (run scripts/setup.sh)"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "models" / DET_MODEL_FILE
        if candidate.is_file():
            return candidate
    raise JobError(
        f"rapidocr_onnxruntime is installed but has no models/{DET_MODEL_FILE}"
    )


def parse_shape_flag(text: str) -> tuple[str, tuple[int, ...]]:
    """Parses NAME=DxDxD (the same syntax as lowbit-run's --input-shape)."""
    name, sep, dims_text = text.rpartition("=")
    if not sep or not name:
        raise JobError(f"--input-shape {text!r}: expected NAME=DIMS, e.g. x=1x3x64x64")
    try:
        dims = tuple(int(d) for d in dims_text.split("x")) if dims_text else ()
    except ValueError:
        raise JobError(f"--input-shape {text!r}: dims must be integers joined by 'x'") from None
    if any(d <= 0 for d in dims):
        raise JobError(f"--input-shape {text!r}: dims must be positive")
    return name, dims


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    # Old exporters also list initializers as graph inputs; those are not fed.
    initializers = {init.name for init in model.graph.initializer}
    return [vi for vi in model.graph.input if vi.name not in initializers]


def describe_dims(vi: onnx.ValueInfoProto) -> str:
    dims = []
    for dim in vi.type.tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(str(dim.dim_value))
        else:
            dims.append(dim.dim_param or "?")
    return "[" + ",".join(dims) + "]"


def resolve_input_shapes(
    inputs: list[onnx.ValueInfoProto], overrides: dict[str, tuple[int, ...]]
) -> dict[str, tuple[int, ...]]:
    known = {vi.name for vi in inputs}
    for name in overrides:
        if name not in known:
            raise JobError(
                f"--input-shape names {name!r}, but the model's inputs are {sorted(known)}"
            )
    shapes = {}
    for vi in inputs:
        if not vi.type.HasField("tensor_type"):
            raise JobError(f"input {vi.name!r} is not a tensor")
        if vi.name in overrides:
            shapes[vi.name] = overrides[vi.name]
            continue
        dims = vi.type.tensor_type.shape.dim
        if not all(d.HasField("dim_value") and d.dim_value > 0 for d in dims):
            raise JobError(
                f"input {vi.name!r} has shape {describe_dims(vi)} with dynamic dims; "
                f"give --input-shape {vi.name}=DIMS"
            )
        shapes[vi.name] = tuple(d.dim_value for d in dims)
    return shapes


def synthetic_document_image(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """An image-like NCHW batch in [0, 1]: a light paper gradient with lines of
    dark glyph-like strokes, a per-channel tint and a little noise. PP-OCRv4 det
    finds the lines as text (white noise or plain blocks leave its map empty,
    which would make the parity check weak)."""
    n, c, h, w = shape
    rows, cols = np.meshgrid(
        np.linspace(0.0, 1.0, h), np.linspace(0.0, 1.0, w), indexing="ij"
    )
    glyph_h = max(5, h // 20)
    glyph_w = max(3, glyph_h * 3 // 5)
    images = []
    for _ in range(n):
        page = 0.85 + 0.1 * cols - 0.08 * rows
        top = int(rng.integers(2, glyph_h))
        while top + glyph_h < h - 2:
            x = int(rng.integers(2, max(3, w // 4)))
            end = int(rng.integers(x + (w - x) // 3, max(x + (w - x) // 3 + 1, w - 2)))
            ink = 0.1 + 0.2 * rng.random()
            while x + glyph_w < end:
                # A glyph: random strokes on a 5x3 grid, scaled to the glyph box.
                cells = rng.random((5, 3)) < 0.45
                block = np.ones((glyph_h // 5 + 1, glyph_w // 3 + 1), dtype=bool)
                glyph = np.kron(cells, block)[:glyph_h, :glyph_w]
                page[top : top + glyph_h, x : x + glyph_w][glyph] = ink
                x += glyph_w + max(1, glyph_w // 3)
                if rng.random() < 0.15:
                    x += glyph_w  # a word gap
            top += glyph_h + int(rng.integers(glyph_h // 2, 2 * glyph_h))
        tint = 0.9 + 0.1 * rng.random(c)
        image = tint[:, None, None] * page[None, :, :]
        image = image + rng.normal(0.0, 0.02, size=image.shape)
        images.append(np.clip(image, 0.0, 1.0))
    return np.stack(images)


def make_inputs(
    inputs: list[onnx.ValueInfoProto], shapes: dict[str, tuple[int, ...]], seed: int
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Deterministic inputs for every graph input, and a word on how each was made."""
    rng = np.random.default_rng(seed)
    feeds, how = {}, {}
    for vi in inputs:
        shape = shapes[vi.name]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
        if np.issubdtype(dtype, np.floating):
            if len(shape) == 4 and shape[1] in (1, 3):
                # PP-OCR normalisation: (v - 0.5) / 0.5 maps [0, 1] to [-1, 1].
                image = synthetic_document_image(shape, rng)
                feeds[vi.name] = ((image - 0.5) / 0.5).astype(dtype)
                how[vi.name] = "synthetic document image, normalised (v-0.5)/0.5 to [-1, 1]"
            else:
                feeds[vi.name] = rng.standard_normal(shape).astype(dtype)
                how[vi.name] = "standard normal"
        elif dtype == np.bool_:
            feeds[vi.name] = rng.random(shape) < 0.5
            how[vi.name] = "random booleans"
        elif np.issubdtype(dtype, np.integer):
            feeds[vi.name] = rng.integers(0, 8, size=shape).astype(dtype)
            how[vi.name] = "random integers in [0, 8)"
        else:
            raise JobError(f"input {vi.name!r} has element type {dtype}, which this job cannot make")
    return feeds, how


def op_histogram(model: onnx.ModelProto) -> collections.Counter:
    counts: collections.Counter = collections.Counter()

    def walk(graph: onnx.GraphProto) -> None:
        for node in graph.node:
            key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
            counts[key] += 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)
                elif attr.type == onnx.AttributeProto.GRAPHS:
                    for subgraph in attr.graphs:
                        walk(subgraph)

    walk(model.graph)
    return counts


def run_onnxruntime(
    model_path: Path, feeds: dict[str, np.ndarray], repeat: int
) -> tuple[list[str], list[np.ndarray], float]:
    """Outputs and the best of `repeat` run times (ms), on one CPU thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(
        str(model_path), options, providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in session.get_outputs()]
    outputs = session.run(names, feeds)  # warm-up, and the reference values
    best_ms = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        session.run(names, feeds)
        best_ms = min(best_ms, (time.perf_counter() - start) * 1e3)
    return names, outputs, best_ms


def relative_error(got: np.ndarray, ref: np.ndarray) -> tuple[float, float, tuple[int, ...]]:
    """(max abs error, max abs error / max |ref|, index of the worst element).
    A NaN in the difference makes both errors NaN, which fails the check."""
    got64 = np.asarray(got, dtype=np.float64)
    ref64 = np.asarray(ref, dtype=np.float64)
    if got64.size == 0:
        return 0.0, 0.0, ()
    diff = np.abs(got64 - ref64)
    if np.isnan(diff).any():
        worst = np.unravel_index(int(np.argmax(np.isnan(diff))), diff.shape)
        return float("nan"), float("nan"), tuple(int(i) for i in worst)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    max_abs = float(diff[worst])
    scale = float(np.max(np.abs(ref64)))
    if scale > 0:
        max_rel = max_abs / scale
    else:
        max_rel = 0.0 if max_abs == 0 else float("inf")
    return max_abs, max_rel, tuple(int(i) for i in worst)


def run_lowbit(args, model_path: Path, shape_flags: list[str], inputs_npz: Path,
               outputs_npz: Path, extra: list[str]) -> dict[str, np.ndarray] | None:
    """Runs lowbit-run, echoes its report; the outputs, or None on failure
    (after printing lowbit-run's stderr)."""
    command = [str(args.lowbit_run), str(model_path)]
    command += [f"--input-shape={flag}" for flag in shape_flags]
    command += [f"--inputs={inputs_npz}", f"--outputs={outputs_npz}", "--report",
                f"--repeat={args.repeat}", *extra]
    print("lowbit-run:", " ".join(command))
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, errors="replace", timeout=args.timeout
        )
    except subprocess.TimeoutExpired:
        raise JobError(f"lowbit-run did not finish in {args.timeout:g} s") from None
    except OSError as err:
        raise JobError(f"cannot run {args.lowbit_run}: {err.strerror}") from None
    for line in proc.stdout.splitlines():
        if line.strip():
            print(f"  {line}")
    if proc.returncode != 0:
        print(f"lowbit-run failed (exit {proc.returncode}); its stderr:", file=sys.stderr)
        sys.stderr.write(proc.stderr if proc.stderr.endswith("\n") or not proc.stderr else proc.stderr + "\n")
        return None
    if not outputs_npz.is_file():
        raise JobError(f"lowbit-run exited 0 but wrote no {outputs_npz.name}")
    with np.load(outputs_npz) as npz:
        return {key: npz[key] for key in npz.files}


def report_recipe(args, model_path: Path, shape_flags: list[str], recipe: str) -> None:
    """Quantizes the model with `recipe` (calibrated on --calibration-samples
    generated inputs when the recipe needs data), runs it on the same input
    and prints what it cost; scripts/report.py writes the per-layer report."""
    spec = importlib.util.spec_from_file_location("lowbit_report", REPO_ROOT / "scripts" / "report.py")
    report_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report_module)
    main_module = sys.modules[__name__]
    if args.model is None:
        profile = report_module.DetProfile(main_module, shape_flags=shape_flags, seed=args.seed)
    else:
        profile = report_module.GenericProfile(model_path, shape_flags, main_module, seed=args.seed)
    print(f"quantized with recipe {recipe} (lowbit Python package; errors against the float "
          f"onnxruntime output; reported, not thresholded):")
    try:
        with tempfile.TemporaryDirectory(prefix="lowbit-report-") as tmp:
            report = report_module.measure(profile, recipe, args.calibration_samples, Path(tmp))
        out = args.report_dir or REPO_ROOT / "build" / "report" / f"{profile.name}-{recipe}"
        report_module.write(report, out)
    except report_module.ReportError as err:
        raise JobError(str(err)) from None
    except Exception as err:
        if type(err).__name__ in ("LowbitError", "UnsupportedError"):
            raise JobError(f"recipe {recipe}: {err}") from None
        raise
    if report["calibration_samples"]:
        print(f"  calibrated on {report['calibration_samples']} generated inputs "
              f"({report['timings'].get('calibrate_s', 0):.1f} s)")
    metric = report["metric"]
    for name, errors in metric["outputs"].items():
        absolute = (f"max abs error {metric['max_abs_error']:.3g}, mean abs error "
                    f"{metric['mean_abs_error']:.3g}, " if "max_abs_error" in metric else "")
        print(f"  {name}: {absolute}max relative error {errors['max_relative_error']:.3g}, "
              f"cosine {errors['cosine']:.5f}")
    print(f"  {report['headline']}")
    ratio = report["total_f32_bytes"] / max(report["total_stored_bytes"], 1)
    print(f"  weights: {report['total_f32_bytes'] / 1e6:.2f} MB as f32 -> "
          f"{report['total_stored_bytes'] / 1e6:.2f} MB stored ({ratio:.2f}x smaller)")
    worst = sorted((r for r in report["layers"] if r.get("input_relative_error") is not None),
                   key=lambda r: -r["input_relative_error"])[:3]
    if worst:
        print("  largest per-layer input errors: " + ", ".join(
            f"{r['layer']} {r['input_relative_error']:.3g}" for r in worst))
    print(f"  report: {out}/report.md, report.json, per_layer.png")


def lowbit_recipe_needs_data(args, recipe: str) -> bool:
    """Whether the recipe needs calibration data (the artefact step is then
    skipped: the job calibrates through the Python package only). Asks the
    Python package of the build that holds --lowbit-run."""
    package = Path(args.lowbit_run).resolve().parent.parent / "python_packages"
    if str(package) not in sys.path:
        sys.path.insert(0, str(package))
    import lowbit

    return bool(lowbit.recipes()[recipe]["needs_calibration"])


def deploy_artefact(args, model_path: Path, shape_flags: list[str], recipe: str, feeds: dict) -> None:
    """Compiles the quantized model ahead of time (`lowbit compile`) into
    build/artefacts/<model>-<recipe>.so/.h/.json, loads it in a fresh
    process (`lowbit run`: no JIT) and checks its outputs bit for bit against
    the JIT's (lowbit-run) on the same input; a difference fails the job."""
    lowbit = Path(args.lowbit_run).parent / "lowbit"
    out_dir = args.artefact_dir or REPO_ROOT / "build" / "artefacts"
    out_dir.mkdir(parents=True, exist_ok=True)
    name = out_dir / f"{model_path.stem}-{recipe}"
    shapes = [f"--input-shape={flag}" for flag in shape_flags]
    with tempfile.TemporaryDirectory(prefix="lowbit-artefact-") as tmp:
        inputs = Path(tmp) / "inputs.npz"
        np.savez(inputs, **feeds)
        start = time.perf_counter()
        compiled = subprocess.run([str(lowbit), "compile", str(model_path), "--recipe", recipe, "-o", str(name),
                                   *shapes], capture_output=True, text=True, timeout=args.timeout)
        compile_s = time.perf_counter() - start
        if compiled.returncode != 0:
            raise JobError(f"lowbit compile failed: {compiled.stderr.strip()}")
        jit_npz, aot_npz = Path(tmp) / "jit.npz", Path(tmp) / "aot.npz"
        jit = subprocess.run([str(args.lowbit_run), str(model_path), "--recipe", recipe, *shapes,
                              f"--inputs={inputs}", f"--outputs={jit_npz}"],
                             capture_output=True, text=True, timeout=args.timeout)
        if jit.returncode != 0:
            raise JobError(f"lowbit-run --recipe {recipe} failed: {jit.stderr.strip()}")
        run = subprocess.run([str(lowbit), "run", f"{name}.so", f"--inputs={inputs}", f"--outputs={aot_npz}",
                              "--report", f"--repeat={args.repeat}"],
                             capture_output=True, text=True, timeout=args.timeout)
        if run.returncode != 0:
            raise JobError(f"lowbit run failed: {run.stderr.strip()}")
        with np.load(jit_npz) as a, np.load(aot_npz) as b:
            same = sorted(a.files) == sorted(b.files) and all(np.array_equal(a[k], b[k]) for k in a.files)
    load = re.search(r"load: ([0-9.]+) ms", run.stdout)
    ran = re.search(r"run: ([0-9.]+) ms", run.stdout)
    size_mb = Path(f"{name}.so").stat().st_size / 1e6
    print(f"deployable artefact ({recipe}): {name}.so, .h, .json ({size_mb:.1f} MB; "
          f"lowbit compile {compile_s:.1f} s)")
    print(f"  fresh process (lowbit run, no JIT): load {load.group(1) if load else '?'} ms, "
          f"run {ran.group(1) if ran else '?'} ms (min of {args.repeat})")
    print(f"  outputs bit-identical to the JIT: {'yes' if same else 'NO'}")
    if not same:
        raise JobError("the artefact's outputs differ from the JIT's")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help=f"ONNX model (default: {DET_MODEL_FILE} from rapidocr_onnxruntime)")
    parser.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME=DIMS",
        help=f"static shape of an input, e.g. x=1x3x64x64; repeatable (default model: {DET_DEFAULT_SHAPE})",
    )
    parser.add_argument("--lowbit-run", type=Path, default=REPO_ROOT / "build" / "bin" / "lowbit-run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic input (default 0)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs for each runtime (default 3)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds lowbit-run may take (default 1800)")
    parser.add_argument(
        "--recipe",
        help=f"quantization recipe to run after the float check (`lowbit-run --list-recipes`; "
        f"default: {DET_DEFAULT_RECIPE} for the default model, none otherwise; 'none' skips it)",
    )
    parser.add_argument("--calibration-samples", type=int, default=4,
                        help="generated inputs to calibrate on, for recipes that need data (default 4)")
    parser.add_argument("--report-dir", type=Path,
                        help="where the recipe's report goes (default build/report/<model>-<recipe>)")
    parser.add_argument("--artefact-dir", type=Path,
                        help="where the compiled artefact of the quantized model goes (default build/artefacts)")
    args = parser.parse_args(argv)

    try:
        model_path = args.model if args.model is not None else find_det_model()
        shape_flags = list(args.input_shape)
        if args.model is None and not shape_flags:
            shape_flags = [DET_DEFAULT_SHAPE]
        if not model_path.is_file():
            raise JobError(f"model {model_path} does not exist")
        if not args.lowbit_run.is_file():
            raise JobError(f"{args.lowbit_run} does not exist; build it first (bash scripts/build.sh)")
        if args.repeat < 1:
            raise JobError("--repeat must be at least 1")
        if args.calibration_samples < 1:
            raise JobError("--calibration-samples must be at least 1")

        model = onnx.load(str(model_path))
        inputs = graph_inputs(model)
        overrides = dict(parse_shape_flag(flag) for flag in shape_flags)
        shapes = resolve_input_shapes(inputs, overrides)
        feeds, how = make_inputs(inputs, shapes, args.seed)

        opsets = ", ".join(
            f"{imp.domain or 'ai.onnx'} {imp.version}" for imp in model.opset_import
        )
        print(f"model: {model_path}")
        print(f"  ir_version {model.ir_version}, opset {opsets}, {model_path.stat().st_size / 1e6:.1f} MB")
        for name, value in feeds.items():
            dims = "x".join(map(str, value.shape))
            print(f"input {name}: {value.dtype} {dims}, {how[name]}, seed {args.seed}")
        histogram = op_histogram(model)
        print(f"onnx ops ({sum(histogram.values())} nodes, {len(histogram)} op types):")
        for op_type, count in sorted(histogram.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {op_type}: {count}")

        recipe = args.recipe
        if recipe is None:
            recipe = DET_DEFAULT_RECIPE if args.model is None else "none"

        with tempfile.TemporaryDirectory(prefix="lowbit-main-") as tmp:
            inputs_npz = Path(tmp) / "inputs.npz"
            np.savez(inputs_npz, **feeds)
            lowbit_outputs = run_lowbit(args, model_path, shape_flags, inputs_npz,
                                        Path(tmp) / "outputs.npz", [])
            if lowbit_outputs is None:
                return 1
        names, ref_outputs, ort_ms = run_onnxruntime(model_path, feeds, args.repeat)
        print(f"onnxruntime {ort.__version__} (CPUExecutionProvider, 1 thread): "
              f"run: {ort_ms:.1f} ms (min of {args.repeat})")

        print(f"parity (max relative error = {RELATIVE_ERROR_DEFINITION}; "
              f"PASS if <= {MAX_RELATIVE_ERROR:g}):")
        passed = True
        worst_rel = 0.0
        for name, ref in zip(names, ref_outputs):
            if name not in lowbit_outputs:
                print(f"  {name}: missing from lowbit-run's outputs (it wrote {sorted(lowbit_outputs)})  FAIL")
                passed = False
                continue
            got = lowbit_outputs[name]
            if got.shape != ref.shape:
                print(f"  {name}: shape {got.shape} from lowbit-run, {ref.shape} from onnxruntime  FAIL")
                passed = False
                continue
            max_abs, max_rel, worst = relative_error(got, ref)
            ok = max_rel <= MAX_RELATIVE_ERROR  # False for NaN
            passed = passed and ok
            if np.isnan(max_rel) or max_rel > worst_rel:
                worst_rel = max_rel
            dims = "x".join(map(str, ref.shape))
            print(f"  {name} ({dims}): onnxruntime values in [{float(np.min(ref)):.3g}, {float(np.max(ref)):.3g}], "
                  f"mean {float(np.mean(ref)):.3g}")
            print(f"  {name} ({dims}): max abs error {max_abs:.3g}, "
                  f"max relative error {max_rel:.3g}  {'PASS' if ok else 'FAIL'}")
            if not ok:
                print(f"    worst element {list(worst)}: lowbit {got[worst]!r}, onnxruntime {ref[worst]!r}")
        verdict = "PASS" if passed else "FAIL"
        print(f"parity: {verdict} (worst max relative error {worst_rel:.3g}, threshold {MAX_RELATIVE_ERROR:g})")
        if recipe != "none":
            report_recipe(args, model_path, shape_flags, recipe)
            if not lowbit_recipe_needs_data(args, recipe):
                deploy_artefact(args, model_path, shape_flags, recipe, feeds)
        return 0 if passed else 1
    except JobError as err:
        print(f"main.py: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
