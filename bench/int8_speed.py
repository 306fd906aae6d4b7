#!/usr/bin/env python3
"""Quantized CPU speed: lowbit's recipes against lowbit float and onnxruntime's
float and int8 models of the same networks, in one interleaved run (issue 14).

For each model (all-MiniLM-L6-v2 1x128 tokens, PP-OCRv4 det 1x3x256x256,
PP-OCRv4 rec 1x3x48x320, the Llama-architecture decoder prefill of 128
tokens, and on request one decode step of it after 128 cached positions, or
of one decoder layer with TinyLlama-1.1B's shapes and random weights, whose
weights, unlike the small decoder's, do not fit in the caches; the decode
steps with rtn-w2a16-g64 too) and each configuration

  lowbit:       float, rtn-w8a8 with the generic integer lowering
                (--int8-kernel=reference), rtn-w8a8 / rtn-w6a8 with the int8
                dot kernel this machine gets (--int8-kernel=auto: AVX-512 VNNI
                where present), flexq-w6a8-mixed (calibrated on the
                measured input), rtn-w4a16-g128: each compiled once by
                `lowbit compile` into the artefact a user deploys (.so, run
                by `lowbit run`); "lowbit float JIT" is the same float model
                compiled in the measuring process by lowbit-run
  onnxruntime:  float, quantize_dynamic (QOperator, per-channel QInt8
                weights), quantize_static (QDQ, QInt8, per-channel weights,
                MinMax on a few perturbed copies of the input)
  IREE:         float (iree-import-onnx + iree-compile, llvm-cpu, host CPU,
                run on the synchronous one-thread local-sync driver), when
                iree-base-compiler / iree-base-runtime are installed

every measurement runs in its own process, one thread, rounds interleaved
(config A, B, ..., then again), and the best of the rounds is kept. A
process runs the model 1 time and another R + 1 times: the difference gives
the steady-state minor page faults per run; the peak RSS is that of the
longer process (JIT compilation included for "lowbit float JIT"; the
artefacts' compile time is that of `lowbit compile`). Prints a table of
milliseconds and ratios to onnxruntime float and to onnxruntime's fastest
int8 model, writes bench/results/int8_speed.json (with the machine and the
load average) and bench/results/int8_speed.png (bars, Pillow). Timings are
recorded, never asserted; the machine may be shared.

    python3 bench/int8_speed.py [--rounds 2] [--repeat 10] [--models minilm,det256,rec,llama]
    python3 bench/int8_speed.py --models llama-decode,tinyllama-decode --json bench/results/int8_speed_decode.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402  (bench/machine.py)

LOWBIT_CONFIGS = {
    "lowbit float": [],
    "lowbit rtn-w8a8 reference": ["--recipe=rtn-w8a8", "--int8-kernel=reference"],
    "lowbit rtn-w8a8": ["--recipe=rtn-w8a8"],
    "lowbit rtn-w6a8": ["--recipe=rtn-w6a8"],
    # Calibrated on the measured input itself ({inputs}): the recipe needs
    # data, and its speed does not depend on which.
    "lowbit flexq-w6a8-mixed": ["--recipe=flexq-w6a8-mixed", "--calibrate={inputs}"],
    "lowbit rtn-w4a16-g128": ["--recipe=rtn-w4a16-g128"],
}
ORT_CONFIGS = ("ort float", "ort int8 dynamic", "ort int8 qdq")
PEER_CONFIGS = (*ORT_CONFIGS, "iree float")


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_models(work: Path, wanted: list[str]) -> list[dict]:
    out = []
    det = Path(importlib.util.find_spec("rapidocr_onnxruntime").origin).parent / "models" / "ch_PP-OCRv4_det_infer.onnx"
    if "minilm" in wanted:
        minilm = load("build_minilm", REPO / "scripts" / "build_minilm.py")
        paths = minilm.build(work / "minilm", seq_len=128, batch=1)
        out.append({"name": "MiniLM 1x128", "model": paths.model, "inputs": paths.inputs, "shapes": []})
    if "det256" in wanted:
        main = load("lowbit_main", REPO / "scripts" / "main.py")
        x = np.asarray(main.synthetic_document_image((1, 3, 256, 256), np.random.default_rng(0)), np.float32)
        np.savez(work / "det256.npz", x=x)
        out.append({"name": "PP-OCRv4 det 256", "model": det, "inputs": work / "det256.npz",
                    "shapes": ["x=1x3x256x256"]})
    if "rec" in wanted:
        x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 48, 320)).astype(np.float32)
        np.savez(work / "rec.npz", x=x)
        out.append({"name": "PP-OCRv4 rec", "model": det.parent / "ch_PP-OCRv4_rec_infer.onnx",
                    "inputs": work / "rec.npz", "shapes": ["x=1x3x48x320"]})
    w2 = {"lowbit rtn-w2a16-g64": ["--recipe=rtn-w2a16-g64"]}
    if "llama" in wanted or "llama-decode" in wanted:
        llama = load("build_llama", REPO / "scripts" / "build_llama.py")
        lpaths = llama.build(work / "llama")
        # A prefill of 128 tokens on an empty cache, and one decode step
        # (M = 1) after a cache of 128 positions.
        for key, name, seq, past in (("llama", "Llama prefill 128", 128, 0),
                                     ("llama-decode", "Llama decode step (past 128)", 1, 128)):
            if key not in wanted:
                continue
            feeds = llama.prefill_inputs(batch=1, seq=seq, past=past)
            np.savez(work / f"{key}.npz", **feeds)
            out.append({"name": name, "model": lpaths.model, "inputs": work / f"{key}.npz",
                        "shapes": [a.split("=", 1)[1] for a in llama.input_shapes(feeds)],
                        "extra_configs": w2 if key == "llama-decode" else {}})
    if "tinyllama-decode" in wanted:
        # A fresh instance of the module, switched to the bigger architecture.
        tiny = load("build_llama_tiny", REPO / "scripts" / "build_llama.py")
        tiny.CONFIG = dict(tiny.TINYLLAMA_LAYER)
        path = work / "tinyllama-layer.onnx"
        path.write_bytes(tiny.build_model(tiny.make_weights()).SerializeToString())
        feeds = tiny.prefill_inputs(batch=1, seq=1, past=128)
        np.savez(work / "tinyllama-decode.npz", **feeds)
        out.append({"name": "TinyLlama-1.1B layer decode step (past 128)", "model": path,
                    "inputs": work / "tinyllama-decode.npz",
                    "shapes": [a.split("=", 1)[1] for a in tiny.input_shapes(feeds)],
                    "extra_configs": w2})
    return out


def fixed_shapes(m: dict, work: Path) -> Path:
    """The model with the static input shapes lowbit is given (m["shapes"]),
    for onnxruntime; the model itself when there are none."""
    src = Path(m["model"])
    if not m["shapes"]:
        return src
    import onnx

    model = onnx.load(str(src))
    for spec in m["shapes"]:
        name, dims = spec.split("=", 1)
        for value in model.graph.input:
            if value.name == name:
                for d, size in zip(value.type.tensor_type.shape.dim, dims.split("x")):
                    d.ClearField("dim_param")
                    d.dim_value = int(size)
    path = work / f"{src.stem}-fixed.onnx"
    onnx.save(model, str(path))
    return path


def ort_models(m: dict, work: Path) -> dict:
    """The onnxruntime float, dynamic and QDQ models of one network."""
    import logging

    import onnx
    from onnxruntime import quantization as q

    logging.getLogger().setLevel(logging.ERROR)  # the quantizers' pre-processing advice

    bench = load("ort_quantizers", REPO / "bench" / "ort_quantizers.py")
    # onnxruntime's static quantizer needs the shapes lowbit is given.
    src = fixed_shapes(m, work)
    with np.load(m["inputs"]) as data:
        feeds = {k: data[k] for k in data.files}
    rng = np.random.default_rng(1)
    calib = [feeds] + [{k: (v * rng.uniform(0.8, 1.2)).astype(v.dtype) if v.dtype.kind == "f" else v
                        for k, v in feeds.items()} for _ in range(3)]
    weights = bench.weight_nodes(onnx.load(str(src)))
    out: dict = {"ort float": src}
    dynamic = work / f"{src.stem}-dynamic.onnx"
    try:
        q.quantize_dynamic(str(src), str(dynamic), per_channel=True, weight_type=q.QuantType.QInt8,
                           nodes_to_quantize=weights)
        out["ort int8 dynamic"] = dynamic
    except Exception as err:  # noqa: BLE001 - recorded: onnxruntime's quantizer refuses some models
        out["ort int8 dynamic"] = f"quantize_dynamic failed: {type(err).__name__}: {err}"
    qdq = work / f"{src.stem}-qdq.onnx"
    try:
        q.quantize_static(str(src), str(qdq), bench.reader_for(calib), quant_format=q.QuantFormat.QDQ,
                          activation_type=q.QuantType.QInt8, weight_type=q.QuantType.QInt8,
                          per_channel=True, nodes_to_quantize=weights)
        out["ort int8 qdq"] = qdq
    except Exception as err:  # noqa: BLE001
        out["ort int8 qdq"] = f"quantize_static failed: {type(err).__name__}: {err}"
    return out


def iree_model(m: dict, work: Path) -> Path | str:
    """The network compiled by IREE (pip iree-base-compiler: iree-import-onnx,
    iree-compile for llvm-cpu and the host CPU) at lowbit's static shapes,
    or why not (IREE not installed, or a step failed)."""
    import shutil

    if not (shutil.which("iree-import-onnx") and shutil.which("iree-compile")):
        return ("IREE is not installed (pip install iree-base-compiler==3.13.0 "
                "iree-base-runtime==3.13.0)")
    src = fixed_shapes(m, work)
    mlir, vmfb = work / f"{src.stem}-iree.mlir", work / f"{src.stem}.vmfb"
    steps = [["iree-import-onnx", str(src), "--opset-version", "17", "-o", str(mlir)],
             ["iree-compile", str(mlir), "--iree-hal-target-device=local",
              "--iree-hal-local-target-device-backends=llvm-cpu", "--iree-llvmcpu-target-cpu=host",
              "-o", str(vmfb)]]
    for step in steps:
        proc = subprocess.run(step, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no message"])[-1][:200]
            return f"{step[0]} failed: {last}"
    return vmfb


IREE_CHILD = r"""
import sys, time, numpy as np, onnx, iree.runtime as rt
vmfb, model, inputs, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = rt.SystemContext(config=rt.Config("local-sync"))  # one thread, synchronous
vm = rt.VmModule.copy_buffer(ctx.instance, open(vmfb, "rb").read())
ctx.add_vm_module(vm)
name = [n for n in vm.function_names if not n.endswith("$async") and not n.startswith("__")][0]
fn = ctx.modules.module[name]
graph = onnx.load(model, load_external_data=False).graph
inits = {i.name for i in graph.initializer}
with np.load(inputs) as d: args = [d[i.name] for i in graph.input if i.name not in inits]
best = float("inf")
for _ in range(repeat):
    t = time.perf_counter(); fn(*args); best = min(best, (time.perf_counter() - t) * 1000)
