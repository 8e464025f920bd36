"""The `signalyard` command line (a contract: see DESIGN.md, "Command line")."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from orchestration import portfolio_command
from warehouse.settings import Settings

SUPPORTED_TARGETS = ("duckdb",)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signalyard", description="A point-in-time signal warehouse for systematic trading."
    )
    parser.add_argument(
        "--home", help="working folder (env SIGNALYARD_HOME, default ./.signalyard)"
    )
    parser.add_argument("--lake", help="lake URL: a local path (env SIGNALYARD_LAKE)")
    parser.add_argument(
        "--target", help="engine / dbt target (env SIGNALYARD_TARGET, default duckdb)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the whole graph on the bundled sample data")
    demo.add_argument(
        "--replays",
        type=int,
        default=1,
        help="point-in-time replay checks to run at the end (default 1)",
    )
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")

    land = commands.add_parser("land", help="land a file or folder into the lake's raw/")
    land.add_argument("path", type=Path)
    land.add_argument("--vendor", required=True)
    land.add_argument("--dataset", required=True)
    land.add_argument("--json", action="store_true")

    fetch = commands.add_parser(
        "fetch", help="fetch vendor bars into the lake's raw/ (resumes where it stopped)"
    )
    fetch.add_argument("vendor", help="yahoo, alpaca or ccxt")
    fetch.add_argument(
        "--symbols", required=True, help="comma-separated: AAPL,MSFT or BTC/USDT,ETH/USDT"
    )
    fetch.add_argument("--start", required=True, help="first bar open: a date or ISO time (UTC)")
    fetch.add_argument("--end", help="end, exclusive: a date or ISO time (UTC; default now)")
    fetch.add_argument(
        "--dataset",
        choices=["bars_1m", "bars_1d"],
        help="default bars_1d for yahoo, bars_1m for alpaca and ccxt",
    )
    fetch.add_argument("--exchange", help="ccxt exchange id (default binance)")
    fetch.add_argument("--json", action="store_true")

    load = commands.add_parser("load", help="load new landed files into the warehouse")
    load.add_argument("--json", action="store_true")

    status = commands.add_parser("status", help="what landed, loaded, was quarantined, and built")
    status.add_argument("--json", action="store_true")

    build = commands.add_parser("build", help="materialize the asset graph on the landed data")
    build.add_argument("--select", help="Dagster asset selection, e.g. 'group:marts'")
    build.add_argument("--as-of", help="point-in-time cut-off for dbt (default: now)")
    build.add_argument("--json", action="store_true")

    replay = commands.add_parser("replay", help="check the point-in-time replay property")
    replay.add_argument(
        "--as-of",
        action="append",
        required=True,
        help="cut-off (ISO timestamp, UTC); repeat for several",
    )
    replay.add_argument("--json", action="store_true")

    grid = commands.add_parser(
        "grid",
        help="backtest strategies x parameters x timeframes x symbols (resumable)",
    )
    grid.add_argument("--strategies", help="comma-separated strategy ids (default: the library)")
    grid.add_argument("--timeframes", help="comma-separated timeframes (default: each declared)")
    grid.add_argument("--symbols", help="comma-separated symbols (default: all in the warehouse)")
    grid.add_argument(
        "--sampling",
        choices=["default", "grid", "random"],
        default="default",
        help="parameter sets: declared defaults, the full grid, or seeded random draws",
    )
    grid.add_argument("--samples", type=int, default=0, help="random draws per strategy")
    grid.add_argument("--seed", type=int, default=0, help="seed of the random draws")
    grid.add_argument("--take-profit", type=float, help="override the strategies' take-profit")
    grid.add_argument("--fresh", action="store_true", help="discard this run's earlier results")
    grid.add_argument("--top", type=int, default=10, help="cells to list, best Sharpe first")
    grid.add_argument("--json", action="store_true")

    portfolio_command.add_parser(commands)

    export = commands.add_parser("export", help="export signal tables")
    export.add_argument("kind", choices=["lean"])
    export.add_argument("--out", type=Path, required=True, help="workspace folder to write")
    export.add_argument(
        "--replace",
        action="store_true",
        help="rewrite the signal files (default: append only new rows)",
    )
    export.add_argument("--json", action="store_true")
    publish = commands.add_parser("publish", help="push a LEAN workspace to QuantConnect Cloud")
    publish.add_argument("service", choices=["qc"])
    publish.add_argument("--workspace", type=Path, help="workspace (default: <home>/lean)")
    publish.add_argument("--project", default="SignalWeights", help="project folder to push")
    publish.add_argument("--json", action="store_true")

    feedback = commands.add_parser("feedback", help="read LEAN orders and fills back")
    feedback.add_argument("source", choices=["lean"])
    feedback.add_argument(
        "path", type=Path, help="a backtest result folder, or a live order-events .jsonl file"
    )
    feedback.add_argument("--backtest-id", help="which result in the folder (default: the only)")
    feedback.add_argument("--json", action="store_true")
    return parser


def _emit(args: argparse.Namespace, payload: dict[str, Any], lines: Sequence[str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(payload, indent=2, default=str))
    else:
        print("\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `signalyard` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    settings = Settings.from_env(home=args.home, lake=args.lake, target=args.target)
    if settings.target not in SUPPORTED_TARGETS:
        print(
            f"signalyard: target {settings.target!r} is not available in this build; "
            f"supported: {', '.join(SUPPORTED_TARGETS)}",
            file=sys.stderr,
        )
        return 2
    warnings.filterwarnings("ignore", category=Warning, module="dagster.*")
    from orchestration import commands

    handler = getattr(commands, f"cmd_{args.command}")
    try:
        payload, lines, code = handler(settings, args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"signalyard {args.command}: {exc}", file=sys.stderr)
        return 2
    _emit(args, payload, lines)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
