"""`python -m bench [features|runner|backtest ...] [--repeats N]`: run and print benchmarks."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from bench import backtest, features, grid, loading, runner
from bench.report import Table, machine_info

BENCHMARKS: dict[str, Callable[[int | None], list[Table]]] = {
    "features": features.run,
    "runner": runner.run,
    "backtest": backtest.run,
    "loading": loading.run,
    "grid": grid.run,
}


def main(argv: list[str] | None = None) -> int:
    """Run the named benchmarks (all by default), print their tables; 0 (bad arguments exit 2)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"any of {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument("--repeats", type=int, help="timed runs per contender (default per bench)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; expected any of {list(BENCHMARKS)}")
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    started = time.perf_counter()
    print("\n".join(machine_info()), flush=True)
    for name in args.names or BENCHMARKS:
        began = time.perf_counter()
        for table in BENCHMARKS[name](args.repeats):
            print(f"\n{table.render()}", flush=True)
        print(f"   ({name}: {time.perf_counter() - began:.1f}s wall)", flush=True)
    print(f"\ntotal wall time: {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