print(f"run: {best:.3f} ms")
"""


def iree_cmd(vmfb: Path, model: Path, inputs: Path):
    def cmd(repeat: int) -> list[str]:
        return [sys.executable, "-c", IREE_CHILD, str(vmfb), str(model), str(inputs), str(repeat)]
    return cmd


def lowbit_jit_cmd(lowbit_run: str, m: dict, extra: list[str]):
    def cmd(repeat: int) -> list[str]:
        return [lowbit_run, str(m["model"]), f"--inputs={m['inputs']}", "--report", f"--repeat={repeat}",
                "--threads=1", *extra, *[f"--input-shape={s}" for s in m["shapes"]]]
    return cmd


def lowbit_artefact(lowbit: str, m: dict, extra: list[str], out: Path) -> tuple[Path, float]:
    """Compiles the artefact a user deploys; returns the .so and the wall time
    of `lowbit compile` (import, quantization and native code generation)."""
    start = time.perf_counter()
    extra = [e.replace("{inputs}", str(m["inputs"])) for e in extra]
    proc = subprocess.run([lowbit, "compile", str(m["model"]), "-o", str(out), *extra,
                           *[f"--input-shape={s}" for s in m["shapes"]]], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"lowbit compile failed ({proc.returncode}) for {m['name']} {extra}:\n{proc.stderr}")
    return out.with_name(out.name + ".so"), (time.perf_counter() - start) * 1000


def lowbit_run_cmd(lowbit: str, so: Path, inputs: Path):
    def cmd(repeat: int) -> list[str]:
        return [lowbit, "run", str(so), f"--inputs={inputs}", "--report", f"--repeat={repeat}"]
    return cmd


ORT_CHILD = r"""
import sys, time, numpy as np, onnxruntime as ort
model, inputs, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.inter_op_num_threads = 1; o.log_severity_level = 3
s = ort.InferenceSession(model, o, providers=["CPUExecutionProvider"])
with np.load(inputs) as d: feeds = {i.name: d[i.name] for i in s.get_inputs()}
best = float("inf")
for _ in range(repeat):
    t = time.perf_counter(); s.run(None, feeds); best = min(best, (time.perf_counter() - t) * 1000)
