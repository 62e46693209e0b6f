"""Training-recipe benchmark at d = 512, L = 1024.

Prints, from separate child processes, wall time and peak RSS for the whole recipe on a
streamed teacher at two sizes of n (peak RSS must be flat in n), then the FLOP rate of the
stage-1 and stage-2 passes next to plain torch matmuls of the same shapes timed in the same
run. Usage: python bench/train.py [--sizes 250000 1000000] [--d 512] [--width 1024]
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _measure import measure, over_sizes, print_rates  # noqa: E402


def run_recipe(d: int, n: int, width: int = 1024) -> None:
    from ddcli._recipe import Recipe, train_on_source
    from ddcli._sources import teacher_source

    train_on_source(teacher_source(d=d, r=3, n=n), Recipe(width=width))


def best_of(fn, repeats: int = 3) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pass_rates(d: int, width: int, rows: int, with_mean: bool = False) -> list[tuple[str, float, float]]:
    """FLOP rates of the stage-1 and stage-2 passes and of plain matmuls of the same shapes.

    ``with_mean`` times the gradient pass as distillation runs it (with the common-mode sum).
    """
    import numpy as np
    import torch

    from ddcli._arrays import ArraySource
    from ddcli._recipe import initial_half, stage1_gradients, stage2_biases, stage2_statistics
    from ddcli._sources import default_chunk_rows, teacher_source

    source = teacher_source(d=d, r=3, n=rows)
    x, y = next(source.chunks(rows=rows))
    data = ArraySource(x, y)
    chunk = default_chunk_rows(d)
    half, _ = initial_half(width, d, seed=0)
    weights = np.concatenate([half, -half]).astype(np.float32)
    biases = stage2_biases(width, 0)
    beta = np.zeros(d)

    stage1 = best_of(lambda: stage1_gradients(data.chunks, rows, half, 0.0, beta, with_mean=with_mean))
    stage2 = best_of(lambda: stage2_statistics(data.chunks, rows, weights, biases, 0.0, beta))
    flops1 = 2 * 2 * rows * d * (width // 2)
    flops2 = 2 * rows * d * width + 2 * rows * width * width

    xt = torch.from_numpy(x[:chunk].copy())
    w_half = torch.from_numpy(half.astype(np.float32))
    w_full = torch.from_numpy(weights)
    phi = torch.relu(xt @ w_full.T)
    blocks = max(1, rows // chunk)
    xt = xt[: min(chunk, rows)]
    phi = phi[: min(chunk, rows)]

    def plain1():
        for _ in range(blocks):
            z = xt @ w_half.T
            _ = z.T @ xt

    def plain2():
        for _ in range(blocks):
            _ = xt @ w_full.T
            _ = phi.T @ phi

    matmul1 = best_of(plain1)
    matmul2 = best_of(plain2)
    scale = rows / (blocks * xt.shape[0])
    return [
        ("stage 1 pass (gradient)", flops1 / stage1 / 1e9, flops1 / scale / matmul1 / 1e9),
        ("stage 2 pass (features + Gram)", flops2 / stage2 / 1e9, flops2 / scale / matmul2 / 1e9),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--rate-rows", type=int, default=65536)
    args = parser.parse_args()
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    over_sizes(args.sizes, functools.partial(run_recipe, args.d, width=args.width),
               lambda n, seconds, peak, _: f"train d={args.d} L={args.width} n={n:>9} (teacher stream): {seconds:7.2f} s  "
                                           f"{n / seconds:>9,.0f} samples/s  peak RSS {peak:7.1f} MiB")
    print_rates(measure(pass_rates, args.d, args.width, args.rate_rows)[2])


if __name__ == "__main__":
    main()
