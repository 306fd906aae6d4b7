#!/usr/bin/env python3
"""Winograd F(m,3) point sets: conditioning, range and fp16/fp32 error.

Runs build/bench/winograd_points (C++, lib/Numerics/WinogradSearch.h) which,
for m in {2,4,6,8} and the point sets standard {0,±1,±2,...}, wincnn-style
{0,±1,±2,±1/2,±4}, NOVA's, lowbit's shipped 'ours' and a fresh search
(seed 1), reports NOVA's kappa2, the largest transform entry, the error bound
and model, and the relative error of 2D Winograd against a float64 direct
convolution on random tiles (fixed seed) in fp32, fp16 (storage of input,
filter, transformed tiles and products; fp32 arithmetic) and two precision
splits. Prints a table, writes bench/results/winograd_points.json with the
machine, and bench/results/winograd_points.png when matplotlib is installed.
Errors are recorded, never asserted (the unit tests assert the claims).

    python3 bench/winograd_points.py [--binary build/bench/winograd_points]
                                     [--tiles 20000] [--seed 2026]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402  (bench/machine.py)


def fmt(v, spec):
    return "overflow" if v is None else format(v, spec)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=str(REPO / "build/bench/winograd_points"))
    ap.add_argument("--tiles", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", default=str(REPO / "bench/results/winograd_points.json"))
    args = ap.parse_args()
    if not Path(args.binary).exists():
        print(f"winograd_points.py: error: {args.binary} not found "
              "(ninja -C build winograd_points)", file=sys.stderr)
        return 1
    proc = subprocess.run([args.binary, str(args.tiles), str(args.seed)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"winograd_points.py: error: {proc.stderr.strip()}", file=sys.stderr)
        return 1
    report = json.loads(proc.stdout)
    report["machine"] = machine()

    head = (f"{'F(m,3)':7} {'set':9} {'points':48} {'kappa2':>10} {'max':>6} "
            f"{'model':>8} {'fp32':>9} {'fp16':>9} {'fp16-op':>9} {'fp16-io':>9}")
    print(head)
    print("-" * len(head))
    for r in report["results"]:
        print(f"F({r['m']},3)  {r['set']:9} {r['points']:48} {r['kappa']:10.4g} "
              f"{r['max_entry']:6.3g} {r['error_model']:8.4g} {fmt(r['fp32'], '9.2e')} "
              f"{fmt(r['fp16'], '9.2e')} {fmt(r['fp16-operands'], '9.2e')} "
              f"{fmt(r['fp16-io'], '9.2e')}")

    # The claims the issue asks about, as ratios.
    by = {(r["m"], r["set"]): r for r in report["results"]}
    summary = {}
    for m in (4, 6, 8):
        ours = by[(m, "ours")]["fp16"]
        for other in ("standard", "wincnn", "nova"):
            o = by.get((m, other))
            if o and o["fp16"] and ours:
                summary[f"F({m},3) fp16 {other}/ours"] = round(o["fp16"] / ours, 3)
    report["fp16_error_ratio_vs_ours"] = summary
    print()
    for k, v in summary.items():
        print(f"{k}: {v}x")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    os.replace(tmp, out)
    print(f"\nwrote {out}")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot written "
              "(pip install matplotlib, then run again)")
        return 0
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    sets = ["standard", "wincnn", "nova", "ours"]
    for ax, key, title in ((axes[0], "fp16", "fp16 storage, fp32 arithmetic"),
                           (axes[1], "kappa", "kappa2 of the finite Vandermonde")):
        for s in sets:
            pts = [(r["m"], r[key]) for r in report["results"]
                   if r["set"] == s and r[key] is not None]
            if pts:
                ax.plot(*zip(*pts), marker="o", label=s)
        ax.set_yscale("log")
        ax.set_xlabel("m (F(m,3))")
        ax.set_xticks([2, 4, 6, 8])
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("relative error vs float64 direct")
    axes[0].axhline(1e-2, color="gray", linestyle="--", linewidth=0.8)
    axes[0].legend()
    fig.tight_layout()
    png = out.with_suffix(".png")
    fig.savefig(png, dpi=110)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
