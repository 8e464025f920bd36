"""Write a signal_weights frame as a ready LEAN CLI workspace: lean.json, data, projects."""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from warehouse.columns import (
    SIGNAL,
    SIGNAL_TIMESTAMP,
    SIGNAL_WEIGHTS_COLUMNS,
    STRATEGY_ID,
    SYMBOL,
    TIMESTAMP,
)
from warehouse.settings import LEAN_ALGORITHMS_DIR

# The file format below is what lean_algorithms/shared/signal_data.py parses; keep them in step.
DATA_ROOT = Path("data") / "custom" / "signal_weights"
UNIVERSE_FILE = "universe.csv"
WEIGHTS_DIR = "weights"
UNIVERSE_COLUMNS = (
    SYMBOL,
    "security_type",
    "market",
    "first_signal_timestamp",
    "last_signal_timestamp",
)
SHARED_READER = Path("shared") / "signal_data.py"
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
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
    """What an export wrote: the workspace, its signal and universe files, rows, projects."""

    workspace: Path
    signal_files: tuple[Path, ...]
    universe_files: tuple[Path, ...]
    rows_written: int
    project_dirs: tuple[Path, ...]


def export_lean_workspace(
    weights: pd.DataFrame, out_dir: Path, *, algorithms_dir: Path | None = None
) -> LeanExport:
    """Write `weights` (the signal_weights contract) and the LEAN projects as a CLI workspace."""
    frame = validate_weights(weights)
    source_dir = Path(algorithms_dir) if algorithms_dir is not None else LEAN_ALGORITHMS_DIR
    reader = source_dir / SHARED_READER
    if not reader.is_file():
        raise FileNotFoundError(f"{reader}: the shared signal reader is missing")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_text(out_dir / "lean.json", _json_text(LEAN_JSON))

    data_root = out_dir / DATA_ROOT
    if data_root.exists():
        shutil.rmtree(data_root)  # the exporter owns this folder: no stale strategies survive
    signal_files: list[Path] = []
    universe_files: list[Path] = []
    for strategy_id, rows in frame.groupby(STRATEGY_ID, sort=True):
        strategy_dir = data_root / str(strategy_id)
        universe_files.append(_write_universe(strategy_dir / UNIVERSE_FILE, rows))
        for symbol, symbol_rows in rows.groupby(SYMBOL, sort=True):
            path = strategy_dir / WEIGHTS_DIR / f"{str(symbol).lower()}.csv"
            _write_text(path, signal_csv_text(symbol_rows))
            signal_files.append(path)

    defaults = default_parameters(frame)
    project_dirs = tuple(
        _export_project(project, out_dir / project.name, reader, defaults)
        for project in find_projects(source_dir)
    )
    return LeanExport(
        workspace=out_dir,
        signal_files=tuple(signal_files),
        universe_files=tuple(universe_files),
        rows_written=len(frame),
        project_dirs=project_dirs,
    )


def validate_weights(weights: pd.DataFrame) -> pd.DataFrame:
    """Check the contract columns and values; return them with times as naive UTC."""
    missing = [column for column in SIGNAL_WEIGHTS_COLUMNS if column not in weights.columns]
    if missing:
        raise ValueError(
            f"weights: missing columns {missing}; received {list(weights.columns)}; "
            f"expected {list(SIGNAL_WEIGHTS_COLUMNS)}"
        )
    frame = weights.loc[:, list(SIGNAL_WEIGHTS_COLUMNS)].reset_index(drop=True)
    for column in (SYMBOL, STRATEGY_ID):
        _check_identifiers(frame[column], column)
    for column in (SIGNAL_TIMESTAMP, TIMESTAMP):
        frame[column] = _utc_naive(frame[column], column)
    frame[SIGNAL] = _checked_signal(frame[SIGNAL])
    late = frame.index[frame[TIMESTAMP] > frame[SIGNAL_TIMESTAMP]]
    if len(late):
        raise ValueError(
            f"weights.iloc[{late[0]}], column {TIMESTAMP!r}: later than {SIGNAL_TIMESTAMP!r} "
            "(a signal cannot refer to a bar after it became available)"
        )
    _check_unique(frame)
    return frame


