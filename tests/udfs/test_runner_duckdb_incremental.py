"""Incremental DuckDB runs: only new bars are computed, and the table equals a full recompute.

Tolerance: recursive indicators recomputed over a look-back window agree with a full
recompute to `RTOL` (1e-9) times each column's magnitude; windowed sums (CCI) differ by
summation order only (~1e-12 relative here), EMAs have converged to identical doubles.
NULL positions, keys and available_at must be identical.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from support.bars import FEATURE_COLUMNS, engine_rows, split_partitions
from support.compare import assert_same_features

from udfs import FeatureSpec, get_feature, output_columns, register_feature
from udfs.runners import duckdb_stream
from udfs.runners.duckdb import FeatureRun, materialize_features

SOURCE = "intermediate.int_bars_resampled"
TARGET = "features.udf_features"
FULL = "features.full_recompute"
KEYS = ["symbol", "timeframe", "ts"]


def run_builtins(conn: duckdb.DuckDBPyConnection, **options) -> FeatureRun:
    """`materialize_features` on the original built-ins, whose convergence these tests know."""
    return materialize_features(conn, names=FEATURE_COLUMNS, **options)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """The engine test bars, ordered."""
    return engine_rows().sort_values(KEYS, ignore_index=True)


@pytest.fixture
def split(rows) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(old, new): the first 80% of every partition's bars, and the rest."""
    return split_partitions(rows)


