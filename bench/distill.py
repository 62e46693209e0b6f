"""Distillation benchmark at d = 512, L = 1024.

Prints, from separate child processes, wall time and peak RSS of `distill` on a streamed
teacher at two sizes of n (peak RSS must be flat in n), and the FLOP rate of the gradient
and Gram passes next to plain torch matmuls of the same shapes timed in the same run.
Usage: python bench/distill.py [--sizes 131072 1048576] [--d 512] [--width 1024]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _measure import measure  # noqa: E402
from train import pass_rates  # noqa: E402  (distillation runs the recipe's passes)


def run_distill(d: int, n: int, width: int) -> dict:
    from ddcli._distill import distill
    from ddcli._recipe import Recipe
    from ddcli._sources import teacher_source

    result = distill(teacher_source(d=d, r=3, n=n), r=3, recipe=Recipe(width=width))
    return {"alignment": result.alignment, "payload": result.distilled.memory()["payload_floats"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[131_072, 1_048_576])
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--rate-rows", type=int, default=65536)
    args = parser.parse_args()
    peaks = []
    for n in args.sizes:
        seconds, peak, info = measure(run_distill, args.d, n, args.width)
        peaks.append(peak)
        print(f"distill d={args.d} L={args.width} n={n:>9} (teacher stream): {seconds:7.2f} s  "
              f"peak RSS {peak:7.1f} MiB  alignment {info['alignment']:.4f}  payload {info['payload']} floats", flush=True)
    if len(peaks) > 1:
        print(f"peak RSS ratio (largest / smallest n): {peaks[-1] / peaks[0]:.3f}")
    _, _, rates = measure(pass_rates, args.d, args.width, args.rate_rows, True)
    for name, rate, plain in rates:
        label = name.replace("stage 1 pass (gradient)", "gradient pass").replace("stage 2 pass (features + Gram)", "Gram pass")
        print(f"{label:32s} {rate:7.1f} GFLOP/s   plain torch matmul, same shapes: {plain:7.1f} GFLOP/s   ratio {rate / plain:.2f}")


if __name__ == "__main__":
    main()
