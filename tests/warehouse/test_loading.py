"""Loading: typed rows with lineage and available_at; bad files quarantined, nothing lost."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from warehouse.landing import land_bytes
from warehouse.loading import load_new

HEADER = "symbol,ts,open,high,low,close,volume\n"
GOOD = (
    HEADER
    + "BTCUSDT,2024-01-01T00:00:00Z,1,2,0.5,1.5,10\nBTCUSDT,2024-01-01T00:01:00Z,1.5,2,1,1.8,11\n"
)
RECEIVED = datetime(2024, 3, 1, tzinfo=UTC)


def _land(store, text: str, name: str, dataset: str = "bars_1m"):
    return land_bytes(store, text.encode(), name, vendor="v", dataset=dataset, received_at=RECEIVED)


def test_bars_are_available_at_close_plus_latency_with_lineage(store, conn):
    _land(store, GOOD, "good.csv")
    [result] = load_new(conn, store)
    assert (result.status, result.rows) == ("loaded", 2)
    frame = conn.execute("select * from raw.bars_1m order by ts").fetchdf()
    assert list(frame["available_at"]) == [
        pd.Timestamp("2024-01-01 00:01:02"),
        pd.Timestamp("2024-01-01 00:02:02"),
    ]
    assert set(frame["_source_file"]) == {"raw/v/bars_1m/2024-03-01/good.csv"}
    assert set(frame["_received_at"]) == {pd.Timestamp("2024-03-01")}


def test_short_interest_is_available_at_publication_not_settlement(store, conn):
    text = (
        "symbol,settlement_date,publication_date,short_interest,avg_daily_volume\n"
        "IBM,2024-01-12,2024-01-24,1000,200\n"
    )
    _land(store, text, "si.csv", dataset="short_interest")
    load_new(conn, store)
    assert conn.execute("select available_at from raw.short_interest").fetchone()[0] == datetime(
        2024, 1, 24, 22, 0
    )


def test_loading_twice_loads_nothing_new(store, conn):
    _land(store, GOOD, "good.csv")
    assert len(load_new(conn, store)) == 1
    assert load_new(conn, store) == []
    assert conn.execute("select count(*) from raw.bars_1m").fetchone()[0] == 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "symbol,ts,open,high,low,volume\nBTCUSDT,2024-01-01T00:00:00Z,1,2,1,1\n",
            "missing column(s) ['close']; received ['symbol', 'ts', 'open', 'high', 'low', "
            "'volume']; expected ['symbol', 'ts', 'open', 'high', 'low', 'close', 'volume']",
        ),
        (
            HEADER
            + "BTCUSDT,2024-01-01T00:00:00Z,1,2,1,1,1\nBTCUSDT,2024-01-01T00:01:00Z,1,x,1,1,1\n",
            "row 3, column 'high': not a valid double (got 'x')",
        ),
        (
            HEADER + "BTCUSDT,2024-01-01T00:00:00Z,1,1,2,1,1\n",
            "row 2, column 'high': high is below low",
        ),
        (
            HEADER + "BTCUSDT,2024-01-01T00:00:00Z,0,1,1,1,1\n",
            "row 2, column 'open': price must be positive",
        ),
        (
            HEADER
            + "BTCUSDT,2024-01-01T00:00:00Z,1,1,1,1,1\nBTCUSDT,2024-01-01T00:00:00Z,1,1,1,1,2\n",
            "row 2, column 'ts': duplicate key ['symbol', 'ts']",
        ),
        (HEADER + "BTCUSDT,not-a-time,1,1,1,1,1\n", "row 2, column 'ts': not a valid timestamp"),
        ("", "file is empty"),
    ],
    ids=[
        "missing-column",
        "wrong-type",
        "high-below-low",
        "zero-price",
        "duplicate-key",
        "bad-timestamp",
        "empty",
    ],
)
def test_a_bad_file_is_quarantined_with_its_reason_and_the_rest_still_loads(
    store, conn, body, expected
):
    bad = _land(store, body, "bad.csv").entry
    _land(store, GOOD, "good.csv")
    results = {r.key.rsplit("/", 1)[-1]: r for r in load_new(conn, store)}
    assert results["good.csv"].status == "loaded"
    assert results["bad.csv"].status == "quarantined"
    assert bad.key in results["bad.csv"].reason
    assert expected in results["bad.csv"].reason
    assert conn.execute("select count(*) from raw.bars_1m").fetchone()[0] == 2
    base = f"quarantine/v/bars_1m/{bad.sha256}"
    assert store.get_bytes(f"{base}/bad.csv") == body.encode()
    assert expected in json.loads(store.get_bytes(f"{base}/reason.json"))["reason"]
    assert store.get_bytes(bad.key) == body.encode()  # raw/ keeps the original


def test_extra_columns_are_accepted_and_recorded_as_schema_drift(store, conn):
    text = "symbol,ts,open,high,low,close,volume,trades\nBTCUSDT,2024-01-01T00:00:00Z,1,1,1,1,1,7\n"
    _land(store, text, "drift.csv")
    [result] = load_new(conn, store)
    assert result.status == "loaded"
    assert result.extra_columns == ("trades",)
    recorded = conn.execute("select extra_columns from meta.loaded_files").fetchone()[0]
    assert json.loads(recorded) == ["trades"]


def test_optional_columns_may_be_absent(store, conn):
    text = "symbol,ts,open,high,low,close,volume\nIBM,2000-01-03,1,2,1,2,100\n"
    _land(store, text, "ibm.csv", dataset="bars_1d")
    [result] = load_new(conn, store)
    assert result.status == "loaded"
    row = conn.execute("select adj_close, available_at from raw.bars_1d").fetchone()
    assert row == (None, datetime(2000, 1, 4))


def _land_at(store, text: str, name: str, received: datetime):
    return land_bytes(
        store, text.encode(), name, vendor="v", dataset="bars_1m", received_at=received
    )


def test_a_corrected_bar_is_a_new_version_known_from_its_arrival(store, conn):
    _land_at(store, GOOD, "day.csv", RECEIVED)
    load_new(conn, store)
    corrected = HEADER + (
        "BTCUSDT,2024-01-01T00:00:00Z,1,2,0.5,1.6,10\n"  # close corrected
        "BTCUSDT,2024-01-01T00:01:00Z,1.5,2,1,1.8,11\n"  # the same as before
        "BTCUSDT,2024-01-01T00:02:00Z,1.8,2,1,1.9,12\n"  # a bar not delivered before
    )
    later = datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
    _land_at(store, corrected, "day-fixed.csv", later)
    [result] = load_new(conn, store)
    assert (result.rows, result.corrected, result.unchanged) == (2, 1, 1)
    versions = conn.execute(
        "select ts, close, available_at from raw.bars_1m order by ts, available_at"
    ).fetchall()
    assert versions == [
        (datetime(2024, 1, 1, 0, 0), 1.5, datetime(2024, 1, 1, 0, 1, 2)),
        (datetime(2024, 1, 1, 0, 0), 1.6, datetime(2024, 3, 5, 9, 30)),  # known on arrival
        (datetime(2024, 1, 1, 0, 1), 1.8, datetime(2024, 1, 1, 0, 2, 2)),
        (datetime(2024, 1, 1, 0, 2), 1.9, datetime(2024, 1, 1, 0, 3, 2)),  # new: the bar rule
    ]


def test_a_repeated_delivery_adds_no_version(store, conn):
    _land_at(store, GOOD, "a.csv", RECEIVED)
    _land_at(store, GOOD.replace("\n", "\r\n"), "a-again.csv", datetime(2024, 4, 1, tzinfo=UTC))
    results = load_new(conn, store)
    assert [(r.rows, r.unchanged) for r in results] == [(2, 0), (0, 2)]
    assert conn.execute("select count(*) from raw.bars_1m").fetchall() == [(2,)]