@pytest.fixture
def conn(split) -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB whose source holds the old bars and whose target was built from them."""
    connection = duckdb.connect()
    connection.execute("create schema intermediate")
    connection.register("old_rows", split[0])
    connection.execute(f"create table {SOURCE} as select * from old_rows")
    connection.unregister("old_rows")
    first = run_builtins(connection, incremental=True, workers=2)
    assert (first.mode, first.reason) == ("full", "target does not exist")
    yield connection
    connection.close()


def append(conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> None:
    """Insert rows into the source."""
    conn.register("new_rows", frame)
    conn.execute(f"insert into {SOURCE} select * from new_rows")
    conn.unregister("new_rows")


def table(conn: duckdb.DuckDBPyConnection, name: str = TARGET) -> pd.DataFrame:
    """A feature table ordered by its key."""
    return conn.sql(f"select * from {name} order by symbol, timeframe, ts").df()


def assert_equals_full_recompute(conn: duckdb.DuckDBPyConnection, exact: bool = False) -> None:
    """The target matches a full recompute of the current source (within RTOL unless exact)."""
    run_builtins(conn, target=FULL, workers=1)
    got, want = table(conn), table(conn, FULL)
    pd.testing.assert_frame_equal(got[[*KEYS, "available_at"]], want[[*KEYS, "available_at"]])
    for column in [c for c in want.columns if c not in (*KEYS, "available_at")]:
        have = got[column].to_numpy(dtype=np.float64, na_value=np.nan)
        expected = want[column].to_numpy(dtype=np.float64, na_value=np.nan)
        np.testing.assert_array_equal(np.isnan(have), np.isnan(expected), err_msg=column)
        if exact:
            np.testing.assert_array_equal(have, expected, err_msg=column)
        else:
            scale = np.nanmax(np.abs(expected))
            np.testing.assert_allclose(
                have, expected, rtol=0, atol=duckdb_stream.RTOL * scale, err_msg=column
            )


def test_appending_bars_writes_only_them_and_matches_a_full_recompute(conn, split):
    old, new = split
    before = table(conn)
    append(conn, new)
    run = run_builtins(conn, incremental=True, workers=2)
    assert (run.mode, run.rows_written, run.rows_deleted) == ("incremental", len(new), 0)
    assert run.partitions_appended == new.groupby(["symbol", "timeframe"]).ngroups
    assert (run.partitions_computed, run.partitions_repaired) == (0, 0)  # the EMAs converged
    after = table(conn)
    assert len(after) == len(old) + len(new)
    kept = after.merge(before[KEYS], on=KEYS)
    pd.testing.assert_frame_equal(kept, before)  # stored rows untouched, bit for bit
    assert_equals_full_recompute(conn)


def test_the_udfs_see_only_the_lookback_and_the_new_bars(conn, split, counted_feature):
    calls = counted_feature
    materialize_features(conn, target="features.counted", names=["counted"], workers=1)
    calls.clear()
    btc = split[1][(split[1]["symbol"] == "BTCUSD") & (split[1]["timeframe"] == "1m")]
    append(conn, btc.iloc[:10])
    run = materialize_features(
        conn,
        target="features.counted",
        names=["counted"],
        incremental=True,
        workers=1,
        lookback=100,
    )
    assert calls == [100 + 10]
    assert (run.rows_written, run.rows_computed, run.partitions_appended) == (10, 110, 1)
    assert run.partitions_unchanged == split[0].groupby(["symbol", "timeframe"]).ngroups - 1


def test_an_unchanged_source_writes_nothing(conn, split):
    before = table(conn)
    run = run_builtins(conn, incremental=True, workers=2)
    assert (run.mode, run.rows_written, run.rows_deleted, run.rows_computed) == (
        "incremental",
        0,
        0,
        0,
    )
    assert run.partitions_unchanged == split[0].groupby(["symbol", "timeframe"]).ngroups
    pd.testing.assert_frame_equal(table(conn), before)


def test_a_corrected_bar_recomputes_its_partition_from_the_first_bar(conn, split):
    # A restated bar keeps its ts and available_at; only its values change.
    conn.execute(
        f"update {SOURCE} set close = close * 1.01 "
        "where symbol = 'BTCUSD' and timeframe = '1m' and ts = '2024-03-04 01:00'"
    )
    append(conn, split[1])
    run = run_builtins(conn, incremental=True, workers=2)
    btc_old = ((split[0]["symbol"] == "BTCUSD") & (split[0]["timeframe"] == "1m")).sum()
    assert (run.partitions_computed, run.rows_deleted) == (1, btc_old)
    assert run.partitions_appended == split[1].groupby(["symbol", "timeframe"]).ngroups - 1
    assert_equals_full_recompute(conn)
    btc = table(conn).query("symbol == 'BTCUSD' and timeframe == '1m'")
    recomputed = table(conn, FULL).query("symbol == 'BTCUSD' and timeframe == '1m'")
    pd.testing.assert_frame_equal(btc, recomputed)  # recomputed from scratch: exact


def test_removed_newest_bars_recompute_their_partition(conn, split):
    # As after a build with an earlier as-of: the source ends before the stored rows do.
    conn.execute(f"delete from {SOURCE} where symbol = 'AAPL' and ts >= '2012-01-01'")
    run = run_builtins(conn, incremental=True, workers=2)
    aapl_old = (split[0]["symbol"] == "AAPL").sum()
    assert (run.partitions_computed, run.rows_deleted, run.partitions_appended) == (1, aapl_old, 0)
    assert_equals_full_recompute(conn, exact=True)


def test_a_backfilled_old_bar_recomputes_its_partition(conn, split):
    gap = "symbol = 'MSFT' and ts = '2009-06-01'"
    backfill = conn.sql(f"select * from {SOURCE} where {gap}").df()
    assert len(backfill) == 1
    conn.execute(f"delete from {SOURCE} where {gap}")
    run_builtins(conn, workers=2)  # built while the bar was missing
    append(conn, backfill)  # same ts/available_at rule as its neighbours, arriving late
    run = run_builtins(conn, incremental=True, workers=2)
    msft_old = (split[0]["symbol"] == "MSFT").sum()
    assert (run.partitions_computed, run.rows_deleted, run.rows_written) == (
        1,
        msft_old - 1,
        msft_old,
    )
    assert_equals_full_recompute(conn, exact=True)


def test_dropped_partitions_are_deleted_and_new_ones_computed(conn, split):
    conn.execute(f"delete from {SOURCE} where symbol = 'SOLUSD'")
    doge = split[0][split[0]["symbol"] == "ETHUSD"].assign(symbol="DOGEUSD")
    append(conn, doge)
    run = run_builtins(conn, incremental=True, workers=2)
    assert (run.partitions_dropped, run.partitions_computed) == (1, 2)  # DOGE 1m and 5m
    solusd_old = (split[0]["symbol"] == "SOLUSD").sum()
    assert (run.rows_deleted, run.rows_written) == (solusd_old, len(doge))
    assert_equals_full_recompute(conn, exact=True)


def test_a_different_feature_set_rebuilds_the_table(conn):
    run = materialize_features(conn, names=["cci", "rsi_14"], incremental=True, workers=2)
    assert run.mode == "full" and run.reason.startswith("columns differ")
    assert list(table(conn).columns) == [*KEYS, "available_at", "cci", "rsi_14"]


def test_a_changed_definition_with_the_same_columns_rebuilds_the_table(conn, restore_registry):
    rsi = get_feature("rsi_14")
    register_feature(
        FeatureSpec(
            rsi.name,
            rsi.inputs,
            dict(rsi.outputs),
            rsi.warmup,
            True,
            lambda b: {"rsi_14": b["close"]},
        )
    )
    run = run_builtins(conn, incremental=True, workers=2)
    assert (run.mode, run.reason) == ("full", "feature definitions changed")
    assert_equals_full_recompute(conn, exact=True)


def test_a_running_total_fails_the_check_and_only_it_is_recomputed_whole(
    conn, split, restore_registry
):
    sizes = []
    register_feature(
        FeatureSpec(
            name="volume_total",
            inputs=("volume",),
            outputs={"volume_total": "double"},
            warmup=0,
            causal=True,
            func=lambda bars: (
                sizes.append(("total", len(bars))) or {"volume_total": bars["volume"].cumsum()}
            ),
        )
    )
    register_feature(
        FeatureSpec(
            name="range",
            inputs=("high", "low"),
            outputs={"range": "double"},
            warmup=0,
            causal=True,
            func=lambda bars: (
                sizes.append(("range", len(bars))) or {"range": bars["high"] - bars["low"]}
            ),
        )
    )
    target, names = "features.totals", ["volume_total", "range"]
    materialize_features(conn, target=target, names=names, workers=1)
    append(conn, split[1])
    sizes.clear()
    run = materialize_features(
        conn, target=target, names=names, incremental=True, workers=1, lookback=100
    )
    # A running total never converges: partitions longer than the look-back fail the check
    # for it (not for the range) and recompute only it over their whole history.
    old = split[0].groupby(["symbol", "timeframe"]).size()
    new = split[1].groupby(["symbol", "timeframe"]).size()
    longer = old > 100
    assert (run.partitions_appended, run.partitions_repaired) == (7, longer.sum())
    windows = [min(o, 100) + n for o, n in zip(old, new, strict=True)]
    assert [n for name, n in sizes if name == "range"] == windows
    whole = [o + n for o, n, is_long in zip(old, new, longer, strict=True) if is_long]
    assert [n for name, n in sizes if name == "total"] == windows + whole
    got = table(conn, target)
    materialize_features(conn, target=FULL, names=names, workers=1)
    pd.testing.assert_frame_equal(got, table(conn, FULL))


def test_a_lookback_too_short_for_the_emas_falls_back_to_whole_histories(conn, split):
    append(conn, split[1])
    run = run_builtins(conn, incremental=True, workers=2, lookback=40)
    long_enough = (split[0].groupby(["symbol", "timeframe"]).size() > 40).sum()
    assert run.partitions_repaired == long_enough  # each failed the check and was redone
    assert run.partitions_computed == 0 and run.rows_written == len(split[1])
    assert_equals_full_recompute(conn, exact=True)


def test_a_failed_run_keeps_the_table_and_its_state(conn, split):
    before = table(conn)
    state = conn.sql("select * from meta.udf_feature_state order by all").df()
    broken = split[1][split[1]["symbol"] == "AAPL"]
    append(conn, pd.concat([broken, broken.iloc[[0]]]))
    with pytest.raises(ValueError, match="partition symbol='AAPL' timeframe='1d'.*ascending"):
        run_builtins(conn, incremental=True, workers=2)
    pd.testing.assert_frame_equal(table(conn), before)
    after = conn.sql("select * from meta.udf_feature_state order by all").df()
    pd.testing.assert_frame_equal(after, state)


def test_every_registered_feature_appends_within_tolerance_of_a_full_recompute(conn, split):
    # Whatever is registered (recursive, windowed or cumulative), appending through a
    # 600-bar look-back must give the full recompute's table.
    target = "features.everything"
    materialize_features(conn, target=target, workers=2)
    append(conn, split[1])
    run = materialize_features(conn, target=target, incremental=True, workers=2, lookback=600)
    assert (run.mode, run.rows_written, run.partitions_appended) == (
        "incremental",
        len(split[1]),
        7,
    )
    got = table(conn, target)
    materialize_features(conn, target=FULL, workers=2)
    want = table(conn, FULL)
    pd.testing.assert_frame_equal(got[[*KEYS, "available_at"]], want[[*KEYS, "available_at"]])
    assert_same_features(got, want, output_columns(), rtol=duckdb_stream.RTOL)
