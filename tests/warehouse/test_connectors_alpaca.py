"""The Alpaca connector: alpaca-py's data client against recorded v2 bars answers."""

from __future__ import annotations

import io
import logging
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "connectors"))

from connector_replay import FakeClock, alpaca_url, serve  # noqa: E402

from warehouse.connectors.alpaca import AlpacaConnector  # noqa: E402
from warehouse.connectors.backfill import backfill  # noqa: E402
from warehouse.connectors.base import ConnectorError, Pacer  # noqa: E402
from warehouse.manifest import read_manifest  # noqa: E402
from warehouse.object_store import LocalObjectStore  # noqa: E402

KEY_ID = "PKTESTKEY7QZ4M2X9V1L"
SECRET = "s3cr3t-Alpaca-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
NOW = datetime(2024, 1, 10, tzinfo=UTC)


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("APCA_API_KEY_ID", KEY_ID)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)


def _connector(server, dataset: str, clock: FakeClock | None = None) -> AlpacaConnector:
    clock = clock or FakeClock()
    return AlpacaConnector(
        dataset=dataset,
        url_override=alpaca_url(server),
        pacer=Pacer(min_interval=0.3, clock=clock, sleep=clock.sleep),
    )


def _bars(store) -> pd.DataFrame:
    frames = [pd.read_csv(io.BytesIO(store.get_bytes(e.key))) for e in read_manifest(store)]
    return pd.concat(frames, ignore_index=True).sort_values("ts", ignore_index=True)


def test_minute_bars_land_one_file_per_day_following_next_page_token(keys, tmp_path):
    server, store = serve("alpaca_stock_bars"), LocalObjectStore(tmp_path / "lake")
    try:
        result = backfill(
            _connector(server, "bars_1m"), store, "AAPL", "2024-01-02", "2024-01-04", now=NOW
        )
    finally:
        server.close()

    assert (result.vendor, result.pages, result.bars) == ("alpaca", 2, 7)
    assert [k.rsplit("/", 1)[-1] for k in result.keys] == [
        "AAPL_20240102T1430Z_20240102T1434Z.csv",
        "AAPL_20240103T1430Z_20240103T1431Z.csv",
    ]
    queries = [r["query"] for r in server.requests]
    assert [q.get("page_token") for q in queries] == [
        None,
        "QUFQTHxNfDIwMjQtMDEtMDJUMTQ6MzI6MDAuMDAwMDAwMDAwWg==",
        None,
    ]
    assert {q["feed"] for q in queries} == {"iex"} and {q["timeframe"] for q in queries} == {"1Min"}
    bars = _bars(store)
    assert bars["ts"].iloc[0] == "2024-01-02T14:30:00Z"
    assert bars["volume"].iloc[0] == 93512.0
    assert server.unmatched == []


def test_daily_bars_stamped_at_new_york_midnight_become_session_dates(keys, tmp_path):
    server, store = serve("alpaca_stock_bars"), LocalObjectStore(tmp_path / "lake")
    try:
        result = backfill(
            _connector(server, "bars_1d"), store, "AAPL", "2024-01-02", "2024-01-06", now=NOW
        )
    finally:
        server.close()
    assert result.pages == 1
    assert _bars(store)["ts"].tolist() == [f"2024-01-0{d}T00:00:00Z" for d in (2, 3, 4, 5)]


def test_a_503_is_retried_with_backoff(keys, tmp_path, caplog):
    clock = FakeClock()
    server = serve("alpaca_unavailable", "alpaca_stock_bars")
    store = LocalObjectStore(tmp_path / "lake")
    try:
        result = backfill(
            _connector(server, "bars_1m", clock), store, "AAPL", "2024-01-03", "2024-01-04", now=NOW
        )
    finally:
        server.close()
    assert result.bars == 2 and len(server.requests) == 2
    assert clock.sleeps == [1.0]
    assert "transient APIError, retry 1 of 4" in caplog.text


def test_keys_are_sent_to_alpaca_but_never_logged_shown_or_stored(keys, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    server, store = serve("alpaca_forbidden"), LocalObjectStore(tmp_path / "lake")
    connector = _connector(server, "bars_1m")
    try:
        with pytest.raises(ConnectorError) as failure:
            backfill(connector, store, "AAPL", "2024-01-02", "2024-01-03", now=NOW)
    finally:
        server.close()

    assert server.requests[0]["headers"]["APCA-API-SECRET-KEY"] == SECRET  # really used
    assert "forbidden" in str(failure.value) and "alpaca AAPL bars_1m" in str(failure.value)
    shown = [
        str(failure.value),
        repr(failure.value),
        "".join(traceback.format_exception(failure.value)),
        caplog.text,
        repr(connector),
        str(connector.__dict__),
    ]
    for text in shown:
        assert SECRET not in text and KEY_ID not in text
    stored = b"".join(store.get_bytes(k) for k in store.list(""))
    assert SECRET.encode() not in stored


def test_missing_keys_are_named_without_guessing(monkeypatch):
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.delenv("APCA_API_SECRET_KEY", raising=False)
    with pytest.raises(ValueError, match="set APCA_API_KEY_ID and APCA_API_SECRET_KEY"):
        AlpacaConnector()
