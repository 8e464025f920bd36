"""The point-in-time replay harness.

For a cut-off T, rebuild the whole asset graph in a scratch warehouse from only the
raw rows with `available_at <= T`, then compare its signal rows with the batch run's
rows whose `signal_timestamp <= T`. They must be identical; any difference means
something used data that was not yet available.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from dagster import AssetKey, AssetSelection

from orchestration.run import materialize_graph
from warehouse.columns import SIGNAL_TIMESTAMP
from warehouse.datasets import DATASETS
from warehouse.engines.duckdb import connect
from warehouse.settings import Settings

SIGNAL_TABLES = ("signals.signal_weights", "signals.signal_orders")
# Execution state written back from LEAN's order events, not signal content: the
# replay rebuilds from raw rows only, so it is left out of the comparison.
EXECUTION_COLUMNS = {"signals.signal_orders": ("position_status",)}
# Floats are compared at this many significant digits (both sides run the same code;
# this only absorbs summation-order noise).
SIGNIFICANT_DIGITS = 10


@dataclass(frozen=True)
class TableDiff:
    """Rows of one signal table only the batch has, and rows only the replay has."""

    table: str
    batch_rows: int
    replay_rows: int
    only_in_batch: pd.DataFrame
    only_in_replay: pd.DataFrame

    @property
    def equal(self) -> bool:
        """Whether both sides hold exactly the same rows."""
        return self.only_in_batch.empty and self.only_in_replay.empty


@dataclass(frozen=True)
class ReplayResult:
    """The comparison at one cut-off."""

    as_of: datetime
    diffs: tuple[TableDiff, ...]

    @property
    def equal(self) -> bool:
        """Whether every signal table matched."""
        return all(d.equal for d in self.diffs)


def _copy_raw(batch: Path, scratch: Path, as_of: datetime) -> None:
    with connect(scratch) as conn:
        conn.execute(f"attach '{batch}' as batch (read_only)")
        conn.execute("create schema if not exists raw")
        tables = {
            r[0]
            for r in conn.sql(
                "select table_name from duckdb_tables() "
                "where database_name = 'batch' and schema_name = 'raw'"
            ).fetchall()
        }
        for name in DATASETS:
            if name in tables:
                conn.execute(
                    f"create table raw.{name} as select * from batch.raw.{name} "
                    "where available_at <= ?",
                    [as_of],
                )
        conn.execute("detach batch")


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].map(
                lambda v: v if pd.isna(v) else float(f"{v:.{SIGNIFICANT_DIGITS}g}")
            )
    return out.astype("string").fillna("<null>")


def _diff(table: str, batch: pd.DataFrame, replay: pd.DataFrame) -> TableDiff:
    left, right = _normalise(batch), _normalise(replay)
    merged = left.merge(right, how="outer", indicator=True, on=list(left.columns))
    only_batch = merged[merged["_merge"] == "left_only"].drop(columns="_merge")
    only_replay = merged[merged["_merge"] == "right_only"].drop(columns="_merge")
    return TableDiff(table, len(batch), len(replay), only_batch, only_replay)


def _signal_rows(path: Path, table: str, as_of: datetime) -> pd.DataFrame:
    excluded = EXECUTION_COLUMNS.get(table)
    columns = f"* exclude ({', '.join(excluded)})" if excluded else "*"
    with connect(path, read_only=True) as conn:
        return conn.execute(
            f"select {columns} from {table} where {SIGNAL_TIMESTAMP} <= ? order by all", [as_of]
        ).fetchdf()


def replay_at(settings: Settings, as_of: datetime, scratch_dir: Path | None = None) -> ReplayResult:
    """Rebuild from raw rows known at `as_of` into a scratch warehouse and compare signals."""
    cutoff = pd.Timestamp(as_of)
    if cutoff.tzinfo is not None:
        cutoff = cutoff.tz_convert("UTC").tz_localize(None)
    as_of = cutoff.to_pydatetime()
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix="replay-") as tmp:
        scratch = Path(tmp) / "replay.duckdb"
        _copy_raw(settings.duckdb_path, scratch, as_of)
        scratch_settings = settings.with_warehouse(scratch)
        raw = AssetSelection.assets(*[AssetKey(["raw", name]) for name in DATASETS])
        rebuild = (
            AssetSelection.all()
            - raw
            - AssetSelection.assets(AssetKey(["lake", "raw_files"]))
            - AssetSelection.groups("publishing")
        ).without_checks()  # dbt tests ran on the batch; the replay compares the data
        materialize_graph(scratch_settings, selection=rebuild, as_of=as_of.isoformat(sep=" "))
        diffs = tuple(
            _diff(t, _signal_rows(settings.duckdb_path, t, as_of), _signal_rows(scratch, t, as_of))
            for t in SIGNAL_TABLES
        )
    return ReplayResult(as_of, diffs)


def default_cutoffs(settings: Settings, count: int = 3) -> list[datetime]:
    """Cut-offs at signal publication moments spread over the history.

    A leak shows where a signal is published: at that instant the replay has the signal's
    bar as its last one, so a value that needed a later bar cannot match the batch's.
    """
    with connect(settings.duckdb_path, read_only=True) as conn:
        moments = [
            r[0]
            for r in conn.sql(
                "select distinct signal_timestamp from signals.signal_weights order by 1"
            ).fetchall()
        ]
    if not moments:
        raise ValueError("signals.signal_weights is empty: nothing to replay against")
    picks = sorted({(len(moments) * (i + 1)) // (count + 1) for i in range(count)})
    return [moments[min(p, len(moments) - 1)] for p in picks]
