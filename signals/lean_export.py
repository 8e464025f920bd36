"""Write signal_weights/signal_orders frames and prices as a ready LEAN CLI workspace."""

# Modes. mode="append" (the default) treats each signal file as an append-only log, so a live
# algorithm polling it sees every row exactly once: pass the whole table every time; for each
# file the frame has rows for, the rows with signal_timestamp at or before the file's last one
# must render exactly as the file's rows (else ValueError naming the file, nothing written) and
# only the newer rows are appended (the file keeps a byte-identical prefix). Files of strategies
# or symbols absent from the frame are kept; universe.csv merges old and new signal spans.
# mode="replace" deletes and rewrites the folder of every table passed (signal_weights always,
# signal_orders when `orders` is given), under data/ and, with object_store=True, storage/.
# object_store=True writes the same files under <out_dir>/storage/<key>: the LEAN CLI mounts
# the workspace's storage/ folder as LEAN's object-store-root (/Storage), so the key the
# algorithm reads is the path below storage/, e.g. custom/signal_weights/<id>/weights/<s>.csv.
# prices= writes bars in LEAN's own format into <out_dir>/data (signals/lean_prices.py); price
# files are rewritten from the frame on every export, they are not append-only.
# signal_orders: data/custom/signal_orders/<strategy_id>/universe.csv (as for weights) and
# orders/<symbol lower>.csv with the contract columns; null prices are empty fields,
# position_status is true/false, floats are shortest round-trip, times as for weights.
# Every file is written atomically (temporary file + rename).

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from signals.lean_formats import (
    ID_PATTERN,
    appended_text,
    check_case_twins,
    check_columns,
    check_identifiers,
    check_not_late,
    check_unique,
    csv_text,
    format_utc,
    orders_csv_text,
    security_for,
    universe_text,
    utc_naive,
    validate_orders,
    write_text,
)
from signals.lean_prices import validate_bars, write_lean_prices
from warehouse.columns import (
    SIGNAL,
    SIGNAL_TIMESTAMP,
    SIGNAL_WEIGHTS_COLUMNS,
    STRATEGY_ID,
    SYMBOL,
    TIMESTAMP,
)
from warehouse.settings import LEAN_ALGORITHMS_DIR

__all__ = [
    "DATA_ROOT",
    "ID_PATTERN",
    "LEAN_JSON",
    "ORDERS_ROOT",
    "LeanExport",
    "default_parameters",
    "export_lean_workspace",
    "find_projects",
    "security_for",
    "signal_csv_text",
    "validate_weights",
]

# The file format below is what lean_algorithms/shared/signal_data.py parses; keep them in step.
DATA_ROOT = Path("data") / "custom" / "signal_weights"
ORDERS_ROOT = Path("data") / "custom" / "signal_orders"
STORAGE_DIR = "storage"
MODES = ("append", "replace")
UNIVERSE_FILE = "universe.csv"
WEIGHTS_DIR = "weights"
ORDERS_DIR = "orders"
SHARED_READER = Path("shared") / "signal_data.py"
_SKIPPED_NAMES = {"__pycache__", ".mypy_cache", ".ruff_cache", "backtests", "optimizations", "live"}

# lean.json: the engine settings `lean init` keeps from LEAN's Launcher/config.json that a local
# backtest needs, with data-folder relative to the workspace. The empty organization id lets the
# CLI run local backtests without a QuantConnect login.
LEAN_JSON: dict[str, Any] = {
    "data-folder": "data",
    "job-organization-id": "",
    "organization-id": "",
    "log-handler": "QuantConnect.Logging.CompositeLogHandler",
    "messaging-handler": "QuantConnect.Messaging.Messaging",
    "job-queue-handler": "QuantConnect.Queues.JobQueue",
    "api-handler": "QuantConnect.Api.Api",
    "map-file-provider": "QuantConnect.Data.Auxiliary.LocalDiskMapFileProvider",
    "factor-file-provider": "QuantConnect.Data.Auxiliary.LocalDiskFactorFileProvider",
    "data-provider": "QuantConnect.Lean.Engine.DataFeeds.DefaultDataProvider",
    "data-channel-provider": "DataChannelProvider",
    "object-store": "QuantConnect.Lean.Engine.Storage.LocalObjectStore",
    "data-aggregator": "QuantConnect.Lean.Engine.DataFeeds.AggregationManager",
    "environments": {
        "backtesting": {
            "live-mode": False,
            "setup-handler": "QuantConnect.Lean.Engine.Setup.BacktestingSetupHandler",
            "result-handler": "QuantConnect.Lean.Engine.Results.BacktestingResultHandler",
            "data-feed-handler": "QuantConnect.Lean.Engine.DataFeeds.FileSystemDataFeed",
            "real-time-handler": "QuantConnect.Lean.Engine.RealTime.BacktestingRealTimeHandler",
            "history-provider": [
                "QuantConnect.Lean.Engine.HistoricalData.SubscriptionDataReaderHistoryProvider"
            ],
            "transaction-handler": (
                "QuantConnect.Lean.Engine.TransactionHandlers.BacktestingTransactionHandler"
            ),
        }
    },
}