def _check_identifiers(values: pd.Series, column: str) -> None:
    """Symbols and strategy ids become file names: plain, non-empty identifiers only."""
    for position, value in enumerate(values):
        if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
            raise ValueError(
                f"weights.iloc[{position}], column {column!r}: {value!r} is not an identifier "
                f"matching {ID_PATTERN.pattern}"
            )


def _utc_naive(values: pd.Series, column: str) -> pd.Series:
    """A datetime64 column as naive UTC (tz-aware is converted; naive is taken as UTC)."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        raise ValueError(f"weights, column {column!r}: expected datetime64, got {values.dtype}")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = values.index[values.isna() | (values.dt.nanosecond != 0)]
    if len(bad):
        raise ValueError(
            f"weights.iloc[{bad[0]}], column {column!r}: {values[bad[0]]!r} is missing or "
            "finer than a microsecond"
        )
    return values


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


def _check_unique(frame: pd.DataFrame) -> None:
    """One weight per strategy, symbol, signal_timestamp and timestamp; no case-only twins."""
    key = [STRATEGY_ID, SYMBOL, SIGNAL_TIMESTAMP, TIMESTAMP]
    duplicated = frame.index[frame.duplicated(key, keep=False)]
    if len(duplicated):
        raise ValueError(
            f"weights.iloc{list(duplicated[:2])}: duplicate rows for columns {key} "
            "(one weight per key)"
        )
    names = frame[[STRATEGY_ID, SYMBOL]].drop_duplicates()
    twins = names[
        names.assign(lower=names[SYMBOL].str.lower()).duplicated([STRATEGY_ID, "lower"], keep=False)
    ]
    if len(twins):
        raise ValueError(
            f"weights, column {SYMBOL!r}: {sorted(twins[SYMBOL])} differ only in case "
            "(signal file names are lower case)"
        )


def security_for(symbol: str) -> tuple[str, str]:
    """LEAN security type and market of a symbol: *USDT -> Binance crypto, *USD -> Coinbase."""
    upper = symbol.upper()
    if upper.endswith("USDT"):
        return "crypto", "binance"
    if upper.endswith("USD"):
        return "crypto", "coinbase"
    return "equity", "usa"


def format_utc(values: pd.Series) -> pd.Series:
    """Naive-UTC datetimes as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` strings."""
    seconds = values.dt.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = values.dt.microsecond.map(lambda micro: f".{micro:06d}" if micro else "")
    return seconds.astype(str) + fraction.astype(str) + "Z"


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
    return _csv_text(SIGNAL_WEIGHTS_COLUMNS, table)


def _write_universe(path: Path, rows: pd.DataFrame) -> Path:
    """Write one strategy's universe.csv: symbol, security type, market and signal span."""
    spans = rows.groupby(SYMBOL, sort=True)[SIGNAL_TIMESTAMP].agg(["min", "max"])
    securities = [security_for(str(symbol)) for symbol in spans.index]
    table = pd.DataFrame(
        {
            SYMBOL: [str(symbol) for symbol in spans.index],
            "security_type": [security_type for security_type, _ in securities],
            "market": [market for _, market in securities],
            "first_signal_timestamp": format_utc(spans["min"]).to_list(),
            "last_signal_timestamp": format_utc(spans["max"]).to_list(),
        }
    )
    _write_text(path, _csv_text(UNIVERSE_COLUMNS, table))
    return path


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


def _export_project(project: Path, target: Path, reader: Path, defaults: dict[str, str]) -> Path:
    """Copy one project, add the shared reader, fill declared parameters from `defaults`."""
    for relative in _project_files(project):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project / relative, target / relative)
    shutil.copyfile(reader, target / reader.name)
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


def _csv_text(columns: tuple[str, ...], table: pd.DataFrame) -> str:
    """A header line and one comma-joined line per row, `\\n`-terminated."""
    lines = [",".join(columns)]
    lines.extend(",".join(values) for values in table[list(columns)].itertuples(index=False))
    return "\n".join(lines) + "\n"


def _json_text(value: dict[str, Any]) -> str:
    """Stable JSON text: 4-space indent as the LEAN CLI writes it, trailing newline."""
    return json.dumps(value, indent=4) + "\n"


def _write_text(path: Path, text: str) -> None:
    """Write UTF-8 text with `\\n` line ends, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
