"""Distillation benchmark at d = 512, L = 1024.

Prints, from separate child processes, wall time and peak RSS of `distill` on a streamed
teacher at two sizes of n (peak RSS must be flat in n), and the FLOP rate of the gradient
and Gram passes next to plain torch matmuls of the same shapes timed in the same run.
Usage: python bench/distill.py [--sizes 131072 1048576] [--d 512] [--width 1024]

What little peak RSS grows with n (a few per cent) is glibc's dynamic mmap threshold
fragmenting the heap with 16 MB chunk buffers, not data kept: with
MALLOC_MMAP_THRESHOLD_=4194304 the ratio is 1.00.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _measure import measure, over_sizes, print_rates  # noqa: E402
from train import pass_rates  # noqa: E402  (distillation runs the recipe's passes)


def run_distill(d: int, n: int, width: int = 1024) -> dict:
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
    over_sizes(args.sizes, functools.partial(run_distill, args.d, width=args.width),
               lambda n, seconds, peak, info: f"distill d={args.d} L={args.width} n={n:>9} (teacher stream): {seconds:7.2f} s  "
                                              f"peak RSS {peak:7.1f} MiB  alignment {info['alignment']:.4f}  "
                                              f"payload {info['payload']} floats")
    rates = measure(pass_rates, args.d, args.width, args.rate_rows, True)[2]
    names = {"stage 1 pass (gradient)": "gradient pass", "stage 2 pass (features + Gram)": "Gram pass"}
    print_rates([(names[name], rate, plain) for name, rate, plain in rates])


if __name__ == "__main__":
    main()