@dataclass(frozen=True)
class LeanExport:
    """What an export wrote: workspace, data files (signal, universe, orders, prices), projects."""

    workspace: Path
    signal_files: tuple[Path, ...]
    universe_files: tuple[Path, ...]
    rows_written: int
    project_dirs: tuple[Path, ...]
    order_files: tuple[Path, ...] = ()
    order_universe_files: tuple[Path, ...] = ()
    orders_written: int = 0
    storage_files: tuple[Path, ...] = ()
    price_files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class _Table:
    """One signal table's place in the workspace and how one symbol's file is rendered."""

    root: Path
    rows_dir: str
    render: Callable[[pd.DataFrame], str]


WEIGHTS_TABLE = _Table(DATA_ROOT, WEIGHTS_DIR, lambda rows: signal_csv_text(rows))
ORDERS_TABLE = _Table(ORDERS_ROOT, ORDERS_DIR, orders_csv_text)


@dataclass
class _Plan:
    """Files to write (path -> text), checked in full before the first write."""

    writes: dict[Path, str]
    row_files: list[Path]
    universe_files: list[Path]
    storage_files: list[Path]


def export_lean_workspace(
    weights: pd.DataFrame,
    out_dir: Path,
    *,
    algorithms_dir: Path | None = None,
    orders: pd.DataFrame | None = None,
    mode: str = "append",
    object_store: bool = False,
    prices: pd.DataFrame | None = None,
    price_resolution: str = "minute",
) -> LeanExport:
    """Write signal tables, optional prices and the LEAN projects as a CLI workspace."""
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r} is not one of {MODES}")
    frame = validate_weights(weights)
    order_frame = validate_orders(orders) if orders is not None else None
    if prices is not None:
        validate_bars(prices, price_resolution)
    source_dir = Path(algorithms_dir) if algorithms_dir is not None else LEAN_ALGORITHMS_DIR
    reader = source_dir / SHARED_READER
    if not reader.is_file():
        raise FileNotFoundError(f"{reader}: the shared signal reader is missing")
    shared = sorted(reader.parent.glob("*.py"))
    out_dir = Path(out_dir)
    tables = [(WEIGHTS_TABLE, frame)] + (
        [(ORDERS_TABLE, order_frame)] if order_frame is not None else []
    )
    bases = [Path()] + ([Path(STORAGE_DIR)] if object_store else [])
    if mode == "replace":
        plans = [_plan_table(rows, table, out_dir, bases, append=False) for table, rows in tables]
        for table, _ in tables:
            for base in bases:
                _remove_tree(out_dir / base / _table_key(table.root, base))
    else:
        plans = [_plan_table(rows, table, out_dir, bases, append=True) for table, rows in tables]
    _write_text(out_dir / "lean.json", _json_text(LEAN_JSON))
    for plan in plans:
        for path, text in plan.writes.items():
            _write_text(path, text)
    price_files: tuple[Path, ...] = ()
    if prices is not None:
        price_files = write_lean_prices(prices, out_dir / "data", resolution=price_resolution)

    defaults = default_parameters(frame)
    project_dirs = tuple(
        _export_project(project, out_dir / project.name, shared, defaults)
        for project in find_projects(source_dir)
    )
    weights_plan, orders_plan = plans[0], plans[1] if len(plans) > 1 else None
    return LeanExport(
        workspace=out_dir,
        signal_files=tuple(weights_plan.row_files),
        universe_files=tuple(weights_plan.universe_files),
        rows_written=len(frame),
        project_dirs=project_dirs,
        order_files=tuple(orders_plan.row_files) if orders_plan else (),
        order_universe_files=tuple(orders_plan.universe_files) if orders_plan else (),
        orders_written=len(order_frame) if order_frame is not None else 0,
        storage_files=tuple(path for plan in plans for path in plan.storage_files),
        price_files=tuple(price_files),
    )


def _table_key(root: Path, base: Path) -> Path:
    """A table root under data/ (base '') or under storage/ (the ObjectStore key, no data/)."""
    return root if base == Path() else root.relative_to("data")


def _plan_table(
    frame: pd.DataFrame, table: _Table, out_dir: Path, bases: list[Path], *, append: bool
) -> _Plan:
    """The files of one table under every base; in append mode checked against the files."""
    plan = _Plan({}, [], [], [])
    for strategy_id, rows in frame.groupby(STRATEGY_ID, sort=True):
        row_texts = {
            f"{table.rows_dir}/{str(symbol).lower()}.csv": table.render(symbol_rows)
            for symbol, symbol_rows in rows.groupby(SYMBOL, sort=True)
        }
        for base in bases:
            strategy_dir = out_dir / base / _table_key(table.root, base) / str(strategy_id)
            universe = strategy_dir / UNIVERSE_FILE
            plan.writes[universe] = universe_text(rows, universe if append else None)
            for relative, text in row_texts.items():
                path = strategy_dir / relative
                plan.writes[path] = appended_text(path, text) if append else text
            paths = [universe, *(strategy_dir / relative for relative in row_texts)]
            if base != Path():
                plan.storage_files.extend(paths)
            else:
                plan.universe_files.append(universe)
                plan.row_files.extend(paths[1:])
    return plan


