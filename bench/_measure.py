"""Run a function in a fresh child process and report its wall time and peak RSS.

Each measurement runs in its own process, so peak RSS is that run's alone.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time


def _child(queue, fn, args):
    try:
        start = time.perf_counter()
        extra = fn(*args)
        seconds = time.perf_counter() - start
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        queue.put(("ok", (seconds, peak_kib / 1024, extra)))
    except BaseException as exc:  # report, never leave the parent waiting
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def over_sizes(sizes, fn, describe) -> None:
    """Measure ``fn(n)`` for each n in its own process; print ``describe(n, seconds, peak, extra)``
    per size, then the peak-RSS ratio of the largest to the smallest n (flat = streaming)."""
    peaks = []
    for n in sizes:
        seconds, peak, extra = measure(fn, n)
        peaks.append(peak)
        print(describe(n, seconds, peak, extra), flush=True)
    if len(peaks) > 1:
        print(f"peak RSS ratio (largest / smallest n): {peaks[-1] / peaks[0]:.3f}")


def print_rates(rates) -> None:
    for name, rate, plain in rates:
        print(f"{name:32s} {rate:7.1f} GFLOP/s   plain torch matmul, same shapes: {plain:7.1f} GFLOP/s   ratio {rate / plain:.2f}")


def measure(fn, *args):
    """(seconds, peak RSS in MiB, whatever fn returned), from a spawned child process."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, fn, args))
    proc.start()
    while True:
        try:
            status, result = queue.get(timeout=1.0)
            break
        except Exception:  # queue.Empty: is the child still there?
            if not proc.is_alive():
                raise RuntimeError(f"benchmark child died with exit code {proc.exitcode}") from None
    proc.join()
    if status == "error":
        raise RuntimeError(f"benchmark child failed: {result}")
    return result
