"""PostgreSQL runner against a throwaway cluster: contract, values, NULLs, one transaction."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pandas as pd
import psycopg
import pytest
from support.bars import KEY_COLUMNS, engine_rows, minute_rows
from support.compare import assert_partition_is_compute_features, expected_features
from support.postgres import load_bars

from udfs import output_columns
from udfs.runners.postgres import run_features

pytestmark = pytest.mark.postgres

SOURCE = "intermediate.int_bars_resampled"
TARGET = "features.udf_features"


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """The engine test bars."""
    return engine_rows()


@pytest.fixture
def database(postgres_cluster):
    """A fresh database on the session's cluster, dropped afterwards; its name."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with postgres_cluster.connect(autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    yield name
    with postgres_cluster.connect(autocommit=True) as admin:
        admin.execute(f'drop database "{name}" with (force)')


@pytest.fixture
def conn(postgres_cluster, database, rows):
    """A connection to a database holding the source table."""
    with postgres_cluster.connect(database) as connection:
        load_bars(connection, SOURCE, rows)
        yield connection


def target_frame(conn: psycopg.Connection, table: str = TARGET) -> pd.DataFrame:
    """The target ordered by its key, NULL as NaN."""
    cur = conn.execute(f"select * from {table} order by symbol, timeframe, ts")
    frame = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
    conn.commit()
    return frame


def partitions(rows: pd.DataFrame) -> list[tuple[str, str]]:
    """(symbol, timeframe) pairs of the source."""
    return sorted(set(zip(rows["symbol"], rows["timeframe"], strict=True)))


def test_target_has_the_contract_columns_and_one_row_per_bar(conn, rows):
    assert run_features(conn, workers=2) == len(rows)
    cur = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'features' and table_name = 'udf_features' order by ordinal_position"
    )
    assert cur.fetchall() == [
        ("symbol", "text"),
        ("timeframe", "text"),
        ("ts", "timestamp without time zone"),
        ("available_at", "timestamp without time zone"),
        *((column, "double precision") for column in output_columns()),
    ]
    counts = dict(
        ((s, t), n)
        for s, t, n in conn.execute(
            f"select symbol, timeframe, count(*) from {TARGET} group by 1, 2"
        )
    )
    assert counts == rows.groupby(["symbol", "timeframe"]).size().to_dict()


def test_values_equal_compute_features_and_warmups_are_null(conn, rows):
    run_features(conn, workers=2)
    nans = conn.execute(
        f"select count(*) from {TARGET} where "
        + " or ".join(f"{column} = 'NaN'::float8" for column in output_columns())
    ).fetchall()
    assert nans == [(0,)]
    target = target_frame(conn)
    for symbol, timeframe in partitions(rows):
        part = target[(target["symbol"] == symbol) & (target["timeframe"] == timeframe)]
        assert_partition_is_compute_features(part, rows, symbol, timeframe)
    short = target[target["symbol"] == "SOLUSD"]
    assert short["macd"].isna().all() and short["rsi_14"].notna().any()


def test_available_at_is_the_running_max_of_the_source(conn):
    late = dt.datetime(2024, 3, 4, 9, 0)
    conn.execute(
        f"update {SOURCE} set available_at = %s where symbol = 'BTCUSD' and timeframe = '1m' "
        "and ts = '2024-03-04 00:10'",
        [late],
    )
    conn.commit()
    run_features(conn, workers=1)
    got = conn.execute(
        f"select ts, t.available_at, s.available_at from {TARGET} t join {SOURCE} s "
        "using (symbol, timeframe, ts) where symbol = 'BTCUSD' and timeframe = '1m' "
        "and ts < '2024-03-04 10:00' order by ts"
    ).fetchall()
    for ts, known, revealed in got:
        boundary = dt.datetime(2024, 3, 4, 0, 10)
        assert known == (max(late, revealed) if ts >= boundary else revealed)


def test_rerun_replaces_the_table_with_the_requested_columns(conn, rows):
    run_features(conn, workers=2)
    assert run_features(conn, names=["cci", "macdsignal"], workers=2) == len(rows)
    target = target_frame(conn)
    assert list(target.columns) == [
        "symbol",
        "timeframe",
        "ts",
        "available_at",
        "cci",
        "macdsignal",
    ]
    assert len(target) == len(rows)


