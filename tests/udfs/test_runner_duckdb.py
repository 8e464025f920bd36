"""DuckDB runner: per-(symbol, timeframe) features written to a replaceable table."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
from support.bars import source_rows
from support.compare import assert_partition_is_compute_features, expected_features

from udfs import output_columns
from udfs.runners import duckdb_stream as stream
from udfs.runners.duckdb import run_features

SOURCE = "intermediate.int_bars_resampled"
TARGET = "features.udf_features"
KEYS = ["symbol", "timeframe", "ts", "available_at"]
# (symbol, timeframe) -> bar count; BBB/5m is shorter than MACD's 33-bar warm-up.
PARTITIONS = {("AAA", "1m"): 120, ("AAA", "5m"): 60, ("BBB", "1m"): 90, ("BBB", "5m"): 25}
MINUTES = {"1m": 1, "5m": 5}


def _source_frame(random_walk_bars) -> pd.DataFrame:
    """Bars of every partition in one frame, shuffled, ts naive UTC as the warehouse stores it."""
    frames = []
    for seed, ((symbol, timeframe), n) in enumerate(PARTITIONS.items()):
        length = pd.Timedelta(minutes=MINUTES[timeframe])
        bars = random_walk_bars(n, seed=seed).tz_localize(None)
        bars.index = pd.date_range("2024-03-01 14:30", periods=n, freq=length, name="ts")
        frames.append(source_rows(bars, symbol, timeframe, length + pd.Timedelta(seconds=2)))
    frame = pd.concat(frames, ignore_index=True)
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


@pytest.fixture
def source(random_walk_bars) -> pd.DataFrame:
    """The source rows, as a DataFrame."""
    return _source_frame(random_walk_bars)


@pytest.fixture
def conn(source) -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB holding the source table (and no `features` schema yet)."""
    connection = duckdb.connect()
    connection.execute("create schema intermediate")
    connection.register("source_frame", source)
    connection.execute(
        f"create table {SOURCE} as select symbol, timeframe, ts::timestamp as ts, open, high, "
        "low, close, volume, available_at::timestamp as available_at from source_frame"
    )
    connection.unregister("source_frame")
    yield connection
    connection.close()


def target_frame(conn: duckdb.DuckDBPyConnection, table: str = TARGET) -> pd.DataFrame:
    """The target table ordered by its key."""
    return conn.sql(f"select * from {table} order by symbol, timeframe, ts").df()


def test_target_has_one_row_per_source_row_and_the_contract_columns(conn):
    written = run_features(conn)
    assert written == sum(PARTITIONS.values())
    schema = conn.execute(f"describe {TARGET}").fetchall()
    assert [(name, kind) for name, kind, *_ in schema] == [
        ("symbol", "VARCHAR"),
        ("timeframe", "VARCHAR"),
        ("ts", "TIMESTAMP"),
        ("available_at", "TIMESTAMP"),
        *((column, "DOUBLE") for column in output_columns()),
    ]
    counts = conn.execute(
        f"select symbol, timeframe, count(*) from {TARGET} group by all"
    ).fetchall()
    assert {(s, t): n for s, t, n in counts} == PARTITIONS


def test_values_equal_compute_features_per_partition(conn, source):
    run_features(conn)
    target = target_frame(conn)
    for symbol, timeframe in PARTITIONS:
        rows = target[(target["symbol"] == symbol) & (target["timeframe"] == timeframe)]
        assert_partition_is_compute_features(rows, source, symbol, timeframe)


def test_keys_and_available_at_are_carried_over(conn):
    run_features(conn)
    mismatches = conn.execute(
        f"select count(*) from {TARGET} t full join {SOURCE} s using (symbol, timeframe, ts) "
        "where t.available_at is distinct from s.available_at"
    ).fetchall()[0]
    assert mismatches == (0,)
    first = conn.execute(f"select ts, available_at from {TARGET} order by all limit 1").fetchall()[
        0
    ]
    assert first == (dt.datetime(2024, 3, 1, 14, 30), dt.datetime(2024, 3, 1, 14, 31, 2))


def test_warmup_rows_are_null_not_nan(conn):
    run_features(conn)
    any_nan = " or ".join(f"isnan({column})" for column in output_columns())
    nans = conn.execute(f"select count(*) filter ({any_nan}) from {TARGET}").fetchall()[0]
    assert nans == (0,)
    target = target_frame(conn)
    for (symbol, timeframe), n in PARTITIONS.items():
        rows = target[(target["symbol"] == symbol) & (target["timeframe"] == timeframe)]
        for column, warmup in [("rsi_14", 14), ("macd", 33), ("macdhist", 33), ("cci", 13)]:
            nulls = rows[column].isna().to_numpy()
            assert nulls[: min(warmup, n)].all()
            assert not nulls[warmup:].any()
    short = target[(target["symbol"] == "BBB") & (target["timeframe"] == "5m")]
    assert short["macd"].isna().all() and short["rsi_14"].notna().any()


def test_rerunning_replaces_the_table(conn, source):
    run_features(conn)
    assert run_features(conn) == sum(PARTITIONS.values())
    assert conn.execute(f"select count(*) from {TARGET}").fetchall()[0] == (
        sum(PARTITIONS.values()),
    )
    assert run_features(conn, names=["cci", "macdsignal"]) == sum(PARTITIONS.values())
    assert conn.sql(f"select * from {TARGET} limit 0").columns == [*KEYS, "cci", "macdsignal"]
    rows = target_frame(conn)
    rows = rows[(rows["symbol"] == "AAA") & (rows["timeframe"] == "1m")]
    expected = expected_features(source, "AAA", "1m", ["cci"])
    np.testing.assert_array_equal(rows["cci"].to_numpy(na_value=np.nan), expected["cci"])


