"""`signalyard portfolio`: a walk-forward study of a declared or ad-hoc portfolio."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from warehouse.settings import Settings

# The parser is built on every `signalyard` call: signals (pandas, scipy) load in the command.
Outcome = tuple[dict[str, Any], list[str], int]
# Flags that set a PortfolioSpec field, and those that set a construction-method option.
SPEC_FLAGS = ("method", "train", "step", "test", "survivors", "min_coverage")
OPTION_FLAGS = ("max_correlation", "max_members", "max_weight", "allow_cash")
# Each target flag picks the method of its name and sets that method's `target` option.
TARGET_FLAGS = ("target_volatility", "target_return")


def add_parser(commands: Any) -> None:
    """Register the `portfolio` sub-command."""
    parser = commands.add_parser(
        "portfolio",
        help="walk-forward study of a portfolio over backtested candidates (writes no table)",
        description="In-sample vs out-of-sample walk-forward of a portfolio spec. Published "
        "portfolios are the specs in signals/library/portfolios/; `signalyard build` "
        "publishes them.",
    )
    parser.add_argument("--spec", type=Path, help="a portfolio YAML (default: the declared one)")
    parser.add_argument("--grid", metavar="RUN_ID", help="use a grid run's candidates instead")
    parser.add_argument("--as-of", help="point-in-time cut-off for warehouse candidates")
    parser.add_argument(
        "--method",
        help="equal, greedy, max_sharpe, min_variance, target_volatility or target_return",
    )
    parser.add_argument("--train", help="train window, whole days (e.g. 90D)")
    parser.add_argument("--step", help="re-selection step, whole days (e.g. 30D)")
    parser.add_argument("--test", help="how long one decision stays valid (default: until next)")
    parser.add_argument("--survivors", help="survivor preset: monthly_gain or returns_only")
    parser.add_argument("--min-coverage", type=float)
    parser.add_argument("--max-correlation", type=float, help="greedy: correlation cap")
    parser.add_argument("--max-members", type=int, help="greedy: at most this many members")
    parser.add_argument("--max-weight", type=float, help="optimisers: cap per candidate")
    parser.add_argument(
        "--target-volatility", type=float, help="annualised volatility to aim at (sets --method)"
    )
    parser.add_argument(
        "--target-return", type=float, help="annualised return to aim at (sets --method)"
    )
    parser.add_argument(
        "--allow-cash", action="store_true", default=None, help="targets: weights may sum below 1"
    )
    parser.add_argument("--report", type=Path, help="HTML report path")
    parser.add_argument("--json", action="store_true")


def _spec(args: argparse.Namespace) -> Any:
    from signals.portfolio_pipeline import PORTFOLIO_DIR, PortfolioSpec, load_portfolios

    if args.spec is not None:
        spec = PortfolioSpec.load(args.spec)
    else:
        declared = load_portfolios()
        if not declared:
            raise ValueError(f"no portfolio declared in {PORTFOLIO_DIR}; pass --spec")
        spec = declared[0]
    changes = {f: getattr(args, f) for f in SPEC_FLAGS if getattr(args, f) is not None}
    options = {o: getattr(args, o) for o in OPTION_FLAGS if getattr(args, o) is not None}
    targets = {m: getattr(args, m) for m in TARGET_FLAGS if getattr(args, m) is not None}
    if len(targets) > 1 or (targets and changes.get("method", next(iter(targets))) not in targets):
        raise ValueError("--target-volatility and --target-return each set the method: pass one")
    for method, value in targets.items():
        changes["method"], options["target"] = method, value
    method = changes.get("method", spec.method)
    base = dict(spec.options) if method == spec.method else {}  # options are per method
    return replace(spec, **changes, options={**base, **options})


def _percent(value: float) -> str:
    return "n/a" if value != value else f"{value:+.2%}"  # NaN != NaN


def _number(value: float) -> str:
    return "n/a" if value != value else f"{value:.2f}"


def cmd_portfolio(settings: Settings, args: argparse.Namespace) -> Outcome:
    """Run the study, print IS vs OOS and the decisions, write the report."""
    from signals.portfolio_study import study_portfolio, write_study_report
    from warehouse.engines.duckdb import connect

    spec = _spec(args)
    started = time.perf_counter()
    with connect(settings.duckdb_path, read_only=True) as conn:
        study = study_portfolio(conn, spec, grid_run=args.grid, as_of=args.as_of)
    path = args.report or settings.home / "reports" / f"portfolio-{spec.id}.html"
    report = write_study_report(study, path)
    summary, windows = study.result.summary, study.result.windows
    lines = [
        f"portfolio {spec.id} ({spec.method}) over {study.source}: "
        f"{study.returns.shape[1]} candidates, {len(windows)} decisions "
        f"(train {spec.train}, step {spec.step}) in {time.perf_counter() - started:.1f}s",
        f"{'':15}{'sharpe':>8}{'return':>10}{'max dd':>10}{'days':>6}",
    ]
    for name in ("in_sample", "out_of_sample"):
        row = summary.loc[name]
        lines.append(
            f"  {name:13}{_number(row['sharpe']):>8}{_percent(row['total_return']):>10}"
            f"{_percent(row['max_drawdown']):>10}{int(row['days']):>6}"
        )
    lines.append(f"members ever held: {', '.join(study.members()) or 'none'}")
    lines.append(f"report: {report}")
    payload = {
        "portfolio": spec.id,
        "source": study.source,
        "method": spec.method,
        "options": spec.options,
        "candidates": list(study.returns.columns),
        "members": study.members(),
        "summary": summary.reset_index(names="sample").to_dict("records"),
        "decisions": windows.drop(columns=["train_start"], errors="ignore").to_dict("records"),
        "report": str(report),
    }
    return payload, lines, 0