def test_one_or_two_workers_write_the_same_table(conn):
    run_features(conn, target="features.inline", workers=1)
    run_features(conn, target="features.pooled", workers=2)
    pd.testing.assert_frame_equal(
        target_frame(conn, "features.inline"), target_frame(conn, "features.pooled")
    )


def test_a_feature_registered_at_run_time_is_computed_in_the_workers(conn, rows, range_pct_feature):
    assert run_features(conn, names=["range_pct"], workers=2) == len(rows)
    worst = conn.execute(
        f"select max(abs(t.range_pct - (s.high - s.low) / s.close)), count(t.range_pct) "
        f"from {TARGET} t join {SOURCE} s using (symbol, timeframe, ts)"
    ).fetchall()[0]
    assert worst[0] < 1e-15 and worst[1] == rows["close"].notna().sum()


def test_a_failing_partition_is_named_and_the_old_table_stays(conn):
    run_features(conn, workers=2)
    before = target_frame(conn)
    conn.execute(
        f"insert into {SOURCE} select * from {SOURCE} "
        "where symbol = 'ETHUSD' and timeframe = '5m' order by ts limit 1"
    )
    conn.commit()
    with pytest.raises(ValueError, match="partition symbol='ETHUSD' timeframe='5m'.*ascending"):
        run_features(conn, workers=2)
    conn.rollback()
    pd.testing.assert_frame_equal(target_frame(conn), before)


def test_timestamptz_sources_keep_their_type_and_values(postgres_cluster, database):
    rows = minute_rows("BTCUSD", 200, seed=1)
    with postgres_cluster.connect(database) as conn:
        load_bars(conn, "intermediate.bars_tz", rows, timestamp_type="timestamptz")
        conn.execute("set timezone to 'America/New_York'")  # the runner reads in UTC anyway
        assert run_features(conn, source="intermediate.bars_tz", target="features.tz") == 200
        kinds = conn.execute(
            "select data_type from information_schema.columns where table_name = 'tz' "
            "and column_name in ('ts', 'available_at')"
        ).fetchall()
        assert kinds == [("timestamp with time zone",)] * 2
        got = conn.execute("select ts, available_at, macd from features.tz order by ts").fetchall()
    assert got[0][0] == dt.datetime(2024, 3, 4, tzinfo=dt.UTC)
    assert got[-1][1] == dt.datetime(2024, 3, 4, 3, 20, 2, tzinfo=dt.UTC)
    want = expected_features(rows, "BTCUSD", "1m", ["macd"])["macd"].to_numpy()
    np.testing.assert_array_equal(np.array([r[2] for r in got], dtype=float), want)


def test_missing_source_columns_are_listed(conn):
    conn.execute(
        f"create table intermediate.no_close as select symbol, timeframe, ts, open from {SOURCE}"
    )
    conn.commit()
    with pytest.raises(ValueError) as error:
        run_features(conn, source="intermediate.no_close")
    message = str(error.value)
    assert (
        "intermediate.no_close is missing columns ['available_at', 'high', 'low', 'close'"
        in message
    )
    assert "received columns ['symbol', 'timeframe', 'ts', 'open']" in message


def test_an_empty_source_gives_an_empty_table(conn):
    conn.execute(f"create table intermediate.empty as select * from {SOURCE} limit 0")
    conn.commit()
    assert run_features(conn, source="intermediate.empty") == 0
    assert list(target_frame(conn).columns) == [*KEY_COLUMNS, *output_columns()]


def test_source_and_target_must_differ(conn):
    with pytest.raises(ValueError, match="same table"):
        run_features(conn, source=SOURCE, target=SOURCE)


def test_missing_server_binaries_fail_loudly(monkeypatch):
    import support.postgres as helper

    monkeypatch.delenv("PG_BINDIR", raising=False)
    monkeypatch.setattr(helper.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(helper.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="initdb, pg_ctl.*not found.*do not skip"):
        helper.start_cluster()
