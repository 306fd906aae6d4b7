#!/usr/bin/env python3
"""lowbit's CUDA low-bit GEMMs on a GPU: correctness, then FlexQ's shapes
against cuBLAS FP16 and cuBLAS INT8 (through torch) in the same run.

    python3 bench/cuda_gemm.py            # full sweep (8 shapes x 9 M x 6 configs)
    python3 bench/cuda_gemm.py --quick    # LLaMA-2-7B shapes, M in {1, 16, 256}

Steps:
1. `lowbit-cuda-emit --check`: every emitted kernel variant on fresh random
   inputs (new seed each run, printed), output poisoned with NaN before each
   launch, compared with the CPU reference (integer paths bit-exact). Any
   mismatch stops the script (exit 1).
2. `lowbit-cuda-emit --bench` per bit configuration (W6A6 W6A8 W4A8 W2A8
   W4A16 W2A16) and shape: every candidate kernel (both paths where valid,
   decode and prefill tiles), CUDA-event median over rotating weight copies.
3. torch.matmul (cuBLAS FP16) and torch._int_mm (cuBLAS INT8; M padded to 32
   where cuBLAS needs M > 16) on the same shapes, CUDA-event medians.

Writes bench/results/cuda_gemm_<gpu>.json (machine, GPU, versions, every
measurement), cuda_gemm_<gpu>.png (speed-up over cuBLAS FP16 per shape) and
cuda_tuning_<gpu>.txt (fastest kernel per (gpu, bits, M bucket, N, K): the
table lib/Target/Cuda/TuningTable reads via $LOWBIT_CUDA_TUNING or
--tuning), and prints a table. Without a GPU it fails with a clear message.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from machine import machine  # noqa: E402

SHAPES = {  # model: [(N, K)] as in FlexQ
    "llama2-70b": [(24576, 8192), (8192, 8192), (28672, 8192), (8192, 28672)],
    "llama2-7b": [(12288, 4096), (4096, 4096), (11008, 4096), (4096, 11008)],
}
MS = [1, 2, 4, 8, 16, 64, 256, 1024, 4096]
CONFIGS = [(6, 6), (6, 8), (4, 8), (2, 8), (4, 16), (2, 16)]  # (wbits, abits)


def die(msg: str) -> None:
    print(f"cuda_gemm.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def run_tool(tool: Path, args: list[str], timeout: float) -> str:
    proc = subprocess.run([str(tool), *args], capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        die(f"{tool.name} {' '.join(args)} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-4000:]}{proc.stderr[-4000:]}")
    return proc.stdout


def cublas_times(shapes, ms, iters: int) -> list[dict]:
    try:
        import torch
    except ImportError:
        die("torch is needed for the cuBLAS FP16/INT8 baselines (pip install torch)")
    if not torch.cuda.is_available():
        die("torch sees no CUDA GPU")
    out = []

    def timed(fn) -> float:
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        first = torch.cuda.Event(enable_timing=True)
        last = torch.cuda.Event(enable_timing=True)
        first.record()
        fn()
        last.record()
        torch.cuda.synchronize()
        n = max(3, min(iters, int(300 / max(first.elapsed_time(last), 1e-3))))
        times = []
        for _ in range(n):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b))
        return statistics.median(times)

    for n, k in shapes:
        # Several weight copies so that repeated runs do not time L2 hits.
        copies = max(1, min(8, (256 << 20) // (n * k * 2)))
        w16 = [torch.randn(k, n, device="cuda", dtype=torch.float16) for _ in range(copies)]
        w8 = [torch.randint(-127, 128, (k, n), device="cuda", dtype=torch.int8)
              for _ in range(copies)]
        for m in ms:
            x16 = torch.randn(m, k, device="cuda", dtype=torch.float16)
            mp = max(m, 32)  # cuBLAS int8 (torch._int_mm) needs M > 16
            x8 = torch.randint(-127, 128, (mp, k), device="cuda", dtype=torch.int8)
            i = [0]

            def f16():
                i[0] += 1
                return x16 @ w16[i[0] % copies]

            def i8():
                i[0] += 1
                return torch._int_mm(x8, w8[i[0] % copies])

            out.append({"lib": "cublas_fp16", "M": m, "N": n, "K": k,
                        "median_ms": timed(f16)})
            out.append({"lib": "cublas_int8", "M": m, "N": n, "K": k,
                        "M_run": mp, "median_ms": timed(i8)})
            print(f"  cuBLAS N={n} K={k} M={m}: fp16 {out[-2]['median_ms']:.4f} ms, "
                  f"int8 {out[-1]['median_ms']:.4f} ms", flush=True)
        del w16, w8
        torch.cuda.empty_cache()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tool", type=Path, default=ROOT / "build/bin/lowbit-cuda-emit")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "bench/results")
    ap.add_argument("--quick", action="store_true",
                    help="LLaMA-2-7B shapes and M in {1, 16, 256} only")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--group", type=int, default=128)
    ap.add_argument("--skip-check", action="store_true",
                    help="benchmark without the correctness step (not for results)")
    args = ap.parse_args()
    if not args.tool.exists():
        die(f"{args.tool} not found: build it (ninja -C build lowbit-cuda-emit)")

    # 1. Correctness (also the clear failure when there is no GPU).
    if not args.skip_check:
        print("== correctness: every kernel variant vs the CPU reference", flush=True)
        check = run_tool(args.tool, ["--check"], timeout=1800)
        print(check.strip())
        seed = re.search(r"seed (\d+)", check)
    shapes = [(model, n, k) for model, lst in SHAPES.items() for n, k in lst]
    ms = MS
    if args.quick:
        shapes = [s for s in shapes if s[0] == "llama2-7b"]
        ms = [1, 16, 256]

    # 2. lowbit kernels.
    records = []
    t0 = time.time()
    for wbits, abits in CONFIGS:
        for model, n, k in shapes:
            out = run_tool(args.tool, ["--bench", f"--wbits={wbits}", f"--abits={abits}",
                                       f"--m={','.join(map(str, ms))}", f"--nk={n}x{k}",
                                       f"--iters={args.iters}", f"--group={args.group}"],
                           timeout=3600)
            for line in out.splitlines():
                if line.startswith("{"):
                    rec = json.loads(line)
                    rec["model"] = model
                    records.append(rec)
            print(f"  W{wbits}A{abits} {model} N={n} K={k}: "
                  f"{sum(1 for r in records if r['N'] == n and r['K'] == k and r['wbits'] == wbits and r['abits'] == abits)}"
                  f" timings ({time.time() - t0:.0f} s)", flush=True)
    if not records:
        die("the benchmark produced no timings")
    gpu = records[0]["gpu"]

    # 3. cuBLAS in the same run.
    print("== cuBLAS FP16 / INT8 through torch", flush=True)
    base = cublas_times(sorted({(n, k) for _, n, k in shapes}), ms, args.iters)
    import torch

    slug = re.sub(r"[^A-Za-z0-9]+", "_", gpu).strip("_").lower()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "cuda_gemm",
        "machine": machine(gpu=gpu, torch=torch.__version__,
                           cuda=torch.version.cuda,
                           arch=records[0]["arch"]),
        "group_size": args.group,
        "check": {"passed": not args.skip_check,
                  "seed": int(seed.group(1)) if not args.skip_check and seed else None},
        "lowbit": records,
        "cublas": base,
    }
    json_path = args.out_dir / f"cuda_gemm_{slug}.json"
    json_path.write_text(json.dumps(result, indent=1) + "\n")

    # Tuning table: the fastest candidate per key.
    best: dict[tuple, dict] = {}
    for r in records:
        key = (r["wbits"], r["abits"], r["M"], r["N"], r["K"])
        if key not in best or r["median_ms"] < best[key]["median_ms"]:
            best[key] = r
    lines = [f"# from bench/cuda_gemm.py on {gpu}, group size {args.group}",
             "# gpu wbits abits mbucket N K path warpsM warpsN warpTileM warpTileN stages"]
    for (w, a, m, n, k), r in sorted(best.items()):
        lines.append(f"{gpu.replace(' ', '_')} {w} {a} {m} {n} {k} {r['path']} "
                     f"{r['warpsM']} {r['warpsN']} {r['warpTileM']} {r['warpTileN']} {r['stages']}")
    (args.out_dir / f"cuda_tuning_{slug}.txt").write_text("\n".join(lines) + "\n")

    # Table and plot: speed-up of the best lowbit kernel over cuBLAS FP16.
    fp16 = {(b["M"], b["N"], b["K"]): b["median_ms"] for b in base if b["lib"] == "cublas_fp16"}
    int8 = {(b["M"], b["N"], b["K"]): b["median_ms"] for b in base if b["lib"] == "cublas_int8"}
    hdr = f"{'N x K':>13} {'M':>5} {'fp16 ms':>9} {'int8 ms':>9} " + " ".join(
        f"{'W%dA%d' % c:>13}" for c in CONFIGS)
    print("\n" + gpu + ": best lowbit kernel, ms (speed-up over cuBLAS FP16)")
    print(hdr)
    for _, n, k in shapes:
        for m in ms:
            cells = []
            for w, a in CONFIGS:
                r = best.get((w, a, m, n, k))
                cells.append(f"{r['median_ms']:7.3f}({fp16[(m, n, k)] / r['median_ms']:4.2f})"
                             if r else f"{'-':>13}")
            print(f"{n:>6}x{k:<6} {m:>5} {fp16[(m, n, k)]:9.4f} {int8[(m, n, k)]:9.4f} "
                  + " ".join(f"{c:>13}" for c in cells))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no PNG written (pip install matplotlib)")
    else:
        fig, axes = plt.subplots(2, 4, figsize=(20, 8), squeeze=False)
        for ax, (model, n, k) in zip(axes.flat, shapes):
            for w, a in CONFIGS:
                xs = [m for m in ms if (w, a, m, n, k) in best]
                ax.plot(xs, [fp16[(m, n, k)] / best[(w, a, m, n, k)]["median_ms"] for m in xs],
                        marker="o", label=f"W{w}A{a}")
            ax.plot(ms, [fp16[(m, n, k)] / int8[(m, n, k)] for m in ms], "k--",
                    label="cuBLAS INT8")
            ax.axhline(1.0, color="grey", lw=0.8)
            ax.set_xscale("log", base=2)
            ax.set_title(f"{model} N={n} K={k}")
            ax.set_xlabel("M")
            ax.set_ylabel("speed-up over cuBLAS FP16")
        axes.flat[0].legend(fontsize=8)
        fig.suptitle(f"lowbit CUDA GEMMs on {gpu}")
        fig.tight_layout()
        fig.savefig(args.out_dir / f"cuda_gemm_{slug}.png", dpi=80)
    print(f"\nwrote {json_path}")


if __name__ == "__main__":
    main()
