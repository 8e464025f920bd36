"""DuckDB feature runner vs pandas groupby-apply, 20 symbols x 100,000 bars in memory."""

from __future__ import annotations

import duckdb
import pandas as pd

from bench.data import random_walk_bars
from bench.report import Table, rate
from bench.timing import measure
from udfs import compute_features
from udfs.runners.duckdb import run_features

SYMBOLS = 20
BARS_PER_SYMBOL = 100_000
SEED = 7
REPEATS = 5
SOURCE = "intermediate.int_bars_resampled"
TARGET = "features.udf_features"
PEER_TARGET = "features.peer_features"
ORDERED = f"select * from {SOURCE} order by symbol, timeframe, ts"


def _load_source(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the source table shaped like intermediate.int_bars_resampled, 1m bars."""
    frames = []
    for number in range(SYMBOLS):
        bars = random_walk_bars(BARS_PER_SYMBOL, SEED + number).reset_index()
        bars["ts"] = bars["ts"].dt.tz_localize(None)
        bars.insert(0, "symbol", f"SYM{number:02d}")
        bars.insert(1, "timeframe", "1m")
        bars["available_at"] = bars["ts"] + pd.Timedelta(minutes=1)
        frames.append(bars)
    conn.register("bench_bars", pd.concat(frames, ignore_index=True))
    conn.execute("create schema intermediate")
    conn.execute(
        f"create table {SOURCE} as select symbol::varchar as symbol, "
        "timeframe::varchar as timeframe, ts::timestamp as ts, open::double as open, "
        "high::double as high, low::double as low, close::double as close, "
        "volume::double as volume, available_at::timestamp as available_at from bench_bars"
    )
    conn.unregister("bench_bars")


def _scalar(conn: duckdb.DuckDBPyConnection, query: str) -> object:
    """The single value a query returns."""
    return conn.sql(query).fetchall()[0][0]


def _peer(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """fetchdf() of the whole source, then groupby-apply of compute_features per partition."""
    frame = conn.sql(ORDERED).fetchdf()
    return frame.groupby(["symbol", "timeframe"], sort=False).apply(
        lambda part: compute_features(part.set_index("ts"))
    )


def _peer_write(conn: duckdb.DuckDBPyConnection) -> None:
    """The peer, plus writing its result back as a table (what run_features also does)."""
    features = _peer(conn).reset_index()
    conn.register("bench_peer", features)
    try:
        conn.execute(f"create or replace table {PEER_TARGET} as select * from bench_peer")
    finally:
        conn.unregister("bench_peer")


def run(repeats: int | None = None) -> list[Table]:
    """Rows/s of run_features and of its pandas peers on the same in-memory table."""
    repeats = repeats or REPEATS
    rows = SYMBOLS * BARS_PER_SYMBOL
    conn = duckdb.connect(":memory:")
    try:
        _load_source(conn)
        conn.execute("create schema features")
        ours, peer, peer_write = measure(
            lambda: run_features(conn, SOURCE, TARGET),
            lambda: _peer(conn),
            lambda: _peer_write(conn),
            repeats=repeats,
        )
        written = _scalar(conn, f"select count(*) from {TARGET}")
        peer_rows = _scalar(conn, f"select count(*) from {PEER_TARGET}")
        threads = _scalar(conn, "select current_setting('threads')")
    finally:
        conn.close()
    table_rows = []
    for name, timing, out_rows in (
        ("run_features (read, compute, write)", ours, written),
        ("peer: fetchdf + groupby-apply", peer, peer_rows),
        ("peer + write back (create table)", peer_write, peer_rows),
    ):
        table_rows.append(
            (
                name,
                rate(rows, timing.median),
                rate(rows, timing.min),
                f"{timing.median:.2f}",
                "-" if timing is ours else f"{timing.median / ours.median:.2f}x",
                f"{out_rows:,}",
            )
        )
    return [
        Table(
            title=(
                f"runner: udfs.runners.duckdb.run_features, {SYMBOLS} symbols x "
                f"{BARS_PER_SYMBOL:,} bars, in-memory DuckDB ({threads} threads), "
                f"{repeats} interleaved runs"
            ),
            headers=("contender", "rows/s med", "max", "median s", "ours speedup", "rows out"),
            rows=table_rows,
            notes=[
                "ours speedup = peer median time / run_features median time (above 1x: ours "
                "is faster).",
                "The plain peer does less work than run_features: no write back and no "
                "available_at column.",
                "rows/s max is the fastest run; every contender computes all registered features.",
            ],
        )
    ]