def test_small_read_and_write_batches_give_the_same_table(conn, monkeypatch):
    run_features(conn, target="features.big_batches")
    monkeypatch.setattr(stream, "READ_BATCH_ROWS", 7)
    monkeypatch.setattr(stream, "WRITE_BATCH_ROWS", 50)
    run_features(conn, target="features.small_batches")
    pd.testing.assert_frame_equal(
        target_frame(conn, "features.big_batches"), target_frame(conn, "features.small_batches")
    )


def test_a_registered_custom_feature_is_computed_when_named(conn, range_pct_feature):
    assert run_features(conn, names=["range_pct", "rsi_14"]) == sum(PARTITIONS.values())
    assert conn.sql(f"select * from {TARGET} limit 0").columns == [*KEYS, "range_pct", "rsi_14"]
    check = conn.execute(
        f"select max(abs(t.range_pct - (s.high - s.low) / s.close)), count(t.range_pct) "
        f"from {TARGET} t join {SOURCE} s using (symbol, timeframe, ts)"
    ).fetchall()[0]
    assert check[0] < 1e-15 and check[1] == sum(PARTITIONS.values())


def test_missing_source_columns_are_listed(conn):
    conn.execute(f"create table intermediate.no_close as select * exclude (close) from {SOURCE}")
    with pytest.raises(ValueError) as error:
        run_features(conn, source="intermediate.no_close")
    message = str(error.value)
    assert "intermediate.no_close is missing columns ['close']" in message
    assert "received columns ['symbol', 'timeframe', 'ts', 'open'" in message
    assert "expected columns ['symbol', 'timeframe', 'ts', 'available_at', 'open'" in message


def test_unknown_names_fail_before_anything_is_written(conn):
    with pytest.raises(ValueError, match="unknown feature names"):
        run_features(conn, names=["nope"])
    assert (
        conn.execute("select * from duckdb_tables() where table_name = 'udf_features'").fetchall()
        == []
    )


def test_a_failing_partition_names_it_and_keeps_the_old_table(conn):
    run_features(conn)
    before = target_frame(conn)
    conn.execute(
        f"insert into {SOURCE} select * from {SOURCE} "
        "where symbol = 'BBB' and timeframe = '1m' order by ts limit 1"
    )
    with pytest.raises(ValueError, match="partition symbol='BBB' timeframe='1m'.*ascending"):
        run_features(conn)
    pd.testing.assert_frame_equal(target_frame(conn), before)


def test_empty_source_writes_an_empty_table(conn):
    conn.execute(f"create table intermediate.empty as select * from {SOURCE} limit 0")
    assert run_features(conn, source="intermediate.empty") == 0
    assert conn.sql(f"select * from {TARGET}").columns == [*KEYS, *output_columns()]
    assert conn.execute(f"select count(*) from {TARGET}").fetchall()[0] == (0,)


def test_source_and_target_must_differ(conn):
    with pytest.raises(ValueError, match="same table"):
        run_features(conn, source=SOURCE, target=SOURCE)


def test_available_at_waits_for_the_latest_known_bar(conn):
    late = dt.datetime(2024, 3, 1, 18, 0)
    conn.execute(
        f"update {SOURCE} set available_at = ? "
        "where symbol = 'AAA' and timeframe = '1m' and ts = '2024-03-01 14:40'",
        [late],
    )
    run_features(conn)
    rows = conn.execute(
        f"select ts, t.available_at, s.available_at from {TARGET} t "
        f"join {SOURCE} s using (symbol, timeframe, ts) "
        "where symbol = 'AAA' and timeframe = '1m' order by ts"
    ).fetchall()
    for ts, known, revealed in rows:
        assert known == (max(late, revealed) if ts >= dt.datetime(2024, 3, 1, 14, 40) else revealed)
    others = conn.execute(
        f"select count(*) from {TARGET} t join {SOURCE} s using (symbol, timeframe, ts) "
        "where t.available_at <> s.available_at and (symbol, timeframe) <> ('AAA', '1m')"
    ).fetchall()
    assert others == [(0,)]


def test_a_target_bigger_than_a_row_group_reads_back_in_the_same_session(conn):
    # DuckDB 2.0.0 hides the rows of a table made by `create table ... as ... limit 0` and
    # filled with a row group or more in the same transaction; the runner must not do that.
    conn.execute(
        "create table intermediate.big as select 'S' || (range % 3) as symbol, '1m' as timeframe, "
        "timestamp '2024-01-01' + to_minutes(range // 3) as ts, 100 + sin(range / 50) as open, "
        "101 + sin(range / 50) as high, 99 + sin(range / 50) as low, "
        "100 + cos(range / 50) as close, "
        "1.0 as volume, timestamp '2024-01-01' + to_minutes(range // 3 + 1) as available_at "
        "from range(130000)"
    )
    assert run_features(conn, "intermediate.big", "features.big", ["rsi_14"], workers=2) == 130000
    counts = conn.sql(
        "select count(distinct symbol), count(*) filter (where symbol = 'S1'), count(rsi_14) "
        "from features.big"
    ).fetchall()
    assert counts == [(3, 43333, 130000 - 3 * 14)]
