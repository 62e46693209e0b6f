"""Throughput and peak memory of `ddcli generate` at d = 512 for two sizes of n.

Usage: python bench/generate.py [--sizes 250000 1000000] [--d 512]
Peak RSS must stay flat in n (generation streams fixed-size blocks).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _measure import measure  # noqa: E402


def run(d: int, n: int, path: str) -> None:
    from ddcli import generate

    generate(d=d, r=3, n=n, output=path, force=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--d", type=int, default=512)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=".") as folder:
        for n in args.sizes:
            path = os.path.join(folder, f"bench-{n}.h5")
            seconds, peak, _ = measure(run, args.d, n, path)
            size = os.path.getsize(path)
            os.remove(path)
            rows.append((n, seconds, peak, size))
            print(f"generate d={args.d} n={n:>9}: {seconds:6.2f} s  {n / seconds:>11,.0f} samples/s  "
                  f"{size / seconds / 2**20:7.1f} MiB/s written  peak RSS {peak:7.1f} MiB", flush=True)
    if len(rows) > 1:
        ratio = rows[-1][2] / rows[0][2]
        print(f"peak RSS ratio (n={rows[-1][0]} vs n={rows[0][0]}): {ratio:.3f}")


if __name__ == "__main__":
    main()
