"""One function per `signalyard` command: (JSON payload, human lines, exit code)."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import AssetSelection

from orchestration.portfolio_command import cmd_portfolio  # noqa: F401 (a command)
from orchestration.replay import ReplayResult, default_cutoffs, replay_at
from orchestration.run import materialize_graph
from orchestration.summary import (
    passing_instances,
    portfolio_summaries,
    quarantined_files,
    table_rows,
)
from warehouse.engines.duckdb import connect, table_exists
from warehouse.expectations import summarize_results
from warehouse.landing import land_path
from warehouse.loading import load_new, loader_lock
from warehouse.manifest import read_manifest
from warehouse.object_store import open_store
from warehouse.settings import Settings

Outcome = tuple[dict[str, Any], list[str], int]


def _interactive() -> bool:
    """Progress bars on a terminal only (not in logs, pipes or CI)."""
    return sys.stderr.isatty()


def fresh_warehouse(settings: Settings) -> None:
    """Remove the warehouse file and its dbt artifacts (the lake is kept)."""
    for path in (settings.duckdb_path, Path(f"{settings.duckdb_path}.wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(Path(f"{settings.duckdb_path}.dbt"), ignore_errors=True)


def elapsed(start: float) -> str:
    """Seconds since `start`, for summaries."""
    return f"{time.perf_counter() - start:.1f}s"


def _replay_lines(result: ReplayResult) -> list[str]:
    lines = [
        f"replay as of {result.as_of:%Y-%m-%d %H:%M:%S}: "
        f"{'identical' if result.equal else 'DIFFERENT'}"
    ]
    for diff in result.diffs:
        lines.append(
            f"  {diff.table}: batch {diff.batch_rows} rows, replay {diff.replay_rows} "
            f"rows, only in batch {len(diff.only_in_batch)}, "
            f"only in replay {len(diff.only_in_replay)}"
        )
        for label, frame in (("batch", diff.only_in_batch), ("replay", diff.only_in_replay)):
            for row in frame.head(5).to_dict("records"):
                lines.append(f"    only in {label}: {row}")
    return lines


def _replay_payload(result: ReplayResult) -> dict[str, Any]:
    return {
        "as_of": result.as_of.isoformat(),
        "equal": result.equal,
        "tables": {
            d.table: {
                "batch_rows": d.batch_rows,
                "replay_rows": d.replay_rows,
                "only_in_batch": d.only_in_batch.to_dict("records"),
                "only_in_replay": d.only_in_replay.to_dict("records"),
            }
            for d in result.diffs
        },
    }


def cmd_demo(settings: Settings, args: argparse.Namespace) -> Outcome:
    """Fresh warehouse, whole graph on the sample data, replay checks, summary."""
    start = time.perf_counter()
    fresh_warehouse(settings)
    materialize_graph(settings, land_sample_data=True, progress=_interactive(), lean_mode="replace")
    built = elapsed(start)
    replays = (
        [replay_at(settings, t) for t in default_cutoffs(settings, args.replays)]
        if args.replays
        else []
    )
    with connect(settings.duckdb_path, read_only=True) as conn:
        rows, passed = table_rows(conn), passing_instances(conn)
        portfolios = portfolio_summaries(conn)
    report = settings.reports_dir / "report.html"
    lines = [f"signalyard demo: built in {built}, total {elapsed(start)}", "", "rows per table:"]
    lines += [f"  {name:<52} {count:>10,}" for name, count in rows.items()]
    lines += ["", f"strategy x symbol cells passing the filter: {len(passed)}"]
    lines += [
        f"  {p['strategy_id']:<16} {p['symbol']:<8} trades {p['trades']:>4.0f}  "
        f"return {p['total_return']:+.2%}  sharpe {p['sharpe']:.2f}"
        for p in passed
    ]
    lines += ["", "declared portfolios (walk-forward, published to signals.signal_weights):"]
    lines += [
        f"  {p['portfolio_id']:<16} {p['decisions']} decisions, {p['last_members']} member(s) "
        f"at the last, in-sample {p['in_sample_return']:+.2%} vs out-of-sample "
        f"{p['out_of_sample_return']:+.2%}, {p['target_rows']} target rows"
        for p in portfolios
    ] or ["  none (no spec in signals/library/portfolios, or too little data)"]
    lines += [""] + [line for r in replays for line in _replay_lines(r)]
    lines += [
        "",
        f"warehouse:      {settings.duckdb_path}",
        f"LEAN workspace: {settings.lean_workspace}",
        f"report:         {report}",
        f"dbt log:        {settings.home / 'logs' / 'dbt.log'}",
    ]
    payload = {
        "rows": rows,
        "passed": passed,
        "portfolios": portfolios,
        "warehouse": str(settings.duckdb_path),
        "lean_workspace": str(settings.lean_workspace),
        "report": str(report),
        "replays": [_replay_payload(r) for r in replays],
    }
    return payload, lines, 0 if all(r.equal for r in replays) else 1


def cmd_land(settings: Settings, args: argparse.Namespace) -> Outcome:
    """Land a file or folder."""
    results = land_path(
        open_store(settings.lake), args.path, vendor=args.vendor, dataset=args.dataset
    )
    lines = [
        f"{'landed' if r.landed else 'already landed (same content)'}: {r.entry.key}"
        + (f"  [unreadable: {r.entry.read_error}]" if r.entry.read_error else "")
        for r in results
    ]
    landed = sum(r.landed for r in results)
    lines.append(f"{landed} file(s) landed, {len(results) - landed} already present")
    payload = {
        "landed": [r.entry.key for r in results if r.landed],
        "already_landed": [r.entry.key for r in results if not r.landed],
    }
    return payload, lines, 0


def cmd_fetch(settings: Settings, args: argparse.Namespace) -> Outcome:
    """Fetch vendor bars into raw/, each symbol resuming after its last landed bar."""
    from tqdm import tqdm

    from warehouse.connectors import registry
    from warehouse.connectors.backfill import backfill
    from warehouse.connectors.base import ConnectorError, utc

    dataset = args.dataset or ("bars_1d" if args.vendor == "yahoo" else "bars_1m")
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    if not symbols:
        raise ValueError("--symbols names no symbol")
    start, end = utc(args.start), utc(args.end) if args.end else None
    connector = registry.make_connector(args.vendor, dataset, exchange=args.exchange)
    store = open_store(settings.lake)
    results, failed = [], {}
    bar = tqdm(desc=f"fetch {connector.vendor}", unit="page", disable=not _interactive())
    for symbol in symbols:
        bar.set_postfix_str(symbol)
        try:
            results.append(
                backfill(connector, store, symbol, start, end, on_page=lambda _: bar.update(1))
            )
        except ConnectorError as exc:
            failed[symbol] = str(exc)
    bar.close()
    until = f"{end:%Y-%m-%d %H:%M}Z" if end else "now"
    lines = [f"fetch {connector.vendor} {dataset} [{start:%Y-%m-%d %H:%M}Z, {until})"]
    for r in results:
        resumed = f", resumed from {r.resumed_from:%Y-%m-%d %H:%M}Z" if r.resumed_from else ""
        last = f"{r.last_bar:%Y-%m-%d %H:%M}Z" if r.last_bar else "none"
        lines.append(
            f"  {r.symbol:<12} {r.pages} page(s), {r.files_landed} file(s) landed, "
            f"{r.files_present} already present, {r.bars} bar(s); last bar {last}{resumed}"
        )
    lines += [f"  {symbol:<12} FAILED: {reason}" for symbol, reason in failed.items()]
    lines.append(
        f"{sum(r.files_landed for r in results)} file(s) landed, "
        f"{sum(r.bars for r in results)} bar(s), {len(failed)} symbol(s) failed"
    )
    payload = {
        "vendor": connector.vendor,
        "dataset": dataset,
        "results": [r.to_dict() for r in results],
        "failed": failed,
    }
    return payload, lines, 1 if failed else 0


def cmd_load(settings: Settings, args: argparse.Namespace) -> Outcome:
    """Load new landed files (a second loader waits for the first, then finds nothing new)."""
    with loader_lock(settings.duckdb_path), connect(settings.duckdb_path) as conn:
        results = load_new(conn, open_store(settings.lake), progress=not args.json)
    loaded = [r for r in results if r.status == "loaded"]
    quarantined = [r for r in results if r.status == "quarantined"]
    lines = [
        f"loaded {len(loaded)} file(s), {sum(r.rows for r in loaded):,} rows "
        f"({sum(r.corrected for r in loaded):,} corrections, "
        f"{sum(r.unchanged for r in loaded):,} repeated rows skipped); "
        f"quarantined {len(quarantined)}"
    ]
    lines += [f"  note {r.key}: {w}" for r in loaded for w in r.warnings]
    lines += [f"  quarantined {r.key}: {r.reason}" for r in quarantined]
    payload = {
        "loaded": [r.__dict__ for r in loaded],
        "quarantined": [r.__dict__ for r in quarantined],
    }
    return payload, lines, 1 if quarantined else 0


def cmd_status(settings: Settings, args: argparse.Namespace) -> Outcome:
    """Manifest, quarantine, table row counts and failing expectations per dataset."""
    entries = read_manifest(open_store(settings.lake))
    landed = pd.Series([f"{e.vendor}/{e.dataset}" for e in entries]).value_counts().sort_index()
    rows: dict[str, int] = {}
    quarantine: list[dict[str, str]] = []
    expectations: dict[str, dict[str, int]] = {}
    if settings.duckdb_path.exists():
        with connect(settings.duckdb_path, read_only=True) as conn:
            rows, quarantine = table_rows(conn), quarantined_files(conn)
            expectations = {
                name: {
                    "batches": s.batches,
                    "failed_batches": s.failed_batches,
                    "failed_expectations": sum(f["batches"] for f in s.failed_expectations),
                }
                for name, s in summarize_results(conn).items()
            }
    lines = [f"lake: {settings.lake}", f"landed files: {len(entries)}"]
    lines += [f"  {name:<40} {count:>6}" for name, count in landed.items()]
    lines += [f"warehouse: {settings.duckdb_path}", f"quarantined files: {len(quarantine)}"]
    lines += [f"  {q['key']}: {q['reason']}" for q in quarantine]
    lines += [f"  {name:<52} {count:>10,}" for name, count in rows.items()]
    if expectations:
        lines.append("expectations per dataset: batches failing / validated, failed expectations")
        lines += [
            f"  {name:<20} {e['failed_batches']:>5} / {e['batches']:<5} "
            f"{e['failed_expectations']:>5}"
            for name, e in expectations.items()
        ]
    payload = {
        "lake": settings.lake,
        "landed": landed.to_dict(),
        "quarantined": quarantine,
        "warehouse": str(settings.duckdb_path),
        "rows": rows,
        "expectations": expectations,
    }
    return payload, lines, 0


def cmd_build(settings: Settings, args: argparse.Namespace) -> Outcome:
    """Materialize (a selection of) the graph on what has landed."""
    start = time.perf_counter()
    selection = AssetSelection.from_string(args.select) if args.select else None
    result = materialize_graph(
        settings,
        selection=selection,
        as_of=args.as_of,
        land_sample_data=False,
        progress=_interactive(),
    )
    keys = sorted(
        e.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
        if e.asset_key
    )
    lines = [f"materialized {len(keys)} asset(s) in {elapsed(start)}"]
    lines += [f"  {k}" for k in keys]
    return {"materialized": keys}, lines, 0


def cmd_replay(settings: Settings, args: argparse.Namespace) -> Outcome:
    """Replay at each cut-off; exit 1 when any differs."""
    results = [replay_at(settings, pd.Timestamp(t).to_pydatetime()) for t in args.as_of]
    lines = [line for r in results for line in _replay_lines(r)]
    payload = {"replays": [_replay_payload(r) for r in results]}
    return payload, lines, 0 if all(r.equal for r in results) else 1


def cmd_grid(settings: Settings, args: argparse.Namespace) -> Outcome:
    """Run (or continue) a research grid on the warehouse's bars and features."""
    from signals.grid import GridSpec, run_grid_study, write_run_report
    from signals.strategy import load_library

    def listed(value: str | None) -> tuple[str, ...] | None:
        return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None

    library = {s.id: s for s in load_library()}
    wanted = listed(args.strategies) or tuple(library)
    unknown = sorted(set(wanted) - set(library))
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; the library has {sorted(library)}")
    overrides = (("take_profit", args.take_profit),) if args.take_profit is not None else ()
    spec = GridSpec(
        strategies=wanted,
        timeframes=listed(args.timeframes),
        symbols=listed(args.symbols),
        sampling=args.sampling,
        samples=args.samples,
        seed=args.seed,
        overrides=overrides,
    )
    started = time.perf_counter()
    with connect(settings.duckdb_path) as conn:
        run = run_grid_study(
            conn, spec, [library[i] for i in wanted], fresh=args.fresh, progress=_interactive()
        )
        top = conn.execute(
            "select strategy_id, timeframe, symbol, cast(trades as bigint) as trades, "
            "total_return, sharpe, max_drawdown "
            "from backtests.grid_stats where run_id = ? and trades > 0 "
            "order by sharpe desc nulls last limit ?",
            [run.run_id, args.top],
        ).fetchdf()
        report = write_run_report(
            conn, run.run_id, settings.home / "reports" / f"{run.run_id}.html"
        )
    seconds = time.perf_counter() - started
    lines = [
        f"grid {run.run_id}: {run.partitions_computed} partition(s) computed, "
        f"{run.partitions_done_before} already done (resumed), of {run.partitions_total}; "
        f"{run.cells:,} cells, {run.trades:,} trades, {run.bar_cells:,} bar-cells in "
        f"{seconds:.1f}s",
        "results: backtests.grid_stats, grid_trades, grid_equity (run_id = the grid id)",
        f"report: {report}" if report else "report: none (no cells)",
    ]
    lines += [f"  skipped {sid}: {why}" for sid, why in sorted(run.skipped.items())]
    if len(top):
        lines.append(top.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    payload = {
        **run.__dict__,
        "seconds": seconds,
        "report": str(report) if report else None,
        "top": top.to_dict("records"),
    }
    return payload, lines, 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> Outcome:
    """Export the signal tables and prices to a LEAN CLI workspace."""
    from signals.lean_workspace import export_from_warehouse

    with connect(settings.duckdb_path, read_only=True) as conn:
        export = export_from_warehouse(
            conn, args.out, mode="replace" if args.replace else "append", object_store=True
        )
    lines = [
        f"wrote LEAN workspace {export.workspace} ({'replaced' if args.replace else 'appended'}"
        f"): {export.rows_written} weight row(s), {export.orders_written} order row(s), "
        f"{len(export.price_files)} price file(s)"
    ]
    payload = {
        "workspace": str(export.workspace),
        "rows": export.rows_written,
        "orders": export.orders_written,
        "price_files": len(export.price_files),
    }
    return payload, lines, 0


def cmd_publish(settings: Settings, args: argparse.Namespace) -> Outcome:
    """Push a workspace project and its signal files to QuantConnect Cloud."""
    from signals.lean_cloud import QuantConnectClient

    workspace = args.workspace or settings.lean_workspace
    result = QuantConnectClient().publish_workspace(workspace, args.project)
    lines = [
        f"published {args.project} to QuantConnect project {result.project_id}: "
        f"{len(result.files)} file(s), {len(result.object_keys)} ObjectStore object(s)"
    ]
    payload = {
        "project_id": result.project_id,
        "files": result.files,
        "objects": list(result.object_keys),
    }
    return payload, lines, 0


_INTENDED_PRICES = """
    select o.signal_id, coalesce(o.entry_price, e.signal_close) as intended_price
    from signals.signal_orders o
    join marts.fct_signal_events e
      on e.strategy_id = o.strategy_id and e.symbol = o.symbol
     and e.signal_bar_ts = o.timestamp and e.event_type = 'entry'
    where o.position_status
"""


def cmd_feedback(settings: Settings, args: argparse.Namespace) -> Outcome:
    """Load LEAN orders, fills, positions and statistics; slippage against the signals."""
    from signals.lean_feedback import (
        position_status,
        read_backtest,
        read_live_order_events,
        slippage,
        write_feedback,
    )

    if args.path.is_dir():
        feedback = read_backtest(args.path, args.backtest_id)
    else:
        feedback = read_live_order_events(args.path)
    with connect(settings.duckdb_path) as conn:
        write_feedback(conn, feedback)
        has_signals = table_exists(conn, "signals.signal_orders")
        intended = (
            conn.sql(_INTENDED_PRICES).df()
            if has_signals
            else pd.DataFrame(
                {"signal_id": pd.Series(dtype="str"), "intended_price": pd.Series(dtype="float64")}
            )
        )
        costs = slippage(feedback.orders, feedback.fills, intended)
        status = position_status(feedback.orders, feedback.fills)
        for name, frame in (("slippage", costs), ("position_status", status)):
            conn.register("_frame", frame)
            conn.execute(f"create or replace table lean.{name} as select * from _frame")
            conn.unregister("_frame")
    lines = [
        f"orders {len(feedback.orders)}, fills {len(feedback.fills)}, "
        f"open positions {int(status['position_status'].sum())}, "
        f"statistics {len(feedback.statistics)}",
        f"slippage: {len(costs)} entry order(s), mean {costs['slippage_bps'].mean():.1f} bps"
        if len(costs)
        else "slippage: no entry order matched a signal of this warehouse",
    ]
    payload = {
        "orders": len(feedback.orders),
        "fills": len(feedback.fills),
        "slippage": costs.to_dict("records"),
        "position_status": status.to_dict("records"),
    }
    return payload, lines, 0