print(f"run: {best:.3f} ms")
"""


def ort_cmd(model: Path, inputs: Path):
    def cmd(repeat: int) -> list[str]:
        return [sys.executable, "-c", ORT_CHILD, str(model), str(inputs), str(repeat)]
    return cmd


def run_process(cmd: list[str]) -> tuple[str, int, int]:
    """Runs cmd under /usr/bin/time; returns its stdout, its minor page
    faults and its peak RSS (KiB). (wait4 on a child forked from this
    process would count this process's own pages, copied by the fork.)"""
    marker = "int8-speed-usage"
    proc = subprocess.run(["/usr/bin/time", "-f", f"{marker} %R %M", *map(str, cmd)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stderr}")
    usage = re.search(marker + r" (\d+) (\d+)", proc.stderr)
    return proc.stdout, int(usage.group(1)), int(usage.group(2))


def sample(cmd, repeat: int) -> dict:
    """One measurement: the (repeat + 1)-run process gives the time and the
    peak RSS, its faults minus those of a 1-run process the faults per run."""
    _, faults_one, _ = run_process(cmd(1))
    text, faults_many, rss_kb = run_process(cmd(repeat + 1))
    run_ms = float(re.search(r"run: ([0-9.]+) ms", text).group(1))
    compile_ms = re.search(r"compile: ([0-9.]+) ms", text)
    return {"run_ms": run_ms, "faults_per_run": max(0, (faults_many - faults_one) // repeat),
            "peak_rss_mb": round(rss_kb / 1024, 1),
            "compile_ms": float(compile_ms.group(1)) if compile_ms else None}


def draw_png(results: list[dict], path: Path) -> None:
    from PIL import Image, ImageDraw

    configs = list(dict.fromkeys([*LOWBIT_CONFIGS, "lowbit float JIT", *(c for r in results for c in r["configs"]
                                                     if c.startswith("lowbit")), *PEER_CONFIGS]))
    colours = ["#7f7f7f", "#c7c7c7", "#1f77b4", "#2ca02c", "#9467bd", "#d62728", "#ff7f0e", "#e377c2",
               "#17becf"]
    row_h, bar_h, left, width = 16, 12, 250, 520
    height = 30 + sum((len(r["configs"]) + len(r["unavailable"])) * row_h + 24 for r in results)
    img = Image.new("RGB", (left + width + 90, height), "white")
    d = ImageDraw.Draw(img)
    d.text((10, 8), "time / onnxruntime float time (1 thread, lower is faster)", fill="black")
    y = 30
    for r in results:
        d.text((10, y), r["model"], fill="black")
        y += 16
        scale = max(c["ratio_vs_ort_float"] for c in r["configs"].values())
        for i, name in enumerate(configs):
            c = r["configs"].get(name)
            if c is None and name not in PEER_CONFIGS:
                continue
            if c is None:
                d.text((20, y), f"{name}: not available", fill="black")
                y += row_h
                continue
            w = int(width * c["ratio_vs_ort_float"] / scale)
            d.text((20, y), name, fill="black")
            d.rectangle([left, y + 1, left + max(w, 1), y + bar_h], fill=colours[i % len(colours)])
            d.text((left + w + 4, y), f"{c['ratio_vs_ort_float']:.2f}", fill="black")
            y += row_h
        y += 8
    img.save(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--models", default="minilm,det256,rec,llama")
    parser.add_argument("--lowbit-run", default=str(REPO / "build" / "bin" / "lowbit-run"))
    parser.add_argument("--lowbit", default=str(REPO / "build" / "bin" / "lowbit"))
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "int8_speed.json"))
    args = parser.parse_args()
    import onnxruntime as ort

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for m in build_models(work, args.models.split(",")):
            load_before = os.getloadavg()[0]
            configs = {**LOWBIT_CONFIGS, **m.get("extra_configs", {})}
            commands, compile_ms = {}, {}
            for i, (name, extra) in enumerate(configs.items()):
                so, compile_ms[name] = lowbit_artefact(args.lowbit, m, extra, work / f"artefact{i}")
                commands[name] = lowbit_run_cmd(args.lowbit, so, m["inputs"])
            commands["lowbit float JIT"] = lowbit_jit_cmd(args.lowbit_run, m, [])
            unavailable = {}
            for name, path in ort_models(m, work).items():
                if isinstance(path, str):
                    unavailable[name] = path
                else:
                    commands[name] = ort_cmd(path, m["inputs"])
            vmfb = iree_model(m, work)
            if isinstance(vmfb, str):
                unavailable["iree float"] = vmfb
            else:
                commands["iree float"] = iree_cmd(vmfb, fixed_shapes(m, work), m["inputs"])
            best: dict[str, dict] = {}
            for _ in range(args.rounds):
                for name, cmd in commands.items():
                    s = sample(cmd, args.repeat)
                    if name not in best or s["run_ms"] < best[name]["run_ms"]:
                        best[name] = s
            for name, ms in compile_ms.items():
                best[name]["compile_ms"] = round(ms, 1)
            ort_float = best["ort float"]["run_ms"]
            ort_int8 = min(best[c]["run_ms"] for c in ("ort int8 dynamic", "ort int8 qdq") if c in best)
            lowbit_float = best["lowbit float"]["run_ms"]
            for s in best.values():
                s["ratio_vs_ort_float"] = round(s["run_ms"] / ort_float, 3)
                s["ratio_vs_ort_fastest_int8"] = round(s["run_ms"] / ort_int8, 3)
                s["ratio_vs_lowbit_float"] = round(s["run_ms"] / lowbit_float, 3)
            results.append({"model": m["name"], "configs": best, "unavailable": unavailable,
                            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]})
            print_model(results[-1])
    report = {"benchmark": "int8_speed", "machine": machine(onnxruntime=ort.__version__),
              "int8_kernel_auto": "avx512-vnni" if has_vnni() else "portable",
              "rounds": args.rounds, "repeat": args.repeat, "threads": 1, "results": results,
              "note": "best of the rounds per configuration, each measurement in its own process; "
                      "faults_per_run = minor faults of a (repeat + 1)-run process minus a 1-run one, "
                      "divided by repeat; lowbit configurations run their artefact (lowbit compile, then lowbit run; "
                      "compile_ms is lowbit compile's wall time), except 'lowbit float JIT' (lowbit-run, "
                      "peak_rss_mb includes the JIT compilation). The machine "
                      "may be shared (load_average_1min before/after each model)."}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    png = Path(args.json).with_suffix(".png")
    draw_png(results, png)
    print(f"wrote {args.json} and {png}")
    return 0


def has_vnni() -> bool:
    flags = Path("/proc/cpuinfo").read_text()
    return all(f" {f}" in flags for f in ("avx512f", "avx512bw", "avx512_vnni"))


def print_model(r: dict) -> None:
    print(f"\n{r['model']}  (load {r['load_average_1min'][0]:.1f} -> {r['load_average_1min'][1]:.1f})")
    print(f"  {'config':28s} {'ms':>9s} {'x ort fp32':>10s} {'x ort int8':>10s} {'x lb fp32':>9s} "
          f"{'faults/run':>10s} {'rss MB':>7s} {'compile s':>9s}")
    for name, why in r["unavailable"].items():
        print(f"  {name:28s} not available: {why}")
    for name, c in r["configs"].items():
        compile_s = f"{c['compile_ms'] / 1000:9.1f}" if c["compile_ms"] is not None else f"{'':9s}"
        print(f"  {name:28s} {c['run_ms']:9.3f} {c['ratio_vs_ort_float']:10.2f} "
              f"{c['ratio_vs_ort_fastest_int8']:10.2f} {c['ratio_vs_lowbit_float']:9.2f} "
              f"{c['faults_per_run']:10d} {c['peak_rss_mb']:7.1f} {compile_s}")


if __name__ == "__main__":
    sys.exit(main())