def _remove_tree(path: Path) -> None:
    """Delete a folder the exporter owns (replace mode), if it exists."""
    if path.exists():
        shutil.rmtree(path)


def validate_weights(weights: pd.DataFrame) -> pd.DataFrame:
    """Check the contract columns and values; return them with times as naive UTC."""
    frame = check_columns(weights, SIGNAL_WEIGHTS_COLUMNS, "weights")
    for column in (SYMBOL, STRATEGY_ID):
        check_identifiers(frame[column], column, "weights")
    for column in (SIGNAL_TIMESTAMP, TIMESTAMP):
        frame[column] = utc_naive(frame[column], column, "weights")
    frame[SIGNAL] = _checked_signal(frame[SIGNAL])
    check_not_late(frame, "weights")
    check_unique(frame, [STRATEGY_ID, SYMBOL, SIGNAL_TIMESTAMP, TIMESTAMP], "weights", "weight")
    check_case_twins(frame, "weights")
    return frame


def _checked_signal(values: pd.Series) -> pd.Series:
    """The signal column as float, finite and within -1..1."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise ValueError(f"weights, column {SIGNAL!r}: expected a float, got {values.dtype}")
    floats = values.astype("float64")
    for position, value in enumerate(floats):
        if not math.isfinite(value) or not -1.0 <= value <= 1.0:
            raise ValueError(
                f"weights.iloc[{position}], column {SIGNAL!r}: {value!r} is not within -1..1"
            )
    return floats


def signal_csv_text(rows: pd.DataFrame) -> str:
    """One signal file: header, then rows by signal_timestamp, symbol, timestamp."""
    ordered = rows.sort_values([SIGNAL_TIMESTAMP, SYMBOL, TIMESTAMP], kind="mergesort")
    table = pd.DataFrame(
        {
            SYMBOL: ordered[SYMBOL].astype(str),
            SIGNAL_TIMESTAMP: format_utc(ordered[SIGNAL_TIMESTAMP]),
            TIMESTAMP: format_utc(ordered[TIMESTAMP]),
            SIGNAL: [repr(float(value) + 0.0) for value in ordered[SIGNAL]],  # -0.0 -> 0.0
            STRATEGY_ID: ordered[STRATEGY_ID].astype(str),
        }
    )
    return csv_text(SIGNAL_WEIGHTS_COLUMNS, table)


def default_parameters(frame: pd.DataFrame) -> dict[str, str]:
    """Project parameter defaults derived from the data: the first strategy id, sorted."""
    if frame.empty:
        return {}
    return {STRATEGY_ID: str(min(frame[STRATEGY_ID]))}


def find_projects(algorithms_dir: Path) -> list[Path]:
    """LEAN project folders under `algorithms_dir`: those holding a main.py and config.json."""
    return [
        child
        for child in sorted(algorithms_dir.iterdir())
        if child.is_dir() and (child / "main.py").is_file() and (child / "config.json").is_file()
    ]


def _export_project(
    project: Path, target: Path, shared: list[Path], defaults: dict[str, str]
) -> Path:
    """Copy one project, add the shared modules, fill declared parameters from `defaults`."""
    for relative in _project_files(project):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project / relative, target / relative)
    for module in shared:
        shutil.copyfile(module, target / module.name)
    config_path = project / "config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{config_path}: row {err.lineno}, column {err.colno}: {err.msg}") from err
    parameters = config.get("parameters", {})
    config["parameters"] = {key: defaults.get(key, value) for key, value in parameters.items()}
    _write_text(target / "config.json", _json_text(config))
    return target


def _project_files(project: Path) -> list[Path]:
    """A project's source files, relative and sorted; no caches, results or config.json."""
    files = []
    for source in sorted(project.rglob("*")):
        relative = source.relative_to(project)
        skipped = _SKIPPED_NAMES.intersection(relative.parts) or source.suffix == ".pyc"
        if source.is_file() and not skipped and relative.as_posix() != "config.json":
            files.append(relative)
    return files


def _json_text(value: dict[str, Any]) -> str:
    """Stable JSON text: 4-space indent as the LEAN CLI writes it, trailing newline."""
    return json.dumps(value, indent=4) + "\n"


def _write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically unless the file already holds exactly that text."""
    if path.is_file() and path.read_bytes() == text.encode("utf-8"):
        return
    write_text(path, text)
